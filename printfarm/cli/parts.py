"""`printfarm parts ...` and `printfarm printfiles ...`: parts, their STLs and their print files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from printfarm.cli.common import CLI_ACTOR, open_services, reported_errors
from printfarm.parts.schemas import PartRead, PrintFileRead

parts_app = typer.Typer(help="Parts: printable designs and their STLs.", no_args_is_help=True)
printfiles_app = typer.Typer(help="Print files: G-code of a part for one printer profile.", no_args_is_help=True)


def _print_file_line(print_file: PrintFileRead) -> str:
    analysis: dict[str, Any] = print_file.analysis or {}
    extents = analysis.get("extents_mm") or {}
    size = " x ".join(f"{hi - lo:.0f}" for lo, hi in (extents.get(axis, (0, 0)) for axis in "xyz"))
    minutes = (analysis.get("estimated_seconds") or 0) / 60
    return (
        f"print file {print_file.id}: part {print_file.part_id}, profile {print_file.profile_id}, "
        f"{print_file.units_per_print} units/plate, {print_file.material or '?'}, {minutes:.0f} min, "
        f"{(analysis.get('filament_mm') or 0) / 1000:.2f} m filament, extents {size} mm"
    )


@parts_app.command("add")
def add_part(
    name: Annotated[str, typer.Argument(help="Part name, e.g. 'RC3 headband'")],
    stl: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="The part's STL (validated)")] = None,
    description: Annotated[str | None, typer.Option(help="What the part is for")] = None,
    approve: Annotated[bool, typer.Option(help="Approve it for hospital batches too")] = False,
) -> None:
    """Create a part, optionally with its STL; prints the validation verdict."""
    services = open_services()
    with reported_errors(), services.db.unit_of_work() as session:
        part = services.parts.create(
            session, CLI_ACTOR, name=name, description=description,
            stl=stl.read_bytes() if stl else None, stl_filename=stl.name if stl else None,
        )
        if approve:
            services.parts.approve(session, CLI_ACTOR, part.id)
        read = PartRead.model_validate(part)
    typer.echo(f"part {read.id}: {read.name}, STL {read.stl_verdict or 'none'}, approved {read.is_approved}")


@parts_app.command("list")
def list_parts() -> None:
    """Every part with its STL verdict and approval."""
    services = open_services()
    with reported_errors(), services.db.unit_of_work() as session:
        parts = services.parts.list(session, CLI_ACTOR)
        for part in parts:
            typer.echo(f"{part.id:>4}  {part.name:<40} STL {part.stl_verdict or '-':<8} approved {part.is_approved}")
    if not parts:
        typer.echo("printfarm: no parts yet (add one: printfarm parts add NAME --stl FILE.stl)", err=True)


@parts_app.command("slice")
def slice_part(
    part: Annotated[int, typer.Argument(help="Part id")],
    profile: Annotated[str, typer.Option(help="Printer profile, e.g. prusa-mk3s-0.4")],
    copies: Annotated[int, typer.Option(min=1, max=100, help="Copies on one plate (units per print)")] = 1,
) -> None:
    """Slice the part's STL with PrusaSlicer and attach the G-code as a print file."""
    services = open_services()
    with reported_errors(), services.db.unit_of_work() as session:
        print_file = PrintFileRead.model_validate(
            services.parts.slice(session, CLI_ACTOR, part, profile_name=profile, copies=copies)
        )
    typer.echo(_print_file_line(print_file))


@printfiles_app.command("add")
def add_print_file(
    part: Annotated[int, typer.Argument(help="Part id")],
    gcode: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The G-code file")],
    profile: Annotated[str, typer.Option(help="Printer profile it was sliced for")],
    units_per_print: Annotated[int, typer.Option(min=1, max=1000, help="Units one plate yields")] = 1,
    material: Annotated[str | None, typer.Option(help="Material; default: what the G-code says")] = None,
) -> None:
    """Attach G-code to a part; it is analysed and checked against the profile first."""
    services = open_services()
    with reported_errors(), services.db.unit_of_work() as session:
        print_file = PrintFileRead.model_validate(
            services.parts.add_print_file(
                session, CLI_ACTOR, part, profile_name=profile, gcode=gcode.read_bytes(), filename=gcode.name,
                units_per_print=units_per_print, material=material,
            )
        )
    typer.echo(_print_file_line(print_file))


@printfiles_app.command("list")
def list_print_files(
    part: Annotated[int, typer.Argument(help="Part id")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per print file")] = False,
) -> None:
    """A part's print files with their analysis."""
    services = open_services()
    with reported_errors(), services.db.unit_of_work() as session:
        files = [PrintFileRead.model_validate(f) for f in services.parts.list_print_files(session, CLI_ACTOR, part)]
    for print_file in files:
        typer.echo(json.dumps(print_file.model_dump(mode="json")) if as_json else _print_file_line(print_file))
    if not files and not as_json:
        typer.echo(
            f"printfarm: part {part} has no print files yet (printfarm printfiles add {part} FILE.gcode --profile "
            f"PROFILE, or printfarm parts slice {part} --profile PROFILE)",
            err=True,
        )
