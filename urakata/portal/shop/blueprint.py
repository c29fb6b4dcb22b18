"""The shop blueprint: every view under /s/<shop>/ gets ``g.shop``, bound and checked.

``url_for`` fills ``shop`` from the current request, so templates need not repeat it.
"""

from __future__ import annotations

from flask import Blueprint, g
from flask_login import current_user

from urakata.portal.access import resolve_shop
from urakata.portal.security import login_manager

bp = Blueprint("shop", __name__, url_prefix="/s/<shop>")

# The dashboard's "Manage" links: (endpoint, lazy label, permission), added by view modules.
SHOP_MENU: list[tuple[str, object, str]] = []


def menu_entry(endpoint: str, label, permission: str) -> None:
    SHOP_MENU.append((endpoint, label, permission))


@bp.url_value_preprocessor
def _pull_shop(endpoint, values):
    g.shop_slug = values.pop("shop", None)


@bp.url_defaults
def _add_shop(endpoint, values):
    if "shop" not in values and g.get("shop_slug"):
        values["shop"] = g.shop_slug


@bp.before_request
def _resolve():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    resolve_shop(g.shop_slug)
    return None
