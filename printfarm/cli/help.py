"""`--help` as a newcomer reads it: `--site INTEGER`, `PATHS...`, a flag with no value, no Python types.

Typer 0.29 labels every parameter with its Python annotation (`<bool>` on a flag that takes no
value, `<list[Path]>`) and writes required arguments as `{paths}...` in the usage line. The
parameters of the built command are given the classes below, which keep all of Typer's parsing
and change only these labels, in click's long-standing style.
"""

from __future__ import annotations

import re
from typing import Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

#: Typer's labels (without the angle brackets) and what the help shows instead.
_LABELS = {"int": "INTEGER", "float": "FLOAT", "str": "TEXT", "bool": "BOOLEAN", "Path": "PATH"}


def _label(param: TyperArgument | TyperOption, typer_label: str) -> str:
    label = typer_label.removeprefix("<").removesuffix(">")
    if param.type_descriptor.is_choice:
        return re.sub(r"^list\[(.*)\]$", r"\1", label)  # the choices themselves: admin|coordinator|...
    label = re.sub(r"^list\[(.*)\]$", r"\1", label).removesuffix(" range")
    return _LABELS.get(label, label.upper())


class PlainOption(TyperOption):
    """An option labelled INTEGER, TEXT, FILE or its choices; a flag has no label."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:  # type: ignore[override]
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        return _label(self, self.display_type(ctx)) + ("..." if self.nargs != 1 else "")


class PlainArgument(TyperArgument):
    """An argument named in capitals (PATHS...), labelled like an option, bare when required in usage."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:  # type: ignore[override]
        return _label(self, self.display_type(ctx))

    @property
    def display_name_raw(self) -> str:
        return self.metavar if self.metavar is not None else (self.name or "").upper()

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")


def plain_help(command: Any) -> None:
    """Give every parameter of command and its subcommands (help options too) the plain labels."""
    help_option = command.get_help_option(typer.Context(command))
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if isinstance(param, TyperArgument):
            param.__class__ = PlainArgument
        elif isinstance(param, TyperOption):
            param.__class__ = PlainOption
    if isinstance(command, TyperGroup):
        for subcommand in command.commands.values():
            plain_help(subcommand)
