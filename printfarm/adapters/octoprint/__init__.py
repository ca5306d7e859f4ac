"""OctoPrint: the printer port, the octorest adapter and an in-memory fake."""
