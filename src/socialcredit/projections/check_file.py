"""The check file: when each listing makes each measure apply, packed for checks at volume.

A projection of the listings table compiled into one file that server processes memory-map:
for every measure, three arrays of equal length sorted by subject key: the key (u64), and the
second the listing becomes active and the second it stops (u32 seconds since 2000-01-01 UTC,
enough until 2136). That is 16 bytes per (subject, measure, listing) and no Python object per
subject, so tens of millions of restrictions fit in a few hundred MiB shared by every process.

A key is the first 8 bytes of BLAKE2b of the subject id. A subject whose key is absent is
certainly not listed; a key found means "listed", and the one-in-2^64-per-pair chance that two
subjects share a key can only send a check to the exact path (``services/checks.py``), never
hide a restriction. Subjects with a listing that an objection may suspend are in ``refer``:
their answers must take the exact path too.

Layout (little-endian): ``SCCHECK1``, a u32 header length, a JSON header (version, compiled
moment, per measure its count and offsets), zero padding to 8 bytes, the arrays. The file is
written beside its final name and moved over it (``os.replace``): a process that has the old
file mapped keeps reading a whole file, and ``CheckFile.refresh`` maps the new one.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, select

from ..db import listings, objections

if TYPE_CHECKING:
    from ..policy.model import Pack

MAGIC = b"SCCHECK1"
EPOCH = datetime(2000, 1, 1)
U32_MAX = 2**32 - 1


def subject_key(subject_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(subject_id.encode(), digest_size=8).digest(), "little")


def subject_keys(subject_ids: Iterable[str]) -> np.ndarray:
    return np.fromiter((subject_key(s) for s in subject_ids), dtype=np.uint64)


def seconds(at: datetime) -> int:
    """Naive UTC (as stored) or aware, to whole seconds since the epoch, rounded up: a listing
    is never shown active before its moment."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    delta = at - EPOCH
    whole = delta.days * 86_400 + delta.seconds + (1 if delta.microseconds else 0)
    return min(max(whole, 0), U32_MAX)


def compile_file(conn: Connection, pack: Pack, path: Path, version: int) -> dict[str, Any]:
    """Write the check file for the listings as they stand; returns its header."""
    measures_of: dict[str, list[str]] = {}
    for mid, m in pack.measures.items():
        for lid in m.lists:
            measures_of.setdefault(lid, []).append(mid)
    cols: dict[str, tuple[array[int], array[int], array[int]]] = {
        mid: (array("Q"), array("I"), array("I")) for mid in pack.measures
    }
    q = select(
        listings.c.subject_id,
        listings.c.list_id,
        listings.c.activates_at,
        listings.c.until,
        listings.c.ended_at,
    ).where(listings.c.notified_at.is_not(None))
    for r in conn.execute(q):
        end = min(r.until, r.ended_at) if r.ended_at else r.until
        start_s, end_s = seconds(r.activates_at), seconds(end)
        if end_s <= start_s:
            continue  # ended before it began: it never applies
        k = subject_key(r.subject_id)
        for mid in measures_of.get(r.list_id, ()):
            kcol, fcol, ucol = cols[mid]
            kcol.append(k)
            fcol.append(start_s)
            ucol.append(end_s)
    suspending = {lid for lid, ld in pack.lists.items() if ld.objection.suspends}
    refer = sorted(
        {
            subject_key(sid)
            for (sid,) in conn.execute(
                select(listings.c.subject_id)
                .join(objections, objections.c.listing_id == listings.c.listing_id)
                .where(listings.c.list_id.in_(suspending))
            )
        }
    )
    columns = {
        mid: (
            np.frombuffer(k, dtype=np.uint64) if k else np.zeros(0, np.uint64),
            np.frombuffer(f, dtype=np.uint32) if f else np.zeros(0, np.uint32),
            np.frombuffer(u, dtype=np.uint32) if u else np.zeros(0, np.uint32),
        )
        for mid, (k, f, u) in cols.items()
    }
    return write_file(path, columns, np.array(refer, dtype=np.uint64), version)


