"""The Notifier over Apprise: one URL scheme per service (e-mail, webhooks, ntfy, Telegram, Matrix, ...)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import apprise

from printfarm.adapters.notify import ChannelFailed, redact
from printfarm.errors import InputError


class AppriseNotifier:
    """Sends each message with a fresh Apprise object for its one URL (nothing is kept between sends).

    Apprise's own log lines name ntfy topics and webhook URLs, which are secrets: they are kept out
    of the process's logs (Apprise still hands them back with each result, where they are redacted).
    """

    def __init__(self) -> None:
        apprise_log = logging.getLogger("apprise")
        apprise_log.propagate = False
        if not apprise_log.handlers:
            apprise_log.addHandler(logging.NullHandler())

    def describe(self, url: str) -> str:
        scheme = urlsplit(url).scheme.lower()
        if apprise.Apprise.instantiate(url) is None:
            shown = f"scheme {scheme!r}" if scheme.isalnum() and len(scheme) <= 20 else "no scheme"
            raise InputError(f"channel URL ({shown}): not an Apprise URL this server can send to "
                             "(e.g. mailto://user:password@smtp.example.org?to=ops@example.org, json://host/path)")
        return f"{scheme}://{urlsplit(url).hostname or ''}"

    def send(self, url: str, title: str, body: str, timeout_seconds: float) -> None:
        box = apprise.Apprise()
        try:
            if not box.add(url):
                raise ChannelFailed("the channel URL is not usable by Apprise any more")
            result = box.notify(body=body, title=title, timeout=timeout_seconds)
        except ChannelFailed:
            raise
        except Exception as err:  # a plugin bug must not take the sender with it
            raise ChannelFailed(f"Apprise raised {type(err).__name__}") from err
        if not result:
            reasons = "; ".join(dict.fromkeys(entry.message for entry in result.logs())) or result.status.name
            raise ChannelFailed(redact(reasons, url)[:400])
