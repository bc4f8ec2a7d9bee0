"""CLI commands (placeholder; filled in by its own issue)."""
