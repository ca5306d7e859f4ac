"""A plate's G-code for the gateway that starts it: served only against that plate's credential."""

from __future__ import annotations

from printfarm.adapters.gateway.credentials import CredentialRefused, PlateCredentials
from printfarm.adapters.storage import FileStore
from printfarm.clock import Clock
from printfarm.errors import Forbidden


def plate_for_gateway(
    store: FileStore, credentials: PlateCredentials | None, clock: Clock, file_name: str, credential: str | None,
) -> bytes:
    """The G-code of plate file_name; Forbidden saying why (no, expired, another plate's or altered credential).

    The credential names the G-code's sha256, so what is served is exactly what dispatch sent.
    """
    if credentials is None:
        raise Forbidden(f"plate {file_name}: this service issues no plate credentials")
    if not credential:
        raise Forbidden(f"plate {file_name}: no plate credential (header X-Plate-Credential)")
    try:
        sha256 = credentials.verify(credential, file_name, clock.now().timestamp())
    except CredentialRefused as err:
        raise Forbidden(f"plate {file_name}: {err}") from err
    return store.get(sha256)
