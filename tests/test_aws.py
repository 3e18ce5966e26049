"""The AWS adapter under mocks, for both example stacks: the security properties of every AWS resource."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.clouds.aws.values import rds_ca_bundle, subnet_cidrs
from offline.evaluation import PROJECT_DIR
from offline.recording import Recording
from tests.conftest import (
    ExampleStacks,
    assert_admin_credential_confined,
    inputs,
    named,
    of_type,
    one,
    provisioning,
)

DOCDB_PARAMETERS = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
STACKS = {"dev": PROJECT_DIR / "stacks/Pulumi.aws-dev.yaml",
          "production": PROJECT_DIR / "stacks/Pulumi.aws-production.yaml"}


@pytest.fixture(params=sorted(STACKS))
def stack(request, example_stacks: ExampleStacks) -> tuple[str, Recording]:
    return request.param, example_stacks[STACKS[request.param]].recording


def test_every_resource_uses_the_stack_providers(stack) -> None:
    _, recording = stack
    aws_provider = one(recording, "pulumi:providers:aws")
    eks_provider = one(recording, "pulumi:providers:kubernetes")
    assert inputs(eks_provider)["clusterIdentifier"].startswith("aws-")
    assert inputs(eks_provider)["enableSecretMutable"] in (True, "true")
    assert json.loads(inputs(eks_provider)["kubeconfig"])["users"][0]["user"]["exec"]["command"] == "aws"
    for r in recording.resources.values():
        if r.type.startswith("aws:"):
            assert r.provider.startswith(aws_provider.urn + "::"), r.urn
        if r.type.startswith("kubernetes:"):
            assert r.provider.startswith(eks_provider.urn + "::"), r.urn


def test_network_spans_three_zones_with_nat_by_environment(stack) -> None:
    environment, recording = stack
    subnets = of_type(recording, "aws:ec2/subnet:Subnet")
    assert len({inputs(s)["availabilityZone"] for s in subnets}) == 3
    public = [s for s in subnets if inputs(s)["tags"].get("kubernetes.io/role/elb") == "1"]
    private = [s for s in subnets if inputs(s)["tags"].get("kubernetes.io/role/internal-elb") == "1"]
    assert len(public) == len(private) == 3
    assert not any(inputs(s).get("mapPublicIpOnLaunch") for s in subnets)
    assert len(of_type(recording, "aws:ec2/natGateway:NatGateway")) == (3 if environment == "production" else 1)


def test_subnets_do_not_overlap() -> None:
    public, private = subnet_cidrs("10.0.0.0/16")
    import ipaddress
    networks = [ipaddress.ip_network(c) for c in public + private]
    assert all(not a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1:])


def test_eks_is_private_encrypted_logged_and_api_authenticated(stack) -> None:
    environment, recording = stack
    cluster = one(recording, "aws:eks/cluster:Cluster")
    spec = inputs(cluster)
    assert spec["vpcConfig"]["endpointPrivateAccess"] is True
    assert spec["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert spec["accessConfig"]["authenticationMode"] == "API"
    assert spec["encryptionConfig"]["resources"] == ["secrets"]
    assert set(spec["enabledClusterLogTypes"]) >= {"api", "audit", "authenticator"}
    assert cluster.protect == (environment == "production")
    cni = next(a for a in of_type(recording, "aws:eks/addon:Addon") if inputs(a)["addonName"] == "vpc-cni")
    assert json.loads(inputs(cni)["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert "aws-ebs-csi-driver" in {inputs(a)["addonName"] for a in of_type(recording, "aws:eks/addon:Addon")}
    kms = one(recording, "aws:kms/key:Key")
    assert inputs(kms)["enableKeyRotation"] is True


# --- node autoscaling: the cluster autoscaler sizes the node group ------------------------------------------------

RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_BOUNDS = {"dev": (2, 4), "production": (3, 12)}  # the example stacks' nodeGroup.minSize, maxSize


def test_cluster_autoscaler_is_a_pinned_release_in_kube_system_discovering_this_cluster(stack) -> None:
    environment, recording = stack
    release = named(recording, RELEASE, "aws-cluster-autoscaler")
    spec = inputs(release)
    assert (spec["name"], spec["namespace"]) == ("cluster-autoscaler", "kube-system")
    assert (spec["chart"], spec["version"]) == ("cluster-autoscaler", "9.59.0")
    assert spec["repositoryOpts"] == {"repo": "https://kubernetes.github.io/autoscaler"}
    assert spec["atomic"] is True
    values = spec["values"]
    assert values["image"] == {"tag": "v1.34.5"}  # the autoscaler of the cluster's minor (kubernetesVersion 1.34)
    assert (values["cloudProvider"], values["awsRegion"]) == ("aws", "eu-west-1")
    assert values["autoDiscovery"] == {
        "clusterName": f"aws-aws-{environment}",
        "tags": ["k8s.io/cluster-autoscaler/enabled", f"k8s.io/cluster-autoscaler/aws-aws-{environment}"]}
    assert values["extraArgs"] == {"expander": "least-waste", "balance-similar-node-groups": "true",
                                   "skip-nodes-with-local-storage": "false"}
    role = named(recording, "aws:iam/role:Role", "aws-cluster-autoscaler")
    assert values["rbac"]["serviceAccount"] == {"create": True, "name": "cluster-autoscaler",
                                                "annotations": {"eks.amazonaws.com/role-arn": role.outputs["arn"]}}
    assert values["podAnnotations"] == {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}
    assert named(recording, "aws:iam/rolePolicy:RolePolicy", "aws-cluster-autoscaler").urn in release.depends_on


def test_cluster_autoscaler_role_is_assumable_by_its_service_account_only(stack) -> None:
    _, recording = stack
    role = named(recording, "aws:iam/role:Role", "aws-cluster-autoscaler")
    (trust,) = json.loads(inputs(role)["assumeRolePolicy"])["Statement"]
    oidc = one(recording, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert trust["Principal"] == {"Federated": oidc.outputs["arn"]}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = trust["Condition"]["StringEquals"]
    assert sorted(key.rsplit(":", 1)[1] for key in conditions) == ["aud", "sub"]
    (subject,) = [v for k, v in conditions.items() if k.endswith(":sub")]
    (audience,) = [v for k, v in conditions.items() if k.endswith(":aud")]
    assert (subject, audience) == ("system:serviceaccount:kube-system:cluster-autoscaler", "sts.amazonaws.com")


def test_cluster_autoscaler_may_resize_only_this_cluster_groups(stack) -> None:
    environment, recording = stack
    policy = named(recording, "aws:iam/rolePolicy:RolePolicy", "aws-cluster-autoscaler")
    assert inputs(policy)["role"] == named(recording, "aws:iam/role:Role", "aws-cluster-autoscaler").id
    statements = json.loads(inputs(policy)["policy"])["Statement"]
    assert all(s["Effect"] == "Allow" for s in statements)
    writes = [s for s in statements if "autoscaling:SetDesiredCapacity" in s["Action"]]
    assert writes == [{
        "Sid": "ScaleOwnGroups", "Effect": "Allow", "Resource": "*",
        "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
        "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/aws-aws-{environment}": "owned"}}}]
    reads = [s for s in statements if s not in writes]
    actions = [a for s in reads for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert set(actions) == {
        "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
        "ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
        "ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup"}
    (node_group_read,) = [s for s in reads if s["Action"] == "eks:DescribeNodegroup"]
    assert node_group_read["Resource"] == one(recording, "aws:eks/nodeGroup:NodeGroup").outputs["arn"]


def test_node_group_carries_the_discovery_tags_and_the_configured_bounds(stack) -> None:
    environment, recording = stack
    group = one(recording, "aws:eks/nodeGroup:NodeGroup")
    tags = inputs(group)["tags"]
    assert tags["k8s.io/cluster-autoscaler/enabled"] == "true"
    assert tags[f"k8s.io/cluster-autoscaler/aws-aws-{environment}"] == "owned"
    low, high = NODE_BOUNDS[environment]
    assert inputs(group)["scalingConfig"] == {"minSize": low, "maxSize": high, "desiredSize": low}
    assert group.ignore_changes == ["scalingConfig.desiredSize"]  # the autoscaler's from then on


def _aws_problems(aws: dict[str, Any]) -> list[str]:
    from components.settings.model import ConfigError
    from components.settings.stack import load

    raw = {"cloud": "aws", "aws": {"publicAccessCidrs": [], **aws}, "platform": {"tls": {"issuer": "none"}}}
    try:
        load(raw, {"aws:region": "eu-west-1"})
    except ConfigError as error:
        return error.problems
    return []


def test_node_group_bounds_and_the_autoscaler_minor_are_checked_naming_the_key() -> None:
    assert _aws_problems({}) == []
    assert _aws_problems({"nodeGroup": {"minSize": 4, "maxSize": 4}}) == []  # a fixed size is allowed
    assert _aws_problems({"nodeGroup": {"minSize": 5, "maxSize": 3}}) == [
        "openedx:aws.nodeGroup: minSize (5) is greater than maxSize (3)"]
    assert _aws_problems({"nodeGroup": {"minSize": 7}}) == [  # above the default maximum (6)
        "openedx:aws.nodeGroup: minSize (7) is greater than maxSize (6)"]
    assert _aws_problems({"kubernetesVersion": "1.35"}) == []
    assert _aws_problems({"kubernetesVersion": "1.29"}) == [
        "openedx:aws.kubernetesVersion: '1.29' has no cluster-autoscaler image pinned (the autoscaler must be of "
        "the cluster's minor); use one of 1.32, 1.33, 1.34, 1.35, 1.36"]


def test_the_autoscaler_image_follows_the_cluster_minor(evaluate_stack) -> None:
    import yaml

    raw = yaml.safe_load(STACKS["dev"].read_text())["config"]
    raw["openedx:aws"] = {**raw["openedx:aws"], "kubernetesVersion": "1.33"}
    recording = evaluate_stack(config={**raw, "openedx:instances": []})
    assert inputs(one(recording, "aws:eks/cluster:Cluster"))["version"] == "1.33"
    assert inputs(named(recording, RELEASE, "aws-cluster-autoscaler"))["values"]["image"] == {"tag": "v1.33.6"}


def test_storage_classes_are_encrypted_gp3_with_a_retain_class(stack) -> None:
    _, recording = stack
    classes = {inputs(c)["metadata"]["name"]: inputs(c) for c in of_type(
        recording, "kubernetes:storage.k8s.io/v1:StorageClass")}
    assert classes["openedx"]["parameters"] == {"type": "gp3", "encrypted": "true"}
    assert classes["openedx-retain"]["reclaimPolicy"] == "Retain"


def test_mysql_is_private_encrypted_and_backed_up_by_environment(stack) -> None:
    environment, recording = stack
    db = one(recording, "aws:rds/instance:Instance")
    spec = inputs(db)
    production = environment == "production"
    assert spec["engine"] == "mysql" and spec["engineVersion"].startswith("8.4")
    assert spec["storageEncrypted"] is True
    assert spec["publiclyAccessible"] is False
    assert spec["backupRetentionPeriod"] == (35 if production else 7)
    assert spec["multiAz"] is production
    assert spec["deletionProtection"] is production
    assert spec["skipFinalSnapshot"] is (not production)
    assert db.protect is production
    for rule in of_type(recording, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        assert inputs(rule)["fromPort"] in (3306, 6379) and inputs(rule)["referencedSecurityGroupId"].startswith("sg-")
        assert "cidrIpv4" not in inputs(rule) and "cidrIpv6" not in inputs(rule)
    parameters = {p["name"]: p["value"] for p in inputs(one(recording, "aws:rds/parameterGroup:ParameterGroup"))
                  ["parameters"]}
    assert parameters["character_set_server"] == "utf8mb4" and parameters["require_secure_transport"] == "1"


def _per_bucket(recording: Recording, type_: str) -> dict[str, dict[str, Any]]:
    return {r.name: inputs(r) for r in of_type(recording, type_)}


def test_each_instance_bucket_is_private_encrypted_and_versioned(stack) -> None:
    environment, recording = stack
    buckets = of_type(recording, "aws:s3/bucket:Bucket")
    assert len(buckets) == len(of_type(recording, "openedx:index:Instance"))
    blocks = _per_bucket(recording, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    encryption = _per_bucket(recording, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                        "BucketServerSideEncryptionConfiguration")
    ownership = _per_bucket(recording, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    versioning = _per_bucket(recording, "aws:s3/bucketVersioning:BucketVersioning")
    for bucket in buckets:
        block = blocks[bucket.name]
        assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                      "restrictPublicBuckets"))
        assert encryption[bucket.name]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert ownership[bucket.name]["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        assert versioning[bucket.name]["versioningConfiguration"]["status"] == "Enabled"
        assert bucket.retain_on_delete is (environment == "production")
        assert not bucket.protect  # removing an instance must not fail the update
        # Elsewhere the removal deletes it, versioned and full as it is (S3 refuses to delete a non-empty bucket).
        assert inputs(bucket).get("forceDestroy", False) is (environment != "production")


def test_irsa_role_is_scoped_to_the_instance_service_account_and_bucket(stack) -> None:
    _, recording = stack
    for instance in of_type(recording, "openedx:index:Instance"):
        role = named(recording, "aws:iam/role:Role", f"{instance.name}-pods")
        trust = json.loads(inputs(role)["assumeRolePolicy"])["Statement"][0]
        (subject,) = [v for k, v in trust["Condition"]["StringEquals"].items() if k.endswith(":sub")]
        assert subject == f"system:serviceaccount:openedx-{instance.name}:openedx"
        policy = named(recording, "aws:iam/rolePolicy:RolePolicy", f"{instance.name}-media-access")
        bucket = named(recording, "aws:s3/bucket:Bucket", f"{instance.name}-media").outputs["bucket"]
        resources = {s["Resource"] for s in json.loads(inputs(policy)["policy"])["Statement"]}
        assert resources == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
        foundation = inputs(named(recording, "kubernetes:helm.sh/v3:Release", f"{instance.name}-foundation"))
        assert foundation["values"]["serviceAccount"]["annotations"] == {
            "eks.amazonaws.com/role-arn": role.outputs["arn"]}


def test_settings_point_at_rds_and_s3_without_static_credentials(stack) -> None:
    _, recording = stack
    address = one(recording, "aws:rds/instance:Instance").outputs["address"]
    for instance in of_type(recording, "openedx:index:Instance"):
        settings = inputs(named(recording, "kubernetes:core/v1:Secret", f"{instance.name}-settings"))["stringData"]
        assert address in settings["lms.env.yml"]
        assert f"openedx_{instance.name}" in settings["lms.env.yml"]
        production = settings["lms-settings-production.py"]
        assert 'STORAGES["default"]["BACKEND"] = "storages.backends.s3boto3.S3Boto3Storage"' in production
        assert "AWS_ACCESS_KEY_ID = None" in production and "AWS_DEFAULT_ACL = None" in production
        assert 'AWS_SECRET_ACCESS_KEY: ""' in settings["lms.env.yml"]
        # RDS requires TLS; the instance verifies the server against the region's RDS CAs.
        assert '{"ssl_mode": "VERIFY_CA", "ssl": {"ca": "/openedx/ca/mysql-ca.pem"}}' in production
        assert settings["mysql-ca.pem"] == rds_ca_bundle("eu-west-1")


def test_the_shared_admin_credential_stays_in_the_system_namespace(stack) -> None:
    assert_admin_credential_confined(stack[1])


def test_each_instance_database_is_provisioned_before_its_application(stack) -> None:
    environment, recording = stack
    endpoint = one(recording, "aws:rds/instance:Instance").outputs["address"]
    for instance in of_type(recording, "openedx:index:Instance"):
        release, values = provisioning(recording, instance.name)
        assert values["mysql"] | {"maxConnections": 0, "extraDatabases": []} == {
            "enabled": True, "host": endpoint, "port": 3306, "adminSecret": "mysql-admin", "caKey": "ca.pem",
            "sslMode": "VERIFY_CA", "instanceDatabase": f"openedx_{instance.name}",
            "instanceUser": f"openedx_{instance.name}", "passwordSecret": f"{instance.name}-mysql-user",
            "passwordRevision": 0, "maxConnections": 0, "extraDatabases": []}
        assert values["mysql"]["maxConnections"] > 0
        # The plugins' databases, the instance's too (its name in front).
        assert all(name.startswith(f"openedx_{instance.name}_") for name in values["mysql"]["extraDatabases"])
        # Outside production, removing the instance drops its database; in production it stays.
        assert values["removeOnUninstall"] is (environment != "production")
        app = named(recording, "kubernetes:helm.sh/v3:Release", f"{instance.name}-openedx")
        assert release.urn in app.depends_on
        services = next(inputs(r) for r in of_type(recording, "kubernetes:helm.sh/v3:Release")
                        if r.name == f"{instance.name}-services")["values"]
        assert services["mysql"]["enabled"] is False and services["media"]["enabled"] is False


def test_each_instance_gets_its_own_encrypted_cache_when_elasticache_is_chosen(stack) -> None:
    environment, recording = stack
    groups = {r.name: r for r in of_type(recording, "aws:elasticache/replicationGroup:ReplicationGroup")}
    instances = of_type(recording, "openedx:index:Instance")
    if environment != "production":  # the dev stack keeps the default: Redis in each instance's namespace
        assert not groups
        return
    assert sorted(groups) == sorted(f"{i.name}-redis" for i in instances)
    rule = next(r for r in of_type(recording, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                if inputs(r)["fromPort"] == 6379)
    for instance in instances:
        group = groups[f"{instance.name}-redis"]
        spec = inputs(group)
        assert group.parent == instance.urn
        assert spec["atRestEncryptionEnabled"] is True and spec["transitEncryptionEnabled"] is True
        assert spec["transitEncryptionMode"] == "required" and len(spec["authToken"]) == 64
        assert spec["automaticFailoverEnabled"] is True and spec["numCacheClusters"] == 2
        assert spec["securityGroupIds"] == [inputs(rule)["securityGroupId"]]
        assert len(spec["replicationGroupId"]) <= 40 and "--" not in spec["replicationGroupId"]
        settings = inputs(named(recording, "kubernetes:core/v1:Secret", f"{instance.name}-settings"))["stringData"]
        production = settings["lms-settings-production.py"]
        assert f'"{spec["authToken"]}"' in production and "rediss://" in production
        assert f'@{group.outputs["primaryEndpointAddress"]}:6379".format(' in production
        services = next(inputs(r) for r in of_type(recording, "kubernetes:helm.sh/v3:Release")
                        if r.name == f"{instance.name}-services")["values"]
        assert services["redis"]["enabled"] is False


@pytest.fixture(scope="module")
def documentdb() -> Recording:
    """The production stack with DocumentDB chosen as every instance's MongoDB."""
    import yaml

    from offline.evaluation import cli_config, evaluate

    raw = yaml.safe_load(STACKS["production"].read_text())["config"]
    raw["openedx:aws"] = {**raw["openedx:aws"], "mongodb": {"service": "documentdb"}}
    config, secret_keys = cli_config(raw)
    recording = evaluate(config, "aws-production", secret_keys)
    assert not recording.duplicate_urns
    return recording


