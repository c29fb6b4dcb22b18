"""sasage: requests, their photo / measure / copy tasks, reviews, photos, measurements,
copy versions

Revision ID: b8f3c5d00008
Revises: a7e2b4c00007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from urakata.platform.migration_support import enable_tenant_rls

revision = "b8f3c5d00008"
down_revision = "a7e2b4c00007"
branch_labels = None
depends_on = None

TABLES = (
    "sasage_request",
    "sasage_task",
    "sasage_review",
    "sasage_image",
    "sasage_measurement",
    "sasage_copy",
)


def upgrade() -> None:
    op.create_table(
        "sasage_request",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("requested_by_name", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["product.tenant_id", "product.id"],
            name=op.f("fk_sasage_request_tenant_id_product_id_product"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sasage_request")),
        sa.UniqueConstraint(
            "tenant_id", "product_id", name=op.f("uq_sasage_request_tenant_id_product_id")
        ),
    )
    op.create_index(
        "ix_sasage_request_tenant_id_completed_at",
        "sasage_request",
        ["tenant_id", "completed_at"],
        unique=False,
    )
    op.create_table(
        "sasage_copy",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("catch_copy", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("materials", sa.Text(), nullable=False),
        sa.Column("care", sa.Text(), nullable=False),
        sa.Column("title_en", sa.String(length=255), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("written_by", sa.Uuid(), nullable=True),
        sa.Column("written_by_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("number > 0", name=op.f("ck_sasage_copy_number")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "request_id"],
            ["sasage_request.tenant_id", "sasage_request.id"],
            name=op.f("fk_sasage_copy_tenant_id_request_id_sasage_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sasage_copy")),
        sa.UniqueConstraint(
            "tenant_id",
            "request_id",
            "number",
            name=op.f("uq_sasage_copy_tenant_id_request_id_number"),
        ),
    )
    op.create_table(
        "sasage_image",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_main", sa.Boolean(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("renditions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=False),
        sa.Column("render_task_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_by", sa.Uuid(), nullable=True),
        sa.Column("uploaded_by_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "format IN ('jpeg', 'png', 'webp')", name=op.f("ck_sasage_image_format")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'ready', 'failed')", name=op.f("ck_sasage_image_status")
        ),
        sa.CheckConstraint(
            "byte_size > 0 AND width > 0 AND height > 0", name=op.f("ck_sasage_image_size")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "request_id"],
            ["sasage_request.tenant_id", "sasage_request.id"],
            name=op.f("fk_sasage_image_tenant_id_request_id_sasage_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sasage_image")),
    )
    op.create_index(
        "ix_sasage_image_tenant_id_request_id_position",
        "sasage_image",
        ["tenant_id", "request_id", "position"],
        unique=False,
    )
    op.create_index(
        "uq_sasage_image_tenant_id_request_id_main",
        "sasage_image",
        ["tenant_id", "request_id"],
        unique=True,
        postgresql_where=sa.text("is_main AND removed_at IS NULL"),
    )
    op.create_index(
        "uq_sasage_image_tenant_id_request_id_sha256",
        "sasage_image",
        ["tenant_id", "request_id", "sha256"],
        unique=True,
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.create_table(
        "sasage_measurement",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("length_mm", sa.Integer(), nullable=False),
        sa.Column("width_mm", sa.Integer(), nullable=False),
        sa.Column("height_mm", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("sizes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("measured_by", sa.Uuid(), nullable=True),
        sa.Column("measured_by_name", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length_mm > 0 AND width_mm > 0 AND height_mm > 0 AND weight_g > 0",
            name=op.f("ck_sasage_measurement_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "request_id"],
            ["sasage_request.tenant_id", "sasage_request.id"],
            name=op.f("fk_sasage_measurement_tenant_id_request_id_sasage_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sasage_measurement")),
        sa.UniqueConstraint(
            "tenant_id", "request_id", name=op.f("uq_sasage_measurement_tenant_id_request_id")
        ),
    )
    op.create_table(
        "sasage_task",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('photo', 'measure', 'copy')", name=op.f("ck_sasage_task_kind")
        ),
        sa.CheckConstraint(
            "state IN ('todo', 'in_progress', 'waiting', 'returned', 'approved')",
            name=op.f("ck_sasage_task_state"),
        ),
        sa.CheckConstraint("return_count >= 0", name=op.f("ck_sasage_task_return_count")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "request_id"],
            ["sasage_request.tenant_id", "sasage_request.id"],
            name=op.f("fk_sasage_task_tenant_id_request_id_sasage_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sasage_task")),
        sa.UniqueConstraint(
            "tenant_id", "request_id", "kind", name=op.f("uq_sasage_task_tenant_id_request_id_kind")
        ),
    )
    op.create_index(
        "ix_sasage_task_tenant_id_state_due_date",
        "sasage_task",
        ["tenant_id", "state", "due_date"],
        unique=False,
    )
    op.create_table(
        "sasage_review",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("task_version", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Uuid(), nullable=True),
        sa.Column("reviewer_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('approved', 'returned')", name=op.f("ck_sasage_review_decision")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "task_id"],
            ["sasage_task.tenant_id", "sasage_task.id"],
            name=op.f("fk_sasage_review_tenant_id_task_id_sasage_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sasage_review")),
    )
    op.create_index(
        "ix_sasage_review_tenant_id_task_id",
        "sasage_review",
        ["tenant_id", "task_id"],
        unique=False,
    )
    for table in TABLES:
        enable_tenant_rls(table)


def downgrade() -> None:
    op.drop_index("ix_sasage_review_tenant_id_task_id", table_name="sasage_review")
    op.drop_table("sasage_review")
    op.drop_index("ix_sasage_task_tenant_id_state_due_date", table_name="sasage_task")
    op.drop_table("sasage_task")
    op.drop_table("sasage_measurement")
    op.drop_index(
        "uq_sasage_image_tenant_id_request_id_sha256",
        table_name="sasage_image",
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.drop_index(
        "uq_sasage_image_tenant_id_request_id_main",
        table_name="sasage_image",
        postgresql_where=sa.text("is_main AND removed_at IS NULL"),
    )
    op.drop_index("ix_sasage_image_tenant_id_request_id_position", table_name="sasage_image")
    op.drop_table("sasage_image")
    op.drop_table("sasage_copy")
    op.drop_index("ix_sasage_request_tenant_id_completed_at", table_name="sasage_request")
    op.drop_table("sasage_request")
