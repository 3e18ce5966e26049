"""Computed outputs of the AWS resources the program uses (addresses, ARNs, generated names)."""

from __future__ import annotations

import hashlib
from typing import Any

MOCK_ACCOUNT = "123456789012"
MOCK_REGION = "eu-west-1"


def outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Computed outputs of the AWS resources the program uses (addresses, ARNs, generated names)."""
    short = hashlib.sha1(name.encode()).hexdigest()[:12]
    outputs: dict[str, Any] = {
        "arn": f"arn:aws:mock:{MOCK_REGION}:{MOCK_ACCOUNT}:{name}",
        "name": inputs.get("name", name),
    }
    if typ == "aws:eks/cluster:Cluster":
        cluster = inputs.get("name", name)
        outputs |= {
            "endpoint": f"https://{short.upper()}.gr7.{MOCK_REGION}.eks.amazonaws.com",
            "certificateAuthority": {
                "data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCm1vY2sKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
            },
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{MOCK_REGION}.amazonaws.com/id/{short.upper()}"}]}],
            "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{short}"},
            "arn": f"arn:aws:eks:{MOCK_REGION}:{MOCK_ACCOUNT}:cluster/{cluster}",
        }
    elif typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        outputs["arn"] = (
            f"arn:aws:iam::{MOCK_ACCOUNT}:oidc-provider/{str(inputs.get('url', '')).removeprefix('https://')}"
        )
    elif typ == "aws:iam/role:Role":
        outputs["arn"] = f"arn:aws:iam::{MOCK_ACCOUNT}:role/{name}-{short[:7]}"
        outputs["name"] = f"{name}-{short[:7]}"
    elif typ == "aws:rds/instance:Instance":
        outputs |= {
            "address": f"{name}.{short}.{MOCK_REGION}.rds.amazonaws.com",
            "port": 3306,
            "endpoint": f"{name}.{short}.{MOCK_REGION}.rds.amazonaws.com:3306",
        }
    elif typ == "aws:docdb/cluster:Cluster":
        cluster = inputs.get("clusterIdentifier", name)
        outputs |= {"endpoint": f"{cluster}.cluster-{short}.{MOCK_REGION}.docdb.amazonaws.com", "port": 27017,
                    "id": cluster}
    elif typ == "aws:elasticache/replicationGroup:ReplicationGroup":
        group = inputs.get("replicationGroupId", name)
        outputs["primaryEndpointAddress"] = f"master.{group}.{short[:6]}.euw1.cache.amazonaws.com"
    elif typ == "aws:iam/accessKey:AccessKey":
        # Shaped like AWS's: an access key id, and the SES SMTP password derived from its secret.
        outputs |= {"id": f"AKIA{short.upper()[:12]}MOCK", "sesSmtpPasswordV4": f"B{short}+mock/SES={short[::-1]}"}
    elif typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}{short}"
        outputs |= {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "id": bucket}
    elif typ in ("aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup",
                 "aws:elasticache/subnetGroup:SubnetGroup", "aws:docdb/subnetGroup:SubnetGroup",
                 "aws:docdb/clusterParameterGroup:ClusterParameterGroup"):
        outputs["name"] = inputs.get("name", f"{name}-{short[:7]}")
    return outputs

