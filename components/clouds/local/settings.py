"""`openedx:local`: the keys of the local adapter (any cluster in a kubeconfig)."""

from __future__ import annotations

from components.settings.model import Model


class LocalSettings(Model):
    """`cloud: local`: any cluster in a kubeconfig (kind, k3d, minikube, Docker Desktop, your own)."""

    kubeconfig: str | None = None  # a path; unset: $KUBECONFIG or ~/.kube/config, as kubectl does
    context: str | None = None  # unset: the kubeconfig's current context
    storage_class: str | None = None  # unset: the cluster's default StorageClass
