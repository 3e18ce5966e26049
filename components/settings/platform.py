"""The cluster-wide add-ons of a stack (`openedx:platform`): ingress, TLS, metrics, monitoring, backups."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from components.settings.email import EmailSettings
from components.settings.instance import IndexedInstances
from components.settings.model import NAMESPACE, Email, Model, SectionCheck


class IngressSettings(Model):
    install: bool = True
    """Install Traefik; false: use the existing controller named by className/namespace."""
    class_name: str = Field(default="traefik", pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    namespace: str = Field(default="traefik", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    service_type: Literal["LoadBalancer", "NodePort"] | None = None
    """Unset: NodePort on `local` (a LoadBalancer never gets an address on kind), LoadBalancer elsewhere."""
    replicas: int | None = Field(default=None, ge=1, le=20)
    https_redirect: bool | None = None
    """Traefik answers plain HTTP (ACME challenges aside) with a permanent redirect to HTTPS. Unset: on when the
    platform issues certificates (tls.issuer other than none). Applies to the Traefik this program installs only."""


class Dns01Settings(Model):
    """An ACME DNS-01 solver for the cloud's DNS (wildcards, hosts not reachable from the internet)."""

    provider: Literal["route53", "clouddns", "azuredns"]
    config: dict[str, Any] = Field(default_factory=dict)
    """The cert-manager solver fields of that provider, e.g. {region, hostedZoneID} for route53."""


class TlsSettings(Model):
    issuer: Literal["letsencrypt", "letsencrypt-staging", "selfsigned", "none"] = "letsencrypt"
    """none: no cert-manager; instances use `existingSecret` certificates or plain HTTP."""
    email: Email | None = None
    dns01: Dns01Settings | None = None

    @property
    def acme(self) -> bool:
        return self.issuer.startswith("letsencrypt")

    @model_validator(mode="after")
    def _dns01_is_acme(self) -> TlsSettings:
        if self.dns01 is not None and not self.issuer.startswith("letsencrypt"):
            raise ValueError("dns01 applies only to the letsencrypt issuers")
        return self


class MonitoringSettings(Model):
    enabled: bool = False
    grafana: bool = False
    retention: str = Field(default="15d", pattern=r"^[0-9]+[hdwy]$")


class BackupSettings(Model):
    """Velero backups of cluster objects and volumes (managed databases keep their own backups)."""

    enabled: bool = False
    schedule: str = "0 3 * * *"
    ttl: str = Field(default="720h", pattern=r"^[0-9]+h$")
    provider: Literal["aws", "gcp", "azure"] | None = None
    bucket: str | None = None
    config: dict[str, str] = Field(default_factory=dict)
    """BackupStorageLocation config of the provider, e.g. {region: eu-west-1}."""

    @model_validator(mode="after")
    def _location_when_enabled(self) -> BackupSettings:
        if self.enabled and (self.provider is None or not self.bucket):
            raise ValueError("provider and bucket are required when backups are enabled")
        return self


class PlatformSettings(Model):
    ingress: IngressSettings = IngressSettings()
    tls: TlsSettings = TlsSettings()
    metrics_server: bool | None = None
    """Unset: installed, except on gcp and azure whose clusters ship one. Set false on k3s/k3d (bundled)."""
    monitoring: MonitoringSettings = MonitoringSettings()
    backups: BackupSettings = BackupSettings()
    email: EmailSettings | None = None
    """How every instance sends mail (an instance's own `email` overrides it). Unset: the in-cluster relay, on
    `dev` stacks and `local` ones only."""

    @property
    def redirects_to_https(self) -> bool:
        """Whether the installed Traefik redirects HTTP to HTTPS: `ingress.httpsRedirect`, or its default."""
        if not self.ingress.install:
            return False
        if self.ingress.https_redirect is not None:
            return self.ingress.https_redirect
        return self.tls.issuer != "none"


def _tls(platform: PlatformSettings) -> list[str]:
    if platform.tls.acme and platform.tls.email is None:
        return [
            f"{NAMESPACE}:platform.tls.email: required for the {platform.tls.issuer} issuer "
            "(the Let's Encrypt account contact); or set platform.tls.issuer to selfsigned or none"
        ]
    return []


def _https_redirect(platform: PlatformSettings) -> list[str]:
    if platform.ingress.https_redirect and not platform.ingress.install:
        return [f"{NAMESPACE}:platform.ingress.httpsRedirect: applies to the Traefik this program installs, and "
                "platform.ingress.install is false: configure the redirect on your own ingress controller"]
    return []


CHECKS: tuple[SectionCheck, ...] = ((frozenset({"tls"}), _tls), (frozenset({"ingress"}), _https_redirect))
"""What the platform's keys cannot be together."""


def https_redirect_problems(platform: PlatformSettings | None, instances: IndexedInstances) -> list[str]:
    """Instances served over plain HTTP on a platform that redirects HTTP to HTTPS. Refused rather than exempted:
    Traefik redirects a whole entry point, whichever host a request names, so such an instance would be reached
    over HTTPS with a certificate it does not have while building http:// links. `platform` is None when its
    ingress or tls keys are wrong (the default they would give way to is not what the stack says)."""
    if platform is None or not platform.redirects_to_https:
        return []
    why = ("explicitly" if platform.ingress.https_redirect
           else f"by default, as platform.tls.issuer is {platform.tls.issuer}")
    return [f"{NAMESPACE}:instances[{index}].https: false, but platform.ingress.httpsRedirect is on ({why}): "
            "every plain-HTTP request is redirected to HTTPS. Serve the instance over HTTPS, or set "
            f"{NAMESPACE}:platform.ingress.httpsRedirect to false"
            for index, instance in instances if not instance.https]
