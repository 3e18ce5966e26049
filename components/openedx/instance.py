"""`openedx:index:Instance`: one Open edX instance, from its namespace to its application Release.

Order on the cluster: namespace → generated secrets → namespace foundation Release (ServiceAccount,
NetworkPolicies, quota) → in-cluster data services Release → settings Secret → application Release (whose
pre-install hooks run the migrations against services that already run, with the identity and network rules
they need).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.charts import APP_CHART, NAMESPACE_CHART, SERVICES_CHART
from components.infrastructure import Infrastructure
from components.openedx import backups, endpoints, quota, secrets, values
from components.openedx.connections import mysql_connections
from components.openedx.tutor import RenderedSettings, render_settings
from components.platform import Routing
from components.provisioning import DatabaseUser, SharedServers, database_name
from components.releases import chart_release
from components.settings import plugins as tutor_plugins
from components.settings.instance import InstanceSettings
from components.settings.sizes import plan
from components.settings.stack import StackSettings

SERVICES_RELEASE_TIMEOUT = 900


@dataclass(frozen=True)
class InstanceArgs:
    settings: InstanceSettings
    stack: StackSettings
    infrastructure: Infrastructure
    routing: Routing
    shared_servers: SharedServers | None = None
    """The stack's shared MySQL server, where the instance's database is provisioned (None: its own server)."""
    after: tuple[pulumi.Resource, ...] = ()
    """Releases of the previous rollout wave: this instance's application waits for them."""


