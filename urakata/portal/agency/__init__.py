"""Agency pages: shops, onboarding, operators' home."""
