PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean health deploy screenshots

# checkov pins an older boto3 than ours, so it gets a virtualenv of its own;
# tests/functional/deploy/test_offline_checks.py runs it from there.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

# The virtual environment is rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sluiceway demo

$(CHECKOV):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov==3.3.30'

# The AWS CLI (v1, from PyPI) pins its own botocore, so it gets a virtualenv of its own too;
# tests/e2e/test_aws_cli.py drives the endpoint with it.
AWSCLI_VENV := .venv-awscli
AWSCLI := $(AWSCLI_VENV)/bin/aws

$(AWSCLI):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(AWSCLI_VENV)/bin/python || $(PYTHON) -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AWSCLI_VENV)/bin/python -m pip install --quiet 'awscli==1.46.3'

# Debian's Prometheus server: tests/e2e/test_prometheus_server.py scrapes a running stack with it.
PROMETHEUS := /usr/bin/prometheus

$(PROMETHEUS):
	@if command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) \
	  || echo "could not install prometheus: tests/e2e/test_prometheus_server.py will be skipped"; \
	else echo "apt-get not found: tests/e2e/test_prometheus_server.py will be skipped"; fi

# Debian's chromium: tests/e2e/console/ drive the web console in it with Playwright (pointed at
# this executable; Playwright never downloads a browser here).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@if command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) \
	  || echo "could not install chromium: tests/e2e/console/ will be skipped"; \
	else echo "apt-get not found: tests/e2e/console/ will be skipped"; fi

test: $(STAMP) $(CHECKOV) $(AWSCLI) $(PROMETHEUS) $(CHROMIUM)
	$(BIN)/python -m pytest -q tests

# `make screenshots` refreshes docs/console/*.png from the console's browser tests.
screenshots: $(STAMP) $(CHROMIUM)
	SLUICEWAY_SCREENSHOTS=docs/console $(BIN)/python -m pytest -q tests/e2e/console

# `make health` asks the running `sluiceway up` whether it is ready (database, workers, event
# lag): exit 0 ready, 1 not ready, 2 nothing answers. URL defaults to SLUICEWAY_ENDPOINT_HOST/PORT.
URL ?=

health: $(STAMP)
	$(BIN)/sluiceway health --ready $(if $(URL),--url '$(URL)')

# `make deploy` deploys TEMPLATE to AWS with the SAM CLI (`sluiceway deploy`): the pipeline's
# template (`sluiceway template` writes template.yaml) or an app's. Left empty, STACK and REGION
# are the command's own defaults (sluiceway-<pipeline>, or the app folder's name; SLUICEWAY_REGION).
# DEPLOY_FLAGS passes more options, e.g. DEPLOY_FLAGS='--email me@example.com --dry-run'.
TEMPLATE ?= template.yaml
STACK ?=
REGION ?=
DEPLOY_FLAGS ?=

deploy: $(STAMP)
	$(BIN)/sluiceway deploy --template '$(TEMPLATE)' $(if $(STACK),--stack-name '$(STACK)') $(if $(REGION),--region '$(REGION)') $(DEPLOY_FLAGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/csv_pipeline.py --size-mb 200

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(AWSCLI_VENV) .pytest_cache build *.egg-info .aws-sam
