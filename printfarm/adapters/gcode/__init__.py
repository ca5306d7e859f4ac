"""G-code adapter: analyse plain-text G-code (slicer, printer, temperatures, time, filament, extents).

    analyse_gcode(data) -> GcodeAnalysis        raises GcodeRejected naming what the bytes are
"""

from printfarm.adapters.gcode.analyse import GcodeAnalysis, analyse_gcode

__all__ = ["GcodeAnalysis", "analyse_gcode"]
