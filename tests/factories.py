"""Factories for test worlds. Every world has at least two shops: a stranger is always at hand."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from urakata.platform.audit import Actor
from urakata.platform.db import Database
from urakata.platform.identity import Role, UserAccount, create_user, grant_role
from urakata.platform.passwords import hash_password
from urakata.platform.tenancy import Tenant
from urakata.tenants.shop.services import onboard_shop

PASSWORD = "correct horse battery staple"
# argon2id is deliberately slow; hash once per run, not once per user.
PASSWORD_HASH = hash_password(PASSWORD)
LINK_KEY = b"test password links"
_counter = itertools.count(1)


def make_shop(
    db: Database, slug: str | None = None, name: str | None = None
) -> tuple[Tenant, UserAccount]:
    """A shop onboarded as the portal does it: tenant, settings and its first shop admin."""
    n = next(_counter)
    slug = slug or f"shop-{n}"
    with db.session() as session, session.begin():
        done = onboard_shop(
            session,
            actor=Actor.system("test factory"),
            link_key=LINK_KEY,
            slug=slug,
            name=name or f"テスト店舗{n}",
            timezone="Asia/Tokyo",
            admin_email=f"admin@{slug}.example",
            admin_name=f"店長{n}",
        )
        done.admin.password_hash = PASSWORD_HASH
    return done.tenant, done.admin


def make_user(
    db: Database, role: Role, tenant: Tenant | None = None, email: str | None = None
) -> UserAccount:
    n = next(_counter)
    with db.platform_session() as session:
        user = create_user(session, email or f"user{n}@shops.example", f"利用者{n}")
        user.password_hash = PASSWORD_HASH
        grant_role(session, user, role, tenant.id if tenant else None)
        return user


@dataclass
class World:
    shop_a: Tenant
    shop_b: Tenant
    agency_admin: UserAccount
    operator_a: UserAccount
    operator_b: UserAccount
    shop_admin_a: UserAccount
    shop_admin_b: UserAccount
    auditor: UserAccount


def make_world(db: Database) -> World:
    shop_a, shop_admin_a = make_shop(db, "shop-a", "あかり雑貨")
    shop_b, shop_admin_b = make_shop(db, "shop-b", "みどり食品")
    return World(
        shop_a=shop_a,
        shop_b=shop_b,
        agency_admin=make_user(db, Role.agency_admin, email="admin@agency.example"),
        operator_a=make_user(db, Role.operator, shop_a, email="op-a@agency.example"),
        operator_b=make_user(db, Role.operator, shop_b, email="op-b@agency.example"),
        shop_admin_a=shop_admin_a,
        shop_admin_b=shop_admin_b,
        auditor=make_user(db, Role.auditor, email="auditor@agency.example"),
    )
