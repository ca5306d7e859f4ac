"""The gateway pulls a plate's G-code from the central service over HTTP(S), with its plate credential."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import requests

from printfarm.errors import PrinterCommandFailed

#: The central service's endpoint for one plate (printfarm/jobs/api.py serves it).
PLATE_PATH = "/api/gateway/plates/{file_name}"
CREDENTIAL_HEADER = "X-Plate-Credential"


def fetch_plate(central_url: str, file_name: str, credential: str, sha256: str, *, timeout_seconds: float = 30.0,
                ca_file: str | None = None) -> bytes:
    """The plate's G-code, checked against sha256; PrinterCommandFailed saying why not (nothing is uploaded then)."""
    url = central_url.rstrip("/") + PLATE_PATH.format(file_name=quote(file_name, safe=""))
    try:
        response = requests.get(url, headers={CREDENTIAL_HEADER: credential}, timeout=timeout_seconds,
                                verify=ca_file or True, allow_redirects=False)
    except requests.RequestException as err:
        raise PrinterCommandFailed(f"plate {file_name}: the central service at {central_url} did not answer: {err}") from err
    if response.status_code != 200:
        raise PrinterCommandFailed(
            f"plate {file_name}: the central service refused it: HTTP {response.status_code} {response.text[:200]}"
        )
    data = response.content
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise PrinterCommandFailed(f"plate {file_name}: G-code sha256 {actual} is not the {sha256} asked for")
    return data
