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

.PHONY: demo test test-slow test-all lint install weights demo-bundle bench clean model model-chain translations \
        screenshots

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

# The window's translations (kiosk/ui/i18n): every marked text read from the code into kiosk_<lang>.ts (Qt's
# pyside6-lupdate), compiled into the .qm the kiosk loads (pyside6-lrelease); translators edit the .ts.
translations: $(STAMP)
	$(BIN)/python tools/translations.py

# docs/screens/: every screen state at 1024x768 in English and Hindi (offscreen Qt, the real service, the demo catalog,
# the demo bundle's auto-add threshold); docs/screens/README.md shows them side by side.
screenshots: $(STAMP) $(DEMO)/bundle/manifest.json
	QT_QPA_PLATFORM=offscreen $(BIN)/python tools/screenshot.py --states --out docs/screens --bundle $(DEMO)/bundle

test-slow: $(STAMP)
	@$(PYTEST) -m "slow" -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test-slow: no slow tests collected" >&2; exit 1; fi; exit $$rc

test-all: test test-slow

# `make model`: the measured chain behind the README's till-model figures, on the shared grocery data (issue 11):
# import → check → split (own train / own test) → fetch weights → train → export (scores calibrated and the auto-add
# threshold chosen on the official val, which --keep last leaves unused by training and epoch choice) → evaluate on
# val and on the own test split. Prints its wall time; ≤ 45 min on the 2-core CPU VM. Not part of `make test`.
# Recipe: the best measured (README): MobileNetV2 288 px / eval 320, 14 epochs, half the default colour jitter
# (256/288 px at 10 epochs, 320/352 px, Lite0/Lite2, a 192→288 px schedule, an EMA and CutMix measured worse or no
# better). No own val: even in runs of consecutive shots with a guard photo, the own split is the training sessions
# (top-1 0.99 there vs 0.87 on val), so it would make the threshold look safer than it is on new photos — calibrate
# and report on the official val.
# --confidence 0.5: with 295 independent held-back photos a 95 % Clopper-Pearson bound on 99 % needs 299 error-free
# items (more than there are); 0.5 is the median bound (README, "Confidence you can act on").
GROCERY    ?= ../shared/datasets/grocery-store
GS         ?= var/gs
MODEL_RUN  ?= runs/model
MODEL      ?= var/bundles/model
MODEL_ARCH := mobilenet_v2
MODEL_TRAIN := --arch $(MODEL_ARCH) --weights .cache/weights/mobilenet_v2-b0353104.pth --epochs 14 \
  --img-size 288 --eval-size 320 --freeze 3 --lr 1.5e-3 --backbone-lr-mult 0.5 --color-jitter 0.1 --head cosine \
  --keep last --workers 1 --cache-dir .cache/decoded --no-progress
MODEL_CALIBRATION := --calibration $(GS)/check/val.clean.csv --confidence 0.5

model: $(STAMP)
	@start=$$(date +%s); $(MAKE) --no-print-directory model-chain || exit $$?; \
	  echo "make model: $$(( $$(date +%s) - start )) s wall (import → evaluate), bundle in $(MODEL)"

model-chain: | $(STAMP)
	$(BIN)/checkout data import-grocery-store $(GROCERY) --out $(GS)
	$(BIN)/checkout data check $(GS)/train.csv $(GS)/val.csv --out $(GS)/check --no-progress
	$(BIN)/checkout data split $(GS)/check/train.clean.csv --val 0 --test 0.1 --guard 1 --seed 0 --out $(GS)/own --no-progress
	$(BIN)/checkout weights fetch $(MODEL_ARCH) --out .cache/weights
	rm -rf $(MODEL_RUN)
	$(BIN)/checkout train --train $(GS)/own/train.csv --val $(GS)/check/val.clean.csv --out $(MODEL_RUN) $(MODEL_TRAIN)
	$(BIN)/checkout bundle export $(MODEL_RUN) --out $(MODEL) $(MODEL_CALIBRATION)
	$(BIN)/checkout evaluate $(MODEL) --manifest $(GS)/check/val.clean.csv
	$(BIN)/checkout evaluate $(MODEL) --manifest $(GS)/own/test.csv

bench: $(DEMO)/bundle/manifest.json
	$(BIN)/checkout bench kiosk --bundle $(DEMO)/bundle
	$(BIN)/checkout bench train

clean:
	rm -rf var .cache/decoded .cache/test-* .pytest_cache
