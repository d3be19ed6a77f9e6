"""Stroke groups for the added classes the stroke grouper never learnt: ‖ and accents.

The stroke grouper (``weights/grouper.pth``) was trained on the ground-truth symbol groups of real CROHME
ink, which has no norm bar ‖ and no accents. So it splits a ‖ into two ``|`` (read ``1 1``) and joins a
caret or bar with the letter under it into one symbol (ŷ read as ``\\rbrace``, x̄ as ``E``), and the
classifier, which knows ``\\|``, ``\\hat`` and ``\\tilde`` (docs/recogniser.md, "Added classes"), never
sees the right group. :func:`regroup` runs after the grouping, on each partition, and changes a group
only where the geometry says so *and* the classifier reads the changed groups clearly better:

1. **Two bars into ‖** (:func:`bar_pairs`): two neighbouring symbols of one thin, upright stroke each,
   of about the same height, tops and feet level, their centres at most :data:`BAR_MAX_SPACING` x their
   height apart, nothing between them, each read as a bar (``1``, ``|``, ``l``, ``I``; not a bracket). Read together, the classifier must say ``\\|`` with at least
   :data:`BAR_MIN_PROB`. Because ``11`` written with straight strokes looks exactly like ‖, a pair is
   merged only when the line has two such pairs with something between them (``‖w‖``: norm bars come
   in pairs), or when the two bars are the whole ink and the evidence is stronger
   (:data:`BAR_ALONE_MIN_PROB`, :data:`BAR_ALONE_MAX_SPACING`); a single pair among other symbols
   (``11 + 12``, ``|a||b|``) is left alone, unless it stands between two letters with no other bar as
   tall on the line and is read as clearly as a ‖ alone (``D(p‖q)``: :func:`_between_letters`). A
   symbol already read ``\\|`` counts as one of the two, and one symbol of two such strokes that the
   classifier read as something else (``U``, ``11``) is relabelled by the same rule.
2. **An accent split off its base** (:func:`split_accents`): a symbol of 2-4 strokes of which one or two
   strokes lie wholly above the rest (their foot at least :data:`ACCENT_MIN_GAP` x the rest's height
   above its top, :data:`BAR_ACCENT_MIN_GAP` for a bar; their width at least :data:`MARK_MIN_WIDTH` x
   that height: not an i's dot). The upper part must read as a caret, tilde or bar (on top; those
   three together with at least :data:`MARK_MIN_PROB`: the accent is the top one), the rest as a
   letter, digit or Greek letter with at least :data:`BASE_MIN_PROB`, the two must stand as an accent over its base (``accents.accent_pairs``), and
   the product of their probabilities must be at least the merged symbol's own
   (:data:`SPLIT_MIN_RATIO`); an i or j (:data:`DOTTED`: their dot is often a dash) is never split off
   a bar. A clear caret or tilde (:data:`CARET_MIN_PROB`) may be narrower (:data:`CARET_MIN_WIDTH`),
   needs only :data:`CARET_SPLIT_MIN_RATIO` of the merged symbol's probability and is split also off
   a group read i or j (ŷ read j) unless the rest reads as an i's body (:data:`DOTLESS`); a clear bar
   over a clear letter (:data:`CLEAR_BAR_PROB`) may be as narrow.
   The accent itself is then placed by recognition/accents.py before the layout parse.

Thresholds: measured on the training ink only (../shared/handwriting/train.jsonl.gz; the figures are in
docs/recogniser.md, "Stroke groups for ‖ and accents"): of the 127 real ``1 1`` pairs written side by side
(tops and feet within 0.2 of the height) in the training writers' expressions, 3 would pass the pair
rules (:data:`BAR_MAX_SPACING`, :data:`BAR_MIN_PROB`; all single pairs among other symbols: not merged)
and 1 the whole-ink rules; of 300 ‖ made of the held-out writers' own bars (symbol_synth), 217 and 114. The ground-truth groups of
the 648 validation writers' expressions come out of :func:`regroup` unchanged, those of the first 3,000
training expressions all but one (a ``\\sum`` whose top bar floats above it, before the bar's own gap
rule; with the classifier and rules of session 8, a π whose top bar floats, the same before and after
that session's rules). All real symbols of 2-4 strokes of the 9,686 training expressions, each read alone as the
classifier reads it (so the merged reading is the classifier's own, not the ground truth): 4 are split
(a π, a 5, an I and a Σ whose top bar floats 0.15-0.33 heights above the rest).

Pure Python over the engine's objects: *symbols* need ``name``, ``confidence``, ``alternatives`` and
``strokes`` (each stroke with ``id`` and ``bbox`` x, y, w, h; y down); the classifier is a callback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

from whiteboard_app.recognition.accents import ACCENT_MARKS, accent_pairs

#: Class names of the norm bar and of the classes a lone bar of it is read as.
NORM = "\\|"
#: The ‖ merge: the classifier's least probability of ``\\|`` for two bars read together, when the line
#: has two such pairs.
BAR_MIN_PROB = 0.4
#: ... and when the two bars are the whole ink (``11`` looks the same: stronger evidence).
BAR_ALONE_MIN_PROB = 0.9
#: Largest distance between the bars' centres, in units of the taller bar's height (two pairs / the whole
#: ink; measured on the training ink: the centres of a ‖ made of a writer's own bars lie 0.11-0.41 apart
#: (5-95 %), of a real ``| |`` norm written in CROHME 0.09-0.35, of a real ``1 1`` 0.41-1.09).
BAR_MAX_SPACING = 0.4
BAR_ALONE_MAX_SPACING = 0.3
#: Least distance between the centres (two strokes on top of each other are no ‖).
BAR_MIN_SPACING = 0.05
#: What the classifier reads one bar of a ‖ as (a bracket, read as a bracket, is no bar) ...
BAR_CLASSES = frozenset({"1", "|", "l", "I_cap", "\\|"})
#: ... on top, or among its alternatives with at least this probability.
BAR_MIN_ALTERNATIVE = 0.1
#: A bar: width at most this share of its height ...
BAR_MAX_WIDTH = 0.3
#: ... the shorter at least this share of the taller, tops and feet within this share of it.
BAR_MIN_HEIGHT_RATIO = 0.75
BAR_MAX_OFFSET = 0.2
#: A single ‖ (no second one on the line) is merged when it stands between two letters
#: (:func:`_between_letters`; ``D(p‖q)``) and the classifier reads it as clearly as a ‖ alone
#: (:data:`BAR_ALONE_MIN_PROB`, :data:`BAR_ALONE_MAX_SPACING`); its neighbours at most this times its height.
LONE_MAX_NEIGHBOUR = 1.25
#: Class names of letters (a neighbour of a single ‖): Latin letters of either case and Greek letters.
LETTER_CLASSES = frozenset(
    [chr(c) for c in range(ord("a"), ord("z") + 1)]
    + [f"{chr(c)}_cap" for c in range(ord("A"), ord("Z") + 1)]
    + "alpha beta gamma delta epsilon theta lambda mu pi sigma phi psi omega".split()
    + ["\\eta", "\\tau", "\\rho", "\\kappa", "\\ell"]
)
#: The accent split: the mark's least probability, the base's, the ratio the split's product of
#: probabilities must beat the merged symbol's by, and the least gap (share of the base's height)
#: between the mark's foot and the base's top.
MARK_MIN_PROB = 0.5
BASE_MIN_PROB = 0.3
SPLIT_MIN_RATIO = 1.0
ACCENT_MIN_GAP = 0.05
#: ... a bar's least gap: real E, F, 5, π, Σ, I are often written with their top bar floating just above
#: the rest (of the training ink's symbols of 2-4 strokes, 7 were split with the gap above and 2 with this,
#: when a mark had to read as one accent with 0.5; 4 with this and the marks' probabilities summed).
BAR_ACCENT_MIN_GAP = 0.15
#: The mark's least width, in units of the base's height (an i's or j's dot is no accent).
MARK_MIN_WIDTH = 0.35
#: Classes whose own glyph has a mark above its body (a dot written as a dash): a group of two strokes
#: read so is split only off a clear caret or tilde (:data:`CARET_MIN_PROB`) over a base that is not the
#: body of an i or j (:data:`DOTLESS`), never off a bar.
DOTTED = frozenset({"i", "j"})
#: A caret or tilde (the classifier's ``\\hat`` + ``\\tilde`` on top with at least this probability) is
#: an accent also when it is narrower than :data:`MARK_MIN_WIDTH` (down to :data:`CARET_MIN_WIDTH`: a
#: small caret over a y, whose height includes its tail, is 0.24-0.26 of it) and also over what the
#: merged group was read as i or j (a caret over a y is read j or f): an i's or j's dot, a dash at most,
#: is no caret. Made carets over y of the held-out writers (derivation steps) read 0.84-0.97 as ``\\hat``.
CARET_MIN_PROB = 0.7
CARET_MIN_WIDTH = 0.15
#: ... and such a clear caret or tilde is split off when the split's product of probabilities is at
#: least this share of the merged symbol's own (a caret over a y read 0.78 as j, split 0.84 x 0.77).
CARET_SPLIT_MIN_RATIO = 0.5
#: A bar (``-``) and the letter under it both read with at least this probability are an accent over
#: its base also when the bar is narrower than :data:`MARK_MIN_WIDTH` (down to :data:`CARET_MIN_WIDTH`:
#: a bar over a tall f is 0.28-0.42 of its height); the bar's own gap (:data:`BAR_ACCENT_MIN_GAP`) and the
#: product rule still apply, and a group of three or more strokes read i or j is no i or j (made bars over
#: x and f of the held-out writers were read i, j or F).
CLEAR_BAR_PROB = 0.8
#: What an i's or j's body without its dot is read as: never a base split off an i or j.
DOTLESS = frozenset({"1", "|", "l", "I_cap", "i", "j", "J_cap", ")", "("})
#: The accent marks that are a caret or tilde (not a bar).
CARETS = frozenset({"\\hat", "\\tilde"})


@dataclass(frozen=True)
class Reading:
    """The classifier's reading of one stroke group: top class name, its probability, and the
    alternatives ((class name, probability) pairs, best first)."""

    name: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...] = ()


#: classify(groups) -> one :class:`Reading` per group (a group: a tuple of stroke ids) or None when the
#: group cannot be read.
Classify = Callable[[Sequence[tuple[int, ...]]], Sequence[Reading | None]]
#: make_symbol(strokes, reading) -> a new symbol of those strokes read so.
MakeSymbol = Callable[[list, Reading], object]


@dataclass(frozen=True)
class _Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def w(self) -> float:
        return self.x1 - self.x0

    @property
    def h(self) -> float:
        return self.y1 - self.y0


def _box(strokes) -> _Box:
    return _Box(
        min(s.bbox.x for s in strokes),
        min(s.bbox.y for s in strokes),
        max(s.bbox.x + s.bbox.w for s in strokes),
        max(s.bbox.y + s.bbox.h for s in strokes),
    )


def _is_bar(sym) -> bool:
    """One thin upright stroke that the classifier reads as a bar (:data:`BAR_CLASSES`, on top or with
    at least :data:`BAR_MIN_ALTERNATIVE`): not a bracket."""
    if len(sym.strokes) != 1:
        return False
    b = _box(sym.strokes)
    if b.h <= 0 or b.w > BAR_MAX_WIDTH * b.h:
        return False
    return sym.name in BAR_CLASSES or any(
        n in BAR_CLASSES and p >= BAR_MIN_ALTERNATIVE for n, p in (sym.alternatives or [])
    )


def _level_bars(a: _Box, b: _Box) -> float | None:
    """The distance between the centres of bar boxes *a* (left) and *b* in units of the taller's height,
    or None when they are not a ‖'s two bars (heights, tops, feet)."""
    h = max(a.h, b.h)
    if min(a.h, b.h) < BAR_MIN_HEIGHT_RATIO * h:
        return None
    if abs(a.y0 - b.y0) > BAR_MAX_OFFSET * h or abs(a.y1 - b.y1) > BAR_MAX_OFFSET * h:
        return None
    return ((b.x0 + b.x1) - (a.x0 + a.x1)) / 2 / h


