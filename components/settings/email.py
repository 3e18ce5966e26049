"""Outgoing e-mail (`openedx:platform.email`, and `email` of an instance to override it): the SMTP relay the
instances send through, or Amazon SES credentials the program creates on `aws`.

Cloud providers block or throttle port 25, so a relay on 587 (STARTTLS) or 465 (TLS from the first byte) with
credentials is what makes activation and password-reset mail arrive. The password is a Pulumi secret
(`pulumi config set --path --secret openedx:platform.email.password ...`); it goes into the settings Secret only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from components.settings.model import CREDENTIAL, Email, HostName, Model

Tls = Literal["starttls", "ssl", "none"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
"""The port each way of securing the connection is served on, unless `port` says otherwise."""


def _renderable(credential: str) -> None:
    """A login Tutor can paste into the settings it renders (the value itself is never repeated)."""
    if not CREDENTIAL.fullmatch(credential):
        raise ValueError("must be without quotes, backslashes, braces, '$', '`' or whitespace")


class SesSettings(Model):
    """SMTP credentials created by the program for Amazon SES (an IAM user that may only send, from this domain)."""

    domain: HostName
    """A domain (identity) verified in SES, in the stack's region."""


class EmailSettings(Model):
    ses: SesSettings | None = None
    host: HostName | None = Field(default=None, validate_default=True)
    tls: Tls = "starttls"
    port: int | None = Field(default=None, ge=1, le=65535, validate_default=True)
    username: str | None = Field(default=None, min_length=1, max_length=256)
    password: SecretStr | None = Field(default=None, validate_default=True)
    sender: Email | None = Field(default=None, alias="from")
    """The From address of the platform's mail (unset: the instance's contact e-mail; with ses, no-reply@domain)."""

    @field_validator("host")
    @classmethod
    def _host_or_ses(cls, host: str | None, info: ValidationInfo) -> str | None:
        ses = info.data.get("ses")
        if ses is not None and host is not None:
            raise ValueError("set by ses (the SES endpoint of the stack's region): leave it unset")
        if ses is None and host is None and "ses" in info.data:
            raise ValueError("required: the SMTP relay's host (e.g. smtp.sendgrid.net), or ses on aws")
        return host

    @field_validator("port")
    @classmethod
    def _port_matches_tls(cls, port: int | None, info: ValidationInfo) -> int | None:
        tls = info.data.get("tls")
        if port == 587 and tls == "ssl":
            raise ValueError("587 is the STARTTLS port: use tls starttls, or port 465 for ssl")
        if port == 465 and tls == "starttls":
            raise ValueError("465 is the port of TLS from the first byte: use tls ssl, or port 587 for starttls")
        return port

    @field_validator("username")
    @classmethod
    def _no_username_with_ses(cls, username: str | None, info: ValidationInfo) -> str | None:
        if username is not None and info.data.get("ses") is not None:
            raise ValueError("set by ses (the IAM user's access key): leave it unset")
        if username is not None:
            _renderable(username)
        return username

    @field_validator("password")
    @classmethod
    def _password_with_username(cls, password: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        username = info.data.get("username")
        if password is None and username is not None:
            raise ValueError("required with a username: set it with pulumi config set --path --secret <this key> ...")
        if password is not None and "username" in info.data and username is None:
            raise ValueError("set a username too (or neither, for a relay that takes no login)")
        if password is not None:
            _renderable(password.get_secret_value())
        return password

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.tls]

    def from_address(self, contact: str) -> str:
        if self.sender is not None:
            return self.sender
        return f"no-reply@{self.ses.domain}" if self.ses is not None else contact