def test_documentdb_is_private_encrypted_tls_only_and_protected(documentdb: Recording) -> None:
    cluster = one(documentdb, "aws:docdb/cluster:Cluster")
    spec = inputs(cluster)
    assert spec["storageEncrypted"] is True and spec["deletionProtection"] is True and cluster.protect
    assert spec["backupRetentionPeriod"] == 35 and spec["skipFinalSnapshot"] is False
    parameters = {p["name"]: p["value"] for p in inputs(one(documentdb, DOCDB_PARAMETERS))["parameters"]}
    assert parameters["tls"] == "enabled"
    members = of_type(documentdb, "aws:docdb/clusterInstance:ClusterInstance")
    assert len(members) == 2 and all(inputs(m)["caCertIdentifier"] == "rds-ca-rsa2048-g1" for m in members)
    (group_id,) = spec["vpcSecurityGroupIds"]
    rule = next(r for r in of_type(documentdb, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                if inputs(r)["fromPort"] == 27017)
    assert inputs(rule)["referencedSecurityGroupId"].startswith("sg-") and "cidrIpv4" not in inputs(rule)
    assert group_id == inputs(rule)["securityGroupId"]


def test_each_instance_gets_its_own_documentdb_database_and_verifies_the_rds_ca(documentdb: Recording) -> None:
    endpoint = one(documentdb, "aws:docdb/cluster:Cluster").outputs["endpoint"]
    assert_admin_credential_confined(documentdb, "mongodb")
    admin = inputs(named(documentdb, "kubernetes:core/v1:Secret", "shared-mongodb-admin"))
    ca = admin["stringData"]["ca.pem"]
    assert ca.count("BEGIN CERTIFICATE") == 3  # the region's RSA2048, RSA4096 and ECC384 roots
    for instance in of_type(documentdb, "openedx:index:Instance"):
        _, values = provisioning(documentdb, instance.name)
        assert values["mongodb"]["host"] == endpoint and values["mongodb"]["caKey"] == "ca.pem"
        assert values["mongodb"]["instanceDatabase"] == f"openedx_{instance.name}"
        assert values["mongodb"]["adminSecret"] == "mongodb-admin"
        settings = inputs(named(documentdb, "kubernetes:core/v1:Secret", f"{instance.name}-settings"))["stringData"]
        assert settings["mongodb-ca.pem"] == ca
        production = settings["lms-settings-production.py"]
        assert f'"host": "{endpoint}"' in production and '"replicaSet": "rs0"' in production
        assert '"ssl": True' in production and '"retryWrites": False' in production
        services = next(inputs(r) for r in of_type(documentdb, "kubernetes:helm.sh/v3:Release")
                        if r.name == f"{instance.name}-services")["values"]
        assert services["mongodb"]["enabled"] is False


def test_documentdb_outside_the_vendored_regions_is_refused_naming_the_key(evaluate_stack) -> None:
    import yaml

    from components.program import InvalidStackConfig

    bundle = rds_ca_bundle("us-east-1")
    assert bundle is not None and bundle.count("BEGIN CERTIFICATE") == 3
    assert rds_ca_bundle("mars-north-1") is None  # RDS MySQL then encrypts without verifying; DocumentDB cannot
    raw = yaml.safe_load(STACKS["dev"].read_text())["config"]
    raw["aws:region"] = "mars-north-1"
    raw["openedx:aws"] = {**raw["openedx:aws"], "mongodb": {"service": "documentdb"}}
    with pytest.raises(InvalidStackConfig, match=r"openedx:aws\.mongodb\.service: documentdb needs the Amazon RDS CA"):
        evaluate_stack(config=raw)
