"""After a full run, no printer API key and no token is in clear in the database, a log line, an API
response, a page, an export, a backup or any file under the data directory."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from printfarm.cli import app as cli_app
from printfarm.cli import _register_optional_commands
from security.full_run import full_run, get_every_page


def database_dump(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(parsed.database) as connection:
            return "\n".join(connection.iterdump())
    command = ["pg_dump", "--format=plain", "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
               "-U", parsed.username or "postgres", parsed.database or ""]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def backup_text(backup_dir: Path) -> str:
    parts = []
    for path in sorted(backup_dir.rglob("*")):
        if path.name.endswith(".pgdump"):  # custom format is compressed: read it back as SQL
            parts.append(subprocess.run(["pg_restore", "--file=-", str(path)], capture_output=True, text=True,
                                        check=True).stdout)
        elif path.name.endswith(".sqlite3"):
            with sqlite3.connect(path) as connection:
                parts.append("\n".join(connection.iterdump()))
        elif path.is_file():
            parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def test_no_key_or_token_is_ever_in_clear(configured_world, database_url, tmp_path, caplog, monkeypatch) -> None:
    caplog.set_level(logging.DEBUG)
    world = configured_world()
    sent = []
    request = world.client.request

    def recording(*args, **kwargs):
        response = request(*args, **kwargs)
        sent.append(response)
        return response

    monkeypatch.setattr(world.client, "request", recording)
    secrets = full_run(world)
    pages = get_every_page(world)
    assert len(pages) > 60 and sum(r.status_code == 200 for r in pages) > 30

    data_dir = world.services.settings.data_dir
    _register_optional_commands()
    monkeypatch.setenv("PRINTFARM_DATABASE_URL", database_url)
    monkeypatch.setenv("PRINTFARM_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(cli_app, ["backup", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output

    # A token is shown exactly once, in the answer that created it; nowhere else.
    created = [r for r in sent if r.request.method == "POST" and r.request.url.path == "/api/tokens"]
    assert created and all(r.json()["token"] in r.text for r in created)
    responses = "\n".join(f"{r.status_code} {dict(r.headers)} {r.text}" for r in sent if r not in created)
    logs = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    haystacks = {
        "the database": database_dump(database_url),
        "a log line": logs,
        "an API response or page": responses,
        "the backup": backup_text(tmp_path / "backup") + result.output,
        "the data directory": "\n".join(
            p.read_bytes().decode("latin-1") for p in data_dir.rglob("*") if p.is_file() and p.suffix != ".db"
        ),
    }
    # Controls: each haystack holds what the run wrote, so a leak would be seen there.
    for where in ("the database", "the backup"):
        assert "http://acme-mk3-2.printers.invalid" in haystacks[where], where
    assert "registered at site" in logs and "answering 429" in logs
    assert "http://acme-mk3-2.printers.invalid" in responses
    leaks = [f"{name} in {where}" for name, secret in secrets.items() for where, text in haystacks.items()
             if secret in text]
    assert not leaks, leaks
