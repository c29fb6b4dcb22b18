"""planning: reorder points, forecasts, proposals, stock snapshots

Revision ID: a4e8bac3000d
Revises: f3d7a9b2000c
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from urakata.platform.migration_support import enable_tenant_rls

revision = "a4e8bac3000d"
down_revision = "f3d7a9b2000c"
branch_labels = None
depends_on = None

TABLES = (
    "planning_settings",
    "reorder_point",
    "low_stock_notice",
    "sku_forecast",
    "reorder_proposal",
    "stock_snapshot_day",
    "stock_snapshot",
)


def _product_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "product_id"],
        ["product.tenant_id", "product.id"],
        name=op.f(f"fk_{table}_tenant_id_product_id_product"),
    )


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False)


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.Uuid(), nullable=False)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "planning_settings",
        _tenant(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("horizon_weeks", sa.SmallInteger(), nullable=False),
        sa.Column("lead_time_days", sa.SmallInteger(), nullable=False),
        sa.Column("service_level_pct", sa.SmallInteger(), nullable=False),
        sa.Column("review_days", sa.SmallInteger(), nullable=False),
        _ts("updated_at"),
        sa.CheckConstraint("horizon_weeks BETWEEN 2 AND 13", name=op.f("ck_planning_settings_horizon")),
        sa.CheckConstraint("lead_time_days BETWEEN 1 AND 180", name=op.f("ck_planning_settings_lead_time")),
        sa.CheckConstraint("service_level_pct BETWEEN 50 AND 99", name=op.f("ck_planning_settings_service_level")),
        sa.CheckConstraint("review_days BETWEEN 1 AND 90", name=op.f("ck_planning_settings_review")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_planning_settings")),
    )  # fmt: skip
    op.create_table(
        "reorder_point",
        _tenant(),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.SmallInteger(), nullable=True),
        sa.Column("alert_state", sa.String(length=8), nullable=False),
        _ts("state_changed_at", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("updated_at"),
        sa.CheckConstraint("mode IN ('manual', 'suggested')", name=op.f("ck_reorder_point_mode")),
        sa.CheckConstraint("alert_state IN ('ok', 'low')", name=op.f("ck_reorder_point_alert_state")),
        sa.CheckConstraint("reorder_point BETWEEN 0 AND 1000000", name=op.f("ck_reorder_point_reorder_point")),
        sa.CheckConstraint("lead_time_days IS NULL OR lead_time_days BETWEEN 1 AND 365", name=op.f("ck_reorder_point_lead")),
        _product_fk("reorder_point"),
        sa.PrimaryKeyConstraint("tenant_id", "product_id", name=op.f("pk_reorder_point")),
    )  # fmt: skip
    op.create_index(
        "ix_reorder_point_tenant_id_alert_state", "reorder_point", ["tenant_id", "alert_state"]
    )
    op.create_table(
        "low_stock_notice",
        _tenant(),
        _id(),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        _ts("crossed_at"),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        _ts("read_at", nullable=True),
        sa.Column("read_by", sa.String(length=200), nullable=False),
        _product_fk("low_stock_notice"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_low_stock_notice")),
    )
    op.create_index(
        "ix_low_stock_notice_tenant_id_read_at",
        "low_stock_notice",
        ["tenant_id", "read_at", "id"],
    )
    op.create_table(
        "sku_forecast",
        _tenant(),
        _id(),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        _ts("made_at"),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("history_days", sa.Integer(), nullable=False),
        sa.Column("daily", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("lower", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("upper", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sigma", sa.Float(), nullable=False),
        sa.Column("lead_time_days", sa.SmallInteger(), nullable=False),
        sa.Column("safety_stock", sa.Integer(), nullable=False),
        sa.Column("suggested_reorder_point", sa.Integer(), nullable=False),
        sa.Column("mape_pct", sa.Float(), nullable=True),
        sa.Column("mape_weeks", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("method IN ('holt_winters', 'average')", name=op.f("ck_sku_forecast_method")),
        _product_fk("sku_forecast"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sku_forecast")),
        sa.UniqueConstraint("tenant_id", "product_id", "starts_on", name=op.f("uq_sku_forecast_tenant_id_product_id_starts_on")),
    )  # fmt: skip
    op.create_index(
        "ix_sku_forecast_tenant_id_starts_on", "sku_forecast", ["tenant_id", "starts_on"]
    )
    op.create_table(
        "reorder_proposal",
        _tenant(),
        _id(),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("on_order", sa.Integer(), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.SmallInteger(), nullable=False),
        sa.Column("cover_days", sa.SmallInteger(), nullable=False),
        sa.Column("demand", sa.Integer(), nullable=False),
        sa.Column("safety_stock", sa.Integer(), nullable=False),
        sa.Column("case_quantity", sa.Integer(), nullable=True),
        sa.Column("suggested_quantity", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("inbound_notice_id", sa.String(length=64), nullable=True),
        _ts("decided_at", nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('open', 'accepted', 'dismissed', 'withdrawn')", name=op.f("ck_reorder_proposal_status")),
        sa.CheckConstraint("suggested_quantity > 0 AND coalesce(quantity, 1) > 0", name=op.f("ck_reorder_proposal_quantity")),
        _product_fk("reorder_proposal"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_reorder_proposal")),
    )  # fmt: skip
    op.create_index(
        "ix_reorder_proposal_tenant_id_status_id",
        "reorder_proposal",
        ["tenant_id", "status", "id"],
    )
    op.create_index(
        "uq_reorder_proposal_tenant_id_product_id_open",
        "reorder_proposal",
        ["tenant_id", "product_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "stock_snapshot_day",
        _tenant(),
        sa.Column("day", sa.Date(), nullable=False),
        _ts("taken_at"),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("pieces", sa.BigInteger(), nullable=False),
        sa.Column("bins", sa.Integer(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", name=op.f("pk_stock_snapshot_day")),
    )
    op.create_table(
        "stock_snapshot",
        _tenant(),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("location_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 0 AND received >= 0", name=op.f("ck_stock_snapshot_quantities")),
        sa.ForeignKeyConstraint(["location_id"], ["location.id"], name=op.f("fk_stock_snapshot_location_id_location")),
        sa.ForeignKeyConstraint(["tenant_id", "day"], ["stock_snapshot_day.tenant_id", "stock_snapshot_day.day"], name=op.f("fk_stock_snapshot_tenant_id_day_stock_snapshot_day")),
        _product_fk("stock_snapshot"),
        sa.PrimaryKeyConstraint("tenant_id", "day", "location_id", "product_id", name=op.f("pk_stock_snapshot")),
    )  # fmt: skip
    op.create_index(
        "ix_stock_snapshot_tenant_id_product_id_day",
        "stock_snapshot",
        ["tenant_id", "product_id", "day"],
    )
    for table in TABLES:
        enable_tenant_rls(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
