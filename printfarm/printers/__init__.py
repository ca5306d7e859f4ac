"""Printers and printer profiles: registration, state and commands."""
