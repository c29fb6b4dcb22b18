"""People and what they may do: user accounts and role memberships (platform tables).

A membership gives a user one role, either agency-wide (``shop_id`` NULL: agency admins,
agency-wide auditors) or for one shop (operators are assigned per shop; shop users and
shop auditors belong to one shop).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from urakata.platform.db import Base, utcnow
from urakata.platform.passwords import hash_password


class Role(enum.StrEnum):
    agency_admin = "agency_admin"
    operator = "operator"
    shop_admin = "shop_admin"
    shop_staff = "shop_staff"
    auditor = "auditor"


AGENCY_ROLES = frozenset({Role.agency_admin, Role.operator})
SHOP_ROLES = frozenset({Role.shop_admin, Role.shop_staff})


class UserAccount(Base):
    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(8), default="ja")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (
        CheckConstraint(
            "role IN ('agency_admin', 'operator', 'shop_admin', 'shop_staff', 'auditor')",
            name="role",
        ),
        CheckConstraint(
            "(role = 'agency_admin' AND shop_id IS NULL)"
            " OR (role IN ('operator', 'shop_admin', 'shop_staff') AND shop_id IS NOT NULL)"
            " OR role = 'auditor'",
            name="role_scope",
        ),
        Index(
            "uq_membership_user_id_role_shop_id",
            "user_id",
            "role",
            "shop_id",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_membership_shop_id", "shop_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    shop_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenant.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))

    user: Mapped[UserAccount] = relationship(back_populates="memberships")


class InvalidMembership(ValueError):
    """The role cannot be held with that scope (e.g. a shop admin without a shop)."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def get_user_by_email(session: Session, email: str) -> UserAccount | None:
    return session.scalar(select(UserAccount).where(UserAccount.email == normalise_email(email)))


def create_user(
    session: Session,
    email: str,
    display_name: str,
    password: str | None = None,
    locale: str = "ja",
) -> UserAccount:
    user = UserAccount(
        email=normalise_email(email),
        display_name=display_name,
        password_hash=hash_password(password) if password else None,
        locale=locale,
    )
    session.add(user)
    session.flush()
    return user


def grant_role(
    session: Session, user: UserAccount, role: Role, shop_id: uuid.UUID | None = None
) -> Membership:
    role = Role(role)
    if role is Role.agency_admin and shop_id is not None:
        raise InvalidMembership("an agency admin is agency-wide; give no shop")
    if role in (Role.operator, *SHOP_ROLES) and shop_id is None:
        raise InvalidMembership(f"the role {role} needs a shop")
    membership = Membership(user_id=user.id, role=role.value, shop_id=shop_id)
    session.add(membership)
    session.flush()
    return membership
