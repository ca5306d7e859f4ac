"""printfarm: a production orchestrator for distributed 3D printing."""

__version__ = "0.1.0"
