"""Factories for test worlds. Every world has at least two shops: a stranger is always at hand."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from urakata.platform.db import Database
from urakata.platform.identity import Role, UserAccount, create_user, grant_role
from urakata.platform.passwords import hash_password
from urakata.platform.tenancy import Tenant, create_tenant

PASSWORD = "correct horse battery staple"
# argon2id is deliberately slow; hash once per run, not once per user.
PASSWORD_HASH = hash_password(PASSWORD)
_counter = itertools.count(1)


def make_tenant(db: Database, slug: str | None = None, name: str | None = None) -> Tenant:
    n = next(_counter)
    with db.platform_session() as session:
        return create_tenant(session, slug or f"shop-{n}", name or f"テスト店舗{n}")


def make_user(
    db: Database, role: Role, tenant: Tenant | None = None, email: str | None = None
) -> UserAccount:
    n = next(_counter)
    with db.platform_session() as session:
        user = create_user(session, email or f"user{n}@example.test", f"利用者{n}")
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
    shop_a = make_tenant(db, "shop-a", "あかり雑貨")
    shop_b = make_tenant(db, "shop-b", "みどり食品")
    return World(
        shop_a=shop_a,
        shop_b=shop_b,
        agency_admin=make_user(db, Role.agency_admin, email="admin@agency.test"),
        operator_a=make_user(db, Role.operator, shop_a, email="op-a@agency.test"),
        operator_b=make_user(db, Role.operator, shop_b, email="op-b@agency.test"),
        shop_admin_a=make_user(db, Role.shop_admin, shop_a, email="admin@shop-a.test"),
        shop_admin_b=make_user(db, Role.shop_admin, shop_b, email="admin@shop-b.test"),
        auditor=make_user(db, Role.auditor, email="auditor@agency.test"),
    )
