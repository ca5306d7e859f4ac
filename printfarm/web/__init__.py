"""The dashboard: server-rendered pages that call services only."""
