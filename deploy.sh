#!/usr/bin/env bash
# Deploy a stack with Pulumi: ./deploy.sh [STACK] [pulumi up options…]   (STACK defaults to `local`)
# Needs only the Pulumi CLI, Python 3.11+ and, for `local`, a kubeconfig. It creates the virtualenv, uses a
# local file state backend unless PULUMI_BACKEND_URL says otherwise, and creates or selects the stack.
set -euo pipefail
cd "$(dirname "$0")"
stack="${1:-local}"
shift || true

command -v pulumi >/dev/null || { echo "The Pulumi CLI is needed: https://www.pulumi.com/docs/install/" >&2; exit 1; }
[ -f "stacks/Pulumi.$stack.yaml" ] || { echo "No stack file stacks/Pulumi.$stack.yaml" >&2; exit 1; }

if [ ! -x venv/bin/python ]; then
  python3 -m venv venv
fi
if [ ! -f venv/.requirements ] || ! cmp -s requirements.txt venv/.requirements; then
  venv/bin/pip install --quiet --upgrade pip
  venv/bin/pip install --quiet -r requirements.txt
  cp requirements.txt venv/.requirements
fi

if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "PULUMI_CONFIG_PASSPHRASE is not set: using an empty passphrase for this stack's secrets (set one for anything shared)." >&2
  export PULUMI_CONFIG_PASSPHRASE=""
fi

pulumi stack select "$stack" 2>/dev/null || pulumi stack init "$stack"
# The Kubernetes provider writes a copy of the kubeconfig (credentials included) to $TMPDIR each time it is
# configured and never removes it: the run gets a private TMPDIR, removed when it ends.
run_tmp="$(mktemp -d)"
trap 'rm -rf "$run_tmp"' EXIT
TMPDIR="$run_tmp" pulumi up --stack "$stack" "$@"
