"""User-facing outputs: figures (matplotlib) now; the dashboard and reports later."""
