"""Shop-scoped pages under /s/<shop>/: the shop in the URL, never in the login session."""