def bar_pairs(symbols: Sequence) -> list[tuple[int, int, float]]:
    """Bars that could be one ‖: (left index, right index, distance of their centres / height), left to
    right, each symbol in at most one pair. Either two neighbouring symbols of one bar each (a bar: one
    stroke at most :data:`BAR_MAX_WIDTH` as wide as tall, a slanted bar's box included, read as a bar,
    :func:`_is_bar`), or one symbol of two such strokes (left index = right index: the grouper joined
    them, but the classifier may have read them as something else). The two are level
    (:data:`BAR_MIN_HEIGHT_RATIO`, :data:`BAR_MAX_OFFSET`), their centres :data:`BAR_MIN_SPACING` to
    :data:`BAR_MAX_SPACING` apart, and no other symbol's centre lies between theirs at their height."""
    boxes = [_box(s.strokes) for s in symbols]
    cx = [(b.x0 + b.x1) / 2 for b in boxes]
    order = sorted(range(len(symbols)), key=lambda i: cx[i])
    out: list[tuple[int, int, float]] = []
    used: set[int] = set()
    for i in order:
        if len(symbols[i].strokes) != 2:
            continue
        a, b = sorted((_box([st]) for st in symbols[i].strokes), key=lambda x: x.x0 + x.x1)
        if not all(x.h > 0 and x.w <= BAR_MAX_WIDTH * x.h for x in (a, b)):
            continue
        gap = _level_bars(a, b)
        if gap is not None and BAR_MIN_SPACING <= gap <= BAR_MAX_SPACING:
            out.append((i, i, gap))
            used.add(i)
    for i, j in zip(order, order[1:], strict=False):
        if i in used or j in used or not (_is_bar(symbols[i]) and _is_bar(symbols[j])):
            continue
        gap = _level_bars(boxes[i], boxes[j])
        if gap is None or not BAR_MIN_SPACING <= gap <= BAR_MAX_SPACING:
            continue
        a, b = boxes[i], boxes[j]
        between = any(
            k not in (i, j)
            and cx[i] < cx[k] < cx[j]
            and boxes[k].y0 < max(a.y1, b.y1)
            and boxes[k].y1 > min(a.y0, b.y0)
            for k in range(len(symbols))
        )
        if between:
            continue
        out.append((i, j, gap))
        used.update((i, j))
    return sorted(out, key=lambda t: cx[t[0]])


