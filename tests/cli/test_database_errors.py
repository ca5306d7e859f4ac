"""A database that cannot be used stops every command with one line naming the setting: no traceback."""

from __future__ import annotations

import importlib.util

import pytest

from cli.support import run_printfarm

UNREACHABLE = "postgresql+psycopg://nobody:secretpw@127.0.0.1:1/x"
SHOWN = "printfarm: PRINTFARM_DATABASE_URL=postgresql+psycopg://nobody:***@127.0.0.1:1/x: cannot connect: "

#: Every command that opens the database (printfarm/cli/), with arguments that would otherwise work.
DATABASE_COMMANDS = [
    ["db", "upgrade"],
    ["token", "create", "--role", "admin"],
    ["serve"],
    ["backup", "{tmp}/backup"],
    ["restore", "{tmp}"],
    ["secrets", "check"],
    ["secrets", "rotate"],
    ["parts", "add", "RC3 headband"],
    ["parts", "list"],
    ["parts", "slice", "1", "--profile", "prusa-mk3s-0.4"],
    ["printfiles", "add", "1", "{tmp}/plate.gcode", "--profile", "prusa-mk3s-0.4"],
    ["printfiles", "list", "1"],
    ["jobs", "list"],
    ["jobs", "cancel", "1"],
    ["jobs", "pause", "1"],
    ["jobs", "resume", "1"],
    ["printers", "list"],
    ["printers", "maintenance", "1"],
    ["printers", "enable", "1"],
    ["sites", "drain", "1"],
    ["sites", "resume", "1"],
    ["sites", "settings", "1"],
    ["sites", "add", "acme"],
    ["sites", "list"],
    ["hospitals", "add", "Sahlgrenska"],
    ["hospitals", "list"],
    ["printers", "add", "mk3", "--site", "1", "--url", "http://127.0.0.1:9", "--profile", "prusa-mk3s-0.4", "--api-key", "k"],
]


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_one_line_naming_the_setting_with_the_password_hidden(tmp_path, command):
    (tmp_path / "plate.gcode").write_text("G28\n")
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in command]
    result = run_printfarm(*args, cwd=tmp_path, PRINTFARM_DATA_DIR=str(tmp_path), PRINTFARM_DATABASE_URL=UNREACHABLE)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(SHOWN) and result.stderr.count("\n") == 1, result.stderr
    assert "Connection refused" in result.stderr
    assert "secretpw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert "admin token" not in result.stdout  # serve stopped before anything was written or served


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("foo://x", "printfarm: PRINTFARM_DATABASE_URL=foo://x: unknown kind of database 'foo'"),
        (
            "postgres//user:secretpw@db/x",
            "printfarm: PRINTFARM_DATABASE_URL=postgres//user:***@db/x: not a database URL "
            "(e.g. postgresql+psycopg://user@host/db or sqlite:///path)",
        ),
        (
            "sqlite:////proc/no-such-dir/printfarm.db",
            "printfarm: PRINTFARM_DATABASE_URL=sqlite:////proc/no-such-dir/printfarm.db: cannot create directory "
            "/proc/no-such-dir: No such file or directory",
        ),
        (
            "sqlite:////proc/printfarm.db",
            "printfarm: PRINTFARM_DATABASE_URL=sqlite:////proc/printfarm.db: cannot connect: "
            "unable to open database file",
        ),
    ],
)
def test_a_bad_database_url_is_refused_by_name(tmp_path, url, message):
    result = run_printfarm("db", "upgrade", cwd=tmp_path, PRINTFARM_DATA_DIR=str(tmp_path), PRINTFARM_DATABASE_URL=url)
    assert (result.returncode, result.stderr) == (1, message + "\n")
    assert "secretpw" not in result.stdout


@pytest.mark.parametrize("command", [["token", "create", "--role", "admin"], ["serve"]], ids=" ".join)
def test_commands_that_build_every_service_refuse_a_bad_url_the_same_way(tmp_path, command):
    result = run_printfarm(*command, cwd=tmp_path, PRINTFARM_DATA_DIR=str(tmp_path), PRINTFARM_DATABASE_URL="foo://x")
    message = "printfarm: PRINTFARM_DATABASE_URL=foo://x: unknown kind of database 'foo'\n"
    assert (result.returncode, result.stderr) == (1, message)


@pytest.mark.skipif(importlib.util.find_spec("MySQLdb") is not None, reason="the MySQL driver is installed here")
def test_a_database_whose_driver_is_missing_says_so(tmp_path):
    result = run_printfarm("db", "upgrade", cwd=tmp_path, PRINTFARM_DATA_DIR=str(tmp_path),
                           PRINTFARM_DATABASE_URL="mysql://farm:secretpw@db/printfarm")
    assert (result.returncode, result.stderr) == (
        1, "printfarm: PRINTFARM_DATABASE_URL=mysql://farm:***@db/printfarm: its driver is not installed "
        "(No module named 'MySQLdb')\n",
    )


def test_the_default_sqlite_file_that_cannot_be_opened_names_both_settings(tmp_path):
    (tmp_path / "printfarm.db").mkdir()  # where the SQLite file should be
    result = run_printfarm("db", "upgrade", cwd=tmp_path, PRINTFARM_DATA_DIR=str(tmp_path))
    assert (result.returncode, result.stderr) == (
        1, "printfarm: PRINTFARM_DATABASE_URL unset, so SQLite in PRINTFARM_DATA_DIR: "
        f"sqlite:///{tmp_path}/printfarm.db: cannot connect: unable to open database file\n",
    )


@pytest.mark.parametrize(
    ("data_dir", "reason"),
    [
        ("/proc/no-such-dir", "cannot create it: No such file or directory"),
        ("{tmp}/a-file", "exists and is not a directory"),
    ],
)
def test_a_data_dir_that_cannot_be_made_stops_with_exit_2(tmp_path, data_dir, reason):
    (tmp_path / "a-file").write_text("")
    data_dir = data_dir.replace("{tmp}", str(tmp_path))
    result = run_printfarm("serve", cwd=tmp_path, PRINTFARM_DATA_DIR=data_dir)
    assert (result.returncode, result.stderr) == (2, f"printfarm: PRINTFARM_DATA_DIR={data_dir}: {reason}\n")
