"""The OctoPrint adapter: octorest 0.4 over a timed requests session, raw REST where octorest is broken.

Errors are translated here and nowhere else: a connection error or timeout becomes
PrinterUnreachable, 401/403 PrinterAuthRejected, any other refusal PrinterCommandFailed. Messages
name the printer's URL and the HTTP status, never the API key.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import octorest
import requests

from printfarm.errors import PrinterAuthRejected, PrinterCommandFailed, PrinterError, PrinterUnreachable
from printfarm.printers.port import PrinterClient, PrinterClientFactory, PrinterSnapshot

logger = logging.getLogger(__name__)

T = TypeVar("T")

# OctoPrint's state strings while a connection attempt is under way: wait, do not connect again.
_CONNECTING_PREFIXES = ("Opening serial", "Detecting", "Connecting")
_BODY_CHARS_IN_MESSAGE = 200


class RedirectRefused(requests.RequestException):
    """A printer answered with a redirect to another host; printfarm does not follow it."""


class _TimedSession(requests.Session):
    """A session that puts a timeout on every request and raises HTTPError on any 4xx/5xx.

    octorest calls session.get/post without a timeout, and its own status check raises a bare
    RuntimeError that hides the status code; raising first keeps the response for translation.
    """

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__()
        self.timeout_seconds = timeout_seconds

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout_seconds)
        response = super().request(method, url, *args, **kwargs)
        if response.status_code >= 400:
            raise requests.HTTPError(f"{response.status_code} {response.reason}", response=response)
        return response

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        # requests drops an Authorization header on a cross-host redirect, but not X-Api-Key: a
        # redirect elsewhere would hand the printer's key to whoever it points at.
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        here, there = urlsplit(resp.url), urlsplit(urljoin(resp.url, target))
        if there.scheme not in ("http", "https") or there.hostname != here.hostname:
            raise RedirectRefused(
                f"redirect ({resp.status_code}) to another host refused: {there.scheme}://{there.hostname}"
            )
        return target


class OctorestPrinterClient(PrinterClient):
    """One OctoPrint instance reached over its REST API; see PrinterClient for the contract.

    Construction does no I/O (octorest would GET /api/version when handed the key, so the key is
    set on the session instead). Each request waits at most timeout_seconds; ensure_connected
    waits at most connect_timeout_seconds for the board to become operational.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_seconds: float = 5.0,
        connect_timeout_seconds: float = 20.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        self._api_key = api_key
        self._session = _TimedSession(timeout_seconds)
        self._session.headers["X-Api-Key"] = api_key
        # Pooled sockets are closed when the client goes away, even if nobody calls close().
        self._finalizer = weakref.finalize(self, self._session.close)
        try:
            self._rest = octorest.OctoRest(url=self.base_url, session=self._session)
        except TypeError as err:
            raise PrinterCommandFailed(f"printer {self.base_url}: not an HTTP(S) URL ({err})") from err

    def __repr__(self) -> str:
        return f"OctorestPrinterClient({self.base_url!r})"

    def close(self) -> None:
        """Close pooled connections; the client must not be used afterwards."""
        self._finalizer()

    def __enter__(self) -> OctorestPrinterClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the port -------------------------------------------------------------------------

    def check(self) -> str:
        version = self._call("GET /api/version", self._rest.get_version)
        return str(version.get("server", ""))

    def status(self) -> PrinterSnapshot:
        printer = self._call("GET /api/printer", self._printer_or_none)
        if printer is None:
            # 409 "Printer is not operational": no board connection, so only /api/connection knows why.
            connection = self._call("GET /api/connection", self._rest.connection_info)
            state_text = str((connection.get("current") or {}).get("state") or "Offline")
            return PrinterSnapshot(state_text, False, False, False, None, None)
        job = self._call("GET /api/job", self._rest.job_info)
        state = printer.get("state") or {}
        flags = state.get("flags") or {}
        file_info = (job.get("job") or {}).get("file") or {}
        completion = (job.get("progress") or {}).get("completion")
        temperature = printer.get("temperature") or {}
        return PrinterSnapshot(
            state_text=str(state.get("text") or job.get("state") or "Unknown"),
            is_operational=bool(flags.get("operational")),
            is_printing=bool(flags.get("printing") or flags.get("pausing") or flags.get("cancelling")),
            is_paused=bool(flags.get("paused")),
            file_name=file_info.get("name"),
            progress_percent=float(completion) if completion is not None else None,
            tool_temp_c=_actual(temperature, "tool0"),
            bed_temp_c=_actual(temperature, "bed"),
        )

    def ensure_connected(self) -> None:
        status = self.status()
        if status.is_operational:
            return
        port = "(already connecting)"
        if not status.state_text.startswith(_CONNECTING_PREFIXES):
            connection = self._call("GET /api/connection", self._rest.connection_info)
            ports = (connection.get("options") or {}).get("ports") or []
            port = "VIRTUAL" if "VIRTUAL" in ports else "AUTO"
            logger.info("printer %s: connecting to its board on port %s", self.base_url, port)
            self._call("POST /api/connection connect", lambda: self._rest.connect(port=port))
        deadline = time.monotonic() + self.connect_timeout_seconds
        state = status.state_text
        while time.monotonic() < deadline:
            time.sleep(0.2)
            status = self.status()
            state = status.state_text
            if status.is_operational:
                return
            if state.startswith(("Error", "Offline after error")):
                break
        raise PrinterCommandFailed(
            f"printer {self.base_url}: not operational after connecting on port {port} "
            f"(state {state!r}, waited up to {self.connect_timeout_seconds} s)"
        )

    def start_print(self, filename: str, gcode: bytes) -> None:
        # octorest's upload() drops select/print (it sends them as JSON next to the multipart
        # body), so the form fields go out here, through the same timed session.
        url = f"{self.base_url}/api/files/local"
        files = {"file": (filename, gcode, "application/octet-stream")}
        data = {"select": "true", "print": "true"}
        response = self._call("POST /api/files/local", lambda: self._session.post(url, files=files, data=data))
        body = self._call("POST /api/files/local (reading the answer)", response.json)
        # OctoPrint answers 201 even when it could not start the print (e.g. not operational);
        # only effectivePrint says whether the print began.
        if body.get("effectivePrint") is False:
            raise PrinterCommandFailed(
                f"printer {self.base_url}: uploaded {filename!r} but OctoPrint did not start it "
                "(effectivePrint false: not operational or busy)"
            )
        logger.info("printer %s: started %s (%d bytes)", self.base_url, filename, len(gcode))

    def cancel(self) -> None:
        self._call("POST /api/job cancel", self._rest.cancel)

    def pause(self) -> None:
        self._call("POST /api/job pause", self._rest.pause)

    def resume(self) -> None:
        self._call("POST /api/job resume", self._rest.resume)

    def _printer_or_none(self) -> dict[str, Any] | None:
        try:
            return dict(self._rest.printer())
        except requests.HTTPError as err:
            if err.response is not None and err.response.status_code == 409:
                return None
            raise

    # -- translation ----------------------------------------------------------------------

    def _call(self, action: str, func: Callable[[], T]) -> T:
        with self._translated(action):
            return func()

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        where = f"printer {self.base_url}: {action}"
        try:
            yield
        except requests.HTTPError as err:
            response = err.response
            code = response.status_code if response is not None else 0
            reason = response.reason if response is not None else "no response"
            detail = self._scrub(" ".join(response.text[:_BODY_CHARS_IN_MESSAGE].split())) if response is not None else ""
            message = f"{where} → HTTP {code} {reason}" + (f": {detail}" if detail else "")
            if code in (401, 403):
                raise PrinterAuthRejected(message + " (the API key was refused)") from err
            raise PrinterCommandFailed(message) from err
        except (requests.ConnectionError, requests.Timeout) as err:
            kind = "timed out" if isinstance(err, requests.Timeout) else "connection failed"
            raise PrinterUnreachable(
                f"{where} → {kind} (timeout {self.timeout_seconds} s): {self._scrub(_root_cause(err))}"
            ) from err
        except PrinterError:
            raise
        except (requests.RequestException, RuntimeError, ValueError, KeyError, AttributeError) as err:
            # RuntimeError: octorest's own status check; ValueError: a body that is not JSON.
            raise PrinterCommandFailed(f"{where} → {type(err).__name__}: {self._scrub(str(err))}") from err

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text


def make_octorest_client_factory(timeout_seconds: float = 5.0) -> PrinterClientFactory:
    """A PrinterClientFactory whose clients wait at most timeout_seconds per request."""

    def factory(base_url: str, api_key: str) -> PrinterClient:
        return OctorestPrinterClient(base_url, api_key, timeout_seconds=timeout_seconds)

    return factory


def _actual(temperature: dict[str, Any], heater: str) -> float | None:
    value = (temperature.get(heater) or {}).get("actual")
    return float(value) if value is not None else None


def _root_cause(err: BaseException) -> str:
    """The innermost reason (e.g. 'Connection refused'), without urllib3's long wrapper text."""
    cause: BaseException = err
    for _ in range(10):
        inner = cause.__cause__ or cause.__context__
        if inner is None:
            break
        cause = inner
    return str(cause) or type(cause).__name__
