"""The Flask portal: agency, shop, audit and API blueprints over the tenants' services."""

from urakata.portal.app import create_app

__all__ = ["create_app"]
