"""What the AWS adapter pins of the Kubernetes cluster autoscaler, which grows and shrinks the EKS node group.

Without it, nothing changes an EKS managed node group's size: it stays at its minimum and the pods a
HorizontalPodAutoscaler adds stay Pending. GKE and AKS run a cluster autoscaler of their own.

Why cluster-autoscaler rather than Karpenter: the cluster has one managed node group with minSize and maxSize, and
the autoscaler scales exactly that group (it sets its Auto Scaling group's desired capacity, nothing else), discovered
by tags EKS already puts on it. Karpenter would replace the node group model: it launches instances itself from
NodePool and EC2NodeClass resources (CRDs to install, upgrade and keep in step with the settings), finds subnets and
security groups by tags of its own, and leaves the managed group to run only itself. For one group of same-sized
nodes, its faster bin-packing and instance-type choice buy little.

Kept here, beside the adapter that releases it, rather than in `components.platform.CHARTS`: those are the add-ons
the Platform releases on every cloud; this one is the AWS adapter's (it needs the adapter's IAM role, node group and
region), and the settings check the image table without importing the Platform. No import beyond the standard
library: the settings layer reads `IMAGES`.
"""

from __future__ import annotations

CHART_REPOSITORY = "https://kubernetes.github.io/autoscaler"
CHART = "cluster-autoscaler"
CHART_VERSION = "9.59.0"
IMAGES = {
    "1.32": "v1.32.7",
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
    "1.36": "v1.36.1",
}
"""registry.k8s.io/autoscaling/cluster-autoscaler tags by the cluster's Kubernetes minor (the newest patch of each):
each autoscaler minor embeds that minor's scheduler and is supported only against it, while the chart's default
image follows the newest minor."""
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
"""The one ServiceAccount its IAM role trusts."""
