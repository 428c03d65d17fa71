# heron-grid: `make demo` and `make test` do all the set-up they need on a fresh machine (Python 3.11 + make).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS ?= dev,simbench,rl,ray,docs

.PHONY: install browser demo test docs bench bench-rl bench-ray lint clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/heron compare citylearn-2022-week --controllers all --out results/demo --overwrite

# The dashboard's end-to-end test drives Debian's headless Chromium (a browser download would not work offline).
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing chromium and chromium-driver with apt-get (for the dashboard's browser test)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

test: $(STAMP) browser
	$(BIN)/ruff check src tests benchmarks examples tools docs
	$(BIN)/python -m pytest -q

# The documentation site (MkDocs Material + mkdocstrings, extra `docs`) into site/; any warning fails the build.
# NO_MKDOCS_2_WARNING silences Material's banner about MkDocs 2 (constraints.txt keeps MkDocs 1.6).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_throughput.py
	$(BIN)/python benchmarks/clearing_throughput.py
	$(BIN)/python benchmarks/network_throughput.py
	$(BIN)/python benchmarks/grid_aware.py
	$(BIN)/python benchmarks/batched_env.py
	$(BIN)/python benchmarks/microgrids_throughput.py
	$(BIN)/python benchmarks/training_throughput.py
	$(BIN)/python benchmarks/ledger_throughput.py
	$(BIN)/python benchmarks/dashboard_load.py --browser

bench-rl: $(STAMP)
	$(BIN)/python benchmarks/rl_quality.py --out results/rl-quality
	$(BIN)/python benchmarks/rl_quality.py --algo mappo --timesteps 5000000 --seeds 0,1,2,3,4 --out results/rl-quality-mappo
	$(BIN)/python benchmarks/rl_quality.py --algo ippo --timesteps 5000000 --seeds 0,1,2,3,4 --out results/rl-quality-ippo
	$(BIN)/python benchmarks/microgrid_marl.py --timesteps 1000000 --seeds 0,1,2 --out results/microgrid-marl

bench-ray: $(STAMP)
	$(BIN)/python benchmarks/rllib_throughput.py

# Static checks: ruff's lint rules and layout, then mypy (with the pydantic plugin; configured in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples tools docs
	$(BIN)/ruff format --check src tests benchmarks examples tools docs
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) results .pytest_cache site
