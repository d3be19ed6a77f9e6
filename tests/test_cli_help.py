"""The command line's help is plain text: no reStructuredText markup from the docstrings it is built from."""

from __future__ import annotations

import pytest

from whiteboard_app.cli import build_parser, plain_help


def test_plain_help_strips_literals_and_roles():
    assert (
        plain_help("``whiteboard-app recognize``: see :func:`~x.y.read_jsonl`")
        == "whiteboard-app recognize: see x.y.read_jsonl"
    )


@pytest.mark.parametrize("command", [None, "decks", "check", "recognize", "boards", "export"])
def test_help_has_no_backticks(command, capsys):
    parser = build_parser()
    argv = [command, "--help"] if command else ["--help"]
    with pytest.raises(SystemExit):
        parser.parse_args(argv)
    out = capsys.readouterr().out
    assert out.strip() and "`" not in out


def test_recognize_help_points_to_the_ink_format(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["recognize", "--help"])
    out = capsys.readouterr().out
    assert "strokes" in out and "user-guide" in out
