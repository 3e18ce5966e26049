"""Operator commands: Open edX management work as a Kubernetes Job in an instance's namespace (`./ops.sh`)."""
