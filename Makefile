# hume-fleet developer entry points. Every target creates the local venv on first use,
# so on a fresh machine `make demo` and `make test` are the whole set-up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv demo test test-reliability soak lint deploy-check audit format bench samples clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[dev,gcs]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m scripts.demo

test: $(STAMP)
	$(PY) -m pytest

# The reliability suite alone (it is part of `make test` too).
test-reliability: $(STAMP)
	$(PY) -m pytest tests/reliability

# Bounded soak (about 10 minutes): 2 000 short jobs through a 2-process fleet; prints the
# RSS slope and file-descriptor counts. Not part of `make test`.
soak: $(STAMP)
	$(PY) -m tests.reliability.soak

lint: $(STAMP)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy hume_stream emulator worker producer samples bench scripts tests

# Chart and image checks: helm lint, manifest and custom-resource validation, promtool,
# hadolint. Installs its own tools into .tools/.
deploy-check:
	scripts/check_deploy.sh

# Known vulnerabilities in the locked dependencies (pip-audit on constraints.txt; installs
# its own tool into .tools/). Fails when any pin could not be audited; AUDIT_FLAGS=--offline-ok
# turns that into a loud warning where no vulnerability feed is reachable.
audit:
	scripts/audit.sh $(AUDIT_FLAGS)

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

samples: $(STAMP)
	$(PY) -m samples.make_samples

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
