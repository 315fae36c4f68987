# abcgen — `make demo` and `make test` work on a fresh clone with nothing set up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ABCGEN := $(VENV)/bin/abcgen
STAMP := $(VENV)/.setup-done
APT_PACKAGES := abcmidi abcm2ps fluidsynth libfluidsynth3 timgm6mb-soundfont ffmpeg ghostscript poppler-utils chromium wamerican
# CPU machines get the CPU build of torch (a bare `torch` pulls a multi-GB CUDA build).
TORCH_CPU := torch==2.13.0
CORPUS := data/corpus
JOBS ?= auto

.PHONY: setup system-tools demo test bench lint pretrained pretrained-corpora clean

setup: $(STAMP)

$(STAMP): pyproject.toml package-lock.json
	@$(MAKE) --no-print-directory system-tools
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then \
		echo "CUDA found: installing torch from pyproject's range"; \
	else \
		echo "no CUDA: installing the CPU build $(TORCH_CPU)"; \
		$(PY) -m pip install -q "$(TORCH_CPU)"; \
	fi
	$(PY) -m pip install -q -e ".[dev,audio]"
	@# abcjs (notation in HTML songbooks) and playwright-core (the browser test), pinned.
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "WARNING: npm missing: HTML songbooks show ABC text, the browser test is skipped"; fi
	touch $(STAMP)

# Debian tools: the reference abc2midi, abcm2ps for PDFs, FluidSynth + a GM soundfont for audio,
# ffmpeg for MP3/OGG/FLAC, ghostscript (ps2pdf) and poppler, wamerican (the English word list that
# real-word titles are judged by). Installed only where we can.
system-tools:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
		command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
		if [ -n "$$missing" ]; then \
			echo "installing:$$missing"; apt-get update -qq; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1 \
			|| for p in $$missing; do \
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$p >/dev/null 2>&1 \
				|| echo "WARNING: could not install $$p; some features will be off (see abcgen doctor)"; \
			done; \
		fi; \
	else \
		echo "WARNING: not root or no apt-get: install $(APT_PACKAGES) yourself."; \
		echo "  without abcmidi the golden tests are skipped; without fluidsynth audio uses a sine fallback;"; \
		echo "  without ffmpeg MP3/OGG/FLAC export is off; without abcm2ps/ghostscript no PDF songbooks."; \
	fi

# The main job: new titled tunes from the bundled model, checked, played and printed.
demo: setup
	$(ABCGEN) doctor
	$(ABCGEN) generate -n 6 --seed 1 -o out/demo.abc
	$(ABCGEN) check out/demo.abc
	$(ABCGEN) render out/demo.abc --out out/demo-render --formats mid,wav,mp3
	$(ABCGEN) songbook out/demo.abc --out out/demo-songbook --title "abcgen demo"
	@echo; cat out/demo.abc
	@echo "audio: out/demo-render/   songbook: open out/demo-songbook/index.html (print: out/demo-songbook/songbook.pdf)"

test: setup
	$(PY) -m pytest -q -n 2 --dist loadfile

bench: setup
	$(PY) -m bench.run

lint: setup
	$(VENV)/bin/ruff check abcgen tests bench

# The bundled model (docs: corpora/README.md, abcgen/model/pretrained/MODEL_CARD.md): learns only
# from sources whose terms combine (music21's folk books, non-commercial; Ceol Rince na hÉireann,
# CC BY 4.0); the GPL / CC BY-SA collections in ../shared/corpora are the outside test. About
# PRETRAINED_MINUTES of training on 2 CPU cores, plus ~10 minutes of corpus and evaluation;
# `make pretrained` again after a stop goes on from runs/pretrained/last.pt (--resume).
SHARED_CORPORA := ../shared/corpora
BUNDLE_SHARED := ceol_rince_na_heireann
OUTSIDE := nottingham_jukedeck/ABC_cleaned oldtime_seattle_rjl20 tuneworks_jw35
PRETRAINED_MINUTES ?= 70
PRETRAINED_TRAIN := --preset base --batching tunes --keys tonic --eval-interval 100 --seed 1

pretrained: pretrained-corpora
	$(ABCGEN) train --corpus $(CORPUS) --out runs/pretrained $(PRETRAINED_TRAIN) \
		--max-minutes $(PRETRAINED_MINUTES) $$([ -f runs/pretrained/last.pt ] && echo --resume)
	$(ABCGEN) evaluate --model runs/pretrained/best.pt --corpus $(CORPUS) -n 500 --seed 0 \
		--out runs/pretrained/eval $$(for d in data/outside/*/; do [ -d "$$d" ] && echo --outside $$d; done)
	$(PY) -m abcgen.model.bundle runs/pretrained/best.pt runs/pretrained/eval/metrics.json

# The corpus the bundled model learns from, and the outside test (bench.bench_music uses them too).
pretrained-corpora: setup
	@if [ -d $(SHARED_CORPORA)/$(BUNDLE_SHARED) ]; then \
		echo "corpus: music21's folk books + $(SHARED_CORPORA)/$(BUNDLE_SHARED); outside test: $(OUTSIDE)"; \
	else \
		echo "NOTE: $(SHARED_CORPORA) is missing: the corpus is music21's folk books alone (no Ceol Rince"; \
		echo "      na hÉireann), titles use English words and music21's titles, and no outside test is run."; \
	fi
	$(ABCGEN) corpus build music21 $(wildcard $(SHARED_CORPORA)/$(BUNDLE_SHARED)) \
		$(if $(wildcard $(SHARED_CORPORA)),--title-source $(SHARED_CORPORA)) --out $(CORPUS)
	@for name in $(OUTSIDE); do \
		if [ -d $(SHARED_CORPORA)/$$name ]; then \
			$(ABCGEN) corpus build $(SHARED_CORPORA)/$$name --split 0,0,1 --out data/outside/$${name%%/*} >/dev/null \
			&& echo "outside test: data/outside/$${name%%/*}"; \
		fi; \
	done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
