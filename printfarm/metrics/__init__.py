"""Read models for the dashboard pages and /metrics: aggregated, paged queries that scale."""
