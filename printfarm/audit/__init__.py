"""Audit: who did what, when, to which object."""
