"""A newcomer's first commands: where the data goes is said once, and an empty list says it is empty."""

from __future__ import annotations

import pytest

from cli.support import run_printfarm

NEW_DIR = "printfarm: new data directory {} (database, secret key, stored files; PRINTFARM_DATA_DIR chooses another)\n"


def test_the_default_data_dir_is_per_user_and_announced_once(tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    first = run_printfarm("db", "upgrade", cwd=work, HOME=str(home), XDG_DATA_HOME="")
    data_dir = home / ".local" / "share" / "printfarm"
    assert first.returncode == 0, first.stderr
    assert first.stderr == NEW_DIR.format(data_dir)
    assert first.stdout == f"schema up to date on sqlite:///{data_dir}/printfarm.db\n"
    assert list(work.iterdir()) == []  # nothing appears in the folder the command ran in

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    second = run_printfarm("token", "create", "--role", "viewer", cwd=elsewhere, HOME=str(home), XDG_DATA_HOME="")
    assert second.returncode == 0, second.stderr
    assert second.stderr == "token 1: role viewer\n"  # the same database, and no second announcement
    assert list(elsewhere.iterdir()) == []


def test_a_chosen_data_dir_is_announced_when_it_is_made(tmp_path):
    data_dir = tmp_path / "farm" / "data"
    result = run_printfarm("db", "upgrade", cwd=tmp_path, PRINTFARM_DATA_DIR=str(data_dir))
    assert (result.returncode, result.stderr) == (0, NEW_DIR.format(data_dir))


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["printers", "list"], "no printers registered yet"),
        (["printers", "list", "--site", "3"], "no printers at site 3"),
        (["jobs", "list"], "no print jobs yet (the scheduler makes them from batches)"),
        (["jobs", "list", "--state", "printing"], "no print jobs match"),
        (["parts", "list"], "no parts yet (add one: printfarm parts add NAME --stl FILE.stl)"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_an_empty_list_says_so_on_stderr(tmp_path, command, message):
    result = run_printfarm(*command, cwd=tmp_path, PRINTFARM_DATA_DIR=str(tmp_path))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", f"printfarm: {message}\n")
    if command[0] != "parts":  # parts list has no --json
        as_json = run_printfarm(*command, "--json", cwd=tmp_path, PRINTFARM_DATA_DIR=str(tmp_path))
        assert (as_json.returncode, as_json.stdout, as_json.stderr) == (0, "", "")  # a pipe gets no lines at all
