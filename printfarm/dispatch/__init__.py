"""Dispatch: give idle printers the next plate of the most urgent compatible batch."""
