"""Sasage requests, their three tasks, the shop's reviews, and the work itself (tenant-owned).

A shop requests sasage for a product: one :class:`SasageRequest` and three
:class:`SasageTask` rows (photo, measure, copy). The work hangs off the request: photos
(:class:`SasageImage`, files on disk), one :class:`SasageMeasurement` and every version of
the copy (:class:`SasageCopy`, never overwritten). The shop approves or returns each task
(:class:`SasageReview`); the request is complete when all three tasks are approved.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from urakata.platform.db import Base, TenantOwned, row_id, utcnow
from urakata.tenants.catalog.models import Product

TASK_KINDS = ("photo", "measure", "copy")
TASK_STATES = ("todo", "in_progress", "waiting", "returned", "approved")
DECISIONS = ("approved", "returned")
IMAGE_STATUSES = ("pending", "ready", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _request_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "request_id"],
        ["sasage_request.tenant_id", "sasage_request.id"],
        ondelete="CASCADE",
    )


class SasageRequest(TenantOwned, Base):
    """The shop asked for sasage of one product (one request per product)."""

    __tablename__ = "sasage_request"
    __table_args__ = (
        UniqueConstraint("tenant_id", "product_id"),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["product.tenant_id", "product.id"]),
        Index("ix_sasage_request_tenant_id_completed_at", "tenant_id", "completed_at"),
    )

    id: Mapped[int] = row_id()
    product_id: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[date] = mapped_column(Date)  # the contract's turnaround, business days
    requested_by: Mapped[uuid.UUID | None]
    requested_by_name: Mapped[str] = mapped_column(String(200), default="")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]  # all three tasks approved

    product: Mapped[Product] = relationship(viewonly=True, lazy="joined")
    tasks: Mapped[list[SasageTask]] = relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="SasageTask.id",
    )

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None

    def task(self, kind: str) -> SasageTask:
        return next(t for t in self.tasks if t.kind == kind)


class SasageTask(TenantOwned, Base):
    """One of a request's three pieces of work, with its owner, due date and state."""

    __tablename__ = "sasage_task"
    __table_args__ = (
        UniqueConstraint("tenant_id", "request_id", "kind"),
        _request_fk(),
        Index("ix_sasage_task_tenant_id_state_due_date", "tenant_id", "state", "due_date"),
        CheckConstraint(_in("kind", TASK_KINDS), name="kind"),
        CheckConstraint(_in("state", TASK_STATES), name="state"),
        CheckConstraint("return_count >= 0", name="return_count"),
    )

    id: Mapped[int] = row_id()
    request_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(12), default="todo")
    due_date: Mapped[date] = mapped_column(Date)
    assignee_id: Mapped[uuid.UUID | None]
    assignee_name: Mapped[str] = mapped_column(String(200), default="")
    # Bumped by every change of the task or its work: the shop approves what it saw.
    version: Mapped[int] = mapped_column(Integer, default=1)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[SasageRequest] = relationship(back_populates="tasks")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        """Work the agency still owes (not with the shop, not approved)."""
        return self.state in ("todo", "in_progress", "returned")


class SasageReview(TenantOwned, Base):
    """The shop's decision on a task, with its comment and the task version it saw."""

    __tablename__ = "sasage_review"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "task_id"],
            ["sasage_task.tenant_id", "sasage_task.id"],
            ondelete="CASCADE",
        ),
        Index("ix_sasage_review_tenant_id_task_id", "tenant_id", "task_id"),
        CheckConstraint(_in("decision", DECISIONS), name="decision"),
    )

    id: Mapped[int] = row_id()
    task_id: Mapped[int] = mapped_column(BigInteger)
    decision: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    task_version: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[uuid.UUID | None]
    reviewer_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SasageImage(TenantOwned, Base):
    """A photo of the product. The original and its renditions are files named by the
    image's id under the files directory (see ``storage``); the row says what they are."""

    __tablename__ = "sasage_image"
    __table_args__ = (
        _request_fk(),
        Index(
            "ix_sasage_image_tenant_id_request_id_position", "tenant_id", "request_id", "position"
        ),
        Index(
            "uq_sasage_image_tenant_id_request_id_sha256",
            "tenant_id",
            "request_id",
            "sha256",
            unique=True,
            postgresql_where=text("removed_at IS NULL"),
        ),
        Index(
            "uq_sasage_image_tenant_id_request_id_main",
            "tenant_id",
            "request_id",
            unique=True,
            postgresql_where=text("is_main AND removed_at IS NULL"),
        ),
        CheckConstraint(_in("status", IMAGE_STATUSES), name="status"),
        CheckConstraint(_in("format", ("jpeg", "png", "webp")), name="format"),
        CheckConstraint("byte_size > 0 AND width > 0 AND height > 0", name="size"),
    )

    id: Mapped[int] = row_id()
    request_id: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(Integer)
    is_main: Mapped[bool] = mapped_column(Boolean, default=False)
    filename: Mapped[str] = mapped_column(String(200))  # as uploaded, for people only
    format: Mapped[str] = mapped_column(String(8))  # from the file's signature
    sha256: Mapped[str] = mapped_column(String(64))
    byte_size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)  # as stored, before EXIF orientation
    height: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    renditions: Mapped[dict] = mapped_column(JSONB, default=dict)  # {name: [width, height]}
    error: Mapped[str] = mapped_column(String(200), default="")
    render_task_id: Mapped[uuid.UUID | None]  # the shop task that renders it (progress)
    uploaded_by: Mapped[uuid.UUID | None]
    uploaded_by_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rendered_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]


class SasageMeasurement(TenantOwned, Base):
    """The measured product: package sides and weight (they set the catalog's size class)
    and, for apparel, free-form measurements per size in millimetres."""

    __tablename__ = "sasage_measurement"
    __table_args__ = (
        UniqueConstraint("tenant_id", "request_id"),
        _request_fk(),
        CheckConstraint(
            "length_mm > 0 AND width_mm > 0 AND height_mm > 0 AND weight_g > 0", name="positive"
        ),
    )

    id: Mapped[int] = row_id()
    request_id: Mapped[int] = mapped_column(BigInteger)
    length_mm: Mapped[int] = mapped_column(Integer)
    width_mm: Mapped[int] = mapped_column(Integer)
    height_mm: Mapped[int] = mapped_column(Integer)
    weight_g: Mapped[int] = mapped_column(Integer)
    # [{"size": "M", "values": [["着丈", 685], ["身幅", 520]]}], values in mm, in order.
    sizes: Mapped[list] = mapped_column(JSONB, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    measured_by: Mapped[uuid.UUID | None]
    measured_by_name: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class SasageCopy(TenantOwned, Base):
    """One version of the product copy. A change adds a version; none is overwritten."""

    __tablename__ = "sasage_copy"
    __table_args__ = (
        UniqueConstraint("tenant_id", "request_id", "number"),
        _request_fk(),
        CheckConstraint("number > 0", name="number"),
    )

    id: Mapped[int] = row_id()
    request_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    catch_copy: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text)
    materials: Mapped[str] = mapped_column(Text, default="")
    care: Mapped[str] = mapped_column(Text, default="")
    title_en: Mapped[str] = mapped_column(String(255), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    written_by: Mapped[uuid.UUID | None]
    written_by_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
