"""The process's one local Spark session, shared by batch grading (``analytics.grades``) and
record resolution (``resolution.probabilistic``, ``engine="spark"``).

Local mode as STACK.md describes it: ``local[2]``, UI off (and no console progress bars),
four shuffle partitions, session time zone UTC (grading compares naive UTC instants). Splink's
similarity jar (``splink.backends.spark.similarity_jar_location()``) is always on
``spark.jars``, whoever asks first: ``spark.jars`` is read when the JVM starts, so a session started without it cannot
be given it later and Splink's functions (``jaro_winkler``, ...) would be missing
(``UNRESOLVED_ROUTINE``). The Python workers run this interpreter (``PYSPARK_PYTHON``, unless
set), so that code run in them (resolution's string functions) finds the same packages.

A session some other code started first with ``SparkSession.builder`` is the one
``getOrCreate`` returns, with whatever it was started with. Resolution does not depend on the
jar (it brings its own string functions, see ``resolution.spark_engine``), grading never did;
Splink's own comparison library on Spark does.
"""

from __future__ import annotations

import os
import sys
from typing import Any

MASTER = "local[2]"
_session: Any = None


def splink_jar() -> str | None:
    """The path of Splink's similarity jar for the installed Spark, None without Splink."""
    try:
        from splink.backends.spark import similarity_jar_location
    except ImportError:
        return None
    return str(similarity_jar_location())


def session() -> Any:
    """The local Spark session, started on first use (6-20 s); pyspark is imported only here."""
    global _session
    if _session is not None and _session.sparkContext._jsc is not None:  # not stopped
        return _session
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise RuntimeError(
            "the Spark engine needs pyspark: pip install 'socialcredit[spark]'"
        ) from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(MASTER)
        .appName("socialcredit")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
    )
    jar = splink_jar()
    if jar is not None:
        builder = builder.config("spark.jars", jar)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    _session = spark
    return spark
