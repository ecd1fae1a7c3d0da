# Routy Integrations. The two set-up commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PORT ?= 3000
# The address the server listens on: this machine only, unless told otherwise (ROUTY_HOST=0.0.0.0 when a
# balancer or proxy on another host forwards to it). A fresh install's first-admin page must not face a network.
ROUTY_HOST ?= 127.0.0.1
# Each port has its own Reflex build folder: a build bakes the backend's address into the pages
# (<web dir>/env.json), so instances sharing one folder would send each other's browsers to the wrong
# port. Instances on different ports of one install therefore never share a build.
WEB_DIR ?= .web-$(PORT)
ENV := . scripts/env.sh &&

.PHONY: run test test-scale lint dev migrate unit integration contract e2e bench clean

run:  ## install what is needed, migrate, serve UI + API on http://localhost:$(PORT)
	@bash scripts/bootstrap.sh run
	@$(ENV) PUBLIC_URL=$${PUBLIC_URL:-http://localhost:$(PORT)} python -m routy_app migrate
	@$(ENV) PUBLIC_URL=$${PUBLIC_URL:-http://localhost:$(PORT)} REFLEX_WEB_WORKDIR=$(WEB_DIR) exec reflex run --env prod --single-port --backend-host $(ROUTY_HOST) --backend-port $(PORT) --loglevel warning

test:  ## install what tests need (incl. Chromium), lint, and run the whole suite
	@bash scripts/bootstrap.sh test
	@$(MAKE) --no-print-directory lint
	@$(ENV) python -m pytest tests/unit tests/integration tests/contract -q -p no:playwright
	@$(ENV) python -m pytest tests/e2e -q

lint:  ## ruff (lint + format check), import contracts and mypy (strict on services, providers, api)
	@$(ENV) ruff check . && ruff format --check . && lint-imports && mypy

test-scale:  ## PostgreSQL + Redis + two replicas behind HAProxy, in Chromium (installs what it needs; see docs/deployment.md)
	@bash scripts/bootstrap.sh scale
	@$(ENV) python -m pytest tests/scale -q

dev:  ## hot reload on one port (preview mode serves custom routes on the same port)
	@bash scripts/bootstrap.sh run
	@$(ENV) PUBLIC_URL=$${PUBLIC_URL:-http://localhost:$(PORT)} python -m routy_app migrate
	@$(ENV) PUBLIC_URL=$${PUBLIC_URL:-http://localhost:$(PORT)} REFLEX_WEB_WORKDIR=$(WEB_DIR) reflex run --env preview --single-port --backend-host $(ROUTY_HOST) --backend-port $(PORT)

unit:
	@$(ENV) python -m pytest tests/unit -q -p no:playwright

integration:
	@$(ENV) python -m pytest tests/integration -q -p no:playwright

contract:  ## the providers' official SDKs (google-ads-datamanager, google-analytics-data, facebook-business) against the sandbox
	@$(ENV) python -m pytest tests/contract -q -p no:playwright

e2e:
	@$(ENV) python -m pytest tests/e2e -q

clean:
	rm -rf .web .web-* .states data scale-report.json
