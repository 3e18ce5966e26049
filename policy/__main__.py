"""The policy pack the Pulumi CLI runs: `pulumi preview --policy-pack policy` (see README.md).

The CLI starts this file with the pack's directory on sys.path; the policies live in the importable module
`policies`, where tests can call them without the CLI (a PolicyPack serves gRPC until the CLI stops it).
"""

from policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack("openedx-security-baseline", enforcement_level=EnforcementLevel.MANDATORY, policies=list(POLICIES))