def merge_bars(symbols: Sequence, classify: Classify, make_symbol: MakeSymbol) -> list:
    """*symbols* with the pairs of :func:`bar_pairs` that the classifier reads as ``\\|`` made one ``\\|``
    symbol (rules in the module docstring: two ‖ on the line, a symbol already read ``\\|`` counting as
    one; or the pair alone, with stronger evidence). A new list; unchanged symbols are the same objects."""
    pairs = bar_pairs(symbols)
    if not pairs:
        return list(symbols)
    covered = {k for i, j, _g in pairs for k in (i, j)}
    alone = covered == set(range(len(symbols))) and len(pairs) == 1
    # symbols read as ‖ already (of two bars or not) count as one of the two
    others = sum(s.name == NORM for k, s in enumerate(symbols) if k not in covered)
    others += sum(i == j and symbols[i].name == NORM for i, j, _g in pairs)
    pairs = [(i, j, g) for i, j, g in pairs if not (i == j and symbols[i].name == NORM)]
    lone = {k for k, (i, j, _g) in enumerate(pairs) if _between_letters(symbols, i, j)}
    if not pairs or (not alone and len(pairs) + others < 2 and not lone):
        return list(symbols)
    readings = classify(
        [tuple(st.id for k in sorted({i, j}) for st in symbols[k].strokes) for i, j, _g in pairs]
    )
    keep = []
    single = []  # pairs that may stand alone on the line: p‖q
    for n, ((i, j, gap), r) in enumerate(zip(pairs, readings, strict=True)):
        p = _prob(r, NORM)
        strong = p >= BAR_ALONE_MIN_PROB and gap <= BAR_ALONE_MAX_SPACING
        if alone and not strong:
            continue
        if p < BAR_MIN_PROB or r is None:
            continue
        keep.append((i, j, r))
        if n in lone and strong:
            single.append((i, j, r))
    if not alone and len(keep) + others < 2:  # norm bars come in pairs, or one stands between letters
        if not single:
            return list(symbols)
        keep = single
    merged: dict[int, object] = {}
    drop: set[int] = set()
    for i, j, r in keep:
        strokes = [st for k in sorted({i, j}) for st in symbols[k].strokes]
        merged[i] = make_symbol(strokes, _as(r, NORM))
        if j != i:
            drop.add(j)
    return [merged.get(k, s) for k, s in enumerate(symbols) if k not in drop]


