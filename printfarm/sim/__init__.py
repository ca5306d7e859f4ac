"""Simulated OctoPrint printers for tests and `printfarm demo`: REST on 127.0.0.1, MQTT to a broker.

    with SimulatedFarm("127.0.0.1", 1883, {"acme": 2, "uni": 1}, time_scale=600) as farm:
        for info in farm.listing():
            ...  # register info.base_url, info.api_key, info.base_topic with printfarm
"""

from printfarm.sim.farm import PrinterSpec, SimulatedFarm, SimulatedPrinterInfo
from printfarm.sim.gcode import estimated_print_seconds
from printfarm.sim.machine import PrintTiming
from printfarm.sim.printer import SimulatedPrinter

__all__ = [
    "PrintTiming",
    "PrinterSpec",
    "SimulatedFarm",
    "SimulatedPrinter",
    "SimulatedPrinterInfo",
    "estimated_print_seconds",
]
