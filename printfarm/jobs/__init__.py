"""Print jobs: one plate on one printer for one batch."""
