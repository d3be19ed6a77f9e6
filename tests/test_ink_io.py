"""JSON lines and InkML io (ink/io.py): round trips on synthetic ink, the CROHME layout, clear errors."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from whiteboard_app.ink import InkFormatError, Point, StepInk, Stroke
from whiteboard_app.ink.io import InkRecord, iter_jsonl, read_inkml, read_jsonl, write_inkml, write_jsonl
from whiteboard_app.ink.synth import synthesize


def _record(latex: str, seed: int, rid: str | None = None, **extra) -> InkRecord:
    s = synthesize(latex, seed=seed)
    return InkRecord(rid or f"synth-{seed}", s.ink, latex, list(s.symbols), dict(extra))


def _no_time(rec: InkRecord) -> InkRecord:
    strokes = tuple(Stroke(tuple(Point(p.x, p.y) for p in s.points)) for s in rec.ink.strokes)
    return InkRecord(rec.id, StepInk(strokes), rec.latex, rec.symbols)


RECORDS = [
    _record(r"\frac{\partial L}{\partial w} = x^T (y - \hat{y})", 1, source="synth"),
    _record(r"\sigma(z)(1-\sigma(z))", 2),
    InkRecord("no-truth", synthesize("a+b", seed=3).ink, None, None),
]


@pytest.mark.parametrize("name", ["ink.jsonl", "ink.jsonl.gz"])
def test_jsonl_round_trip(tmp_path, name):
    path = tmp_path / name
    write_jsonl(path, RECORDS)
    back = read_jsonl(path)
    assert back == RECORDS
    assert back[0].extra == {"source": "synth"}
    assert back[0].ink.strokes[0].points[3].pressure == RECORDS[0].ink.strokes[0].points[3].pressure
    if name.endswith(".gz"):
        with open(path, "rb") as fh:
            assert fh.read(2) == b"\x1f\x8b"


def test_jsonl_without_time_channel_stays_without(tmp_path):
    rec = _no_time(RECORDS[1])
    path = tmp_path / "a.jsonl"
    write_jsonl(path, [rec])
    obj = json.loads(path.read_text())
    assert all(len(pt) == 2 for s in obj["strokes"] for pt in s)
    assert read_jsonl(path) == [rec]


def test_reads_the_shared_handwriting_format(tmp_path):
    line = {
        "id": "crohme/x_0",
        "source": "crohme2016_test",
        "writer": "w1",
        "latex": "x^{2}",
        "strokes": [[[387.0, 272.0], [389.0, 264.0]], [[441, 266], [432, 264]], [[450, 230, 17]]],
        "symbols": [{"label": "x", "strokes": [0, 1]}, {"label": "2", "strokes": [2]}],
    }
    path = tmp_path / "d.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps(line) + "\n\n")
    (rec,) = list(iter_jsonl(path))
    assert rec.id == "crohme/x_0" and rec.latex == "x^{2}"
    assert rec.symbols == [("x", (0, 1)), ("2", (2,))]
    assert rec.ink.strokes[1].points[0] == Point(441.0, 266.0, 0.0, 0.5)
    assert rec.ink.strokes[2].points[0].t == 17.0
    assert rec.extra == {"source": "crohme2016_test", "writer": "w1"}


@pytest.mark.parametrize(
    "content, where, fragment",
    [
        (
            '{"id": "a", "strokes": [[[1, 2]]]}\n{"id": "b", "strokes": [[[1, 2]]\n',
            "line 2",
            "not valid JSON",
        ),
        ("[1, 2]\n", "line 1", "expected a JSON object"),
        ('{"id": "a"}\n', "line 1", 'no "strokes" key'),
        ('{"id": "a", "strokes": [[]]}\n', "line 1", "stroke 0 must be a non-empty list"),
        ('{"id": "a", "strokes": [[[1]]]}\n', "line 1", "stroke 0: a point is"),
        ('{"id": "a", "strokes": [[[1, "y"]]]}\n', "line 1", "'y' is not a number"),
        ('{"id": "a", "strokes": [[[1, 2, 0, 1.5]]]}\n', "line 1", "pressure 1.5 outside 0..1"),
        (
            '{"id": "a", "strokes": [[[1, 2]]], "symbols": [{"label": "x", "strokes": [1]}]}\n',
            "line 1",
            "stroke index 1 out of range",
        ),
        ('{"id": 3, "strokes": [[[1, 2]]]}\n', "line 1", '"id" must be a non-empty string'),
    ],
)
def test_malformed_jsonl_names_file_line_and_reason(tmp_path, content, where, fragment):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(InkFormatError) as info:
        read_jsonl(path)
    msg = str(info.value)
    assert "bad.jsonl" in msg and where in msg and fragment in msg
    assert info.value.where == where


def test_missing_file_is_an_ink_format_error(tmp_path):
    with pytest.raises(InkFormatError, match="nope.jsonl"):
        read_jsonl(tmp_path / "nope.jsonl")


@pytest.mark.parametrize("records", [RECORDS[:1], RECORDS, [_no_time(RECORDS[1])]])
def test_inkml_round_trip(tmp_path, records):
    path = tmp_path / "ink.inkml"
    write_inkml(path, records)
    back = read_inkml(path)
    assert [(r.id, r.latex, r.symbols, r.ink) for r in back] == [
        (r.id, r.latex, r.symbols, r.ink) for r in records
    ]


def test_jsonl_to_inkml_to_jsonl(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", RECORDS)
    write_inkml(tmp_path / "a.inkml", read_jsonl(tmp_path / "a.jsonl"))
    write_jsonl(tmp_path / "b.jsonl", read_inkml(tmp_path / "a.inkml"))
    assert [(r.id, r.ink, r.latex, r.symbols) for r in read_jsonl(tmp_path / "b.jsonl")] == [
        (r.id, r.ink, r.latex, r.symbols) for r in RECORDS
    ]


CROHME_STYLE = """<?xml version="1.0" encoding="UTF-8"?>
<ink xmlns="http://www.w3.org/2003/InkML">
<traceFormat><channel name="X" type="decimal"/><channel name="Y" type="decimal"/>
<channel name="T" type="decimal" units="s"/><channel name="F" type="decimal" max="1024"/></traceFormat>
<annotation type="truth">$x^2$</annotation>
<annotation type="UI">2014_demo_0</annotation>
<trace id="0">10 20 0.5 512, 12 25 0.51 1024, 14 30 0.52 256</trace>
<trace id="1">30 20 0.7 512, '2 '5 '0.01 '0, "0 "0 "0 "0, 0 0 0 0</trace>
<trace id="2">40 10 0.9 100, 44 8 0.95 100</trace>
<traceGroup xml:id="7"><annotation type="truth">Segmentation</annotation>
  <traceGroup xml:id="8"><annotation type="truth">x</annotation>
    <traceView traceDataRef="0"/><traceView traceDataRef="1"/><annotationXML href="x_1"/></traceGroup>
  <traceGroup xml:id="9"><annotation type="truth">2</annotation><traceView traceDataRef="2"/></traceGroup>
