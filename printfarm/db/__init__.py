"""Database: tables, sessions (units of work) and migrations."""
