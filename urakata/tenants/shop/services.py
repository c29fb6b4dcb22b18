"""Onboarding a shop and reading its settings. Services never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from urakata.platform import auth
from urakata.platform.db import UrakataSession
from urakata.platform.identity import (
    InvalidMembership,
    Role,
    UserAccount,
    create_user,
    get_user_by_email,
    grant_role,
)
from urakata.platform.tenancy import InvalidTenantData, Tenant, create_tenant
from urakata.tenants.shop.models import ShopSettings

WELCOME_LINK_TTL = timedelta(days=7)


@dataclass(frozen=True)
class Onboarded:
    tenant: Tenant
    admin: UserAccount
    welcome_token: str | None  # set-password link token; None when the user had a password


def onboard_shop(
    session: UrakataSession,
    *,
    slug: str,
    name: str,
    timezone: str,
    admin_email: str,
    admin_name: str,
) -> Onboarded:
    """Create the shop, its settings and its first shop admin, in the caller's transaction.

    The session must be bound to no shop yet; it is bound to the new shop here (a session
    binds once), so the caller's request touches no other shop afterwards.
    """
    if not admin_name.strip():
        raise InvalidTenantData("admin_name", "the shop admin needs a name")
    tenant = create_tenant(session, slug, name, timezone)
    session.bind_tenant(tenant.id)
    session.add(ShopSettings(tenant_id=tenant.id, sender_name=tenant.name))
    admin = get_user_by_email(session, admin_email)
    if admin is None:
        admin = create_user(session, admin_email, admin_name.strip())
    elif any(m.role != Role.shop_admin.value and m.shop_id is None for m in admin.memberships):
        raise InvalidTenantData("admin_email", "this address belongs to agency staff")
    try:
        grant_role(session, admin, Role.shop_admin, tenant.id)
    except InvalidMembership as exc:  # pragma: no cover - roles above are always valid
        raise InvalidTenantData("admin_email", str(exc)) from exc
    token = None
    if admin.password_hash is None:
        _, token = auth.create_reset_token(session, admin.email, ttl=WELCOME_LINK_TTL)
    session.flush()
    return Onboarded(tenant=tenant, admin=admin, welcome_token=token)


def get_settings(session: UrakataSession) -> ShopSettings:
    """The bound shop's settings row (every shop has one from onboarding or migration)."""
    settings = session.get(ShopSettings, session.tenant_id)
    if settings is None:
        raise LookupError("shop has no settings row")
    return settings
