# The two commands: `make smoke` and `make test`. Both bootstrap everything from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install tools smoke test lint typecheck sandbox clean mutation bench bench-scale bench-latency ci-demo

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,ui]'
	@touch $@

install: $(STAMP)

# Allure 3 CLI into .golive/tools/allure (needs node + npm; without them the HTML report is
# skipped with a warning and the raw results are kept). The real n8n: Node 22 + n8n 1.123.81
# into .golive/tools/n8n (or GOLIVE_N8N_HOME; ~3 min and 1.8 GB the first time), its migrated
# user folder, and Debian's redis-server (apt-get, as root). Without them the sandbox runs the
# n8n double and says so. Chromium for the @ui scenarios: Debian's package when it is missing
# and we may install it (root + apt-get); otherwise the scenarios are skipped with the reason
# (GOLIVE_BROWSER or `playwright install chromium` are the other ways).
CHROMIUM ?= /usr/bin/chromium

tools: install
	-@$(BIN)/python -m golive.evidence.allure_cli install
	-@$(BIN)/python -m golive.sandbox.n8n_real install
	@if [ -x "$(CHROMIUM)" ]; then \
		echo "chromium: $$($(CHROMIUM) --version 2>/dev/null | tail -1)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "chromium: installing Debian's chromium (apt-get)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null \
		|| { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; } \
		|| echo "chromium: not installed; the @ui scenarios will be skipped with the reason"; \
	else \
		echo "chromium: not found and not installable here (needs root + apt-get); the @ui scenarios will be skipped with the reason"; \
	fi

# SIGN_KEY=path/to/ed25519_key signs each bundle (golive verify checks it).
smoke: install tools
	$(BIN)/golive smoke --attest fixtures/attestations/example.toml $(if $(SIGN_KEY),--sign-key $(SIGN_KEY))

lint: install
	$(BIN)/ruff check golive steps fixtures features tests
	$(BIN)/ruff format --check golive steps fixtures features tests

typecheck: install
	$(BIN)/mypy

test: install tools lint typecheck
	$(BIN)/pytest

sandbox: install
	$(BIN)/golive sandbox

# Mutation testing of the CRM double (cosmic-ray; the suite is the test). All mutants by default;
# MUTATION_ARGS="--sample 150 --budget 30" for a bounded run. Report: reports/mutation/<time>/.
MUTATION_ARGS ?=
mutation: install
	$(BIN)/golive mutation $(MUTATION_ARGS)
# Benchmarks: figures, not tests (minutes each; README "Performance"). SCALE: organisation
# counts; BEFORE: a git commit whose suite also runs, one scenario at a time, under latency.
SCALE ?= 1,8,50
bench: bench-scale bench-latency

bench-scale: install tools
	$(BIN)/golive bench scale --orgs $(SCALE)

bench-latency: install tools
	$(BIN)/golive bench latency $(if $(BEFORE),--before-ref $(BEFORE))

# ci-matrix and merge on ORGS sandbox organisations: separate runs merged into one overview.
ci-demo: install tools
	ORGS=$(or $(ORGS),8) BIN=$(BIN) bench/ci_demo.sh

clean:
	rm -rf $(VENV) .golive reports/*/ .mypy_cache .ruff_cache
