"""Output: QC at the printer (good and rejected units) and the counts derived from it."""
