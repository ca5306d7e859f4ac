"""A content-addressed file store: files are named by their SHA-256, never by what a user sent."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from printfarm.errors import NotFound


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise NotFound(f"file {sha256!r}: not a SHA-256 digest")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store data once; return its SHA-256. A crash mid-write leaves no partial file."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        path = self._path(sha256)
        if not path.exists():
            raise NotFound(f"file {sha256}: not in the store")
        return path.read_bytes()
