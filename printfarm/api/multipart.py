"""Refuse a multipart body that ends before its closing boundary (an interrupted upload).

Starlette's form parser accepts such a body and drops the temporary file of the part it was
writing without closing it; raising from receive() instead makes the parser close every file it
opened, and the request is answered 400 with nothing stored.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_EPILOGUE_SLACK_BYTES = 64


def _boundary(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-type" and value.lower().startswith(b"multipart/"):
            for parameter in value.split(b";")[1:]:
                key, _, found = parameter.strip().partition(b"=")
                if key.lower() == b"boundary" and found:
                    return found.strip(b'"')
    return None


class CompleteMultipartOnly:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        boundary = _boundary(scope) if scope["type"] == "http" else None
        if boundary is None:
            await self.app(scope, receive, send)
            return
        closing = b"--" + boundary + b"--"
        keep = len(closing) + _EPILOGUE_SLACK_BYTES
        tail = b""

        async def checked_receive() -> Message:
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                tail = (tail + message.get("body", b""))[-keep:]
                if not message.get("more_body", False) and closing not in tail:
                    raise HTTPException(400, "the multipart body ends before its closing boundary (interrupted upload?)")
            return message

        await self.app(scope, checked_receive, send)