def _between_letters(symbols: Sequence, i: int, j: int) -> bool:
    """Whether the bar pair *i*, *j* (:func:`bar_pairs`) stands between two letters on its line, as a
    ‖ alone does in ``D(p‖q)``: its nearest symbols left and right (centres within the pair's height)
    are read as letters (:data:`LETTER_CLASSES`, not digits: ``1 1`` between digits is eleven), neither
    is taller than the pair by more than :data:`LONE_MAX_NEIGHBOUR` (subscript ``11`` is smaller than
    its letter), and no other bar of at least the pair's height stands on the line (it would pair with
    one of them: ``|a||b|``)."""
    boxes = [_box(s.strokes) for s in symbols]
    pair = _box([st for k in sorted({i, j}) for st in symbols[k].strokes])
    cy = (pair.y0 + pair.y1) / 2
    on_line = [
        k
        for k in range(len(symbols))
        if k not in (i, j) and abs((boxes[k].y0 + boxes[k].y1) / 2 - cy) <= 0.5 * pair.h
    ]
    left = [k for k in on_line if boxes[k].x1 <= pair.x0 + 0.1 * pair.h]
    right = [k for k in on_line if boxes[k].x0 >= pair.x1 - 0.1 * pair.h]
    if not left or not right:
        return False
    near = (max(left, key=lambda k: boxes[k].x1), min(right, key=lambda k: boxes[k].x0))
    for k in near:
        if symbols[k].name not in LETTER_CLASSES or boxes[k].h > LONE_MAX_NEIGHBOUR * pair.h:
            return False
    return not any(
        symbols[k].name in BAR_CLASSES and boxes[k].h >= BAR_MIN_HEIGHT_RATIO * pair.h for k in on_line
    )


