"""The `gateway` printer kind: a PrinterClient whose every call is a request to the printer's site gateway."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from printfarm.adapters.gateway.credentials import PlateCredentials
from printfarm.adapters.gateway.link import GatewayRequester
from printfarm.errors import PrinterCommandFailed
from printfarm.printers.port import PrinterClient, PrinterClientFactory, PrinterSnapshot

GATEWAY_SCHEME = "gateway://"


def parse_gateway_url(base_url: str) -> tuple[str, str]:
    """(site slug, printer name) of gateway://<site-slug>/<printer name>; PrinterCommandFailed otherwise."""
    site, _, printer = base_url.removeprefix(GATEWAY_SCHEME).partition("/")
    if not base_url.startswith(GATEWAY_SCHEME) or not site or not printer:
        raise PrinterCommandFailed(f"printer {base_url}: not a gateway address ({GATEWAY_SCHEME}<site>/<printer>)")
    return site, printer


class GatewayPrinterClient(PrinterClient):
    """One printer behind its site's gateway; the contract is PrinterClient's.

    Each call waits at most timeout_seconds (start_print: upload_timeout_seconds, since the gateway
    pulls and uploads the G-code first); no reply is PrinterUnreachable.
    """

    def __init__(
        self, requester: GatewayRequester, base_url: str, credentials: PlateCredentials, *,
        timeout_seconds: float, upload_timeout_seconds: float, credential_ttl_seconds: float = 300.0,
    ) -> None:
        self.base_url = base_url
        self.site, self.printer = parse_gateway_url(base_url)
        self._requester = requester
        self._credentials = credentials
        self._timeout_seconds = timeout_seconds
        self._upload_timeout_seconds = upload_timeout_seconds
        self._credential_ttl_seconds = credential_ttl_seconds

    def __repr__(self) -> str:
        return f"GatewayPrinterClient({self.base_url!r})"

    def _ask(self, op: str, args: dict[str, Any] | None = None, timeout_seconds: float | None = None) -> Any:
        return self._requester.request(self.site, self.printer, op, args, timeout_seconds or self._timeout_seconds)

    def check(self) -> str:
        return str(self._ask("check"))

    def ensure_connected(self) -> None:
        self._ask("ensure-connected", timeout_seconds=max(self._timeout_seconds, 30.0))

    def status(self) -> PrinterSnapshot:
        data = self._ask("status")
        try:
            return PrinterSnapshot(**data)
        except TypeError as err:
            raise PrinterCommandFailed(f"printer {self.base_url}: the gateway's status is not a snapshot: {err}") from err

    def start_print(self, filename: str, gcode: bytes) -> None:
        sha256 = hashlib.sha256(gcode).hexdigest()
        expires = int(time.time() + self._credential_ttl_seconds)
        args = {"file_name": filename, "sha256": sha256, "size": len(gcode),
                "credential": self._credentials.issue(filename, sha256, expires)}
        self._ask("upload-and-start", args, self._upload_timeout_seconds)

    def cancel(self) -> None:
        self._ask("cancel")

    def pause(self) -> None:
        self._ask("pause")

    def resume(self) -> None:
        self._ask("resume")


def make_gateway_client_factory(
    requester: GatewayRequester, credentials: PlateCredentials, *,
    timeout_seconds: float = 5.0, upload_timeout_seconds: float = 60.0,
) -> PrinterClientFactory:
    """Clients of printers behind gateways; api_key is ignored (a gateway printer's key stays at its site)."""

    def factory(base_url: str, api_key: str) -> PrinterClient:
        return GatewayPrinterClient(
            requester, base_url, credentials, timeout_seconds=timeout_seconds,
            upload_timeout_seconds=upload_timeout_seconds,
        )

    return factory