class Instance(pulumi.ComponentResource):
    instance_name: str
    namespace: pulumi.Output[str]
    lms_url: pulumi.Output[str]
    studio_url: pulumi.Output[str]
    application: k8s.helm.v3.Release

    def __init__(self, name: str, args: InstanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("openedx:index:Instance", name, None, opts)
        instance, stack = args.settings, args.stack
        self.instance_name = instance.name
        keep_data = stack.production
        child = pulumi.ResourceOptions(parent=self, provider=args.infrastructure.provider)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=values.namespace_name(instance),
                labels=values.namespace_labels(instance),
            ),
            # Deleting a namespace deletes its volumes: in production an instance's data outlives its removal.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=keep_data)),
        )
        ns = namespace.metadata.name
        generated = secrets.generate(name, self, instance.rotations, instance.supported_plugins, instance.tutor_secrets)
        infrastructure = args.infrastructure
        email = instance.email or stack.platform.email
        in_cluster = endpoints.in_cluster_services(infrastructure, email)
        storage = None if infrastructure.object_storage is None else infrastructure.object_storage(
            name, values.namespace_name(instance), values.SERVICE_ACCOUNT, list(instance.public_hosts.values()), self)
        media_volume = storage is None
        backing_up = instance.backups.active(stack.environment)
        cache = endpoints.managed_cache(infrastructure, name, self)
        planned = plan(instance, stack.environment)
        backups_volume = media_volume and backing_up
        bounds = quota.bounds(planned, in_cluster, media_size=values.MEDIA_SIZE if media_volume else None,
                              backups_size=instance.backups.volume_size if backups_volume else None)

        foundation = chart_release(
            f"{name}-foundation", NAMESPACE_CHART, values.release_name(NAMESPACE_CHART), ns,
            pulumi.Output.from_input(storage.service_account_annotations if storage else {}).apply(
                lambda annotations: values.namespace_values(
                    instance, args.routing, annotations, infrastructure.egress, email, bounds)),
            child, depends_on=[namespace, *args.routing.priority_classes],
        )
        data_services: list[pulumi.Resource] = [foundation]
        if args.shared_servers is not None:
            user = DatabaseUser(
                passwords={"mysql": generated.mysql_password, "mongodb": generated.mongodb_password},
                revisions={"mysql": instance.rotations.mysql, "mongodb": instance.rotations.mongodb},
                max_connections=mysql_connections(instance, planned),
                extra_databases=tutor_plugins.plugin_databases(instance.supported_plugins,
                                                               database_name(instance.name)))
            data_services.append(args.shared_servers.provision(name, user, keep_data, self))
        if in_cluster:
            credentials = k8s.core.v1.Secret(
                f"{name}-services-credentials",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=values.SERVICES_CREDENTIALS, namespace=ns, labels=values.instance_labels(instance)
                ),
                string_data=endpoints.services_credentials(generated, in_cluster),
                # In production the credentials stay with the data they open. Created after the foundation
                # Release, which refuses a namespace where a removed instance left them: never overwritten.
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(retain_on_delete=keep_data, depends_on=[foundation])
                ),
            )
            services = chart_release(
                f"{name}-services", SERVICES_CHART, values.release_name(SERVICES_CHART), ns,
                values.services_values(instance, stack.environment, in_cluster,
                                       infrastructure.storage_class_for(keep_data), media_volume,
                                       backups_volume=backups_volume),
                child, depends_on=[foundation, credentials], timeout=SERVICES_RELEASE_TIMEOUT,
            )
            data_services += [services, *_grown_volumes(name, instance, in_cluster, ns, services, child)]

        mail = endpoints.mail_credentials(infrastructure, email, name, self)
        tutor = endpoints.tutor_instance(instance, infrastructure, generated, storage, cache, email, mail)
        rendered = tutor.apply(render_settings)
        settings_secret = k8s.core.v1.Secret(
            f"{name}-settings",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=pulumi.Output.unsecret(rendered.apply(lambda r: values.settings_secret_name(r.content_hash))),
                namespace=ns,
                labels={**values.instance_labels(instance), values.SETTINGS_LABEL: "true"},
            ),
            string_data=rendered.apply(RenderedSettings.secret_data),
            immutable=True,
            # A new name per content: keep the previous Secret so a Helm rollback finds the settings it names.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True)),
        )
        app_secrets: list[pulumi.Resource] = []
        self.admin_password: pulumi.Output[str] | None = None
        if instance.admin is not None:
            # Read by the first-install Job that creates the admin; the password is a secret output of the stack.
            app_secrets.append(k8s.core.v1.Secret(
                f"{name}-admin",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=values.ADMIN_SECRET, namespace=ns, labels=values.instance_labels(instance)),
                string_data={values.ADMIN_PASSWORD_KEY: generated.admin_password},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[foundation])),
            ))
            self.admin_password = generated.admin_password
        if backing_up:
            # The instance's own database credentials, for its backup Jobs (envFrom): never a server's admin.
            app_secrets.append(k8s.core.v1.Secret(
                f"{name}-backup",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=backups.SECRET, namespace=ns, labels=values.instance_labels(instance)),
                string_data=tutor.apply(backups.secret_data),  # secret: the endpoints hold passwords
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[foundation])),
            ))
        app_values = pulumi.Output.all(
            secret_name=settings_secret.metadata.name,
            tasks=pulumi.Output.unsecret(rendered.apply(values.init_task_refs)),
            storage=pulumi.Output.unsecret(tutor.apply(lambda t: backups.storage_values(t.object_storage))),
        ).apply(lambda v: values.app_values(instance, stack, args.routing, v["secret_name"], v["tasks"],
                                         media_volume, backups.chart_values(instance, stack.environment, v["storage"])))
        self.application = chart_release(
            f"{name}-openedx", APP_CHART, values.release_name(APP_CHART), ns, app_values, child,
            depends_on=[*data_services, settings_secret, *app_secrets, *args.routing.depends_on, *args.after],
            timeout=instance.release_timeout_seconds,
        )

        self.namespace = ns
        self.lms_url = pulumi.Output.from_input(values.url(instance, instance.lms_host))
        self.studio_url = pulumi.Output.from_input(values.url(instance, instance.studio_host))
        self.register_outputs({"namespace": self.namespace, "lmsUrl": self.lms_url, "studioUrl": self.studio_url})


def _grown_volumes(name: str, instance: InstanceSettings, services: frozenset[str], namespace: pulumi.Input[str],
                   release: pulumi.Resource, child: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """The size of each in-cluster data volume the instance sizes itself (`volumes.<service>`), set on its claim: a
    StatefulSet's volumeClaimTemplates never change, so a larger size reaches the claim here (after the services
    Release, whose chart has refused a smaller size or a StorageClass that cannot expand; the API server's dry run
    refuses a smaller one at the preview). Forced over the StatefulSet controller's ownership of the field; kept on
    delete (the claim is the data, and an emptied field would be refused)."""
    return [
        k8s.core.v1.PersistentVolumeClaimPatch(
            f"{name}-volume-{service}",
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                name=f"data-{service}-0", namespace=namespace, annotations={"pulumi.com/patchForce": "true"}),
            spec=k8s.core.v1.PersistentVolumeClaimSpecPatchArgs(
                resources=k8s.core.v1.VolumeResourceRequirementsPatchArgs(requests={"storage": size})),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[release],
                                                                            retain_on_delete=True)),
        )
        for service, size in values.grown_volumes(instance).items() if service in services
    ]
