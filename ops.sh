#!/usr/bin/env bash
# Run Open edX management work on an instance, as a Kubernetes Job in its namespace:
#   ./ops.sh STACK INSTANCE createuser USERNAME EMAIL [--staff] [--superuser] [--prompt-password]
#   ./ops.sh STACK INSTANCE importdemocourse [--repository URL] [--version REF]
#   ./ops.sh STACK INSTANCE settheme THEME [--domain DOMAIN …]
#   ./ops.sh STACK INSTANCE reindex
#   ./ops.sh STACK INSTANCE manage [--timeout SECONDS] lms|cms ARGS…   (its options before lms|cms)
#   ./ops.sh STACK INSTANCE backup | backups | verify [BACKUP] | restore [BACKUP] [--tutor-dumps]
#   ./ops.sh STACK INSTANCE clone BACKUP --to TARGET
# Each command takes --timeout SECONDS (the Job's deadline); `./ops.sh STACK INSTANCE COMMAND --help` says more.
# Needs the Pulumi CLI (to read the stack's outputs) and Python 3.11+; the cluster is reached as the stack says.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/pulumi-env.sh
default_passphrase
with_private_tmpdir venv/bin/python -m operations "$@"
