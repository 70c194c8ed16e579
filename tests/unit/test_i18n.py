"""Every message of the pages has a Chinese translation with the same placeholders."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from socialcredit.web import i18n

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted(tmp_path: Path) -> set[object]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("pybabel")),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "gettext",
            "-k",
            "ngettext:1,2",
            "-o",
            str(pot),
            "src/socialcredit/web",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


def test_every_message_is_translated(tmp_path: Path) -> None:
    wanted = _extracted(tmp_path)
    assert len(wanted) > 50  # the extraction found the templates and the code
    with (i18n.LOCALE_DIR / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="zh")
    have = {m.id: m for m in catalog if m.id}
    missing = [m for m in wanted if m not in have or not have[m].string or have[m].fuzzy]
    assert missing == [], "run scripts/i18n and translate these"
    for mid in wanted:
        ids = mid if isinstance(mid, tuple) else (mid,)
        strings = have[mid].string if isinstance(mid, tuple) else (have[mid].string,)
        for s in strings:
            assert set(PLACEHOLDER.findall(s)) == set(PLACEHOLDER.findall(ids[0])), mid


def test_language_choice() -> None:
    assert i18n.pick("en", "zh", "zh-CN") == "en"  # the address wins
    assert i18n.pick(None, "en", "zh-CN") == "en"  # then the switch's cookie
    assert i18n.pick("fr", None, "en-US,en;q=0.9") == "en"  # an unknown ?lang is ignored
    assert i18n.pick(None, None, "fr-FR, zh-TW;q=0.8, en;q=0.5") == "zh"
    assert i18n.pick(None, None, "fr-FR") == "zh"
    assert i18n.pick(None, None, None) == "zh"


def test_translation_and_formats() -> None:
    i18n.use("zh")
    assert i18n.gettext("Search") == "查询"
    assert i18n.text({"zh": "失信", "en": "dishonest"}) == "失信"
    assert i18n.fday("2026-03-02T10:00:00+08:00") == "2026年3月2日"
    i18n.use("en")
    assert i18n.gettext("Search") == "Search"
    assert i18n.fday("2026-03-02") == "2 March 2026"


def test_a_grade_improvement_names_entries_by_their_decision_reference() -> None:
    file = {
        "records": [{"record": "samr/P-1", "decision_ref": "京朝市监罚〔2026〕12号"}],
        "listings": [{"id": "L0abc", "decision_ref": "（2026）京0105执1234号之一"}],
    }
    refs = i18n.grade_refs(file)
    name = {"zh": "失信被执行人", "en": "Dishonest judgment debtor"}
    i18n.use("zh")
    leaves = {"change": "leaves", "record": "listing L0abc", "rule_name": name, "points": 30}
    said = i18n.improvement(leaves, refs)
    assert "（2026）京0105执1234号之一" in said and "L0abc" not in said
    i18n.use("en")
    stops = {"change": "stops", "record": "samr/P-1, listing L0abc", "rule_name": name}
    said = i18n.improvement(stops, refs)
    assert "京朝市监罚〔2026〕12号, （2026）京0105执1234号之一" in said
    assert "samr/P-1" not in said


def test_the_model_s_evidence_reads_as_words_and_plain_numbers() -> None:
    i18n.use("zh")
    assert i18n.fbayes(5210.3) == "×5,210" and i18n.fbayes(0.05) == "÷20"
    assert i18n.fbayes(2.345) == "×2.35" and i18n.fbayes(1) == "×1"
    assert i18n.comparison_name("legal_rep") == "法定代表人"
    assert i18n.level_name("Exact match on name") == "相同"
    assert i18n.level_name("name is NULL") == i18n.level_name("Null") == "一方缺失"
    assert i18n.level_name("Damerau-Levenshtein distance of uscc <= 2") == "最多相差 2 个字符"
    i18n.use("en")
    assert i18n.level_name("Jaro-Winkler distance of address >= 0.9") == (
        "similar (Jaro-Winkler at least 0.9)"
    )
    assert i18n.level_name("Damerau-Levenshtein distance of uscc <= 1") == (
        "differs by at most 1 character"
    )
