"""Encryption at rest for printer API keys (Fernet: AES-128-CBC with HMAC-SHA256)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from printfarm.errors import ConfigError


class SecretBox:
    """Encrypts and decrypts small secrets with one key from the settings."""

    def __init__(self, key: str | bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as err:
            raise ConfigError("secret_key: not a valid Fernet key (32 url-safe base64 bytes)") from err

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken as err:
            raise ConfigError("secret_key: cannot decrypt a stored secret (was the key changed?)") from err


def load_or_create_key(configured: str | None, data_dir: Path) -> str:
    """The configured key, or one kept in data_dir/secret.key (created with mode 0600 the first time)."""
    if configured:
        return configured
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
