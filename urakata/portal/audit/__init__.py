"""Auditor pages."""