def _prob(r: Reading | None, name: str) -> float:
    if r is None:
        return 0.0
    if r.name == name:
        return r.confidence
    return dict(r.alternatives).get(name, 0.0)


def _as(r: Reading, name: str) -> Reading:
    """*r* with *name* on top (its own probability) and the rest as alternatives."""
    if r.name == name:
        return r
    p = _prob(r, name)
    alts = ((name, p),) + tuple(a for a in r.alternatives if a[0] != name)
    return Reading(name, p, alts)


@dataclass(frozen=True)
class _Part:
    """A stand-in symbol for accents.accent_pairs: a name and a box."""

    name: str
    bbox: object


@dataclass(frozen=True)
class _XYWH:
    x: float
    y: float
    w: float
    h: float


def _split_candidates(sym) -> list[tuple[list, list]]:
    """(upper strokes, lower strokes) of *sym* (2-4 strokes): one or two strokes wholly above the rest,
    their foot at least :data:`ACCENT_MIN_GAP` x the rest's height above its top, at least
    :data:`CARET_MIN_WIDTH` x that height wide (:func:`split_accents` asks more of a mark narrower than
    :data:`MARK_MIN_WIDTH`)."""
    strokes = list(sym.strokes)
    if not 2 <= len(strokes) <= 4:
        return []
    out = []
    for k in (1, 2):
        for upper in combinations(range(len(strokes)), k):
            lower = [s for i, s in enumerate(strokes) if i not in upper]
            if not lower:
                continue
            up = [strokes[i] for i in upper]
            ub, lb = _box(up), _box(lower)
            if lb.h <= 0 or lb.y0 - ub.y1 < ACCENT_MIN_GAP * lb.h or ub.w < CARET_MIN_WIDTH * lb.h:
                continue
            out.append((up, lower))
    return out


