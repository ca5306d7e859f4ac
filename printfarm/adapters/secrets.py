"""Encryption at rest for printer API keys (Fernet: AES-128-CBC with HMAC-SHA256), with key rotation.

A key setting or key file holds one or more Fernet keys, newest first, separated by commas or
newlines. The newest encrypts; every key decrypts (MultiFernet), so a rotation re-encrypts stored
secrets under the newest key while the older ones still open what is not yet re-encrypted.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from printfarm.errors import ConfigError

KEY_FILE = "secret.key"
_SEPARATORS = re.compile(r"[\s,]+")


def split_keys(keys: str | bytes) -> list[str]:
    text = keys.decode() if isinstance(keys, bytes) else keys
    return [k for k in _SEPARATORS.split(text) if k]


def new_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    """Encrypts small secrets with the newest key; decrypts with any of the keys."""

    def __init__(self, keys: str | bytes) -> None:
        self.keys = split_keys(keys)
        if not self.keys:
            raise ConfigError("secret_key: no key given")
        fernets = []
        for position, key in enumerate(self.keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError) as err:
                raise ConfigError(
                    f"secret_key: key {position} of {len(self.keys)} is not a valid Fernet key "
                    "(32 url-safe base64 bytes)"
                ) from err
        self._fernet = MultiFernet(fernets)

    def __repr__(self) -> str:
        return f"SecretBox({len(self.keys)} key(s))"  # never the keys

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken as err:
            raise ConfigError("secret_key: cannot decrypt a stored secret (was the key changed?)") from err

    def rotate(self, token: bytes) -> bytes:
        """The same secret encrypted under the newest key; ConfigError if no key opens it."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken as err:
            raise ConfigError("secret_key: cannot decrypt a stored secret to re-encrypt it (no key opens it)") from err


def load_or_create_key(configured: str | None, data_dir: Path) -> str:
    """The configured key(s), or those kept in data_dir/secret.key (created with mode 0600 the first time)."""
    if configured:
        return configured
    path = data_dir / KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = new_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def write_key_file(data_dir: Path, keys: list[str]) -> Path:
    """Replace data_dir/secret.key with these keys (newest first) atomically, mode 0600."""
    for key in keys:
        SecretBox(key)  # refuse to write a key that could not be read back
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".secret-key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(keys) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
