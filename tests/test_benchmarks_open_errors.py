"""benchmarks/open_errors.py: the open-reading error kinds (issue 13), on token lists made here."""

from __future__ import annotations

from benchmarks.open_errors import error_kinds, skeleton, tally


def test_skeleton_keeps_the_structure_only():
    assert skeleton(["x", "_", "{", "1", "}"]) == ["S", "_", "{", "S", "}"]


def test_error_kinds_by_structure_and_symbols():
    t = "f ( x , y )".split()
    assert error_kinds(t, t, 6) == set()
    assert error_kinds("e _ { j }".split(), "e j".split(), 4) == {"B:struct-only:sub-lost"}
    assert error_kinds("e _ { j }".split(), "c j".split(), 4) == {"C:struct+sym:sub-lost"}
    assert error_kinds(t, "f ( x _ { 1 } y )".split(), 6) == {"C:struct+sym:sub-spur"}
    assert error_kinds("\\pm \\infty".split(), "\\pm 0 0".split(), 4) == {"C:symcount-differs"}
    assert error_kinds("X - 2".split(), "x - 2".split(), 4) == {"D:symbols-only", "D:case"}
    assert error_kinds("1 4 5".split(), "1 4 s".split(), 3) == {"D:symbols-only", "D:digit/letter"}
    assert "A:40+strokes" in error_kinds(["x"], ["y"], 41)
    assert "X:has-func" in error_kinds("\\sin x".split(), "s i n x".split(), 5)
    assert "X:has-decimal" in error_kinds("0 . 9 9".split(), "0 , 9 9".split(), 4)


def test_tally_counts_each_reading_once_per_kind():
    rows = [
        {"truth": "a", "pred": "a", "n_strokes": 1},
        {"truth": "X", "pred": "x", "n_strokes": 1},
        {"truth": "e_j", "pred": "e j", "n_strokes": 3},
    ]
    counts, examples = tally(
        rows, lambda s: s.replace("_", " _ ").replace("j", "{ j }").split() if "_" in s else s.split()
    )
    assert counts["D:case"] == 1 and counts["D:symbols-only"] == 1
    assert sum(counts.values()) == 2 + 1  # the exact reading counts nowhere
    assert examples["D:case"][0][1:] == ("X", "x")


def test_rewrite_rows_applies_the_engines_rules_to_copies():
    from benchmarks.open_errors import rewrite_rows

    rows = [{"truth": "f_1+f_2", "pred": "f 1 + f 2", "n_strokes": 6}, {"truth": "a", "pred": None}]
    out = rewrite_rows(rows)
    assert out[0]["pred"] == "f_{1} + f_{2}" and out[1]["pred"] == ""
    assert rows[0]["pred"] == "f 1 + f 2"  # the input rows are left as they were
    assert rewrite_rows(rows, str.upper)[0]["pred"] == "F 1 + F 2"
