"""Adapters: the only code that talks to libraries for protocols, devices and file formats."""
