"""whiteboard_app/cache.py and its two tables: typeset glyph layouts and a card's near misses."""

from __future__ import annotations

import pytest

from whiteboard_app import cache, pipeline
from whiteboard_app.decks import bundled_deck_dir, load_card


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_table_keeps_values_across_instances_and_a_new_stamp_starts_empty(cache_dir):
    t = cache.DiskTable("things", "s1")
    assert t.get("a") is None
    t.put("a", [1, "x", {"b": 2.5}])
    assert cache.DiskTable("things", "s1").get("a") == [1, "x", {"b": 2.5}]  # a later launch reads it
    assert cache.DiskTable("things", "s2").get("a") is None  # another program version does not
    assert sorted(p.name for p in cache_dir.iterdir()) == ["things-s1.json"]


def test_two_writers_keep_both_entries_and_a_damaged_file_is_empty(cache_dir):
    a, b = cache.DiskTable("t", "s"), cache.DiskTable("t", "s")
    a.get("x")
    b.get("x")  # both have read the (empty) file
    a.put("x", 1)
    b.put("y", 2)
    assert cache.DiskTable("t", "s").get("x") == 1 and cache.DiskTable("t", "s").get("y") == 2
    (cache_dir / "t-s.json").write_text("{not json", encoding="utf-8")
    assert cache.DiskTable("t", "s").get("x") is None


def test_the_cache_can_be_switched_off(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.ENV_VAR, "off")
    t = cache.DiskTable("t", "s")
    t.put("x", 1)
    assert cache.cache_dir() is None and t.path is None
    monkeypatch.delenv(cache.ENV_VAR)
    monkeypatch.setenv("WHITEBOARD_DATA_DIR", str(tmp_path / "data"))
    assert cache.cache_dir() == tmp_path / "data" / "cache"  # inside a moved data folder


def test_the_stamp_follows_the_source_of_the_modules(tmp_path, monkeypatch):
    pkg = tmp_path / "stampy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("A = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = cache.source_stamp(["stampy"], ["sympy"])
    assert before == cache.source_stamp(["stampy"], ["sympy"])
    (pkg / "more.py").write_text("B = 2\n")  # a new module of the package changes its stamp
    assert cache.source_stamp(["stampy"], ["sympy"]) != before


def test_near_misses_are_computed_once_per_card_content(cache_dir, monkeypatch):
    card = load_card(bundled_deck_dir() / "sigmoid-derivative.toml")
    calls = []

    class Maths:
        @staticmethod
        def near_misses(c):
            calls.append(c.id)
            return [("-\\sigma(z)", "sign flip")]

    monkeypatch.setattr(pipeline, "_maths", lambda: Maths)
    monkeypatch.setattr(pipeline, "_NEAR_MISS_TABLE", None)
    assert pipeline.cached_near_misses(card) == [("-\\sigma(z)", "sign flip")]
    monkeypatch.setattr(pipeline, "_NEAR_MISS_TABLE", None)  # a new process: read from disk
    assert pipeline.cached_near_misses(card) == [("-\\sigma(z)", "sign flip")]
    assert calls == ["sigmoid-derivative"]
    from dataclasses import replace

    changed = replace(card, title=card.title + " (edited)")
    pipeline.cached_near_misses(changed)  # another card content: computed again
    assert calls == ["sigmoid-derivative", "sigmoid-derivative"]


def test_glyph_layouts_come_from_disk_and_errors_are_kept(cache_dir):
    from whiteboard_app.recognition import layout_cache
    from whiteboard_app.recognition.typeset import Glyph, LayoutError

    layout_cache._table.cache_clear()
    calls = []
    glyphs = (Glyph("x", "x", (0.0, 0.0, 1.0, 1.0)), Glyph("frac_bar", "-", (0.0, 0.5, 1.0, 0.01)))

    def compute(latex):
        calls.append(latex)
        if latex == "bad":
            raise LayoutError("cannot typeset 'bad'")
        return glyphs

    assert layout_cache.cached_layout("x", compute, glyph=Glyph, error=LayoutError) == glyphs
    with pytest.raises(LayoutError):
        layout_cache.cached_layout("bad", compute, glyph=Glyph, error=LayoutError)
    layout_cache._table.cache_clear()  # a new process
    assert layout_cache.cached_layout("x", compute, glyph=Glyph, error=LayoutError) == glyphs
    with pytest.raises(LayoutError, match="cannot typeset 'bad'"):
        layout_cache.cached_layout("bad", compute, glyph=Glyph, error=LayoutError)
    assert calls == ["x", "bad"]
    layout_cache._table.cache_clear()
