"""Slicer adapter: PrusaSlicer's command line, headless.

    slice_stl(stl_path, config_ini, copies=1, timeout_seconds=300) -> G-code bytes   raises SlicerError
"""

from printfarm.adapters.slicer.prusaslicer import slice_stl

__all__ = ["slice_stl"]
