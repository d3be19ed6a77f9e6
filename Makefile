# The two commands a newcomer runs (see README.md):
#   make run   - set everything up and start the program on the bundled deck
#   make test  - set everything up and run the tests
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-core lint bench screenshots package clean

$(STAMP): pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/whiteboard-app-gui

# lint: ruff (rules and format), the import contracts (Qt only in whiteboard_app.ui, the core's layers)
# and mypy ([tool.mypy] in pyproject.toml: strict on ink, sessions, decks, pipeline)
lint: $(STAMP)
	$(BIN)/ruff check whiteboard_app tests benchmarks scripts packaging
	$(BIN)/ruff format --check whiteboard_app tests benchmarks scripts packaging
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# test: lint, then every test on TEST_WORKERS pytest-xdist workers (one per core; TEST_WORKERS=0 runs in
# this process). --dist worksteal starts each worker on a contiguous half of the tests (a file's tests, and
# so its module-scoped fixtures, mostly on one worker) and lets an idle worker take what the other has
# left: 185 s against 197-203 s for --dist loadfile on the idle 2-core machine (docs/benchmarks.md).
TEST_WORKERS ?= 2
test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist worksteal

# the whole core suite again with PySide6 unimportable (slow; the smoke test above is the CI guarantee)
test-core: $(STAMP)
	bash scripts/test-core-without-qt.sh

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m benchmarks.run_all

screenshots: $(STAMP)
	bash scripts/screenshots.sh

package: $(STAMP)
	$(BIN)/python -m pip install --quiet 'pyinstaller==6.22.*' 'pyinstaller-hooks-contrib==2026.9'
	$(BIN)/pyinstaller --noconfirm --distpath dist --workpath build/pyinstaller packaging/whiteboard-app.spec
	bash packaging/smoke-test.sh dist/whiteboard-app/whiteboard-app $(BIN)/python

clean:
	rm -rf $(VENV) build dist *.egg-info
