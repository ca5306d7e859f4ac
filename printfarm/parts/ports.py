"""What the parts service needs from the file-format adapters (wired in app.py)."""

from __future__ import annotations

from typing import Any, Protocol

from printfarm.printers.catalog import ProfileSpec


class StlValidator(Protocol):
    def __call__(self, data: bytes, build_volume_mm: tuple[float, float, float] | None) -> dict[str, Any]:
        """The validation report of an STL as a JSON-safe dict with at least `verdict`."""


class GcodeAnalyser(Protocol):
    def __call__(self, data: bytes) -> dict[str, Any]:
        """What a G-code file does, as a JSON-safe dict; raises GcodeRejected for non-G-code."""


class CompatibilityCheck(Protocol):
    def __call__(self, analysis: dict[str, Any], profile: ProfileSpec, material: str | None) -> list[str]:
        """Sentences naming each way the print file does not suit the profile or material."""


class Slicer(Protocol):
    def __call__(self, stl: bytes, slicer_config: str, copies: int) -> bytes:
        """G-code for `copies` of the STL on one plate, sliced with the named config file.

        Raises SlicerError (missing slicer or config, a failing or hanging slice, copies that
        do not fit the bed).
        """
