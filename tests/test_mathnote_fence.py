"""mathnote-ocr's internals are fenced into recognition/mathnote_compat.py (issue 13, item 4)."""

from __future__ import annotations

import ast
import importlib.util
import warnings
from pathlib import Path

import pytest

import whiteboard_app
from whiteboard_app.recognition import mathnote_compat as mc

PACKAGE = Path(whiteboard_app.__file__).resolve().parent
COMPAT = PACKAGE / "recognition" / "mathnote_compat.py"


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path != COMPAT:
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_but_the_compat_module_imports_mathnote_ocr():
    found = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):  # importlib by name
                names = [node.value.rstrip(".") + "."] if node.value.startswith("mathnote_ocr.") else []
            found += [
                f"{path.relative_to(PACKAGE)}:{node.lineno} {n}"
                for n in names
                if n == "mathnote_ocr" or n.startswith("mathnote_ocr.")
            ]
    assert not found, "mathnote-ocr used outside recognition/mathnote_compat.py:\n" + "\n".join(found)


def _defined_private_names(trees) -> set[str]:
    """Private names a set of modules defines: functions, classes, assigned names, arguments and their
    objects' own attributes (``self._x = ...``)."""
    out: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                out.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                out.add(node.id)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("self", "cls")
            ):  # an object's own attribute (not one set on another module: a patch)
                out.add(node.attr)
            elif isinstance(node, ast.arg):
                out.add(node.arg)
    return {n for n in out if _is_private(n)}


def test_no_private_name_of_mathnote_ocr_is_used_outside_the_compat_module():
    spec = importlib.util.find_spec("mathnote_ocr")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("mathnote-ocr is not installed")
    lib = Path(next(iter(spec.submodule_search_locations)))
    lib_trees = []
    for path in lib.rglob("*.py"):
        try:
            with warnings.catch_warnings():  # the library's own invalid escapes
                warnings.simplefilter("ignore", DeprecationWarning)
                lib_trees.append(ast.parse(path.read_text(encoding="utf-8")))
        except (SyntaxError, UnicodeDecodeError):
            continue
    ours = list(_modules())
    theirs = _defined_private_names(lib_trees) - _defined_private_names(t for _p, t in ours)
    assert {"_DEFAULTS", "_find_partitions_exact", "_sym_to_latex", "_autocanvas"} <= theirs
    found = []
    for path, tree in ours:
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Attribute):
                name = node.attr
            elif isinstance(node, ast.Name):
                name = node.id
            elif isinstance(node, ast.alias):
                name = node.name
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                name = node.value
            if name in theirs:
                found.append(f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', '?')} {name}")
    assert not found, "mathnote-ocr's private names outside mathnote_compat.py:\n" + "\n".join(found)


def test_another_mathnote_version_warns_naming_the_tested_one(monkeypatch):
    monkeypatch.setattr(mc, "_checked", {})
    monkeypatch.setattr(mc, "installed_version", lambda: "9.9.9")
    with pytest.warns(mc.MathnoteVersionWarning, match=r"9\.9\.9.*tested with mathnote-ocr 0\.2\.1"):
        assert mc.check_version() == "9.9.9"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mc.check_version()  # once per process
    with pytest.raises(mc.MathnoteIncompatible, match=r"0\.2\.1"):
        mc.check_version(strict=True)


def test_the_tested_version_does_not_warn(monkeypatch):
    monkeypatch.setattr(mc, "_checked", {})
    monkeypatch.setattr(mc, "installed_version", lambda: mc.TESTED_VERSION)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mc.check_version(strict=True) == mc.TESTED_VERSION


def test_a_missing_internal_is_a_clear_error_naming_it_and_the_versions(monkeypatch):
    pytest.importorskip("mathnote_ocr")
    monkeypatch.setattr(mc, "_checked", {"v": mc.TESTED_VERSION})
    with pytest.raises(mc.MathnoteIncompatible, match=r"engine\.grouper\._no_such_name.*0\.2\.1"):
        mc._internal("engine.grouper", "_no_such_name")
    with pytest.raises(ImportError, match="no_such_module"):
        mc._internal("no_such_module", "x")


def test_the_installed_mathnote_has_every_internal_the_compat_module_names():
    pytest.importorskip("mathnote_ocr")
    if mc.installed_version() != mc.TESTED_VERSION:
        pytest.skip("another mathnote-ocr version: see mathnote_compat.py")
    for module, name in (
        ("api", "MathOCR"),
        ("api", "_autocanvas"),
        ("engine.grouper", "_size_feat"),
        ("engine.grouper", "_DEFAULTS"),
        ("engine.grouper", "_find_partitions_exact"),
        ("engine.grouper", "GrouperCache"),
        ("engine.grouper", "Partition"),
        ("engine.grouper", "group_and_classify"),
        ("engine.grouper", "classify_groups"),
        ("engine.renderer", "render_strokes"),
        ("engine.stroke", "Stroke"),
        ("seeding", "seeded"),
        ("tree_parser.tree_latex", "_sym_to_latex"),
        ("tree_parser.bottomup_v2", "_verify_score_subset"),
        ("tree_parser.bottomup_v2", "_verify_score_gnn"),
        ("latex_utils.glyphs", "CHAR_TO_SYMBOL"),
        ("latex_utils.glyphs", "_SVG_NS"),
        ("grouper_gnn.strokes", "StrokeGrouperModel"),
        ("grouper_gnn.model", "StrokeGNN"),
        ("grouper_gnn.features", "compute_features_v2"),
    ):
        assert mc._internal(module, name) is not None
    assert mc.sym_to_latex("X_cap") == "X"
    assert mc.char_to_symbol()[ord("x")] == "x"
