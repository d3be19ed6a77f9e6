#!/usr/bin/env bash
# Smoke test of the built application (after `make package`):
#   packaging/smoke-test.sh [BINARY] [PYTHON]
# BINARY defaults to dist/whiteboard-app/whiteboard-app, PYTHON (used only to write a small ink file
# with the project's own ink synthesiser) to .venv/bin/python. Checks, through the built binary alone:
#   1. the window opens offscreen and quits (--launch-probe prints "window-shown", exit 0);
#   2. `decks list --json` names the bundled card sigmoid-derivative (the deck is inside);
#   3. `check` gives "correct" for three reference steps of that card (sympy, its LaTeX parser, antlr4,
#      and the maths worker process started from the frozen binary);
#   4. `recognize --ink` reads synthesised "x+1" ink with the bundled recogniser (torch, the weights).
# Exit status 0 when all pass; each step prints what it ran and its wall time.
set -euo pipefail
BIN=${1:-dist/whiteboard-app/whiteboard-app}
PY=${2:-.venv/bin/python}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export QT_QPA_PLATFORM=offscreen WHITEBOARD_DATA_DIR="$WORK/data"
fail() { echo "FAIL: $*" >&2; exit 1; }
step() {  # step NAME COMMAND... : run it, keep stdout in $WORK/out, print time
    local name=$1; shift
    local t0; t0=$(date +%s%N)
    local rc=0
    "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$WORK/out" "$WORK/err" >&2; fail "$name exited $rc"; }
    local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    printf '%-10s %3d.%01d s  %s\n' "$name" $((ms / 1000)) $((ms % 1000 / 100)) "$*"
}
test -x "$BIN" || fail "no executable at $BIN (run make package first)"

step window "$BIN" --launch-probe --no-recognizer --data-dir "$WORK/data" --settings "$WORK/settings.ini"
grep -q window-shown "$WORK/out" || fail "window: no window-shown in $(cat "$WORK/out")"

step decks "$BIN" decks list --json
grep -q '"sigmoid-derivative"' "$WORK/out" || fail "decks: sigmoid-derivative not listed"
echo "           $(grep -c '"id"' "$WORK/out" || true) cards in the bundled deck"

step check "$BIN" check sigmoid-derivative --json '\sigma(z) = (1+e^{-z})^{-1}' \
    '\frac{d\sigma}{dz} = -(1+e^{-z})^{-2} \cdot (-e^{-z})' '= \sigma(z)(1-\sigma(z))'
n=$(grep -c '"verdict": "correct"' "$WORK/out" || true)
[ "$n" -eq 3 ] || fail "check: $n of 3 steps correct: $(cat "$WORK/out")"
echo "           3 of 3 reference steps correct"

"$PY" - "$WORK/steps.jsonl" <<'EOF'
import sys
from whiteboard_app.ink.io import InkRecord, write_jsonl
from whiteboard_app.ink.synth import synthesize
write_jsonl(sys.argv[1], [InkRecord("step-0", synthesize("x+1", seed=0).ink, "x+1", None)])
EOF
step recognize "$BIN" recognize --ink "$WORK/steps.jsonl" --json --time-limit 30
grep -q '"latex": "x + 1"' "$WORK/out" || fail "recognize: x+1 not read: $(cat "$WORK/out")"
echo "           read: $(head -c 200 "$WORK/out")"
echo "smoke test passed: $BIN"
