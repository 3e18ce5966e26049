"""`python -m operations.passphrase CONFIG_FILE`: may `deploy.sh` go on with the passphrase it has?

A stack whose secrets provider is a passphrase (the default on a self-managed backend: a file, S3, GCS or Azure
blob state) encrypts every secret of its state and config with it. An empty one encrypts with a key anybody can
derive: deploy.sh uses one when none is set, tolerable for a `dev` machine but never for `production`, whose state
holds the credentials of every instance. Exit 0 (go on; a warning for an empty passphrase set on purpose, as a
test rig does), or 1 with what to do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ENVIRONMENT_KEY = "openedx:environment"


def uses_passphrase(stack_file: Mapping[str, Any], backend_url: str) -> bool:
    """Whether the stack's secrets are encrypted with a passphrase: its `secretsprovider` says so, or it names none
    and the backend is not Pulumi Cloud (which keeps a key per stack)."""
    provider = stack_file.get("secretsprovider")
    if provider is None:
        return not backend_url.startswith(("https://", "http://"))
    return str(provider).startswith("passphrase")


def production_passphrase(stack_file: Mapping[str, Any], environ: Mapping[str, str]) -> bool:
    """Whether the stack is a production one whose secrets a passphrase encrypts."""
    environment = (stack_file.get("config") or {}).get(ENVIRONMENT_KEY, "dev")
    return environment == "production" and uses_passphrase(stack_file, environ.get("PULUMI_BACKEND_URL", ""))


def passphrase_problem(stack_file: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    """Why this stack may not be updated with the passphrase `environ` gives (None: it may). Refused: a production
    stack without a passphrase, which deploy.sh would otherwise replace with an empty one."""
    if (not production_passphrase(stack_file, environ) or "PULUMI_CONFIG_PASSPHRASE" in environ
            or environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        return None
    return ("this is a production stack and PULUMI_CONFIG_PASSPHRASE is not set: its secrets would be encrypted "
            "with an empty passphrase, which anybody can decrypt. Set PULUMI_CONFIG_PASSPHRASE (or "
            "PULUMI_CONFIG_PASSPHRASE_FILE, a file holding it) to a strong passphrase kept in your password "
            "manager, or use a cloud key instead: `pulumi stack change-secrets-provider awskms://alias/NAME` (or "
            "gcpkms://…, azurekeyvault://…). A stack created with an empty passphrase keeps its secrets readable "
            "until you run `pulumi stack change-secrets-provider passphrase` with the new one set.")


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    stack_file = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
    problem = passphrase_problem(stack_file, os.environ)
    if problem is not None:
        print(f"{path}: {problem}", file=sys.stderr)
        return 1
    if (production_passphrase(stack_file, os.environ) and os.environ.get("PULUMI_CONFIG_PASSPHRASE") == ""
            and not os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        print(f"{path}: warning: a production stack with an empty PULUMI_CONFIG_PASSPHRASE: its secrets are readable "
              "by anybody who can read its state", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
