"""Registry: sites, hospitals and printer profiles."""
