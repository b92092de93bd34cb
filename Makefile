# The two commands of the README's quick start:
#   make demo   sets everything up and runs the demonstration session
#   make test   installs what the tests need and runs the whole suite
PYTHON ?= python3
VENV   ?= .venv

.PHONY: demo test venv bench lint clean lock

demo:
	scripts/system-deps.sh bwrap:bubblewrap
	$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || scripts/system-deps.sh no-such-cmd:python3-venv
	$(MAKE) venv
	$(VENV)/bin/stockade demo

test:
	scripts/test.sh

venv:
	PYTHON=$(PYTHON) VENV=$(VENV) scripts/bootstrap.sh

bench: venv
	for b in bench/*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done

lint: venv
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check mypy==2.4.1 ruff==0.17.5
	$(VENV)/bin/python -m mypy
	$(VENV)/bin/python -m ruff check src tests bench

lock:
	scripts/lock.sh
	scripts/lock-agents.sh

clean:
	rm -rf $(VENV) .e2e .stockade-demo build dist src/*.egg-info
