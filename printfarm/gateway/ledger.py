"""What the gateway has answered and which plates it has sent: a small SQLite file that survives restarts.

A request id answered once is answered again with the same reply, never executed twice (MQTT
redelivers QoS 1 messages; the central side re-sends after a reconnect). A plate's file name is
written down *before* its upload starts, so a gateway killed mid-upload never starts it twice.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

#: Answered requests are forgotten after this long (their deadlines are long past).
KEEP_REPLIES_SECONDS = 7 * 24 * 3600


class RequestLedger:
    def __init__(self, path: Path | str) -> None:
        """path: the SQLite file (":memory:" for tests)."""
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS replies (id TEXT PRIMARY KEY, at REAL, reply TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS plates (printer TEXT, file_name TEXT, at REAL, "
                         "PRIMARY KEY (printer, file_name))")
        self._db.execute("DELETE FROM replies WHERE at < ?", (time.time() - KEEP_REPLIES_SECONDS,))
        self._running: set[str] = set()

    def claim(self, request_id: str) -> tuple[bool, dict[str, Any] | None]:
        """(True, None): execute it now. (False, reply): answered before, send that again.
        (False, None): it is being executed right now (a duplicate): its reply is on the way."""
        with self._lock:
            row = self._db.execute("SELECT reply FROM replies WHERE id = ?", (request_id,)).fetchone()
            if row is not None:
                return False, json.loads(row[0])
            if request_id in self._running:
                return False, None
            self._running.add(request_id)
            return True, None

    def answered(self, request_id: str, reply: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?, ?)", (request_id, time.time(), json.dumps(reply)))
            self._running.discard(request_id)

    def plate_sent_before(self, printer: str, file_name: str) -> bool:
        """Write down that file_name goes to printer; True if it had been written down already."""
        with self._lock:
            cursor = self._db.execute("INSERT OR IGNORE INTO plates VALUES (?, ?, ?)", (printer, file_name, time.time()))
            return cursor.rowcount == 0

    def forget_plate(self, printer: str, file_name: str) -> None:
        """The plate never reached the printer (its G-code could not be fetched): it may be sent again."""
        with self._lock:
            self._db.execute("DELETE FROM plates WHERE printer = ? AND file_name = ?", (printer, file_name))

    def close(self) -> None:
        with self._lock:
            self._db.close()
