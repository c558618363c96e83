# bidicharge — the two commands of a fresh machine are `make demo` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REQS := $(wildcard requirements/*.txt)

.PHONY: venv demo test lint bench soak interop-peers clean

$(STAMP): pyproject.toml $(REQS)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]' $(foreach f,$(REQS),-r $(f))
	@touch $(STAMP)

venv: $(STAMP)

# Independent implementations the interop tests talk to (npm packages, a second virtualenv,
# a jar): each tools/interop/*.sh installs one under .interop/. A peer that cannot be
# installed makes its tests skip with the reason; the failure is printed here.
interop-peers: venv
	@for s in tools/interop/*.sh; do \
	  [ -f "$$s" ] || continue; \
	  echo "interop peer: $$s"; \
	  VENV=$(CURDIR)/$(VENV) bash "$$s" || echo "WARNING: $$s failed; the tests that need it will skip"; \
	done

demo: venv
	$(BIN)/bidicharge simulate home_v2h --out out

lint: venv
	$(BIN)/ruff check src tests tools benchmarks
	$(BIN)/mypy src/bidicharge/protocols src/bidicharge/control src/bidicharge/physics src/bidicharge/runtime

test: venv interop-peers lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: venv interop-peers
	$(BIN)/python benchmarks/run_all.py

soak: venv interop-peers
	$(BIN)/python -m pytest -q -p no:cacheprovider -m slow

clean:
	rm -rf $(VENV) out .interop .pytest_cache .mypy_cache .ruff_cache