def split_accents(symbols: Sequence, classify: Classify, make_symbol: MakeSymbol) -> list:
    """*symbols* with each symbol that is an accent mark over its base (rules in the module docstring)
    split into the mark and the base. A new list; unchanged symbols are the same objects."""
    todo = [(k, up, low) for k, s in enumerate(symbols) for up, low in _split_candidates(s)]
    if not todo:
        return list(symbols)
    readings = classify([tuple(st.id for st in part) for _k, up, low in todo for part in (up, low)])
    best: dict[int, tuple[float, list, Reading, list, Reading]] = {}
    for n, (k, up, low) in enumerate(todo):
        ru, rl = readings[2 * n], readings[2 * n + 1]
        if ru is None or rl is None:
            continue
        if ru.name not in ACCENT_MARKS:
            continue
        # a mark of any kind: a caret read half as a caret, half as a bar or tilde is still a mark
        probs = {**dict(ru.alternatives), ru.name: ru.confidence}
        p_mark = min(sum(p for name, p in probs.items() if name in ACCENT_MARKS), 1.0)
        if p_mark < MARK_MIN_PROB or rl.confidence < BASE_MIN_PROB:  # what may be a base: accent_pairs
            continue
        ub, lb = _box(up), _box(low)
        caret = ru.name in CARETS and sum(p for n, p in probs.items() if n in CARETS) >= CARET_MIN_PROB
        # an i or j is its body and its dot: a group of more strokes read so is none
        dotted = symbols[k].name in DOTTED and len(symbols[k].strokes) <= 2
        # a clear bar over a clear letter (x̄ read i, f̄ read j or F): as narrow as a caret may be
        bar = (
            ru.name == "-"
            and ru.confidence >= CLEAR_BAR_PROB
            and rl.confidence >= CLEAR_BAR_PROB
            and rl.name in LETTER_CLASSES
        )
        if not (caret or bar) and ub.w < MARK_MIN_WIDTH * lb.h:
            continue  # a narrow mark: only a clear caret, tilde or bar
        if dotted and not caret:
            continue  # over an i or j (its dot may be a dash): only a clear caret or tilde
        if dotted and rl.name in DOTLESS:
            continue  # an i's or j's own body under its dot
        score = p_mark * rl.confidence
        ratio = CARET_SPLIT_MIN_RATIO if caret else SPLIT_MIN_RATIO
        if score < ratio * float(symbols[k].confidence):
            continue
        if ru.name in ("-", "frac_bar") and lb.y0 - ub.y1 < BAR_ACCENT_MIN_GAP * lb.h:
            continue
        parts = [
            _Part(ru.name, _XYWH(ub.x0, ub.y0, ub.w, ub.h)),
            _Part(rl.name, _XYWH(lb.x0, lb.y0, lb.w, lb.h)),
        ]
        if accent_pairs(parts) != {0: 1}:
            continue
        if k not in best or score > best[k][0]:
            best[k] = (score, up, ru, low, rl)
    if not best:
        return list(symbols)
    out = []
    for k, s in enumerate(symbols):
        if k not in best:
            out.append(s)
            continue
        _score, up, ru, low, rl = best[k]
        out += [make_symbol(up, ru), make_symbol(low, rl)]
    return out


def regroup(symbols: Sequence, classify: Classify, make_symbol: MakeSymbol) -> list:
    """One partition's symbols after both passes: accents split off their bases
    (:func:`split_accents`), then bar pairs merged into ‖ (:func:`merge_bars`). A new list (the
    input is not changed); raises whatever *classify* raises."""
    return merge_bars(split_accents(symbols, classify, make_symbol), classify, make_symbol)


def engine_regroup(ocr, classifier, mstrokes: Sequence, partitions: Sequence, cache=None) -> list:
    """The bundled engine's partitions (mathnote-ocr ``Partition`` lists of ``DetectedSymbol``) after
    :func:`regroup`, each keeping its ``prob``. *ocr*: the engine's ``MathOCR`` (its ``vocabulary`` is
    applied to new readings as the grouping applies it); *classifier*: the classifier the grouping read
    with (the writer's adaptation included); *mstrokes*: the normalised mathnote-ocr strokes the
    partitions were made of; *cache*: the grouping's ``GrouperCache`` (groups read there are not read
    again), or None. Every mathnote-ocr call goes through recognition/mathnote_compat.py."""
    from whiteboard_app.recognition import mathnote_compat as mc

    if cache is None:
        cache = mc.grouper_cache()
    pos = {s.id: i for i, s in enumerate(mstrokes)}
    source_size = mc.autocanvas(list(mstrokes), 800)
    vocabulary = getattr(ocr, "vocabulary", None)

    def classify(groups: Sequence[tuple[int, ...]]) -> list[Reading | None]:
        sets = [frozenset(pos[i] for i in g) for g in groups]
        mc.classify_groups(
            list(mstrokes), list({g for g in sets if g}), classifier, cache=cache, source_size=source_size
        )
        out: list[Reading | None] = []
        for g, ids in zip(sets, groups, strict=True):
            r = cache.get(frozenset(ids)) if g else None
            if r is not None and vocabulary:
                r = vocabulary.apply(r, classifier.label_names)
            if r is None or r.symbol is None:
                out.append(None)
                continue
            alts = tuple((n, float(c)) for n, c in (r.alternatives or []) if n is not None)
            out.append(Reading(r.symbol, float(r.confidence), alts))
        return out

    def make_symbol(strokes: list, r: Reading):
        return mc.detected_symbol(strokes, r.name, r.confidence, list(r.alternatives))

    return [
        mc.partition(regroup(list(p), classify, make_symbol), prob=getattr(p, "prob", None))
        for p in partitions
    ]
