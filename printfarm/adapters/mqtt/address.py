"""A broker URL taken apart: mqtt:// or mqtts://, host, port, and the user and password it may carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

SCHEMES = ("mqtt://", "mqtts://", "tcp://")
_DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class BrokerAddress:
    """Where a broker listens and how to log in; ``password`` never appears in ``repr`` or ``public_url``."""

    host: str
    port: int
    is_tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> BrokerAddress:
        """mqtt://[user[:password]@]host[:port] (1883), mqtts://... (TLS, 8883); %-escapes in user and password.

        Raises ValueError naming what is wrong (never repeating the password).
        """
        if not url.startswith(SCHEMES):
            raise ValueError("must start with mqtt://, mqtts:// or tcp://")
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError as err:
            raise ValueError(f"port of {parts.hostname or '?'}: {err}") from err
        if not parts.hostname:
            raise ValueError("names no host")
        return cls(
            host=parts.hostname,
            port=port or _DEFAULT_PORTS[parts.scheme],
            is_tls=parts.scheme == "mqtts",
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    @property
    def public_url(self) -> str:
        """The URL without user and password: safe to log or hand to another party."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.is_tls else 'mqtt'}://{host}:{self.port}"

    def url_with(self, username: str, password: str) -> str:
        """The URL carrying this user and password (escaped), e.g. for PRINTFARM_MQTT_URL."""
        scheme, rest = self.public_url.split("://", 1)
        return f"{scheme}://{quote(username, safe='')}:{quote(password, safe='')}@{rest}"
