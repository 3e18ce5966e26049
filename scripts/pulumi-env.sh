# The environment deploy.sh and ops.sh run in, sourced from the project directory: the Pulumi CLI, the virtualenv
# with the pinned requirements, the state backend (a local file backend unless PULUMI_BACKEND_URL says otherwise)
# and the passphrase of the stack's secrets.

command -v pulumi >/dev/null || { echo "The Pulumi CLI is needed: https://www.pulumi.com/docs/install/" >&2; exit 1; }

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
# default_passphrase: an unset passphrase means an empty one, with a warning (deploy.sh first refuses that for a
# production stack).
default_passphrase() {
  if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    echo "PULUMI_CONFIG_PASSPHRASE is not set: using an empty passphrase for this stack's secrets (set one for anything shared)." >&2
    export PULUMI_CONFIG_PASSPHRASE=""
  fi
}

# with_private_tmpdir COMMAND…: COMMAND with TMPDIR set to a new private directory, removed when the script ends.
# Kubernetes clients write copies of a kubeconfig's credentials to $TMPDIR (the Pulumi provider every time it is
# configured, and never removes them; the Python client until it exits, which a killed process never does).
with_private_tmpdir() {
  run_tmp="$(mktemp -d)"
  trap 'rm -rf "$run_tmp"' EXIT
  TMPDIR="$run_tmp" "$@"
}
