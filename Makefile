# vzgym: `make demo` (set up + the main job: self-play from the committed warm start), `make test` (set up + tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP_INSTALL := bash scripts/pip-install.sh $(PY)
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

COMPAT := .compat/transformers-5.15

VLLM_VENV ?= .venv-vllm
VLLM_PY := $(VLLM_VENV)/bin/python

.PHONY: demo test test-compat test-vllm vllm-venv lint sysdeps venv bench bench-trl clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): | $(PY)
	$(PIP_INSTALL) -q --upgrade pip
	$(PIP_INSTALL) -q -c constraints.txt torch torchvision
	$(PIP_INSTALL) -q -c constraints.txt -e ".[dev,svg,train,pettingzoo,logging,eval]"
	$(PIP_INSTALL) -q -c constraints.txt -e plugins/spy-edits
	$(PIP_INSTALL) -q --no-deps -e plugins/spy-charts
	bash scripts/install-openrlhf-nodeps.sh $(PY)
	bash scripts/install-vllm-nodeps.sh $(PY)
	touch $(STAMP)

venv: $(STAMP)

# System packages the tests use: tmux (drives `vzgym play` like a person), cairo (cairosvg),
# chromium (the `vzgym view` report is tested in a real browser through Playwright).
sysdeps:
	@if ! command -v tmux >/dev/null || ! ldconfig -p | grep -q libcairo.so.2 || [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux libcairo2 chromium >/dev/null; \
	  else echo "please install: tmux libcairo2 chromium (Debian/Ubuntu: sudo apt-get install tmux libcairo2 chromium)"; fi; \
	fi

# vzgym and the tiny model must also work on transformers 5.15 (OpenRLHF 0.11.2's pin):
# the model/policy/OpenRLHF tests run once more with 5.15 laid over the venv.
$(COMPAT)/.done: | $(PY)
	$(PIP_INSTALL) -q --no-deps --target $(COMPAT) transformers==5.15.0 tokenizers==0.22.2 huggingface_hub==1.33.0
	$(PIP_INSTALL) -q --target $(COMPAT) -c constraints.txt httpx
	touch $@

test-compat: venv $(COMPAT)/.done
	PYTHONPATH=$(COMPAT) $(PY) -c "import transformers as t; assert t.__version__ == '5.15.0', t.__version__"
	VZGYM_CACHE=$(COMPAT)/cache PYTHONPATH=$(COMPAT) $(PY) -m pytest -q -p no:cacheprovider \
	  tests/test_tiny_model.py tests/test_hf_policy.py tests/test_openrlhf_agent.py \
	  tests/test_openrlhf_launch.py tests/test_rollout.py tests/test_train.py

# vLLM's CPU build (torch 2.13) in its own venv: the real-engine tests (tests/vllm) run in it,
# and the main venv's tests drive it as a worker (vllm:DIR, sampling.backend=vllm).
vllm-venv:
	bash scripts/install-vllm-venv.sh $(VLLM_VENV)

test-vllm: vllm-venv
	VZGYM_REQUIRE_VLLM=1 PYTHONPATH=$(CURDIR) $(VLLM_PY) -m pytest -q -p no:cacheprovider tests/vllm

test: venv sysdeps vllm-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(MAKE) test-compat
	$(MAKE) test-vllm
	VZGYM_REQUIRE_VLLM=1 VZGYM_VLLM_PYTHON=$(CURDIR)/$(VLLM_PY) $(PY) -m pytest -q --ignore=tests/vllm

# The main job: self-play GRPO on spy-clevr from the committed warm start (models/README.md),
# then the trained model against that start on 200 held-out games, plots and the HTML view.
DEMO_ENV := -o num_objects=1 -o num_changes=1 -o clue_rounds=1 -o width=112 -o height=112 -o zoom=8 -o reveal_roles=true

demo: venv
	$(VENV)/bin/vzgym envs
	$(VENV)/bin/vzgym play --env spy-clevr --bots-only --seed 0 --image-dir runs/demo-images
	rm -rf runs/demo runs/demo-eval
	$(VENV)/bin/vzgym train --config examples/demo.toml --run-dir runs/demo
	$(VENV)/bin/vzgym eval --env spy-clevr $(DEMO_ENV) --policy runs/demo \
	  --vs hf:models/tiny-spy-clevr --games 200 --temperature 0 --max-new-tokens 128 --out runs/demo-eval
	$(VENV)/bin/vzgym plot runs/demo
	$(VENV)/bin/vzgym view runs/demo

bench: venv
	for f in benchmarks/bench_*.py benchmarks/render_corpus.py; do \
	  case $$f in *bench_vs_trl.py) continue;; esac; \
	  echo "== $$f"; $(PY) $$f || exit 1; done

# TRL side by side: TRL lives only in its own venv (.venv-trl), never in vzgym's.
bench-trl: venv
	test -x .venv-trl/bin/python || bash benchmarks/setup_trl_venv.sh .venv-trl
	.venv-trl/bin/python benchmarks/bench_vs_trl.py

lint: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check vzgym tests && $(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) $(VLLM_VENV) .pytest_cache .ruff_cache
