"""`printfarm stl validate PATH...`: one verdict per STL file, as text or JSON lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from printfarm.adapters.stl import StlLimits, StlReport, validate_stl_file
from printfarm.cli.common import settings_or_exit
from printfarm.printers.catalog import PROFILES

app = typer.Typer(help="Validate STL meshes.")

EXIT_REJECTED = 1
EXIT_USAGE = 2


def _stl_files(paths: list[Path]) -> list[Path]:
    """Expand directories into every *.stl below them (any case), sorted; keep files as given."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() == ".stl" and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            typer.echo(f"stl validate: {path}: no such file or directory", err=True)
            raise typer.Exit(EXIT_USAGE)
    return files


def _human_line(path: Path, report: StlReport) -> str:
    codes = ", ".join(report.codes)
    return f"{report.verdict:8} {path}" + (f"  [{codes}]" if codes else "")


@app.callback()
def _group() -> None:
    """Validate STL meshes."""


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="STL files, or directories to search for *.stl")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line per file")] = False,
    profile: Annotated[str | None, typer.Option(help="Printer profile whose build volume the part must fit")] = None,
) -> None:
    """Validate each STL; exit 0 if none is rejected, 1 if any is, 2 on usage or settings errors.

    Limits are the service's settings stl_max_bytes and stl_max_triangles, read as the service reads them:

    PRINTFARM_STL_MAX_BYTES, PRINTFARM_STL_MAX_TRIANGLES or the PRINTFARM_CONFIG file.
    """
    settings = settings_or_exit()
    limits = StlLimits(max_bytes=settings.stl_max_bytes, max_triangles=settings.stl_max_triangles)
    build_volume_mm = None
    if profile is not None:
        spec = PROFILES.get(profile)
        if spec is None:
            typer.echo(f"stl validate: unknown profile {profile!r}; known: {', '.join(sorted(PROFILES))}", err=True)
            raise typer.Exit(EXIT_USAGE)
        build_volume_mm = (spec.build_x_mm, spec.build_y_mm, spec.build_z_mm)
    files = _stl_files(paths)
    if not files:
        typer.echo("stl validate: no *.stl files in the given paths", err=True)
        raise typer.Exit(EXIT_USAGE)
    any_rejected = False
    for path in files:
        try:
            report = validate_stl_file(path, limits=limits, build_volume_mm=build_volume_mm)
        except OSError as err:
            typer.echo(f"stl validate: {path}: cannot read: {err.strerror or err}", err=True)
            raise typer.Exit(EXIT_USAGE) from err
        any_rejected |= report.verdict == "rejected"
        typer.echo(json.dumps(report.to_dict(str(path))) if as_json else _human_line(path, report))
    if any_rejected:
        raise typer.Exit(EXIT_REJECTED)
