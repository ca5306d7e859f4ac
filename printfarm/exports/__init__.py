"""CSV exports: output per site per day, deliveries with their sources, requests with fulfilment."""
