#!/usr/bin/env bash
# Deploy a stack with Pulumi: ./deploy.sh [STACK] [pulumi up options…]   (STACK defaults to `local`)
# Needs only the Pulumi CLI, Python 3.11+ and, for `local`, a kubeconfig. It creates the virtualenv, uses a
# local file state backend unless PULUMI_BACKEND_URL says otherwise, and creates or selects the stack.
set -euo pipefail
cd "$(dirname "$0")"
stack="${1:-local}"
shift || true

[ -f "stacks/Pulumi.$stack.yaml" ] || { echo "No stack file stacks/Pulumi.$stack.yaml" >&2; exit 1; }
source scripts/pulumi-env.sh
config_file="stacks/Pulumi.$stack.yaml"
previous=""
for arg in "$@"; do  # `pulumi up --config-file FILE` reads the stack's config from FILE instead
  case "$arg" in --config-file=*) config_file="${arg#*=}" ;; esac
  [ "$previous" = "--config-file" ] && config_file="$arg"
  previous="$arg"
done
# A production stack's secrets are never encrypted with a passphrase nobody chose.
venv/bin/python -m operations.passphrase "$config_file" || exit 1
default_passphrase

pulumi stack select "$stack" 2>/dev/null || pulumi stack init "$stack"
with_private_tmpdir pulumi up --stack "$stack" "$@"
