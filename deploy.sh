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

pulumi stack select "$stack" 2>/dev/null || pulumi stack init "$stack"
with_private_tmpdir pulumi up --stack "$stack" "$@"
