"""Engines and the unit of work: one session per request, tick or batch of messages."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from printfarm.errors import DatabaseUnreachable
from printfarm.events import Event, EventBus, raised_events

#: Called with a unit of work's session and its events just before it commits (in its transaction).
BeforeCommit = Callable[[Session, list[Event]], None]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for url; SQLite files get WAL, foreign keys and a busy timeout.

    Raises DatabaseUnreachable (the URL shown with its password hidden) for a URL that does not
    parse, an unknown kind of database, a driver that is not installed, or a SQLite directory that
    cannot be created. Nothing connects yet: check_connection does.
    """
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError as err:
        raise DatabaseUnreachable(
            f"{_without_password(url)}: not a database URL (e.g. postgresql+psycopg://user@host/db or sqlite:///path)"
        ) from err
    try:
        return _create_engine(url, **kwargs)
    except NoSuchModuleError as err:
        raise DatabaseUnreachable(f"{shown}: unknown kind of database {url.split(':', 1)[0]!r}") from err
    except ImportError as err:  # the dialect is known but its driver is not installed
        raise DatabaseUnreachable(f"{shown}: its driver is not installed ({err})") from err
    except OSError as err:
        raise DatabaseUnreachable(f"{shown}: cannot create directory {err.filename}: {err.strerror}") from err


def _without_password(url: str) -> str:
    """url with whatever stands between user: and @ hidden, for URLs that make_url cannot parse."""
    credentials, at, host = url.rpartition("@")
    prefix, slash, user_password = credentials.rpartition("/")
    user, colon, _ = user_password.partition(":")
    return f"{prefix}{slash}{user}{colon}***{at}{host}" if at and colon else url


def check_connection(engine: Engine) -> None:
    """Connect once now, so that a database that cannot be reached fails at start, not at first use.

    Raises DatabaseUnreachable with the driver's reason (no server, refused login, unopenable file).
    """
    try:
        with engine.connect():
            pass
    except DBAPIError as err:
        reason = " ".join(str(err.orig).split())  # libpq's message spans lines
        shown = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnreachable(f"{shown}: cannot connect: {reason}") from err


def _create_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def lock_for_writing(session: Session) -> None:
    """On SQLite, take the database's write lock now (BEGIN IMMEDIATE); call it first in the unit of work.

    pysqlite reads outside any transaction and begins one only at the first write, so a read-then-
    write could overwrite what another process (the MQTT ingest worker) committed in between. Under
    the lock, the unit of work's reads see everything it will write over; other writers wait (the
    busy timeout). On PostgreSQL nothing: row locks (FOR UPDATE) do this there.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))


AFTER_COMMIT = "after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run callback once the unit of work has committed (e.g. wake the dispatcher)."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


class Database:
    """Owns the engine and hands out units of work; their events go to ``bus`` once they commit."""

    def __init__(self, engine: Engine, bus: EventBus | None = None) -> None:
        self.engine = engine
        self.bus = bus if bus is not None else EventBus()
        self._sessions = sessionmaker(engine, expire_on_commit=False, autoflush=True)
        self._before_commit: list[BeforeCommit] = []

    def before_commit(self, hook: BeforeCommit) -> None:
        """Call hook(session, events) in every unit of work that raised events, just before it commits.

        What the hook writes commits or rolls back with the unit of work (the printer timeline).
        """
        self._before_commit.append(hook)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back if it raises.

        After the commit, the after_commit callbacks run, then the session's events are published.
        """
        session = self._sessions()
        try:
            yield session
            if self._before_commit and (raised := raised_events(session)):
                for hook in self._before_commit:
                    hook(session, raised)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        for callback in session.info.get(AFTER_COMMIT, ()):
            callback()
        events = raised_events(session)
        if events:
            self.bus.publish(events)

    def dispose(self) -> None:
        self.engine.dispose()