</traceGroup>
</ink>
"""


def test_reads_a_crohme_style_file_with_units_scaling_and_differences(tmp_path):
    path = tmp_path / "demo.inkml"
    path.write_text(CROHME_STYLE)
    (rec,) = read_inkml(path)
    assert rec.id == "2014_demo_0" and rec.latex == "x^2"
    assert rec.symbols == [("x", (0, 1)), ("2", (2,))]
    p = rec.ink.strokes[0].points[1]
    assert (p.x, p.y, p.t, p.pressure) == (12.0, 25.0, pytest.approx(510.0), 1.0)
    # first differences (30+2, 20+5), then second differences of 0: the velocity persists
    s1 = rec.ink.strokes[1].points
    assert [(q.x, q.y) for q in s1] == [(30.0, 20.0), (32.0, 25.0), (34.0, 30.0), (36.0, 35.0)]


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("<ink><trace>1 2, 3</trace>", "not well-formed XML"),
        ('<?xml version="1.0"?><notink/>', "root element must be <ink>"),
        ('<ink><trace xml:id="t5">1 2, 3</trace></ink>', 'trace xml:id="t5": point 1: expected 2..2 values'),
        ('<ink><trace xml:id="t5">1 2, 3 abc</trace></ink>', "unexpected 'abc'"),
        (
            '<ink><trace xml:id="a">1 2</trace><traceGroup xml:id="g"><annotation type="truth">x</annotation>'
            '<traceView traceDataRef="zz"/></traceGroup></ink>',
            "unknown trace 'zz'",
        ),
        (
            '<ink><traceFormat><channel name="T"/><channel name="X"/></traceFormat><trace>1 2</trace></ink>',
            "channels must start with X Y",
        ),
    ],
)
def test_malformed_inkml_names_file_element_and_reason(tmp_path, content, fragment):
    path = tmp_path / "bad.inkml"
    path.write_text(content)
    with pytest.raises(InkFormatError) as info:
        read_inkml(path)
    assert "bad.inkml" in str(info.value) and fragment in str(info.value)


_coord = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False).map(lambda v: round(v, 3))
_points = st.lists(
    st.tuples(
        _coord,
        _coord,
        st.floats(0, 1e6).map(lambda v: round(v, 1)),
        st.floats(0, 1).map(lambda v: round(v, 3)),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=25, deadline=None)
@given(st.lists(_points, min_size=1, max_size=4))
def test_round_trips_hold_for_arbitrary_points(tmp_path_factory, strokes):
    ink = StepInk(tuple(Stroke(tuple(Point(*p) for p in s)) for s in strokes))
    rec = InkRecord("h", ink, "x", [("x", tuple(range(len(strokes))))])
    d = tmp_path_factory.mktemp("rt")
    write_jsonl(d / "a.jsonl", [rec])
    write_inkml(d / "a.inkml", [rec])
    assert read_jsonl(d / "a.jsonl") == [rec]
    assert read_inkml(d / "a.inkml")[0].ink == ink
