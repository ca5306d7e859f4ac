"""Short-lived, single-plate credentials: what lets a gateway pull one plate's G-code, and nothing else.

A credential is ``<expires>.<sha256>.<hmac>``: HMAC-SHA256 over the plate's file name, its G-code's
sha256 and the expiry (unix seconds), under a key derived from the service's secret key. The file
name travels in the URL, so a credential for one plate opens no other.
"""

from __future__ import annotations

import hashlib
import hmac


class CredentialRefused(ValueError):
    """A plate credential that is malformed, tampered with, for another plate, or expired (the message says which)."""


class PlateCredentials:
    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        self._key = hashlib.sha256(b"printfarm plate credential\x00" + raw).digest()

    def _sign(self, file_name: str, sha256: str, expires: int) -> str:
        message = f"{file_name}\n{sha256}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(self, file_name: str, sha256: str, expires: int) -> str:
        """A credential for file_name with G-code sha256, valid until expires (unix seconds)."""
        return f"{expires}.{sha256}.{self._sign(file_name, sha256, expires)}"

    def verify(self, credential: str, file_name: str, now: float) -> str:
        """The plate's sha256 if credential opens file_name at time now; else CredentialRefused saying why."""
        parts = credential.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or len(parts[1]) != 64:
            raise CredentialRefused("the plate credential is malformed")
        expires, sha256, signature = int(parts[0]), parts[1], parts[2]
        if not hmac.compare_digest(signature, self._sign(file_name, sha256, expires)):
            raise CredentialRefused(f"the plate credential is not valid for {file_name!r} (another plate, or altered)")
        if now > expires:
            raise CredentialRefused(f"the plate credential for {file_name!r} expired {now - expires:.0f} s ago")
        return sha256
