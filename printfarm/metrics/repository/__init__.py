"""Dashboard and metrics queries, by page: figures (totals, units, /metrics), batches, wall (printers), sites.

Sums are read from the output rollups (printfarm.output.repository keeps them in the QC transaction),
so no page sums a million rows; active jobs are read from partial indexes that hold only them
(migration 0018). Nothing here writes.
"""
