"""Batches: a coordinator's order of units of a part for a hospital."""
