"""Backups restore into a fresh database with every count equal; key rotation re-encrypts every
printer's API key; bad backups and keys get a message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from printfarm.adapters.secrets import KEY_FILE, SecretBox, new_key, split_keys
from printfarm.auth.rules import SYSTEM
from printfarm.cli import _register_optional_commands
from printfarm.cli import app as cli_app
from printfarm.db.backup import table_counts
from printfarm.db.base import Base
from printfarm.db.session import make_engine
from printfarm.settings import Settings
from printfarm.wiring import build_services
from security.full_run import full_run

_register_optional_commands()


def cli(env: dict[str, str], *args: str):
    return CliRunner().invoke(cli_app, list(args), env=env)


@pytest.fixture
def fresh_database_url(database_url: str, tmp_path: Path):
    """An empty database beside the test's: a new SQLite file, or a new PostgreSQL database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh' / 'restored.db'}"
        return
    url = make_url(database_url)
    name = f"{url.database}_restore"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_backup_restores_into_a_fresh_database_with_every_count_equal(
    configured_world, database_url, fresh_database_url, tmp_path
) -> None:
    world = configured_world()
    full_run(world)
    source = world.services.settings
    before = table_counts(world.services.db.engine)
    assert before["print_jobs"] >= 2 and before["outputs"] >= 2 and before["printers"] >= 4
    env = {"PRINTFARM_DATABASE_URL": database_url, "PRINTFARM_DATA_DIR": str(source.data_dir)}

    backed_up = cli(env, "backup", str(tmp_path / "backup"))
    assert backed_up.exit_code == 0, backed_up.output

    restored_dir = tmp_path / "restored-data"
    restored_dir.mkdir()
    (restored_dir / KEY_FILE).write_bytes((source.data_dir / KEY_FILE).read_bytes())  # the key travels apart
    env = {"PRINTFARM_DATABASE_URL": fresh_database_url, "PRINTFARM_DATA_DIR": str(restored_dir)}
    restored = cli(env, "restore", str(tmp_path / "backup"))
    assert restored.exit_code == 0, restored.output
    assert "every row count equal" in restored.output

    engine = make_engine(fresh_database_url)
    after = table_counts(engine)
    engine.dispose()
    assert after == before
    assert set(after) >= {t.name for t in Base.metadata.sorted_tables}
    stored = sorted(p.name for p in (source.data_dir / "files").rglob("*") if p.is_file())
    assert stored and sorted(p.name for p in (restored_dir / "files").rglob("*") if p.is_file()) == stored
    services = build_services(Settings(data_dir=restored_dir, database_url=fresh_database_url))
    with services.db.unit_of_work() as session:
        for printer in services.printers.list(session, SYSTEM):
            services.printers.client_for(printer)  # the restored API keys open with the same key
    services.db.dispose()


def test_restore_refuses_a_database_with_data_and_a_broken_backup(configured_world, database_url, tmp_path) -> None:
    world = configured_world()
    env = {"PRINTFARM_DATABASE_URL": database_url, "PRINTFARM_DATA_DIR": str(world.services.settings.data_dir)}
    assert cli(env, "backup", str(tmp_path / "b")).exit_code == 0

    into_data = cli(env, "restore", str(tmp_path / "b"))
    assert into_data.exit_code == 1
    assert "the target database is not empty" in into_data.output and "--force" in into_data.output
    assert cli(env, "backup", str(tmp_path / "b")).output.startswith("printfarm: InputError: backup target")

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    result = cli(env, "restore", str(broken))
    assert result.exit_code == 1
    assert "is not a printfarm backup" in result.output
    assert "Traceback" not in result.output


def test_rotation_re_encrypts_every_printer_key_under_a_new_key_file(configured_world, database_url) -> None:
    world = configured_world()
    full_run(world)
    data_dir = world.services.settings.data_dir
    old_key = (data_dir / KEY_FILE).read_text().strip()
    with world.services.db.engine.connect() as connection:
        before = dict(connection.execute(sa.text("SELECT id, api_key_encrypted FROM printers")).all())
    env = {"PRINTFARM_DATABASE_URL": database_url, "PRINTFARM_DATA_DIR": str(data_dir)}

    result = cli(env, "secrets", "rotate")

    assert result.exit_code == 0, result.output
    assert f"re-encrypted {len(before)} printer API keys" in result.output
    keys = split_keys((data_dir / KEY_FILE).read_text())
    assert len(keys) == 1 and keys[0] != old_key
    assert oct((data_dir / KEY_FILE).stat().st_mode & 0o777) == "0o600"
    assert keys[0] not in result.output and old_key not in result.output
    with world.services.db.engine.connect() as connection:
        after = dict(connection.execute(sa.text("SELECT id, api_key_encrypted FROM printers")).all())
    new_box, old_box = SecretBox(keys[0]), SecretBox(old_key)
    for printer_id, token in after.items():
        assert new_box.decrypt(bytes(token)) == old_box.decrypt(bytes(before[printer_id]))
        with pytest.raises(Exception, match="cannot decrypt"):
            old_box.decrypt(bytes(token))
    assert cli(env, "secrets", "check").exit_code == 0


def test_rotation_with_the_key_in_settings_needs_new_and_old(configured_world, database_url) -> None:
    old = new_key()
    world = configured_world(secret_key=old)
    full_run(world)
    env = {"PRINTFARM_DATABASE_URL": database_url, "PRINTFARM_DATA_DIR": str(world.services.settings.data_dir)}

    one = cli({**env, "PRINTFARM_SECRET_KEY": old}, "secrets", "rotate")
    assert one.exit_code == 1 and "set it to NEW,OLD" in one.output

    fresh = new_key()
    both = cli({**env, "PRINTFARM_SECRET_KEY": f"{fresh},{old}"}, "secrets", "rotate")
    assert both.exit_code == 0, both.output
    assert cli({**env, "PRINTFARM_SECRET_KEY": fresh}, "secrets", "check").exit_code == 0
    stale = cli({**env, "PRINTFARM_SECRET_KEY": old}, "secrets", "check")
    assert stale.exit_code == 1 and "no configured key opens their API key" in stale.output


def test_a_malformed_key_stops_with_a_message() -> None:
    with pytest.raises(Exception, match="key 2 of 2 is not a valid Fernet key"):
        SecretBox(f"{new_key()},not-a-key")
