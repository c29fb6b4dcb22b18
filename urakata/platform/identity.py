"""People and what they may do: user accounts and role memberships (platform tables).

A membership gives a user one role, either agency-wide (``shop_id`` NULL: agency admins,
agency-wide auditors) or for one shop (operators are assigned per shop; shop users and
shop auditors belong to one shop).
"""

from __future__ import annotations

import enum
import secrets
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from urakata.platform import (
    audit,
    tenancy,  # noqa: F401 - registers "tenant", target of shop_id
)
from urakata.platform.audit import Actor
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
    # Part of the login cookie's identity: rotating it (password change, reset, "log out
    # everywhere") ends every existing session of this user.
    session_token: Mapped[str] = mapped_column(
        String(64), default=lambda: secrets.token_urlsafe(32)
    )
    password_changed_at: Mapped[datetime | None]
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    # The last accepted TOTP time step: a code is accepted once, never replayed.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class PasswordResetToken(Base):
    """A one-time, expiring password reset link; only the SHA-256 of the token is stored."""

    __tablename__ = "password_reset_token"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


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


def find_membership(
    session: Session, user_id: uuid.UUID, role: Role, shop_id: uuid.UUID | None
) -> Membership | None:
    query = select(Membership).where(Membership.user_id == user_id, Membership.role == role.value)
    query = query.where(
        Membership.shop_id.is_(None) if shop_id is None else Membership.shop_id == shop_id
    )
    return session.scalar(query)


def revoke_role(session: Session, membership: Membership) -> None:
    session.delete(membership)
    session.flush()


def users_with_role(session: Session, role: Role) -> list[UserAccount]:
    return list(
        session.scalars(
            select(UserAccount)
            .join(Membership)
            .where(Membership.role == role.value)
            .distinct()
            .order_by(UserAccount.display_name)
        )
    )


def members_of_shop(session: Session, shop_id: uuid.UUID) -> list[Membership]:
    return list(
        session.scalars(
            select(Membership).where(Membership.shop_id == shop_id).order_by(Membership.role)
        )
    )


def invite_user(
    session: Session,
    email: str,
    display_name: str,
    role: Role,
    shop_id: uuid.UUID | None,
    *,
    actor: Actor,
) -> UserAccount:
    """Create the user unless the address exists, and grant the role.

    Recorded in the shop's chain when the role is for a shop, else in the agency chain.
    Raises :class:`InvalidMembership` when the role cannot have that scope or is held already.
    """
    user = get_user_by_email(session, email)
    created = user is None
    if created:
        user = create_user(session, email, display_name.strip())
    if find_membership(session, user.id, Role(role), shop_id) is not None:
        raise InvalidMembership("this person already has that role")
    grant_role(session, user, role, shop_id)
    audit.record(
        session,
        actor,
        "user.invited" if created else "user.role_granted",
        object_type="user",
        object_id=user.id,
        data={"role": Role(role).value, "shop": str(shop_id or "")},
        chain_id=shop_id or audit.AGENCY_CHAIN_ID,
    )
    return user


def assign_operator(session: Session, user: UserAccount, shop_id: uuid.UUID, *, actor: Actor):
    """Let an operator work in a shop (recorded in that shop's chain)."""
    if not any(m.role == Role.operator.value for m in user.memberships):
        raise InvalidMembership("only operators can be assigned to a shop")
    membership = grant_role(session, user, Role.operator, shop_id)
    audit.record(
        session,
        actor,
        "operator.assigned",
        object_type="user",
        object_id=user.id,
        chain_id=shop_id,
    )
    return membership


def unassign_operator(session: Session, membership: Membership, *, actor: Actor) -> None:
    shop_id, user_id = membership.shop_id, membership.user_id
    revoke_role(session, membership)
    audit.record(
        session,
        actor,
        "operator.unassigned",
        object_type="user",
        object_id=user_id,
        chain_id=shop_id,
    )


def agency_staff(session: Session) -> list[Membership]:
    """Memberships of agency admins, operators and auditors, by person."""
    return list(
        session.scalars(
            select(Membership)
            .join(UserAccount)
            .where(Membership.role.in_(["agency_admin", "operator", "auditor"]))
            .order_by(UserAccount.display_name, Membership.role)
        )
    )
