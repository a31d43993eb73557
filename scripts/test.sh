#!/usr/bin/env bash
# The whole check, as CI runs it: lint, format, types, then every test against the real broker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
