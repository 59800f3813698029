# envq: the two commands the README promises.
#   make demo   runs the backfill flow (Prefect, local API) over the bundled real data into a
#               fresh store: Hunan's 2019 good-air-day rates and 2026 Class III compliance, by
#               city, river system and river basin; prints the headline figures
#   make test   runs the whole test suite (installing Debian's Chromium and the fonts of the
#               browser tests first when they are missing: .ci/browser-deps)
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench venv clean browser-deps

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench,geo-build]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) -m flows.demo --output demo-output

test: $(STAMP) browser-deps
	$(PY) -m pytest -n 2 -q

browser-deps:
	@bash .ci/browser-deps

bench: $(STAMP)
	$(PY) bench/air_national_year.py
	$(PY) bench/water_classify.py
	$(PY) bench/geo_pack.py
	@test -f demo-output/store/store.json || $(PY) -m flows.demo --output demo-output
	$(PY) bench/maps_render.py
	$(PY) bench/alerts_audit.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .prefect envq-data
