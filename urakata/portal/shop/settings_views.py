"""Shop settings and contract pages (being built)."""
