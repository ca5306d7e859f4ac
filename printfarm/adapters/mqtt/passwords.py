"""Mosquitto 2 password files: `user:$7$<iterations>$<salt>$<hash>` lines (PBKDF2-SHA512), as mosquitto_passwd writes.

Mosquitto reads the file at start and on SIGHUP; a user's line is replaced (or appended) by writing a
new file beside it and renaming it over the old one, so a broker reloading meanwhile never reads half
a file. The file keeps its mode and owner; a new one is made readable by its owner only.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from printfarm.errors import ConfigError

#: mosquitto_passwd's own default. The passwords printfarm issues are 256-bit random strings, which no
#: number of iterations makes easier or harder to guess; more would only cost the broker CPU at every
#: connect of every gateway.
ITERATIONS = 101
_SALT_BYTES = 12  # as mosquitto_passwd
_HASH_BYTES = 64  # SHA-512's digest
_PBKDF2_SHA512 = "7"


def hashed_line(username: str, password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """One password file line (no newline) for this user and password, with a fresh random salt."""
    _check_username(username)
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, _HASH_BYTES)
    return (f"{username}:${_PBKDF2_SHA512}${iterations}$"
            f"{base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}")


def matches(line: str, username: str, password: str) -> bool:
    """Whether a password file line is this user's with this password (as Mosquitto would check it)."""
    name, _, hashed = line.strip().partition(":")
    parts = hashed.split("$")
    if name != username or len(parts) != 5 or parts[1] != _PBKDF2_SHA512:
        return False
    try:
        salt, expected = base64.b64decode(parts[3], validate=True), base64.b64decode(parts[4], validate=True)
        digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]), len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(digest, expected)


def set_password(path: Path, username: str, password: str) -> bool:
    """Replace the user's line in the password file (or add it; the file is made if missing).

    Returns whether the user was already there. Raises ConfigError naming the file when it cannot be
    read or written (a missing directory, no permission).
    """
    line = hashed_line(username, password)
    try:
        old = path.read_text().splitlines() if path.exists() else []
    except OSError as err:
        raise ConfigError(f"password file {path}: cannot read it: {err.strerror}") from err
    kept = [existing for existing in old if existing.partition(":")[0] != username]
    replace_file(path, "\n".join([*kept, line]) + "\n", keep_mode=True)
    return len(kept) != len(old)


def users(path: Path) -> list[str]:
    """The usernames in a password file, in order."""
    return [line.partition(":")[0] for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def replace_file(path: Path, text: str, *, keep_mode: bool = False) -> None:
    """Write text to path through a file beside it renamed over it, readable by its owner only.

    With keep_mode an existing file keeps its mode and (run as root) its owner, so the broker's own
    user still reads it. Raises ConfigError naming the file when it cannot be written.
    """
    what = "password file" if keep_mode else "file"
    try:
        previous = path.stat() if keep_mode and path.exists() else None
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as err:
        raise ConfigError(f"{what} {path}: cannot write beside it: {err.strerror}") from err
    try:
        with os.fdopen(handle, "w") as out:  # mkstemp made it 0600
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if previous is not None:
            os.chmod(temporary, previous.st_mode & 0o777)
            if os.geteuid() == 0:  # keep it readable by the broker's own user (mosquitto)
                os.chown(temporary, previous.st_uid, previous.st_gid)
        os.replace(temporary, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ConfigError(f"{what} {path}: cannot write it: {err.strerror}") from err


def _check_username(username: str) -> None:
    # A ':' would end the name early; '+', '#' and '/' make Mosquitto refuse the ACL pattern %u.
    if not username or any(c in username for c in ":+#/\n"):
        raise ConfigError(f"broker username {username!r}: may not be empty or contain : + # / or a newline")
