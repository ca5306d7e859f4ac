"""Parts (printable designs) and their print files (G-code per printer profile)."""
