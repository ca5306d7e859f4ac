"""`printfarm serve` on an empty database prints a one-time admin token, and only the first time."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import pytest
import requests

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_serve(data_dir, port):
    env = {**os.environ, "PRINTFARM_DATA_DIR": str(data_dir), "PRINTFARM_HTTP_PORT": str(port),
           "PRINTFARM_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "printfarm", "serve"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)


def wait_ready(port: int, process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            if requests.get(f"http://127.0.0.1:{port}/docs", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError("printfarm serve did not answer within 60 s")


def stop(process) -> str:
    process.terminate()
    try:
        out, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out


def test_first_serve_prints_an_admin_token_once(tmp_path):
    port = free_port()
    first = start_serve(tmp_path, port)
    wait_ready(port, first)
    output = stop(first)
    token = re.search(r"admin token \(shown once, keep it\): (pf_\S+)", output)
    assert token, output

    second = start_serve(tmp_path, port)
    wait_ready(port, second)
    me = requests.get(f"http://127.0.0.1:{port}/api/me", headers={"Authorization": f"Bearer {token.group(1)}"}, timeout=5)
    assert requests.get(f"http://127.0.0.1:{port}/api/me", timeout=5).status_code == 401
    output = stop(second)
    assert me.status_code == 200 and me.json()["role"] == "admin"
    assert "admin token" not in output
