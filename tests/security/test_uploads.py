"""Uploads: size limits, file names never used as paths, and a refused or broken upload leaves nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from printfarm.adapters.storage import FileStore
from printfarm.demo.gcode import plate_gcode


def store_files(world) -> list[Path]:
    """Every file under the data directory's file store, hidden temporary files included."""
    root = world.services.settings.file_store_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def world(configured_world):
    world = configured_world(stl_max_bytes=4096, gcode_max_bytes=200_000)
    part = world.ok("admin", "POST", "/api/parts", data={"name": "headband"})
    world.ids["part"] = part["id"]
    return world


def test_an_stl_over_the_limit_is_refused_and_nothing_is_stored(world) -> None:
    response = world.call("admin", "POST", "/api/parts", data={"name": "big"},
                          files={"stl": ("big.stl", b"\x00" * 5000, "model/stl")})

    assert response.status_code == 422
    assert response.json() == {"error": "InputError", "detail": "STL is larger than the limit of 4096 bytes"}
    assert [p["name"] for p in world.ok("admin", "GET", "/api/parts")] == ["headband"]
    assert store_files(world) == []


def test_a_body_beyond_every_upload_limit_is_refused_while_it_streams(world) -> None:
    response = world.call("admin", "POST", f"/api/parts/{world.ids['part']}/print-files",
                          data={"profile": "prusa-mk3s-0.4", "units_per_print": "4"},
                          files={"gcode": ("huge.gcode", b";" * (1024 * 1024 + 300_000), "text/plain")})

    assert response.status_code == 413
    assert response.text == "Content Too Large"
    assert world.ok("admin", "GET", f"/api/parts/{world.ids['part']}/print-files") == []
    assert store_files(world) == []


def test_refused_g_code_is_not_stored(world) -> None:
    for body in (b"\x00\x01not g-code\xff" * 30, plate_gcode(width_mm=400)):
        response = world.call("admin", "POST", f"/api/parts/{world.ids['part']}/print-files",
                              data={"profile": "prusa-mk3s-0.4", "units_per_print": "4"},
                              files={"gcode": ("x.gcode", body, "text/plain")})
        assert response.status_code in (409, 422), response.text
    assert store_files(world) == []


def test_a_broken_multipart_body_is_a_400_and_leaves_nothing(world) -> None:
    boundary = "pf-boundary"
    truncated = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"profile\"\r\n\r\nprusa-mk3s-0.4\r\n"
                 f"--{boundary}\r\nContent-Disposition: form-data; name=\"gcode\"; filename=\"a.gcode\"\r\n"
                 "Content-Type: text/plain\r\n\r\nG1 X10 Y10 E1\n").encode()  # the client went away: no end
    response = world.call("admin", "POST", f"/api/parts/{world.ids['part']}/print-files", content=truncated,
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    assert response.status_code == 400, response.text
    assert response.json() == {"error": "BadRequest",
                               "detail": "the multipart body ends before its closing boundary (interrupted upload?)"}
    assert world.ok("admin", "GET", f"/api/parts/{world.ids['part']}/print-files") == []
    assert store_files(world) == []


@pytest.mark.parametrize("name", ["../../../../tmp/evil.gcode", "..\\..\\evil.gcode", "/etc/passwd", "a\x00b.gcode",
                                  ".hidden", "x" * 600 + ".gcode"])
def test_an_upload_name_is_only_a_label_never_a_path(world, name, tmp_path) -> None:
    gcode = plate_gcode()
    response = world.call("admin", "POST", f"/api/parts/{world.ids['part']}/print-files",
                          data={"profile": "prusa-mk3s-0.4", "units_per_print": "4"},
                          files={"gcode": (name, gcode, "text/plain")})

    assert response.status_code == 201, response.text
    label = response.json()["filename"]
    assert "/" not in label and "\\" not in label and "\x00" not in label and ".." not in label
    assert len(label) <= 200
    stored = store_files(world)
    assert [p.name for p in stored] == [response.json()["sha256"]]
    assert stored[0].read_bytes() == gcode
    assert not Path("/tmp/evil.gcode").exists()


def test_a_write_that_fails_half_way_leaves_no_file_and_no_temporary(tmp_path, monkeypatch) -> None:
    store = FileStore(tmp_path / "files")
    real_fdopen = os.fdopen

    class FailingHandle:
        def __init__(self, handle):
            self._handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._handle.close()

        def write(self, data):
            self._handle.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r": FailingHandle(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space left"):
        store.put(b"G1 X1\n" * 1000)

    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []
