# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= var/demo
WEIGHTS := .cache/weights/mobilenet_v2-b0353104.pth
CAMERA ?= folder:assets/demo/camera?fps=8&hold=8
SCALE  ?= script:assets/demo/scale.txt
PYTEST := $(BIN)/python -m pytest

.PHONY: demo test test-slow test-all lint install weights demo-bundle bench clean

install: $(STAMP)
$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

weights: $(WEIGHTS)
$(WEIGHTS): | $(STAMP)
	$(BIN)/checkout weights fetch mobilenet_v2 --out $(dir $(WEIGHTS))

# The demo model (trainer/demo.py): MobileNetV2 (ImageNet) with its feature stages frozen and a new head,
# fitted on the demo photos in assets/demo/train by the same trainer head office uses.
demo-bundle: $(DEMO)/bundle/manifest.json
$(DEMO)/bundle/manifest.json: $(WEIGHTS) assets/demo/train/train.csv assets/demo/train/val.csv trainer/demo.py | $(STAMP)
	$(BIN)/checkout bundle demo --out $(DEMO) --weights $(WEIGHTS)

$(DEMO)/catalog.sqlite: assets/demo/catalog.csv | $(STAMP)
	@mkdir -p $(DEMO)
	$(BIN)/checkout catalog import assets/demo/catalog.csv --db $(DEMO)/catalog.sqlite

# Opens the kiosk window on the replayed demo camera; with no display it runs headless, prints the bill, exits 0.
demo: $(DEMO)/bundle/manifest.json $(DEMO)/catalog.sqlite
	$(BIN)/checkout kiosk --bundle $(DEMO)/bundle --catalog $(DEMO)/catalog.sqlite --store $(DEMO)/kiosk.sqlite \
	  --camera '$(CAMERA)' --scale '$(SCALE)'

# The default suite (< 10 min on 2 cores), run on the demo model `make demo` uses (built first, with its progress bar).
# pytest's exit 5 (no tests collected) is a failure here.
test: $(STAMP) $(DEMO)/bundle/manifest.json
	@$(PYTEST) -m "not slow and not gpu" -q --durations=15; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The rooms' import rules (import-linter contracts in pyproject.toml) and ruff.
lint: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check .

test-slow: $(STAMP)
	@$(PYTEST) -m "slow" -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test-slow: no slow tests collected" >&2; exit 1; fi; exit $$rc

test-all: test test-slow

bench: $(DEMO)/bundle/manifest.json
	$(BIN)/checkout bench kiosk --bundle $(DEMO)/bundle
	$(BIN)/checkout bench train

clean:
	rm -rf var .cache/decoded .cache/test-* .pytest_cache
