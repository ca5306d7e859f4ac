"""The printfarm error tree; every expected failure is one of these.

    PrintfarmError                      base of everything printfarm raises on purpose
    ├── ConfigError                     a setting is missing or invalid (start-up stops)
    │   └── DatabaseUnreachable         the configured database cannot be opened or connected to
    ├── InputError                      the caller's input is wrong                      → 422
    │   ├── StlRejected                 an uploaded STL failed validation
    │   └── GcodeRejected               an uploaded print file is not usable G-code
    ├── NotFound                        an id names nothing                               → 404
    ├── AuthError                       no valid token                                    → 401
    │   └── TooManyBadTokens            this address sent too many bad tokens lately       → 429
    ├── Forbidden                       the token's role or site may not do this           → 403
    ├── Conflict                        the request clashes with current state            → 409
    │   ├── InvalidTransition           a state machine refused a move
    │   ├── MovedMeanwhile              a print job changed state since it was read
    │   ├── AlreadyExists               a unique name is taken
    │   └── Incompatible                a print file does not suit a printer or profile
    ├── PrinterError                    talking to a printer failed                       → 502 at the API
    │   ├── PrinterUnreachable          no answer, a timeout, a refused connection        → 422 on register
    │   ├── PrinterAuthRejected         the printer refused the API key                   → 422 on register
    │   └── PrinterCommandFailed        the printer answered, but refused the command
    ├── SlicerError                     the slicer is missing, failed or timed out
    ├── BrokerError                     the MQTT broker cannot be reached or started
    └── IngestWorkerFailed              the MQTT ingest worker process could not start

Messages name the object and the value: "printer 7: bed 220 mm < part 240 mm".
"""

from __future__ import annotations


class PrintfarmError(Exception):
    """Base of every error printfarm raises on purpose."""


class ConfigError(PrintfarmError):
    """A setting is missing or invalid."""


class DatabaseUnreachable(ConfigError):
    """The configured database URL names nothing usable: a bad URL, a missing driver, no server, no directory."""


class InputError(PrintfarmError):
    """The caller's input is wrong."""


class StlRejected(InputError):
    """An uploaded STL failed validation."""


class GcodeRejected(InputError):
    """An uploaded print file is not usable G-code."""


class NotFound(PrintfarmError):
    """An id names nothing."""


class AuthError(PrintfarmError):
    """The request carries no valid token."""


class TooManyBadTokens(AuthError):
    """This client address sent too many bad tokens lately; a good token is still accepted."""

    def __init__(self, message: str, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class Forbidden(PrintfarmError):
    """The token's role or site may not do this."""


class Conflict(PrintfarmError):
    """The request clashes with the current state."""


class InvalidTransition(Conflict):
    """A state machine refused a move."""


class MovedMeanwhile(Conflict):
    """A print job changed state between reading it and moving it (another replica or process)."""


class AlreadyExists(Conflict):
    """A unique name is taken."""


class Incompatible(Conflict):
    """A print file does not suit a printer or its profile."""


class PrinterError(PrintfarmError):
    """Talking to a printer failed."""


class PrinterUnreachable(PrinterError):
    """The printer did not answer: refused connection, DNS failure or timeout."""


class PrinterAuthRejected(PrinterError):
    """The printer refused the API key."""


class PrinterCommandFailed(PrinterError):
    """The printer answered but refused or failed the command."""


class SlicerError(PrintfarmError):
    """The slicer is missing, failed or timed out."""


class BrokerError(PrintfarmError):
    """The MQTT broker cannot be reached or started."""


class IngestWorkerFailed(PrintfarmError):
    """The MQTT ingest worker process could not start (start-up stops)."""
