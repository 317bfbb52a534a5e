# The two commands a fresh machine needs: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
DB     ?= data/clinic.duckdb
PORT   ?= 8501

.PHONY: run test check db bench clean

# A download from a package registry can fail in passing (a dropped connection, a mirror mid-sync, the dpkg lock
# held by the system's own daily update): such a step is tried up to three times, a minute apart at most. A
# package that cannot install fails all three and stops the make as before.
RETRY = for attempt in 1 2 3; do ( $(1) ) && break; [ $$attempt = 3 ] && exit 1; \
	echo "make: attempt $$attempt failed, trying again: $(1)" >&2; sleep $$((attempt * 20)); done
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 -o DPkg::Lock::Timeout=300

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(call RETRY,$(PY) -m pip install --quiet --upgrade pip)
	$(call RETRY,$(PY) -m pip install --quiet -e .)
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(call RETRY,$(PY) -m pip install --quiet -e '.[test]')
	touch $@

# The embedded default database, built once from the synthetic sample clinic.
$(DB): $(VENV)/.installed
	mkdir -p $(dir $(DB))
	$(VENV)/bin/ketamine-outcomes ingest sample_data/patients.csv sample_data/sessions.csv sample_data/outcomes.csv --db $(DB) --init --quiet

db: $(DB)

run: $(DB)
	$(VENV)/bin/ketamine-outcomes dashboard --db $(DB) --port $(PORT)

# Browser tests need Debian's chromium; Playwright's own browser download cannot work offline.
/usr/bin/chromium:
	$(call RETRY,$(APT_GET) update -qq && $(APT_GET) install -y -qq chromium)

# The replicas test (tests/test_replicas.py) runs Debian's nginx with its own configuration in a temporary folder.
/usr/sbin/nginx:
	$(call RETRY,$(APT_GET) update -qq && $(APT_GET) install -y -qq nginx)
	-nginx -s quit 2>/dev/null  # the package may start its default site on port 80: the test needs none of it

# The whole suite (what CI runs), on every core (pytest-xdist: each worker has its own sample database and
# servers on free ports).
test: $(VENV)/.installed-test /usr/bin/chromium /usr/sbin/nginx
	$(PY) -m pytest -n auto

# The fast tier, for every change: no browser, no server, no process of its own, nothing slow
# (pyproject.toml's markers).
FAST := not browser and not server and not subprocess and not slow
check: $(VENV)/.installed-test
	$(PY) -m pytest -n auto -m "$(FAST)"

clean:
	rm -rf $(VENV) data test-artifacts

# Benchmark at clinic-network scale (not part of `make test`): writes bench/RESULTS.md.
bench: $(VENV)/.installed-test /usr/bin/chromium
	$(PY) -m bench.run