def write_file(
    path: Path,
    columns: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    refer: np.ndarray,
    version: int,
) -> dict[str, Any]:
    """Write per-measure (keys, from, until) columns, in any order, as a check file."""
    blocks: list[tuple[str, np.ndarray]] = []
    header: dict[str, Any] = {
        "version": version,
        "compiled_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "measures": {},
    }
    for mid, (keys, froms, untils) in columns.items():
        order = np.argsort(keys, kind="stable")
        blocks += [
            (f"{mid}.keys", keys[order].astype(np.uint64)),
            (f"{mid}.from", froms[order].astype(np.uint32)),
            (f"{mid}.until", untils[order].astype(np.uint32)),
        ]
        header["measures"][mid] = {"count": len(keys)}
    blocks.append(("refer", np.sort(refer.astype(np.uint64))))
    # offsets are relative to the start of the data, which follows the padded header
    offset = 0
    header["arrays"] = {}
    for name, arr in blocks:
        header["arrays"][name] = {"offset": offset, "dtype": arr.dtype.str, "count": len(arr)}
        offset += _pad(arr.nbytes)
    raw = json.dumps(header, sort_keys=True).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(raw)) + raw)
        f.write(b"\0" * (_pad(f.tell()) - f.tell()))
        for _name, arr in blocks:
            data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False)
            f.write(data.tobytes())
            f.write(b"\0" * (_pad(arr.nbytes) - arr.nbytes))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return header


def _pad(n: int) -> int:
    return (n + 7) // 8 * 8


@dataclass(frozen=True)
class _Mapped:
    ident: tuple[int, int]
    header: dict[str, Any]
    arrays: dict[str, np.ndarray]


class CheckFile:
    """A mapped check file; ``refresh`` swaps in a newer one without a moment without answers
    (each call reads one mapping from start to end)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._m = self._map()

    def _map(self) -> _Mapped:
        with open(self.path, "rb") as f:
            st = os.fstat(f.fileno())
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if mm[:8] != MAGIC:
            raise ValueError(f"{self.path} is not a check file")
        (hlen,) = struct.unpack("<I", mm[8:12])
        header = json.loads(mm[12 : 12 + hlen])
        base = _pad(12 + hlen)
        arrays = {
            name: np.frombuffer(
                mm, dtype=np.dtype(a["dtype"]), count=a["count"], offset=base + a["offset"]
            )
            for name, a in header["arrays"].items()
        }
        return _Mapped((st.st_ino, st.st_mtime_ns), header, arrays)

    def refresh(self) -> bool:
        """Map the file again if it was replaced; True when it was."""
        st = os.stat(self.path)
        if (st.st_ino, st.st_mtime_ns) == self._m.ident:
            return False
        self._m = self._map()  # one reference swap: a reader holds either mapping whole
        return True

    @property
    def version(self) -> int:
        return int(self._m.header["version"])

    @property
    def header(self) -> dict[str, Any]:
        return self._m.header

    def nbytes(self, measure: str | None = None) -> int:
        names = [n for n in self._m.arrays if measure is None or n.startswith(f"{measure}.")]
        return sum(self._m.arrays[n].nbytes for n in names)

    def applies(self, keys: np.ndarray, measure: str, at: datetime) -> np.ndarray:
        """For each key, whether a listing of one of the measure's lists is active at ``at``
        (vectorised; ``measure`` must be one of the file's)."""
        m = self._m
        k, s, e = (m.arrays[f"{measure}.{c}"] for c in ("keys", "from", "until"))
        t = seconds(at)
        out = np.zeros(len(keys), dtype=bool)
        if len(k) == 0 or len(keys) == 0:
            return out
        lo = np.searchsorted(k, keys, side="left")
        hi = np.searchsorted(k, keys, side="right")
        one = hi - lo == 1
        i = lo[one]
        out[one] = (s[i] <= t) & (t < e[i])
        for j in np.nonzero(hi - lo > 1)[0]:  # several listings on the same measure: rare
            rows = slice(lo[j], hi[j])
            out[j] = bool(np.any((s[rows] <= t) & (t < e[rows])))
        return out

    def refer(self, keys: np.ndarray) -> np.ndarray:
        """For each key, whether its answer needs the exact path (a suspendable listing)."""
        r = self._m.arrays["refer"]
        if len(r) == 0:
            return np.zeros(len(keys), dtype=bool)
        i = np.minimum(np.searchsorted(r, keys), len(r) - 1)
        return np.asarray(r[i] == keys, dtype=bool)

    def applies_to(self, subject_ids: Sequence[str], measure: str, at: datetime) -> list[bool]:
        return [bool(x) for x in self.applies(subject_keys(subject_ids), measure, at)]
