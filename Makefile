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

.PHONY: setup system-tools demo test bench lint pretrained clean

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

# Trains the bundled model (25 minutes on 2 CPU cores, --max-minutes), evaluates it, bundles it.
pretrained: setup
	$(ABCGEN) corpus build music21 --out $(CORPUS)
	$(ABCGEN) train --corpus $(CORPUS) --out runs/pretrained --preset small --dropout 0.3 --max-minutes 25 --seed 1
	$(ABCGEN) evaluate --model runs/pretrained/best.pt --corpus $(CORPUS) -n 500 --seed 0 --out runs/pretrained/eval
	$(PY) -m abcgen.model.bundle runs/pretrained/best.pt runs/pretrained/eval/metrics.json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
