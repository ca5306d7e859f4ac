"""`printfarm gateway`: one small process per site that drives its printers for the central service, over outbound MQTT only."""

from printfarm.gateway.config import GatewayConfig, GatewayPrinter, load_gateway_config
from printfarm.gateway.process import Gateway

__all__ = ["Gateway", "GatewayConfig", "GatewayPrinter", "load_gateway_config"]
