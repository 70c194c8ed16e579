"""``--as-of`` is read in the pack's time zone, not a zone written in the code."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from socialcredit.cli import registry
from socialcredit.policy.load import default_pack_path


def test_as_of_is_read_in_the_packs_time_zone(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(default_pack_path(), pack)
    meta = pack / "pack.yaml"
    meta.write_text(
        meta.read_text(encoding="utf-8").replace(
            "timezone: Asia/Shanghai", "timezone: Europe/London"
        ),
        encoding="utf-8",
    )
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SOCIALCREDIT_PACK", str(pack))
    reg = registry("2026-03-01")
    try:
        assert str(reg.tz) == "Europe/London"
        # midnight in London is 00:00 UTC in winter (in Shanghai it would be 16:00 the day before)
        assert reg.now().astimezone(UTC) == datetime(2026, 3, 1, tzinfo=UTC)
    finally:
        reg.close()
    monkeypatch.delenv("SOCIALCREDIT_PACK")
    reg = registry("2026-03-01")
    try:
        assert reg.now().astimezone(UTC) == datetime(2026, 2, 28, 16, tzinfo=UTC)
    finally:
        reg.close()
