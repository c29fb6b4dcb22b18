"""Who may see what: the shop in the URL, the user's roles in it, and permissions.

The order of refusals is fixed: not logged in → login page (401 for the API); a shop the
user may not reach, or that does not exist → 404 (never 403, so shops cannot be probed);
the user's own shop but a permission they lack → 403.
"""

from __future__ import annotations

import uuid

from flask import abort, g
from flask_login import current_user
from sqlalchemy import select

from urakata.platform.identity import Role, UserAccount
from urakata.platform.tenancy import NotFound, Tenant, TenantStatus, get_tenant_by_slug
from urakata.portal.requestdb import db_session

# permission -> roles that hold it within a shop they can reach
PERMISSIONS: dict[str, frozenset[Role]] = {
    "shop.view": frozenset(Role),
    "shop.settings.view": frozenset(Role),
    "shop.settings.edit": frozenset({Role.agency_admin}),
    "shop.apikeys.manage": frozenset({Role.shop_admin}),
    "shop.operators.assign": frozenset({Role.agency_admin}),
    "audit.read": frozenset({Role.auditor}),
    # The shop's page of agency staff reads of its customers' personal data.
    "privacy.reads.view": frozenset({Role.shop_admin, Role.agency_admin, Role.auditor}),
    "privacy.retention.edit": frozenset({Role.shop_admin, Role.agency_admin}),
    "shop.tasks.run": frozenset({Role.shop_admin, Role.agency_admin, Role.auditor}),
    "catalog.view": frozenset(Role),
    "catalog.edit": frozenset({Role.shop_admin, Role.agency_admin, Role.operator}),
    "orders.view": frozenset(Role),
    "orders.edit": frozenset({Role.shop_admin, Role.agency_admin, Role.operator}),
    "sasage.view": frozenset(Role),
    "sasage.request": frozenset({Role.shop_admin, Role.agency_admin}),
    "sasage.work": frozenset({Role.agency_admin, Role.operator}),
    "sasage.approve": frozenset({Role.shop_admin}),
    "stock.view": frozenset(Role),
    "stock.receive": frozenset({Role.agency_admin, Role.operator}),
    "stock.move": frozenset({Role.agency_admin, Role.operator}),
    "stock.allocate": frozenset({Role.agency_admin, Role.operator}),
    "payments.view": frozenset(Role),
    "payments.record": frozenset({Role.shop_admin, Role.agency_admin, Role.operator}),
    "payments.match": frozenset({Role.shop_admin, Role.agency_admin, Role.operator}),
    "payments.settings": frozenset({Role.shop_admin, Role.agency_admin}),
    "mail_templates.view": frozenset(Role),
    "mail_templates.edit": frozenset({Role.shop_admin, Role.agency_admin}),
}
AGENCY_WIDE_ROLES = frozenset({Role.agency_admin, Role.auditor})


def user_roles(user: UserAccount) -> set[Role]:
    return {Role(m.role) for m in user.memberships}


def roles_in_shop(user: UserAccount, shop_id: uuid.UUID) -> set[Role]:
    """The user's roles that apply inside ``shop_id`` (agency-wide memberships included)."""
    roles = set()
    for m in user.memberships:
        role = Role(m.role)
        if m.shop_id == shop_id or (m.shop_id is None and role in AGENCY_WIDE_ROLES):
            roles.add(role)
    return roles


def shops_for(session, user: UserAccount) -> list[Tenant]:
    """The shops a user may reach, by slug order."""
    if any(m.shop_id is None and Role(m.role) in AGENCY_WIDE_ROLES for m in user.memberships):
        return list(session.scalars(select(Tenant).order_by(Tenant.slug)))
    ids = {m.shop_id for m in user.memberships if m.shop_id is not None}
    if not ids:
        return []
    return list(session.scalars(select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.slug)))


def can_reach(user: UserAccount, tenant: Tenant) -> bool:
    roles = roles_in_shop(user, tenant.id)
    # A suspended shop stays open to agency admins and auditors only.
    return bool(roles) and (tenant.status == TenantStatus.active or bool(roles & AGENCY_WIDE_ROLES))


def resolve_shop(slug: str) -> Tenant:
    """The shop in the URL, bound to the request's session, or 404."""
    session = db_session()
    try:
        tenant = get_tenant_by_slug(session, slug)
    except NotFound:
        abort(404)
    if not can_reach(current_user, tenant):
        abort(404)
    session.bind_tenant(tenant.id)
    g.shop = tenant
    g.shop_roles = roles_in_shop(current_user, tenant.id)
    return tenant


def has_permission(permission: str, roles: set[Role] | None = None) -> bool:
    held = g.get("shop_roles", set()) if roles is None else roles
    return bool(held & PERMISSIONS[permission])


def require_permission(permission: str, roles: set[Role] | None = None) -> None:
    if not has_permission(permission, roles):
        abort(403)


def require_agency_role(*roles: Role) -> None:
    """Agency pages: 403 for logged-in users without one of ``roles``."""
    if not user_roles(current_user) & set(roles):
        abort(403)
