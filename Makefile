# vzgym: `make demo` (set up + main job on the built-in tiny model), `make test` (set up + tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: demo test lint sysdeps venv bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): | $(PY)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt torch torchvision
	$(PIP) install -q -c constraints.txt -e ".[dev,svg,train,pettingzoo]"
	bash scripts/install-openrlhf-nodeps.sh $(PY)
	bash scripts/install-vllm-nodeps.sh $(PY)
	touch $(STAMP)

venv: $(STAMP)

# System packages the tests use: tmux (drives `vzgym play` like a person), cairo (cairosvg).
sysdeps:
	@if ! command -v tmux >/dev/null || ! ldconfig -p | grep -q libcairo.so.2; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq tmux libcairo2 >/dev/null; \
	  else echo "please install: tmux libcairo2 (Debian/Ubuntu: sudo apt-get install tmux libcairo2)"; fi; \
	fi

test: venv sysdeps
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

demo: venv
	$(VENV)/bin/vzgym envs
	$(VENV)/bin/vzgym play --env spy-clevr --bots-only --seed 0 --image-dir runs/demo-images
	rm -rf runs/demo
	$(VENV)/bin/vzgym train --env spy-clevr --run-dir runs/demo --set logging.progress=false
	$(VENV)/bin/vzgym plot runs/demo

bench: venv
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

lint: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check vzgym tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
