"""`cloud: aws`: a VPC over three zones, EKS with the cluster autoscaler, RDS MySQL, optional DocumentDB, and one S3
bucket per instance.

Plain pulumi-aws resources (no remote components), so that unit tests see and assert every one of them.
Production defaults come from `openedx:environment`; every one can be overridden in `openedx:aws`. The adapter
reads as its steps: network, cluster, Kubernetes, node autoscaling, MySQL, MongoDB, caches; buckets are made per
instance.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.clouds import common
from components.clouds.aws import autoscaler
from components.clouds.aws.instances import TYPE, AwsCacheInputs, AwsInstanceInputs, AwsInstanceResources, exported
from components.clouds.aws.settings import AwsSettings
from components.clouds.aws.values import (
    EKS_LOG_TYPES,
    MYSQL_PARAMETERS,
    RDS_CA,
    RDS_CA_FILE,
    ZONES,
    assume_role_policy,
    autoscaler_discovery_tags,
    autoscaler_policy_document,
    autoscaler_values,
    database_instance_class,
    irsa_trust_policy,
    item,
    kubeconfig,
    oidc_issuer,
    rds_ca_bundle,
    subnet_cidrs,
)
from components.infrastructure import (
    MANAGED_SERVICE_PORTS,
    Egress,
    InCluster,
    Infrastructure,
    ManagedCache,
    ManagedEndpoint,
    ManagedMongodb,
)
from components.settings.model import ConfigError
from components.settings.stack import StackSettings


@dataclass(frozen=True)
class _Network:
    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet]
    private_subnets: list[aws.ec2.Subnet]


@dataclass(frozen=True)
class _Cluster:
    eks: aws.eks.Cluster
    node_group: aws.eks.NodeGroup
    ebs_driver: aws.eks.Addon
    node_security_group: pulumi.Output[str]


class AwsCloud(AwsInstanceResources):
    def __init__(self, name: str, stack: StackSettings, region: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, stack, opts)
        settings: AwsSettings = stack.aws
        self._region = region
        # Every AWS resource, the instances' buckets included, names this provider.
        self._provider = aws.Provider(f"{name}-provider", region=region, opts=common.provider_options(self))
        network = self._network(settings)
        cluster = self._cluster(settings, network)
        provider, access, storage_class, retain_storage_class = self._kubernetes(settings, cluster)
        self._cluster_autoscaler(settings, cluster, provider)
        mysql = self._mysql(settings, network, cluster)
        mongodb = self._documentdb(settings, network, cluster)
        cache = self._caches(settings, network, cluster)
        self._instances = AwsInstanceInputs(region=region, stack=pulumi.get_stack(), oidc_provider_arn=self._oidc.arn,
                                            oidc_provider_url=self._oidc.url, cache=cache)
        self.infrastructure = Infrastructure(
            provider=provider,
            kubeconfig=access,
            mysql=mysql,
            mongodb=mongodb,
            storage_class=storage_class,
            retain_storage_class=retain_storage_class,
            object_storage=self.bucket_for,
            redis=InCluster() if cache is None else ManagedCache(create=self.cache_for),
            mail=self.mail_for,
            egress=(Egress(settings.vpc_cidr, MANAGED_SERVICE_PORTS),),
            cluster_identifier=self._cluster_name,
            instance_inputs=exported(self._instances),
        )
        self.register_outputs({"clusterName": cluster.eks.name, "vpcId": network.vpc.id, "mysqlAddress": mysql.host})

    def _network(self, settings: AwsSettings) -> _Network:
        """Three zones: public subnets for load balancers, private ones for nodes and databases, NAT gateways."""
        name, tags, child = self._name_prefix, self._labels, self._opts()
        zones = aws.get_availability_zones_output(state="available",
                                                  opts=pulumi.InvokeOutputOptions(provider=self._provider))
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=settings.vpc_cidr, enable_dns_hostnames=True,
                          enable_dns_support=True, tags={**tags, "Name": f"{name}-vpc"}, opts=child)
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=child)
        public_cidrs, private_cidrs = subnet_cidrs(settings.vpc_cidr)
        cluster_tag = {f"kubernetes.io/cluster/{self._cluster_name}": "shared"}
        public_routes = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags=tags, routes=[
            aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)], opts=child)
        public_subnets, private_subnets = [], []
        for index in range(ZONES):
            zone = zones.names.apply(functools.partial(item, index))
            public = aws.ec2.Subnet(
                f"{name}-public-{index}", vpc_id=vpc.id, cidr_block=public_cidrs[index], availability_zone=zone,
                map_public_ip_on_launch=False, tags={**tags, **cluster_tag, "kubernetes.io/role/elb": "1"},
                opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{index}", subnet_id=public.id,
                                          route_table_id=public_routes.id, opts=child)
            private = aws.ec2.Subnet(
                f"{name}-private-{index}", vpc_id=vpc.id, cidr_block=private_cidrs[index], availability_zone=zone,
                tags={**tags, **cluster_tag, "kubernetes.io/role/internal-elb": "1"}, opts=child)
            public_subnets.append(public)
            private_subnets.append(private)
        nat_count = settings.nat_gateways or (ZONES if self._defaults.high_availability else 1)
        nats = []
        for index in range(nat_count):
            address = aws.ec2.Eip(f"{name}-nat-{index}", domain="vpc", tags=tags, opts=child)
            nats.append(aws.ec2.NatGateway(f"{name}-nat-{index}", allocation_id=address.id,
                                           subnet_id=public_subnets[index].id, tags=tags,
                                           opts=self._opts(depends_on=[gateway])))
        for index, private in enumerate(private_subnets):
            routes = aws.ec2.RouteTable(f"{name}-private-{index}", vpc_id=vpc.id, tags=tags, routes=[
                aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nats[index % nat_count].id)],
                opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{index}", subnet_id=private.id,
                                          route_table_id=routes.id, opts=child)
        return _Network(vpc, public_subnets, private_subnets)

    def _cluster(self, settings: AwsSettings, network: _Network) -> _Cluster:
        """EKS: API authentication with access entries, KMS envelope encryption, control-plane logs, a managed
        node group, the network policy agent, the EBS driver with its own role."""
        name, tags, child = self._name_prefix, self._labels, self._opts()
        secrets_key = aws.kms.Key(f"{name}-eks-secrets", description=f"{self._cluster_name} Kubernetes secrets",
                                  enable_key_rotation=True, deletion_window_in_days=30, tags=tags,
                                  opts=self._stateful())
        cluster_role = aws.iam.Role(f"{name}-cluster", assume_role_policy=assume_role_policy("eks.amazonaws.com"),
                                    tags=tags, opts=child)
        aws.iam.RolePolicyAttachment(f"{name}-cluster-policy", role=cluster_role.name,
                                     policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy", opts=child)
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=self._cluster_name,
            version=settings.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=[s.id for s in network.private_subnets + network.public_subnets],
                endpoint_private_access=True,
                endpoint_public_access=bool(settings.public_access_cidrs),
                public_access_cidrs=settings.public_access_cidrs or None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
                resources=["secrets"]),
            enabled_cluster_log_types=EKS_LOG_TYPES,
            deletion_protection=self._defaults.deletion_protection,
            tags=tags,
            opts=self._stateful(),
        )
        for index, role_arn in enumerate(settings.admin_role_arns):
            entry = aws.eks.AccessEntry(f"{name}-admin-{index}", cluster_name=cluster.name, principal_arn=role_arn,
                                        type="STANDARD", opts=child)
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{index}", cluster_name=cluster.name, principal_arn=role_arn,
                policy_arn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=self._opts(depends_on=[entry]))
        self._oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=cluster.identities.apply(oidc_issuer),
            client_id_lists=["sts.amazonaws.com"], tags=tags, opts=child)
        node_group = self._node_group(settings, cluster, network)
        # Network policy enforcement: without the agent, NetworkPolicies do nothing on EKS.
        aws.eks.Addon(f"{name}-vpc-cni", cluster_name=cluster.name, addon_name="vpc-cni",
                      configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
                      resolve_conflicts_on_update="OVERWRITE", opts=child)
        ebs_role = aws.iam.Role(
            f"{name}-ebs-csi",
            assume_role_policy=pulumi.Output.all(self._oidc.arn, self._oidc.url).apply(
                lambda a: irsa_trust_policy(a[0], a[1], "kube-system", "ebs-csi-controller-sa")),
            tags=tags, opts=child)
        aws.iam.RolePolicyAttachment(f"{name}-ebs-csi", role=ebs_role.name,
                                     policy_arn="arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
                                     opts=child)
        ebs = aws.eks.Addon(f"{name}-ebs-csi", cluster_name=cluster.name, addon_name="aws-ebs-csi-driver",
                            service_account_role_arn=ebs_role.arn, resolve_conflicts_on_update="OVERWRITE",
                            opts=self._opts(depends_on=[node_group]))
        for addon in ("coredns", "kube-proxy"):
            aws.eks.Addon(f"{name}-{addon}", cluster_name=cluster.name, addon_name=addon,
                          resolve_conflicts_on_update="OVERWRITE",
                          opts=self._opts(depends_on=[node_group]))
        return _Cluster(cluster, node_group, ebs, cluster.vpc_config.cluster_security_group_id)

    def _node_group(self, settings: AwsSettings, cluster: aws.eks.Cluster, network: _Network) -> aws.eks.NodeGroup:
        name, tags, child = self._name_prefix, self._labels, self._opts()
        node_role = aws.iam.Role(f"{name}-nodes", assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
                                 tags=tags, opts=child)
        node_policies = []
        for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly", "AmazonEKS_CNI_Policy"):
            node_policies.append(aws.iam.RolePolicyAttachment(
                f"{name}-nodes-{policy}", role=node_role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                opts=child))
        nodes = settings.node_group
        return aws.eks.NodeGroup(
            f"{name}-nodes", cluster_name=cluster.name, node_role_arn=node_role.arn,
            subnet_ids=[s.id for s in network.private_subnets], instance_types=list(nodes.instance_types),
            ami_type="AL2023_x86_64_STANDARD", disk_size=nodes.disk_size,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=nodes.min_size, max_size=nodes.max_size, desired_size=nodes.min_size),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            tags={**tags, **autoscaler_discovery_tags(self._cluster_name)},
            # The desired size is the cluster autoscaler's: minSize only when the group is created.
            opts=self._opts(depends_on=node_policies, ignore_changes=["scalingConfig.desiredSize"]))

    def _kubernetes(self, settings: AwsSettings, cluster: _Cluster
                    ) -> tuple[k8s.Provider, pulumi.Output[str], str, str]:
        """The cluster's Kubernetes provider and kubeconfig (through `aws eks get-token`), and its encrypted gp3
        StorageClasses."""
        access: pulumi.Output[str] = pulumi.Output.all(
            cluster.eks.name, cluster.eks.endpoint, cluster.eks.certificate_authority.data
        ).apply(lambda a: kubeconfig(a[0], a[1], a[2], self._region, settings.deploy_role_arn))
        provider = common.cluster_provider(self._name_prefix, access, self._cluster_name, self,
                                           depends_on=[cluster.node_group])
        storage_class, retain_storage_class = common.storage_classes(
            self._name_prefix, "ebs.csi.aws.com", {"type": "gp3", "encrypted": "true"}, provider, self,
            depends_on=[cluster.ebs_driver])
        return provider, access, storage_class, retain_storage_class

    def _cluster_autoscaler(self, settings: AwsSettings, cluster: _Cluster,
                            provider: k8s.Provider) -> k8s.helm.v3.Release:
        """The cluster autoscaler (see `autoscaler.py` for why not Karpenter): it sizes the node group between its
        minSize and maxSize, through an IAM role only its ServiceAccount may assume (IRSA) that may resize only this
        cluster's Auto Scaling groups."""
        name, child = self._name_prefix, self._opts()
        role = aws.iam.Role(
            f"{name}-cluster-autoscaler",
            assume_role_policy=pulumi.Output.all(self._oidc.arn, self._oidc.url).apply(
                lambda a: irsa_trust_policy(a[0], a[1], autoscaler.NAMESPACE, autoscaler.SERVICE_ACCOUNT)),
            tags=self._labels, opts=child)
        cluster_name = self._cluster_name
        policy = aws.iam.RolePolicy(
            f"{name}-cluster-autoscaler", role=role.id,
            policy=cluster.node_group.arn.apply(lambda arn: autoscaler_policy_document(cluster_name, arn)),
            opts=child)
        return k8s.helm.v3.Release(
            f"{name}-cluster-autoscaler",
            name=autoscaler.CHART,
            chart=autoscaler.CHART,
            version=autoscaler.CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=autoscaler.CHART_REPOSITORY),
            namespace=autoscaler.NAMESPACE,
            values=role.arn.apply(functools.partial(autoscaler_values, cluster_name, self._region,
                                                    settings.kubernetes_version)),
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
            timeout=600,
            # Started with its permissions in place: otherwise its first scale-ups fail until they arrive.
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[policy]))

    def _mysql(self, settings: AwsSettings, network: _Network, cluster: _Cluster) -> ManagedEndpoint:
        """One RDS server per stack, reachable only from the cluster's nodes, verified against the region's CAs."""
        name, tags, child = self._name_prefix, self._labels, self._opts()
        mysql = settings.mysql
        self._db_subnets = aws.rds.SubnetGroup(f"{name}-mysql", subnet_ids=[s.id for s in network.private_subnets],
                                               tags=tags, opts=child)
        mysql_sg = self._security_group("mysql", network.vpc.id, 3306, cluster.node_security_group)
        parameters = aws.rds.ParameterGroup(
            f"{name}-mysql", family="mysql8.4",
            parameters=[aws.rds.ParameterGroupParameterArgs(name=k, value=v) for k, v in MYSQL_PARAMETERS.items()],
            tags=tags, opts=child)
        admin_password = common.admin_password(name, self)
        deletion_protection = common.pick(mysql.deletion_protection, self._defaults.deletion_protection)
        database = aws.rds.Instance(
            f"{name}-mysql",
            engine="mysql",
            engine_version=mysql.engine_version,
            engine_lifecycle_support="open-source-rds-extended-support-disabled",
            instance_class=mysql.instance_class or database_instance_class(self._production),
            allocated_storage=mysql.allocated_storage,
            max_allocated_storage=mysql.max_allocated_storage,
            storage_type="gp3",
            storage_encrypted=True,
            username=common.ADMIN_USERNAME,
            password=admin_password,
            db_subnet_group_name=self._db_subnets.name,
            vpc_security_group_ids=[mysql_sg.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            multi_az=common.pick(mysql.multi_az, self._defaults.high_availability),
            backup_retention_period=common.pick(mysql.backup_retention_days, self._defaults.backup_retention_days),
            deletion_protection=deletion_protection,
            skip_final_snapshot=not deletion_protection,
            final_snapshot_identifier=f"{self._cluster_name}-mysql-final" if deletion_protection else None,
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            apply_immediately=not self._production,
            ca_cert_identifier=RDS_CA,
            tags=tags,
            opts=self._stateful(),
        )
        return ManagedEndpoint(host=database.address, port=3306, tls=True,
                               admin_username=pulumi.Output.from_input(common.ADMIN_USERNAME),
                               admin_password=admin_password, ca_certificate=rds_ca_bundle(self._region))

    def _security_group(self, service: str, vpc_id: pulumi.Input[str], port: int,
                        source_group: pulumi.Input[str]) -> aws.ec2.SecurityGroup:
        group = aws.ec2.SecurityGroup(f"{self._name_prefix}-{service}", vpc_id=vpc_id,
                                      description=f"{service}: from the cluster's nodes only", tags=self._labels,
                                      opts=self._opts())
        aws.vpc.SecurityGroupIngressRule(f"{self._name_prefix}-{service}-from-nodes", security_group_id=group.id,
                                         ip_protocol="tcp", from_port=port, to_port=port,
                                         referenced_security_group_id=source_group,
                                         opts=self._opts())
        return group

    def _documentdb(self, settings: AwsSettings, network: _Network,
                    cluster: _Cluster) -> InCluster | ManagedMongodb:
        """In-cluster MongoDB, or one DocumentDB cluster for the stack: private, encrypted, TLS only, reachable
        from the cluster's nodes only; each instance gets a database and a user of its own (provisioning Job)."""
        mongo = settings.mongodb
        if mongo.service == "in-cluster":
            return InCluster()
        name, tags, defaults = self._name_prefix, self._labels, self._defaults
        ca_bundle = rds_ca_bundle(self._region)
        if ca_bundle is None:  # DocumentDB connections cannot be made without it (MySQL's can, unverified)
            raise ConfigError([f"openedx:aws.mongodb.service: documentdb needs the Amazon RDS CA of {self._region}, "
                               f"which {RDS_CA_FILE.name} lacks; use in-cluster"])
        deletion_protection = common.pick(mongo.deletion_protection, defaults.deletion_protection)
        subnets = aws.docdb.SubnetGroup(f"{name}-mongodb", subnet_ids=self._db_subnets.subnet_ids, tags=tags,
                                        opts=self._opts())
        security_group = self._security_group("mongodb", network.vpc.id, 27017, cluster.node_security_group)
        parameters = aws.docdb.ClusterParameterGroup(
            f"{name}-mongodb", family=f"docdb{mongo.engine_version.rsplit('.', 1)[0]}",
            description="Open edX: TLS required, audit log on",
            parameters=[aws.docdb.ClusterParameterGroupParameterArgs(name="tls", value="enabled"),
                        aws.docdb.ClusterParameterGroupParameterArgs(name="audit_logs", value="enabled")],
            tags=tags, opts=self._opts())
        admin_password = common.admin_password(name, self, service="mongodb")
        documentdb = aws.docdb.Cluster(
            f"{name}-mongodb",
            cluster_identifier=f"{self._cluster_name}-mongodb",
            engine="docdb",
            engine_version=mongo.engine_version,
            master_username=common.ADMIN_USERNAME,
            master_password=admin_password,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[security_group.id],
            db_cluster_parameter_group_name=parameters.name,
            storage_encrypted=True,
            backup_retention_period=common.pick(mongo.backup_retention_days, defaults.backup_retention_days),
            deletion_protection=deletion_protection,
            skip_final_snapshot=not deletion_protection,
            final_snapshot_identifier=f"{self._cluster_name}-mongodb-final" if deletion_protection else None,
            enabled_cloudwatch_logs_exports=["audit"],
            apply_immediately=not self._production,
            tags=tags,
            opts=self._stateful(),
        )
        for index in range(common.pick(mongo.instances, 2 if defaults.high_availability else 1)):
            aws.docdb.ClusterInstance(
                f"{name}-mongodb-{index}",
                cluster_identifier=documentdb.id,
                instance_class=mongo.instance_class or database_instance_class(self._production),
                ca_cert_identifier=RDS_CA,
                auto_minor_version_upgrade=True,
                apply_immediately=not self._production,
                tags=tags,
                opts=self._stateful(),
            )
        return ManagedMongodb(host=documentdb.endpoint, port=27017, tls=True,
                              admin_username=pulumi.Output.from_input(common.ADMIN_USERNAME),
                              admin_password=admin_password, ca_certificate=ca_bundle,
                              replica_set="rs0", retry_writes=False)

    def _caches(self, settings: AwsSettings, network: _Network, cluster: _Cluster) -> AwsCacheInputs | None:
        """In-cluster Redis (None), or what every instance's ElastiCache group shares: private subnets, a security
        group open to the cluster's nodes only."""
        if settings.redis.service == "in-cluster":
            return None
        subnets = aws.elasticache.SubnetGroup(
            f"{self._name_prefix}-redis", subnet_ids=[s.id for s in network.private_subnets],
            description="Open edX instance caches: private subnets", tags=self._labels, opts=self._opts())
        group = self._security_group("redis", network.vpc.id, 6379, cluster.node_security_group)
        return AwsCacheInputs(subnet_group=subnets.name, security_group=group.id, settings=settings.redis)
