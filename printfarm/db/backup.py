"""Backups: the database (SQLite's online backup API, or pg_dump/pg_restore) plus the file store.

A backup is a directory:

    manifest.json        engine, schema revision, row count of every table, when
    database.sqlite3     SQLite: a consistent copy taken with the online backup API
    database.pgdump      PostgreSQL: pg_dump's custom format
    files/               the content-addressed file store (STLs, G-code)

The key that encrypts printer API keys is deliberately not in it: a backup holding both the key and
what it encrypts would undo the encryption at rest. Restore needs the same key to use the printers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from printfarm.db.base import Base
from printfarm.errors import ConfigError, InputError

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
FILES_DIR = "files"
_TOOL_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    engine: str
    counts: dict[str, int]
    files: int


def table_counts(engine: sa.Engine) -> dict[str, int]:
    """Rows in every table printfarm knows (and alembic_version), by table name."""
    names = sorted([t.name for t in Base.metadata.sorted_tables] + ["alembic_version"])
    existing = set(sa.inspect(engine).get_table_names())
    with engine.connect() as connection:
        return {
            name: int(connection.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one())
            for name in names
            if name in existing
        }


def backup(engine: sa.Engine, files_dir: Path, target: Path) -> BackupSummary:
    """Write a backup directory at target (which must not exist or be empty); the database stays online."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"backup target {target} exists and is not an empty directory")
    target.mkdir(parents=True, exist_ok=True)
    dialect = engine.dialect.name
    if dialect == "sqlite":
        _sqlite_backup(_sqlite_path(engine.url), target / SQLITE_FILE)
        counts = table_counts(_sqlite_engine(target / SQLITE_FILE))
    elif dialect == "postgresql":
        counts = table_counts(engine)  # pg_dump's snapshot follows; counts are checked again on restore
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target / PG_FILE)],
             engine.url)
    else:
        raise ConfigError(f"backup: database engine {dialect!r} is not supported (SQLite or PostgreSQL)")
    copied = _copy_files(files_dir, target / FILES_DIR)
    manifest = {"engine": dialect, "counts": counts, "files": copied,
                "taken_at": dt.datetime.now(dt.UTC).isoformat(), "format": 1}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return BackupSummary(target, dialect, counts, copied)


def restore(engine: sa.Engine, files_dir: Path, source: Path, *, force: bool = False) -> BackupSummary:
    """Replace the database (and add the stored files) with a backup; InputError if it is unusable.

    Refuses a database that already holds rows unless force. After restoring, every table's row
    count is compared with the manifest; a difference raises InputError.
    """
    manifest = _read_manifest(source)
    dialect = engine.dialect.name
    if manifest["engine"] != dialect:
        raise InputError(f"backup {source} is of a {manifest['engine']} database; this one is {dialect}")
    present = {name: n for name, n in table_counts(engine).items() if n and name != "alembic_version"}
    if present and not force:
        raise InputError(
            f"the target database is not empty ({', '.join(f'{k} {v}' for k, v in sorted(present.items())[:5])}); "
            "restore replaces everything in it: pass --force"
        )
    if dialect == "sqlite":
        _sqlite_backup(source / SQLITE_FILE, _sqlite_path(engine.url))
    else:
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
              "--exit-on-error", str(source / PG_FILE)], engine.url, database_option=True)
    engine.dispose()  # pooled connections may hold the old file or catalog
    copied = _copy_files(source / FILES_DIR, files_dir)
    counts = table_counts(engine)
    if counts != manifest["counts"]:
        differing = {k: (manifest["counts"].get(k), counts.get(k)) for k in set(counts) | set(manifest["counts"])
                     if counts.get(k) != manifest["counts"].get(k)}
        raise InputError(f"restored counts differ from the backup's (backup, restored): {differing}")
    return BackupSummary(source, dialect, counts, copied)


def _read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"{source} is not a printfarm backup (no readable {MANIFEST}: {err})") from err
    if not isinstance(manifest, dict) or manifest.get("format") != 1 or manifest.get("engine") not in (
        "sqlite", "postgresql"
    ) or not isinstance(manifest.get("counts"), dict):
        raise InputError(f"{source / MANIFEST}: not a printfarm backup manifest of format 1")
    data = source / (SQLITE_FILE if manifest["engine"] == "sqlite" else PG_FILE)
    if not data.is_file():
        raise InputError(f"backup {source} lacks its database file {data.name}")
    return manifest


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise ConfigError("backup: an in-memory SQLite database has nothing to back up or restore into")
    return Path(url.database)


def _sqlite_engine(path: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)


def _sqlite_backup(source: Path, target: Path) -> None:
    """Copy source into target page by page with SQLite's online backup API (writers may go on)."""
    if not source.is_file():
        raise InputError(f"{source}: no such SQLite database")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
            src.backup(dst, pages=1024)
            dst.execute("PRAGMA integrity_check")
    except sqlite3.DatabaseError as err:
        raise InputError(f"{source}: not a usable SQLite database ({err})") from err


def _run(command: list[str], url: URL, *, database_option: bool = False) -> None:
    """Run a PostgreSQL client tool against url; the password goes by environment, never argv."""
    env = {**os.environ, "PGPASSWORD": url.password or "", "PGHOST": url.host or "", "PGUSER": url.username or "",
           "PGPORT": str(url.port or 5432), "PGDATABASE": url.database or ""}
    if not env["PGPASSWORD"]:
        del env["PGPASSWORD"]
    if database_option:
        command = [*command[:-1], "--dbname", url.database or "", command[-1]]
    else:
        command = [*command, url.database or ""]
    tool = command[0]
    if shutil.which(tool) is None:
        raise ConfigError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=_TOOL_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as err:
        raise ConfigError(f"{tool} did not finish within {_TOOL_TIMEOUT_SECONDS} s") from err
    if result.returncode != 0:
        raise InputError(f"{tool} failed (exit {result.returncode}): {result.stderr.strip()[-500:]}")


def _copy_files(source: Path, target: Path) -> int:
    """Copy the file store's files (named by digest) that target lacks; the number of files copied."""
    if not source.is_dir():
        return 0
    copied = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name.startswith("."):  # skip half-written .incoming- files
            continue
        destination = target / path.relative_to(source)
        if destination.exists():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        copied += 1
    return copied
