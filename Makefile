# The project's commands; .ci/run and people call these.
.DEFAULT_GOAL := help
SHELL := /bin/bash

# CPython 3.12, the Functions runtime: from pyenv, or on PATH; each candidate must really run 3.12
# (a pyenv shim exists even when 3.12 is not the active version).
PY312 ?= $(shell for c in "$$(pyenv prefix 3.12 2>/dev/null)/bin/python3.12" "$$(pyenv prefix 3.12.1 2>/dev/null)/bin/python3.12" "$$(command -v python3.12)"; do \
	"$$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo "$$c"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
VENV14 := .venv-sdk14
# What the Functions runtime has (and samsara-fn to run a zip under it): no samsara_fmc, so a zip's own
# lib/ is what runs.
VENVRT := .venv-runtime
SANDBOX_BIN := target/sandbox/samsara-sandbox
export SAMSARA_SANDBOX_BIN := $(CURDIR)/$(SANDBOX_BIN)
# The sandbox contract tests re-run under the newest samsara-api 14.x from this interpreter.
export SAMSARA_SDK14_PYTHON := $(CURDIR)/$(VENV14)/bin/python
# samsara-fn runs the bundled zips from the runtime-like interpreter.
export SAMSARA_FN := $(CURDIR)/$(VENVRT)/bin/samsara-fn

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.ready: pyproject.toml
	@test -x "$(PY312)" || { echo "CPython 3.12 not found: install it (pyenv install 3.12) or set PY312=/path/to/python3.12"; exit 1; }
	$(PY312) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q 'maturin>=1.9.4,<2' ziglang auditwheel pytest hypothesis boto3 'samsara-api==4.1.0' samsara-fn paramiko ruff mypy requests orjson httpx rapidfuzz numpy
	touch $@

$(VENV14)/.ready: pyproject.toml
	@test -x "$(PY312)" || { echo "CPython 3.12 not found: install it (pyenv install 3.12) or set PY312=/path/to/python3.12"; exit 1; }
	$(PY312) -m venv $(VENV14)
	$(VENV14)/bin/pip install -q --upgrade pip
	$(VENV14)/bin/pip install -q 'samsara-api>=14,<15' pytest
	touch $@

$(VENVRT)/.ready: pyproject.toml
	@test -x "$(PY312)" || { echo "CPython 3.12 not found: install it (pyenv install 3.12) or set PY312=/path/to/python3.12"; exit 1; }
	$(PY312) -m venv $(VENVRT)
	$(VENVRT)/bin/pip install -q --upgrade pip
	$(VENVRT)/bin/pip install -q boto3 requests tenacity paramiko 'samsara-api==4.1.0' samsara-fn
	touch $@

.PHONY: venv
venv: $(VENV)/.ready $(VENV14)/.ready $(VENVRT)/.ready ## create .venv (Python 3.12: build, test, bench), .venv-sdk14 (samsara-api 14.x), .venv-runtime (the Functions runtime's packages)

.PHONY: wheel
wheel: venv ## build the Lambda wheel (cp311-abi3-manylinux2014_x86_64) into dist/wheels
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/maturin build --release --zig --compatibility manylinux2014 --target x86_64-unknown-linux-gnu --out dist/wheels

.PHONY: install-wheel
install-wheel: wheel ## install the built wheel into .venv (tests run against the real wheel)
	$(PIP) install -q --no-index --no-deps --force-reinstall dist/wheels/samsara_fmc-*-cp311-abi3-manylinux2014_x86_64*.whl

.PHONY: dev
dev: venv ## editable debug build for quick iteration
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/maturin develop

.PHONY: bundle
bundle: wheel ## vendor the wheel into every function and write dist/<name>.zip
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) scripts/bundle.py --skip-build

.PHONY: sftp-server
sftp-server: ## install OpenSSH's sshd (Debian openssh-server) for the SFTP sink tests, when missing
	@test -x /usr/sbin/sshd || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends openssh-server; }
	@/usr/sbin/sshd -V 2>&1 | head -1 || true

.PHONY: sandbox
sandbox: ## build the local Samsara sandbox (never part of the wheel)
	cargo build --profile sandbox -p samsara-sandbox

.PHONY: demo
demo: bundle sandbox ## the main job: the Functions end to end under samsara-fn against the sandbox
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m scripts.demo

.PHONY: lint-rust
lint-rust: ## rustfmt and clippy: the core with and without the python feature, and the sandbox crate
	cargo fmt --all --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --features python -- -D warnings
	cargo clippy -p samsara-sandbox --all-targets -- -D warnings

.PHONY: lint-python
lint-python: venv ## ruff and mypy
	$(VENV)/bin/ruff check python tests functions bench scripts examples
	$(VENV)/bin/mypy

.PHONY: lint
lint: lint-rust lint-python ## all linters

.PHONY: test-rust
test-rust: ## Rust unit and integration tests (the core without pyo3, and the sandbox crate)
	cargo test --workspace

.PHONY: test-python
test-python: bundle install-wheel sandbox sftp-server ## pytest against the installed Lambda wheel, samsara-fn end to end included
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m pytest

.PHONY: test
test: test-rust test-python ## every test

.PHONY: bench
bench: install-wheel sandbox ## client CPU, memory and import time against samsara-api, requests+json, httpx+orjson
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) bench/bench_client.py

.PHONY: bench-delivery
bench-delivery: install-wheel sandbox ## end to end to the FMC endpoint: records per CPU second against the SDK, freshness in follow mode, a 50,000-vehicle org
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) bench/bench_delivery.py throughput
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) bench/bench_delivery.py freshness
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) bench/bench_delivery.py scale

.PHONY: clean
clean: ## remove build outputs
	rm -rf dist build .samsara-functions target/wheels
