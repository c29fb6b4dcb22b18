"""API key pages (being built)."""
