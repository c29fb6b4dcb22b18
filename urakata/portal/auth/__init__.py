"""Login, two-factor, logout, password reset and change, language choice."""
