"""AWS values: pure functions of the settings (subnet ranges, names, sizes, IAM documents, the kubeconfig, the RDS
CA bundle), which the adapter and the tests share."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi_aws as aws

from components.clouds import common
from components.clouds.aws import autoscaler

ZONES = 3
EKS_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
MYSQL_PARAMETERS = {**common.MYSQL_UTF8MB4, "require_secure_transport": "1"}


def subnet_cidrs(vpc_cidr: str, zones: int = ZONES) -> tuple[list[str], list[str]]:
    """Public /20s first, then larger private /18s for pods (the VPC CNI gives every pod a VPC address)."""
    quarters = list(ipaddress.IPv4Network(vpc_cidr).subnets(prefixlen_diff=2))
    private = quarters[:zones]
    public = list(quarters[3].subnets(prefixlen_diff=2))[:zones]
    return [str(s) for s in public], [str(s) for s in private]


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str, role_arn: str | None) -> str:
    """A kubeconfig whose user runs `aws eks get-token` (needs the AWS CLI where `pulumi up` runs)."""
    args = ["eks", "get-token", "--cluster-name", cluster_name, "--region", region]
    if role_arn:
        args += ["--role-arn", role_arn]
    return common.exec_kubeconfig(cluster_name, endpoint, ca_data, "aws", args,
                                  install_hint="Install the AWS CLI v2: https://docs.aws.amazon.com/cli/")


def irsa_trust_policy(oidc_arn: str, oidc_url: str, namespace: str, service_account: str) -> str:
    """Only that one ServiceAccount (an instance's, the EBS driver's, the cluster autoscaler's) may assume the
    role."""
    issuer = oidc_url.removeprefix("https://")
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": oidc_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{issuer}:aud": "sts.amazonaws.com",
            }},
        }],
    })


def autoscaler_cluster_tag(cluster_name: str) -> str:
    return f"k8s.io/cluster-autoscaler/{cluster_name}"


def autoscaler_discovery_tags(cluster_name: str) -> dict[str, str]:
    """The tags the cluster autoscaler finds the cluster's node groups by (the keys; any value matches). EKS puts them,
    with these values, on the Auto Scaling group of every managed node group it creates; the node group carries them
    too, so that they are stated where the group is defined (and shown by `aws eks describe-nodegroup`)."""
    return {"k8s.io/cluster-autoscaler/enabled": "true", autoscaler_cluster_tag(cluster_name): "owned"}


def autoscaler_policy_document(cluster_name: str, node_group_arn: str) -> str:
    """The cluster autoscaler may read what it needs to discover and size node groups (the Describe calls take no
    resource), and may change the size of, or remove an instance from, only the Auto Scaling groups of this
    cluster: those EKS tagged as owned by it."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Discover", "Effect": "Allow", "Resource": "*", "Action": [
                "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
                "ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements"]},
            # Read for a group at zero nodes (its labels and taints): only this cluster's group.
            {"Sid": "DescribeNodeGroup", "Effect": "Allow", "Action": "eks:DescribeNodegroup",
             "Resource": node_group_arn},
            {"Sid": "ScaleOwnGroups", "Effect": "Allow", "Resource": "*",
             "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
             "Condition": {"StringEquals": {f"aws:ResourceTag/{autoscaler_cluster_tag(cluster_name)}": "owned"}}},
        ],
    })


def autoscaler_values(cluster_name: str, region: str, kubernetes_version: str, role_arn: str) -> dict[str, Any]:
    """The cluster-autoscaler chart's values: discovery by the cluster's tags, the image of the cluster's minor, the
    IRSA role on its one ServiceAccount, the stack's autoscaling flags, and a locked-down pod that is never evicted
    by its own scale-downs."""
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name, "tags": list(autoscaler_discovery_tags(cluster_name))},
        "image": {"tag": autoscaler.IMAGES[kubernetes_version]},
        "fullnameOverride": autoscaler.SERVICE_ACCOUNT,
        "rbac": {"serviceAccount": {"create": True, "name": autoscaler.SERVICE_ACCOUNT,
                                    "annotations": {"eks.amazonaws.com/role-arn": role_arn}}},
        "extraArgs": dict(common.NODE_AUTOSCALER_FLAGS),
        "podAnnotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                     "capabilities": {"drop": ["ALL"]}},
    }


def bucket_policy_document(bucket_arn: str) -> str:
    """The instance's pods may use their own bucket and nothing else."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                           "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
             "Resource": f"{bucket_arn}/*"},
        ],
    })


def ses_send_policy_document(identity_arn: str) -> str:
    """An instance's SMTP user may send mail from its verified domain, and do nothing else."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ses:SendRawEmail", "Resource": identity_arn}],
    })


def ses_identity_arn(region: str, account: str, domain: str) -> str:
    return f"arn:aws:ses:{region}:{account}:identity/{domain}"


def ses_smtp_host(region: str) -> str:
    """The SES SMTP interface of a region (STARTTLS on 587, TLS on 465)."""
    return f"email-smtp.{region}.amazonaws.com"


def item(index: int, items: Sequence[str]) -> str:
    return items[index]


def oidc_issuer(identities: Sequence[aws.eks.outputs.ClusterIdentity] | None) -> str:
    oidcs = identities[0].oidcs if identities else None
    if not oidcs or not oidcs[0].issuer:
        raise ValueError("the EKS cluster reports no OIDC issuer")
    return oidcs[0].issuer


def assume_role_policy(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def database_instance_class(production: bool) -> str:
    """RDS MySQL's and DocumentDB's default size (both offer these classes)."""
    return "db.r6g.large" if production else "db.t4g.medium"


RDS_CA = "rds-ca-rsa2048-g1"  # the server certificate authority of RDS MySQL and DocumentDB instances
RDS_CA_FILE = Path(__file__).with_name("rds_ca.json")


def rds_ca_bundle(region: str) -> str | None:
    """The Amazon RDS root CAs of `region` (RSA2048, RSA4096, ECC384; RDS and DocumentDB server certificates chain
    to one of them), from the vendored copy of AWS's global bundle (see its `source`); None for a region it lacks."""
    regions: dict[str, dict[str, str]] = json.loads(RDS_CA_FILE.read_text())["regions"]
    if region not in regions:
        return None
    return "".join(regions[region][kind] for kind in sorted(regions[region]))


def cache_node_type(production: bool) -> str:
    return "cache.r7g.large" if production else "cache.t4g.small"


def replication_group_id(stack: str, instance: str) -> str:
    """ElastiCache ids are account-wide, at most 40 characters, without '--': a readable prefix of the instance
    name and a digest of stack and instance keep them unique."""
    digest = hashlib.sha256(f"{stack}/{instance}".encode()).hexdigest()[:8]
    return f"ox-{instance[:20].rstrip('-')}-{digest}"
