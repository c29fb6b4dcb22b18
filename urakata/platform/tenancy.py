"""Tenants (client shops), scoped getters and the one cross-tenant fan-out helper."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import CheckConstraint, String, select
from sqlalchemy.orm import Mapped, mapped_column

from urakata.platform.db import Base, Database, TenantOwned, UrakataSession, utcnow

T = TypeVar("T")
M = TypeVar("M", bound=TenantOwned)

# Tables that are not tenant-owned (no RLS), named here and nowhere else (DESIGN §4).
# Every other table must carry tenant_id and row-level security; a test checks both.
# A platform table that refers to a shop calls the column shop_id, never tenant_id, so
# "has a tenant_id column" and "is isolated by RLS" mean the same thing.
PLATFORM_TABLES = frozenset(
    {
        "alembic_version",
        "tenant",
        "user_account",
        "membership",
        "password_reset_token",
        "api_key",
        "outbox",
        "job_execution",
        "agency_closed_day",
        "location",
    }
)

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


class TenantStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"


class Tenant(Base):
    """A client shop. A platform table (no RLS): it is how a request finds its shop."""

    __tablename__ = "tenant"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
        CheckConstraint(r"slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'", name="slug"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    status: Mapped[str] = mapped_column(String(16), default=TenantStatus.active.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.active


class NotFound(LookupError):
    """Missing, or another tenant's: the two are indistinguishable to the caller (404)."""


class InvalidTenantData(ValueError):
    """A tenant's fields are not acceptable; ``field`` names which."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def validate_slug(slug: str) -> str:
    if not SLUG_RE.match(slug or ""):
        raise InvalidTenantData(
            "slug", "use 1–40 lowercase letters, digits and hyphens, not starting or ending with -"
        )
    return slug


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidTenantData("timezone", f"unknown time zone {name!r}") from exc
    return name


def get_tenant_by_slug(session: UrakataSession, slug: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"no shop {slug!r}")
    return tenant


def get_scoped(session: UrakataSession, model: type[M], object_id) -> M:
    """The object with ``id`` in the session's tenant, or :class:`NotFound`.

    The tenant walls do the scoping; a foreign id and a missing id fail alike.
    """
    obj = session.scalar(select(model).where(model.id == object_id))  # type: ignore[attr-defined]
    if obj is None:
        raise NotFound(f"{model.__name__} {object_id} not found")
    return obj


def fan_out_across_tenants(
    db: Database, tenant_ids: Iterable[uuid.UUID], work: Callable[[UrakataSession], T]
) -> dict[uuid.UUID, T]:
    """Run ``work`` once per tenant, each in its own tenant-bound session; merge the results.

    This is the only way ordinary code reads across shops (an operator's queue over the
    shops they serve, month-end runs). There is no "all tenants" query path.

    The sessions run one after another on one connection (:meth:`Database.on_one_connection`):
    each shop still has its own session (identity map, tenant wall) and its own transaction,
    which sets ``app.tenant_id`` for that shop at its begin and ends before the next shop's.
    """
    results: dict[uuid.UUID, T] = {}
    with db.on_one_connection() as shared:
        for tenant_id in tenant_ids:
            with shared.tenant_session(tenant_id) as session:
                results[tenant_id] = work(session)
    return results


def create_tenant(
    session: UrakataSession, slug: str, name: str, timezone: str = "Asia/Tokyo"
) -> Tenant:
    """Add a shop. Raises :class:`InvalidTenantData` naming the field at fault."""
    slug = validate_slug(slug.strip())
    if not name.strip():
        raise InvalidTenantData("name", "a shop needs a name")
    timezone = validate_timezone(timezone)
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise InvalidTenantData("slug", f"the slug {slug!r} is taken")
    tenant = Tenant(slug=slug, name=name.strip(), timezone=timezone)
    session.add(tenant)
    session.flush()
    return tenant
