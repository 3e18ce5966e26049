"""Which generation of each generated credential an instance uses (`openedx:instances[N].rotations`).

Raising one by one rotates that credential alone, and the next `pulumi up` carries it everywhere it is held; 0
(unset) is the one the instance was installed with, so a stack without this key keeps its values.
"""

from __future__ import annotations

from pydantic import Field

from components.settings.model import Model

_GENERATION = Field(default=0, ge=0, le=1000)


class Rotations(Model):
    mysql: int = _GENERATION
    """The password of the instance's MySQL user: set on the shared server by the provisioning Job, on its own
    server by the server pod's credentials sync (a restart), then in the settings."""
    mongodb: int = _GENERATION
    """The password of the instance's MongoDB user, reached the same way as `mysql`."""
    secret_key: int = _GENERATION
    """Django's SECRET_KEY: it signs sessions and password-reset links, so every user is logged out."""
    jwt: int = _GENERATION
    """The RSA key that signs the instance's JWTs: tokens signed with the previous key are no longer accepted."""
    oauth2: int = _GENERATION
    """The client secret of Studio's single sign-on application in the LMS: the init tasks update the application."""
    meilisearch: int = _GENERATION
    """Meilisearch's master key, and with it the API key derived from it: the search server restarts with it."""
