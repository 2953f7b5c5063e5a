# affectlens — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= cpu,train,serve,dist,monitor,domain,dev
DATA ?= ../shared/data
RUN ?= runs/finetune
BASE ?= affectlens/default_model/hf
MODEL_VERSION ?= 0.6.0
export HF_HUB_OFFLINE := 1

.DEFAULT_GOAL := help
.PHONY: help install test test-fast lint typecheck serve stop bench model model-from-base ship evaluate archive clean gpu-check

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-11s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	touch $@

install: $(VENV)/.installed ## create .venv/ with the `affectlens` command (idempotent)

.PHONY: label-studio
label-studio: .venv-ls/.installed-1.23.2 ## Label Studio in its own .venv-ls/ (its pins clash with ours; round-trip test)

.venv-ls/.installed-%:
	test -x .venv-ls/bin/python || $(PYTHON) -m venv .venv-ls
	.venv-ls/bin/pip install -q label-studio==$*
	rm -f .venv-ls/.installed-*
	touch $@

test: install ## run the whole test suite (starts a real TorchServe)
	$(BIN)/python -m pytest -q

test-fast: install ## tests without the slow ones (no TorchServe, no training)
	$(BIN)/python -m pytest -q -m "not slow"

lint: install ## ruff + mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

typecheck: install ## mypy only
	$(BIN)/mypy

serve: install ## serve the default model with TorchServe on 127.0.0.1:8080 (builds the archive if missing)
	$(BIN)/affectlens serve

stop: install ## stop the server started by `make serve`
	$(BIN)/affectlens stop

bench: install ## benchmarks (ratios measured side by side in one run)
	$(BIN)/python bench/run_all.py

model: install ## retrain the default model from the shipped weights (one stage, ~30 min on 2 cores), export, calibrate
	$(BIN)/affectlens train --data-dir $(DATA) --output-dir $(RUN) --base-model $(BASE) \
		--epochs 0.3 --learning-rate 2e-5 --warmup-ratio 0.06 --emotion-loss-weight 0.6 --eval-every 600 \
		--irony --irony-loss-weight 1.0 --input-form emoji-text-v1 --augment --behaviour-fit \
		--oversample financial-phrasebank=3 --oversample tweeteval-irony=3
	$(BIN)/affectlens export $(RUN)/best -o $(RUN)/model --data-dir $(DATA) --no-fp16 --version $(MODEL_VERSION)
	$(BIN)/affectlens calibrate --model $(RUN)/model --holdout $(RUN)/holdout.jsonl --alpha 1.0 --class-weight-power 0
	@echo "evaluate it (make evaluate MODEL=$(RUN)/model), then ship it: make ship RUN=$(RUN)"

model-from-base: install ## 0.1.0's two stages from all-MiniLM-L6-v2 (~3.4 h); then `make model BASE=$(RUN)-stage2/best`
	$(BIN)/affectlens train --data-dir $(DATA) --output-dir $(RUN)-stage1
	$(BIN)/affectlens train --data-dir $(DATA) --output-dir $(RUN)-stage2 --base-model $(RUN)-stage1/last \
		--epochs 1.2 --learning-rate 5e-5 --warmup-ratio 0.03 --emotion-loss-weight 0.6

ship: install ## copy $(RUN)/model (int8, tokenizer, calibration, card) and $(RUN)/best (as hf/) into the package
	$(BIN)/python -m affectlens.export.ship $(RUN)/model --weights $(RUN)/best

evaluate: install ## validation report (default model, or MODEL=dir) into reports/validation/
	$(BIN)/affectlens evaluate --data-dir $(DATA) -o reports/validation $(if $(MODEL),--model $(MODEL))

gpu-check: ## GPU proof on an NVIDIA machine: fp16 on CUDA vs fp32, latency, TorchServe on the GPU (skips elsewhere)
	sh bench/gpu_check.sh

archive: install ## build the TorchServe archive into model_store/
	$(BIN)/affectlens archive

clean: ## remove build outputs (keeps .venv/)
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache model_store/*.mar
