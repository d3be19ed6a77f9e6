"""Ink interchange: JSON lines and InkML (W3C), read and write.

JSON lines (one expression or step per line; plain or gzip-compressed, detected from the content)::

    {"id": str, "latex": str | null, "strokes": [[[x, y(, t_ms(, pressure))], ...], ...],
     "symbols": [{"label": str, "strokes": [stroke indices]}, ...]}

Any other keys of an object (e.g. CROHME's "source", "writer") are kept in ``InkRecord.extra`` and
written back. Points without ``t`` get t = 0 ms, points without pressure get 0.5 (the ink model's
conventions); on writing, ``t`` and ``pressure`` are left out of a record when every point has the
default, so a file without a time channel stays without one.

InkML (W3C Recommendation "Ink Markup Language (InkML)", 2011, https://www.w3.org/TR/InkML/): the
layout of the CROHME files (the de facto standard for handwritten maths): ``<traceFormat>`` channels
X Y and optionally T (ms; units="s" is converted) and F (pressure; scaled by the channel's ``max``),
one ``<trace>`` per stroke, ``<annotation type="truth">`` holding the LaTeX (``$...$`` stripped on
reading), ``<annotation type="UI">`` the id, and a ``<traceGroup>`` per symbol (its truth annotation
is the label, its ``<traceView traceDataRef=...>`` the strokes). A file with several records holds
one top-level ``<traceGroup>`` per record, annotated ``type="record"`` (our own convention; the
reader accepts both layouts). Trace values may use InkML's difference encoding (' and " prefixes).

Malformed input raises :class:`~whiteboard_app.ink.InkFormatError` whose message names the file,
the line (JSON lines) or element (InkML) and the reason; the attributes ``path``, ``where`` and
``reason`` carry the same.

Limits (a hostile or odd file is a clean error, never a hang or a memory blow-up): only regular files
are read (a FIFO or /dev/zero is refused at once, ``safeio.open_regular``); at most MAX_FILE_BYTES on
disk and MAX_TEXT_BYTES once decompressed (a gzip bomb stops there); a record holds at most
MAX_STROKES strokes and MAX_POINTS points; every coordinate, time and pressure is finite with
magnitude at most MAX_COORD (integers longer than 30 digits are refused before conversion); ids,
LaTeX and labels must be valid Unicode (a lone surrogate cannot be printed or written as UTF-8).
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from whiteboard_app.ink import InkFormatError
from whiteboard_app.ink.model import DEFAULT_PRESSURE, Point, StepInk, Stroke
from whiteboard_app.safeio import (
    UnsafeFileError,
    atomic_write_path,
    atomic_write_text,
    bounded_json_loads,
    open_regular,
    read_regular,
)

__all__ = [
    "InkRecord",
    "iter_jsonl",
    "read_inkml",
    "read_jsonl",
    "record_from_obj",
    "record_to_obj",
    "write_inkml",
    "write_jsonl",
]

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_TEXT_BYTES = 512 * 1024 * 1024
MAX_INKML_BYTES = 32 * 1024 * 1024
MAX_FILE_POINTS = 2_000_000
MAX_FILE_RECORDS = 200_000
"""Most points / records ``read_jsonl`` keeps in memory from one file, a few hundred MB at most
(``iter_jsonl`` streams without these limits)."""
MAX_LINE_BYTES = 32 * 1024 * 1024
MAX_STROKES = 10_000
MAX_POINTS = 1_000_000
MAX_COORD = 1e9
INKML_NS = "http://www.w3.org/2003/InkML"
_XML_ID = "{http://www.w3.org/XML/1998/namespace}id"


@dataclass(frozen=True)
class InkRecord:
    """One expression or step: an id, its ink, the ground-truth LaTeX (or None) and symbol groups.

    ``symbols`` is None when unknown, else a list of (label, stroke indices into ``ink.strokes``).
    ``extra`` keeps the other keys of a JSON line (written back unchanged).
    """

    id: str
    ink: StepInk
    latex: str | None = None
    symbols: list[tuple[str, tuple[int, ...]]] | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def _error(path: str | os.PathLike[str], where: str, reason: str) -> InkFormatError:
    err = InkFormatError(f"{os.fspath(path)}: {where}: {reason}")
    err.path, err.where, err.reason = os.fspath(path), where, reason
    return err


# ───────────────────────────── JSON lines ─────────────────────────────


class _BoundedReader(io.RawIOBase):
    """A binary stream that raises UnsafeFileError once more than ``limit`` bytes came through it."""

    def __init__(self, inner: IO[bytes] | gzip.GzipFile, path: str | os.PathLike[str], limit: int) -> None:
        self.inner, self.path, self.limit, self.n = inner, path, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:  # a writable buffer (memoryview, bytearray)
        data = self.inner.read(len(b))
        self.n += len(data)
        if self.n > self.limit:
            raise UnsafeFileError(self.path, f"holds more than {self.limit:,} bytes of text (decompressed)")
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


def _open_text(path: str | os.PathLike[str]) -> io.TextIOWrapper:
    raw = open_regular(path, MAX_FILE_BYTES)
    try:
        magic = raw.read(2)
        raw.seek(0)
        inner = gzip.GzipFile(fileobj=raw, mode="rb") if magic == b"\x1f\x8b" else raw
        stream = io.BufferedReader(_BoundedReader(inner, path, MAX_TEXT_BYTES))
        return io.TextIOWrapper(stream, encoding="utf-8")
    except BaseException:
        raw.close()
        raise


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{v!r} is not a number")
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"{v!r} is not finite")
    if abs(f) > MAX_COORD:
        raise ValueError(f"{f:g} is outside ±{MAX_COORD:g}")
    return f


def _text_field(v: str, what: str) -> str:
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} holds a lone surrogate (not valid Unicode text)") from None
    return v


def _point(row: Any) -> Point:
    if not isinstance(row, list) or not 2 <= len(row) <= 4:
        raise ValueError(f"a point is [x, y(, t(, pressure))], got {row!r}")
    x, y = _number(row[0]), _number(row[1])
    t = _number(row[2]) if len(row) > 2 and row[2] is not None else 0.0
    p = _number(row[3]) if len(row) > 3 and row[3] is not None else DEFAULT_PRESSURE
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"pressure {p} outside 0..1")
    return Point(x, y, t, p)


def record_from_obj(obj: Any, default_id: str) -> InkRecord:
    """Build an InkRecord from a decoded JSON object (one line's content); raises ValueError with the reason."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if "strokes" not in obj:
        raise ValueError('no "strokes" key')
    raw = obj["strokes"]
    if not isinstance(raw, list):
        raise ValueError('"strokes" must be a list of strokes')
    if len(raw) > MAX_STROKES:
        raise ValueError(f"{len(raw):,} strokes (the limit is {MAX_STROKES:,} per record)")
    strokes = []
    n_points = 0
    for k, s in enumerate(raw):
        if not isinstance(s, list) or not s:
            raise ValueError(f"stroke {k} must be a non-empty list of points")
        n_points += len(s)
        if n_points > MAX_POINTS:
            raise ValueError(f"more than {MAX_POINTS:,} points (the limit per record)")
        try:
            strokes.append(Stroke(tuple(_point(r) for r in s)))
        except ValueError as exc:
            raise ValueError(f"stroke {k}: {exc}") from None
    rid = obj.get("id", default_id)
    if not isinstance(rid, str) or not rid:
        raise ValueError(f'"id" must be a non-empty string, got {rid!r}')
    _text_field(rid, '"id"')
    latex = obj.get("latex")
    if latex is not None and not isinstance(latex, str):
        raise ValueError(f'"latex" must be a string, got {latex!r}')
    if latex is not None:
        _text_field(latex, '"latex"')
    symbols = None
    if obj.get("symbols") is not None:
        if not isinstance(obj["symbols"], list):
            raise ValueError('"symbols" must be a list')
        symbols = []
        for k, g in enumerate(obj["symbols"]):
            if (
                not isinstance(g, dict)
                or not isinstance(g.get("label"), str)
                or not isinstance(g.get("strokes"), list)
            ):
                raise ValueError(f'symbol {k} must be {{"label": str, "strokes": [int, ...]}}')
            _text_field(g["label"], f"symbol {k} label")
            idx = g["strokes"]
            for i in idx:
                if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(strokes):
                    raise ValueError(
                        f"symbol {k} ({g['label']!r}): stroke index {i!r} out of range 0..{len(strokes) - 1}"
                    )
            symbols.append((g["label"], tuple(idx)))
    extra = {k: v for k, v in obj.items() if k not in ("id", "latex", "strokes", "symbols")}
    return InkRecord(rid, StepInk(tuple(strokes)), latex, symbols, extra)


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[InkRecord]:
    """Yield the records of a JSON-lines file (plain or .gz) one by one; blank lines are skipped.

    A record without "id" gets "<file name>:<line>". Raises InkFormatError naming file, line and reason.
    """
    name = Path(path).name
    try:
        fh = _open_text(path)
    except OSError as exc:
        raise _error(path, "open", exc.strerror or str(exc)) from None
    except (RecursionError, RuntimeError, ValueError) as exc:  # pragma: no cover - defensive
        raise _error(path, "open", str(exc)) from None
    with fh:
        lineno = 0
        try:
            while True:
                line = fh.readline(MAX_LINE_BYTES + 1)
                if not line:
                    break
                lineno += 1
                if len(line) > MAX_LINE_BYTES:
                    raise _error(path, f"line {lineno}", f"longer than {MAX_LINE_BYTES:,} characters")
                if not line.strip():
                    continue
                try:
                    obj = bounded_json_loads(line)
                except json.JSONDecodeError as exc:
                    raise _error(
                        path, f"line {lineno}", f"not valid JSON ({exc.msg} at column {exc.colno})"
                    ) from None
                except ValueError as exc:  # a 400-digit number, NaN, nesting too deep
                    raise _error(path, f"line {lineno}", f"refused JSON ({exc})") from None
                try:
                    yield record_from_obj(obj, f"{name}:{lineno}")
                except ValueError as exc:
                    raise _error(path, f"line {lineno}", str(exc)) from None
        except UnsafeFileError as exc:
            raise _error(path, f"line {lineno + 1}", exc.strerror or str(exc)) from None
        except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
            raise _error(path, f"line {lineno + 1}", f"cannot read ({exc})") from None


def read_jsonl(path: str | os.PathLike[str]) -> list[InkRecord]:
    """All records of a JSON-lines file (plain or gzip). Raises InkFormatError (file, line, reason),
    also when the file holds more than MAX_FILE_POINTS points or MAX_FILE_RECORDS records (use ``iter_jsonl``
    to stream)."""
    out: list[InkRecord] = []
    n = 0
    for rec in iter_jsonl(path):
        n += sum(len(s.points) for s in rec.ink.strokes)
        if n > MAX_FILE_POINTS or len(out) >= MAX_FILE_RECORDS:
            raise _error(
                path,
                f"record {len(out) + 1}",
                f"the file holds more than {MAX_FILE_POINTS:,} points or "
                f"{MAX_FILE_RECORDS:,} records (read it with iter_jsonl)",
            )
        out.append(rec)
    return out


def _num_out(v: float) -> float | int:
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else v


def record_to_obj(rec: InkRecord) -> dict[str, Any]:
    """The JSON object of one record (the format read by :func:`read_jsonl`)."""
    pts = [p for s in rec.ink.strokes for p in s.points]
    with_p = any(p.pressure != DEFAULT_PRESSURE for p in pts)
    with_t = with_p or any(p.t != 0.0 for p in pts)
    strokes = []
    for s in rec.ink.strokes:
        rows = []
        for p in s.points:
            row = [_num_out(p.x), _num_out(p.y)]
            if with_t:
                row.append(_num_out(p.t))
            if with_p:
                row.append(p.pressure)
            rows.append(row)
        strokes.append(rows)
    obj: dict[str, Any] = {"id": rec.id}
    obj.update(rec.extra)
    obj["latex"] = rec.latex
    obj["strokes"] = strokes
    if rec.symbols is not None:
        obj["symbols"] = [{"label": lab, "strokes": list(idx)} for lab, idx in rec.symbols]
    return obj


def write_jsonl(path: str | os.PathLike[str], records: Iterable[InkRecord]) -> None:
    """Write records as JSON lines (gzip-compressed when the name ends in .gz), atomically."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with atomic_write_path(path) as tmp, opener(tmp, "wt", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(record_to_obj(rec), separators=(",", ":"), ensure_ascii=False) + "\n")


# ───────────────────────────── InkML ─────────────────────────────


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _xml_id(el: ET.Element) -> str | None:
    return el.get(_XML_ID) or el.get("id")


def _annotation(el: ET.Element, kind: str) -> str | None:
    for a in _children(el, "annotation"):
        if a.get("type") == kind:
            return (a.text or "").strip()
    return None


@dataclass
class _Channels:
    names: list[str]
    t_scale: float = 1.0  # to ms
    f_max: float | None = None


def _trace_format(root: ET.Element) -> _Channels:
    for tf in root.iter():
        if _local(tf.tag) != "traceFormat":
            continue
        names, t_scale, f_max = [], 1.0, None
        for ch in tf.iter():
            if _local(ch.tag) != "channel":
                continue
            nm = (ch.get("name") or "").upper()
            names.append(nm)
            if nm == "T" and (ch.get("units") or "").lower() == "s":
                t_scale = 1000.0
            f_max_text = ch.get("max")
            if nm == "F" and f_max_text:
                try:
                    f_max = float(f_max_text)
                except ValueError:
                    pass
        if names:
            return _Channels(names, t_scale, f_max)
    return _Channels(["X", "Y"])


_VALUE_RE = re.compile(r"([!'\"]?)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")


def _parse_trace(text: str, nch: int) -> list[list[float]]:
    """Points of one trace's text (explicit values or InkML first/second differences)."""
    rows: list[list[float]] = []
    mode = ["!"] * nch
    last = [0.0] * nch
    vel = [0.0] * nch
    for k, chunk in enumerate(text.split(",")):
        if not chunk.strip():
            continue
        toks = _VALUE_RE.findall(chunk)
        rest = _VALUE_RE.sub("", chunk).strip()
        if rest:
            raise ValueError(f"point {k}: unexpected {rest!r}")
        if len(toks) < 2 or len(toks) > nch:
            raise ValueError(f"point {k}: expected 2..{nch} values, got {len(toks)}")
        row = []
        for c, (prefix, num) in enumerate(toks):
            if len(num) > 40:
                raise ValueError(f"point {k}: a number written with {len(num)} characters")
            v = float(num)
            if prefix:
                mode[c] = prefix
            if mode[c] == "'":
                vel[c] = v
                v = last[c] + v
            elif mode[c] == '"':
                vel[c] = vel[c] + v
                v = last[c] + vel[c]
            else:
                vel[c] = v - last[c] if rows else 0.0
            if not math.isfinite(v) or abs(v) > MAX_COORD:
                raise ValueError(f"point {k}: {v:g} is outside ±{MAX_COORD:g}")
            last[c] = v
            row.append(v)
        rows.append(row)
    if not rows:
        raise ValueError("no points")
    return rows


def _leaf_groups(group: ET.Element) -> list[ET.Element]:
    """traceGroups under ``group`` that reference traces directly (one per symbol)."""
    out: list[ET.Element] = []
    for g in group.iter():
        if _local(g.tag) == "traceGroup" and g is not group and _children(g, "traceView"):
            out.append(g)
    return out


def _strip_dollars(latex: str | None) -> str | None:
    if latex is None:
        return None
    s = latex.strip()
    if len(s) >= 2 and s.startswith("$") and s.endswith("$"):
        s = s.strip("$").strip()
    return s


def read_inkml(path: str | os.PathLike[str]) -> list[InkRecord]:
    """Read an InkML file into records (one for a CROHME-style file, several for our multi-record layout).

    Raises InkFormatError naming the file, the element (e.g. ``trace xml:id="3"``) and the reason.
    """
    try:
        data = read_regular(path, MAX_INKML_BYTES)
        parser = ET.XMLParser()
        parser.feed(data)
        tree = ET.ElementTree(parser.close())
    except ET.ParseError as exc:
        line, col = exc.position
        raise _error(path, f"line {line}, column {col}", f"not well-formed XML ({exc})") from None
    except OSError as exc:
        raise _error(path, "open", exc.strerror or str(exc)) from None
    except (LookupError, ValueError) as exc:  # e.g. <?xml encoding="TF-8"?> (found by tests/test_fuzz.py)
        raise _error(path, "XML declaration", f"unreadable document ({exc})") from None
    except RecursionError:
        raise _error(path, "document", "nested too deeply") from None
    root = tree.getroot()
    if root is None:
        raise _error(path, "document", "no root element")
    if _local(root.tag) != "ink":
        raise _error(path, f"<{_local(root.tag)}>", "the root element must be <ink>")
    channels = _trace_format(root)
    if channels.names[:2] != ["X", "Y"]:
        raise _error(path, "traceFormat", f"channels must start with X Y, got {' '.join(channels.names)}")
    # every trace of the document, by id, in document order
    traces: dict[str, ET.Element] = {}
    order: list[str] = []
    tid_of: dict[int, str] = {}  # id(element) -> trace id (traces without xml:id get "#k")
    for k, tr in enumerate(el for el in root.iter() if _local(el.tag) == "trace"):
        if k >= MAX_STROKES:
            raise _error(path, "ink", f"more than {MAX_STROKES:,} traces")
        tid = _xml_id(tr) or f"#{k}"
        if tid in traces:
            raise _error(path, f'trace xml:id="{tid}"', "duplicate trace id")
        traces[tid] = tr
        tid_of[id(tr)] = tid
        order.append(tid)
    parsed: dict[str, Stroke] = {}
    f_vals: list[float] = []
    raw_rows: dict[str, list[list[float]]] = {}
    n_points = 0
    for tid in order:
        try:
            raw_rows[tid] = _parse_trace(traces[tid].text or "", len(channels.names))
        except ValueError as exc:
            raise _error(path, f'trace xml:id="{tid}"', str(exc)) from None
        n_points += len(raw_rows[tid])
        if n_points > MAX_POINTS:
            raise _error(path, f'trace xml:id="{tid}"', f"more than {MAX_POINTS:,} points in the file")
        if "F" in channels.names:
            fi = channels.names.index("F")
            f_vals += [r[fi] for r in raw_rows[tid] if len(r) > fi]
    f_scale = channels.f_max or (max(f_vals) if f_vals and max(f_vals) > 1.0 else 1.0)
    for tid in order:
        pts = []
        for r in raw_rows[tid]:
            vals = dict(zip(channels.names, r, strict=False))
            t = vals.get("T", 0.0) * channels.t_scale
            p = vals["F"] / f_scale if "F" in vals else DEFAULT_PRESSURE
            if not 0.0 <= p <= 1.0:
                raise _error(path, f'trace xml:id="{tid}"', f"pressure {vals['F']} outside 0..{f_scale}")
            pts.append(Point(vals["X"], vals["Y"], t, p))
        parsed[tid] = Stroke(tuple(pts))

    record_groups = [g for g in _children(root, "traceGroup") if _annotation(g, "record") is not None]
    if not record_groups:
        rid = _annotation(root, "UI") or Path(path).stem
        latex = _strip_dollars(_annotation(root, "truth"))
        return [_make_record(path, rid, latex, order, parsed, _leaf_groups(root))]
    records: list[InkRecord] = []
    for g in record_groups:
        rid = _annotation(g, "record") or _xml_id(g) or f"{Path(path).stem}:{len(records)}"
        latex = _strip_dollars(_annotation(g, "truth"))
        ids = [tid_of[id(t)] for t in g.iter() if _local(t.tag) == "trace"]
        records.append(_make_record(path, rid, latex, ids, parsed, _leaf_groups(g)))
    return records


def _make_record(
    path: str | os.PathLike[str],
    rid: str,
    latex: str | None,
    trace_ids: list[str],
    parsed: dict[str, Stroke],
    groups: list[ET.Element],
) -> InkRecord:
    index = {tid: k for k, tid in enumerate(trace_ids)}
    symbols = None
    if groups:
        symbols = []
        for g in groups:
            label = _annotation(g, "truth") or ""
            idx = []
            for tv in _children(g, "traceView"):
                ref = (tv.get("traceDataRef") or "").lstrip("#")
                if ref not in index:
                    where = f'traceGroup xml:id="{_xml_id(g)}"' if _xml_id(g) else f"traceGroup {label!r}"
                    raise _error(path, where, f"traceView refers to unknown trace {ref!r}")
                idx.append(index[ref])
            symbols.append((label, tuple(idx)))
    ink = StepInk(tuple(parsed[t] for t in trace_ids))
    return InkRecord(rid, ink, latex, symbols)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _add_traces(parent: ET.Element, rec: InkRecord, prefix: str, with_t: bool, with_f: bool) -> list[str]:
    ids = []
    for k, s in enumerate(rec.ink.strokes):
        tid = f"{prefix}{k}"
        ids.append(tid)
        tr = ET.SubElement(parent, "trace", {_XML_ID: tid})
        cols = []
        for p in s.points:
            row = [_fmt(p.x), _fmt(p.y)]
            if with_t:
                row.append(_fmt(p.t))
            if with_f:
                row.append(_fmt(p.pressure))
            cols.append(" ".join(row))
        tr.text = ", ".join(cols)
    return ids


def _add_symbols(parent: ET.Element, rec: InkRecord, ids: list[str], prefix: str) -> None:
    if rec.symbols is None:
        return
    seg = ET.SubElement(parent, "traceGroup", {_XML_ID: f"{prefix}seg"})
    ET.SubElement(seg, "annotation", {"type": "truth"}).text = "Segmentation"
    for k, (label, idx) in enumerate(rec.symbols):
        g = ET.SubElement(seg, "traceGroup", {_XML_ID: f"{prefix}sym{k}"})
        ET.SubElement(g, "annotation", {"type": "truth"}).text = label
        for i in idx:
            ET.SubElement(g, "traceView", {"traceDataRef": ids[i]})


def write_inkml(path: str | os.PathLike[str], records: Iterable[InkRecord]) -> None:
    """Write records as one InkML document (CROHME layout for one record; one top-level traceGroup
    annotated type="record" per record otherwise). Channels X Y, plus T (ms) and F (0..1) when any
    point has a time or a pressure other than the defaults. Written atomically."""
    records = list(records)
    pts = [p for r in records for s in r.ink.strokes for p in s.points]
    with_f = any(p.pressure != DEFAULT_PRESSURE for p in pts)
    with_t = with_f or any(p.t != 0.0 for p in pts)
    root = ET.Element("ink", {"xmlns": INKML_NS})
    tf = ET.SubElement(ET.SubElement(root, "definitions"), "traceFormat", {_XML_ID: "tf"})
    ET.SubElement(tf, "channel", {"name": "X", "type": "decimal"})
    ET.SubElement(tf, "channel", {"name": "Y", "type": "decimal"})
    if with_t:
        ET.SubElement(tf, "channel", {"name": "T", "type": "decimal", "units": "ms"})
    if with_f:
        ET.SubElement(tf, "channel", {"name": "F", "type": "decimal", "max": "1"})
    if len(records) == 1:
        rec = records[0]
        if rec.latex is not None:
            ET.SubElement(root, "annotation", {"type": "truth"}).text = f"${rec.latex}$"
        ET.SubElement(root, "annotation", {"type": "UI"}).text = rec.id
        ids = _add_traces(root, rec, "", with_t, with_f)
        _add_symbols(root, rec, ids, "")
    else:
        for n, rec in enumerate(records):
            g = ET.SubElement(root, "traceGroup", {_XML_ID: f"r{n}"})
            ET.SubElement(g, "annotation", {"type": "record"}).text = rec.id
            if rec.latex is not None:
                ET.SubElement(g, "annotation", {"type": "truth"}).text = f"${rec.latex}$"
            ids = _add_traces(g, rec, f"r{n}t", with_t, with_f)
            _add_symbols(g, rec, ids, f"r{n}")
    tree = ET.ElementTree(root)
    ET.indent(tree)
    text = ET.tostring(root, encoding="unicode")
    atomic_write_text(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
