#!/usr/bin/env bash
# Preview, update, show or remove the instance stacks of a fleet, through Pulumi's Automation API:
#   ./fleet.sh preview FLEET_FILE [--concurrency N]
#   ./fleet.sh up FLEET_FILE [--concurrency N]
#   ./fleet.sh status FLEET_FILE
#   ./fleet.sh remove FLEET_FILE STACK [--yes]
# The fleet file is described in operations/fleet/__init__.py and the README ("Fleets"). Exit codes: 0 every stack
# succeeded, 1 one failed or was not run because of a failure, 2 refused before anything ran, 130 interrupted.
# Needs the Pulumi CLI and Python 3.11+; the state backend and passphrase are deploy.sh's.
set -euo pipefail
export FLEET_CALLER_DIR="$PWD"  # a relative FLEET_FILE is the caller's
cd "$(dirname "$0")"
source scripts/pulumi-env.sh
# A production stack's secrets are never encrypted with a passphrase nobody chose: the fleet checks its stacks
# against the passphrase as it was given, before the default.
[ -n "${PULUMI_CONFIG_PASSPHRASE+set}" ] || [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ] \
  || export FLEET_PASSPHRASE_DEFAULTED=1
default_passphrase
with_private_tmpdir venv/bin/python -m operations.fleet "$@"
