"""Codes cut into 18-byte rows only when there is exactly one way to cut them."""

from __future__ import annotations

from socialcredit.services.checks import code_rows


def test_rows_only_for_codes_of_eighteen_bytes() -> None:
    a, b = "91110000600037341L", "91440300708461136T"
    rows = code_rows("\n".join([a, b]).encode(), 2)
    assert rows is not None and rows.tolist() == [a.encode(), b.encode()]
    # a code of 37 characters holding a newline and an empty one add up to the same length
    tricky = [a + "\n" + b, ""]
    assert code_rows("\n".join(tricky).encode(), 2) is None
    assert code_rows("\n".join([a[:-1], b + "X"]).encode(), 2) is None
    assert code_rows(b"", 0) is None
    assert code_rows(a.encode(), 1) is not None
