# Muster: the two commands are `make demo` and `make test`.
# Both create .venv when needed, install the Python packages and the Debian tools
# (minisign, age, chromium) the interop and browser tests use, and then run.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# fonts-wqy-microhei: a CJK font, so Chromium draws Chinese in screenshots and PDFs.
DEBS   := minisign age chromium fonts-wqy-microhei
PKGS   := crypto protocol node hub
ARGS   ?=

.PHONY: demo test lint typecheck pytest bench debs clean constraints

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -c constraints.txt
	@touch $@

# Pin what is installed now, after a change to pyproject.toml's dependencies (to move
# everything to newer releases, empty constraints.txt first).
constraints: $(STAMP)
	@{ echo "# Every Python package's version, so that a fresh clone installs what CI tested."; \
	   echo "# Refresh after changing pyproject.toml's dependencies: make constraints"; \
	   $(PY) -m pip freeze --exclude-editable; } > constraints.txt

# Install the Debian packages only when a tool is missing; refresh the package
# lists once if the first attempt fails (a fresh machine has none).
debs:
	@missing=""; \
	for t in minisign age chromium; do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || missing="$$missing fonts"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get install -y -q $(DEBS) >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q $(DEBS) >/dev/null; }; \
	fi

demo: $(STAMP) debs
	$(VENV)/bin/muster demo $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check $(PKGS) tests bench
	$(VENV)/bin/ruff format --check $(PKGS) tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict $(PKGS)

# pytest exits 5 when it collects no test; that is not a failure of the suite.
pytest: $(STAMP) debs
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

test: lint typecheck pytest

bench: $(STAMP)
	$(PY) bench/bundle.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
