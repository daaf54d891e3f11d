# Set-up and entry points. `make test` and `make replicate` create the environment if missing.
# VENV may live outside the clone (CI reuses one between runs): make VENV=~/.cache/hdnn/venv test
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.hdnn-installed
CORES ?= all

.PHONY: env test test-all replicate keep resume smoke figures clean-results

env: $(STAMP)

# Reinstalls when the lock or the package metadata changes.
$(STAMP): requirements/constraints.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements/constraints.txt -e .
	touch $(STAMP)

# The edit-test loop: every test but the smoke workflow, notebooks and HTML report (marked slow).
test: env
	$(PY) -m pytest -m "not slow"

# Everything, the smoke workflow end to end included: what CI runs.
test-all: env
	$(PY) -m pytest

replicate: env
	$(VENV)/bin/snakemake --cores $(CORES)

# Runs longer than a session (the MNIST runs: Table 2's and its confirmatory ones): `make keep` copies
# their finished records (metrics.json, log, benchmark; not the weights) from results/ into
# $(FINISHED), committed. In a fresh clone `make resume` fetches MNIST, then copies them back, newer
# than their inputs, so Snakemake trains only the runs still missing (the record check still applies).
FINISHED := resources/finished
keep:
	cd results && find runs/confirmatory runs/table2 -name metrics.json \( -path 'runs/confirmatory/*/mnist/*' \
		-o -path 'runs/table2/*' \) 2>/dev/null | while read -r m; do \
		rel=$${m#runs/}; rel=$${rel%/metrics.json}; \
		for f in $$m logs/runs/$$rel.log benchmarks/$$rel.tsv; do \
			mkdir -p ../$(FINISHED)/$$(dirname $$f) && cp $$f ../$(FINISHED)/$$f || exit 1; done; done

resume: env
	$(VENV)/bin/snakemake --cores 1 mnist_data
	mkdir -p results && cp -r $(FINISHED)/. results/

# The smoke grid's stages in order (choices first), results under results/smoke/.
smoke: env
	for target in ablation tuning tuning_table2 all paper certify; do \
		$(VENV)/bin/snakemake $$target --cores 2 --configfile config/smoke.yaml || exit 1; done

# Every committed figure redrawn from paper/data alone (no run needed; what tests/test_figures.py checks).
DRAWING_RULES := figure1 figure2 eigenvalues calibration_figure table_figures confirmatory_forest
figures: env
	$(VENV)/bin/snakemake --cores 1 --allowed-rules $(DRAWING_RULES) --forcerun $(DRAWING_RULES) \
		-- $(wildcard paper/figures/*.png) $(wildcard paper/figures/*.pdf)

clean-results:
	rm -rf results/data results/runs results/tables results/figures
