"""stock: warehouse locations (platform), stock lots, levels, movements (append-only),
daily reconciliations; the shops' minimum remaining shelf life; orders may be allocated

Revision ID: c9a4d6e00009
Revises: b8f3c5d00008
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from urakata.platform.migration_support import each_tenant, enable_tenant_rls, grant_app

revision = "c9a4d6e00009"
down_revision = "b8f3c5d00008"
branch_labels = None
depends_on = None

ORDER_STATUSES_BEFORE = "status IN ('received', 'on_hold', 'confirmed', 'released', 'cancelled')"
ORDER_STATUSES = (
    "status IN ('received', 'on_hold', 'confirmed', 'released', 'allocated', 'cancelled')"
)


def upgrade() -> None:
    op.create_table(
        "location",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.String(length=19), nullable=False),
        sa.Column("zone", sa.String(length=4), nullable=False),
        sa.Column("aisle", sa.String(length=4), nullable=False),
        sa.Column("shelf", sa.String(length=4), nullable=False),
        sa.Column("bin", sa.String(length=4), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("pick_sequence", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "code ~ '^[A-Z0-9]{1,4}-[A-Z0-9]{1,4}-[A-Z0-9]{1,4}-[A-Z0-9]{1,4}$'",
            name=op.f("ck_location_code"),
        ),
        sa.CheckConstraint(
            "kind IN ('pick_face', 'reserve', 'returns', 'damaged')", name=op.f("ck_location_kind")
        ),
        sa.CheckConstraint(
            "pick_sequence BETWEEN 0 AND 9999999", name=op.f("ck_location_pick_sequence")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["tenant.id"], name=op.f("fk_location_shop_id_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location")),
        sa.UniqueConstraint("code", name=op.f("uq_location_code")),
    )
    op.create_index(
        "ix_location_shop_id_pick_sequence", "location", ["shop_id", "pick_sequence"], unique=False
    )
    op.create_table(
        "stock_lot",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("lot_no", sa.String(length=40), nullable=False),
        sa.Column("best_before", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("lot_no <> ''", name=op.f("ck_stock_lot_lot_no")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["product.tenant_id", "product.id"],
            name=op.f("fk_stock_lot_tenant_id_product_id_product"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_stock_lot")),
        sa.UniqueConstraint(
            "tenant_id",
            "product_id",
            "lot_no",
            name=op.f("uq_stock_lot_tenant_id_product_id_lot_no"),
        ),
    )
    op.create_table(
        "stock_level",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("location_id", sa.BigInteger(), nullable=False),
        sa.Column("lot_no", sa.String(length=40), nullable=False),
        sa.Column("best_before", sa.Date(), nullable=True),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "0 <= allocated AND allocated <= on_hand", name=op.f("ck_stock_level_quantities")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_stock_level_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["product.tenant_id", "product.id"],
            name=op.f("fk_stock_level_tenant_id_product_id_product"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_stock_level")),
        sa.UniqueConstraint(
            "tenant_id",
            "product_id",
            "location_id",
            "lot_no",
            name=op.f("uq_stock_level_tenant_id_product_id_location_id_lot_no"),
        ),
    )
    op.create_index(
        "ix_stock_level_tenant_id_location_id",
        "stock_level",
        ["tenant_id", "location_id"],
        unique=False,
    )
    op.create_table(
        "stock_movement",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("location_id", sa.BigInteger(), nullable=False),
        sa.Column("lot_no", sa.String(length=40), nullable=False),
        sa.Column("on_hand_delta", sa.Integer(), nullable=False),
        sa.Column("allocated_delta", sa.Integer(), nullable=False),
        sa.Column("reference_type", sa.String(length=16), nullable=False),
        sa.Column("reference_id", sa.String(length=64), nullable=False),
        sa.Column("reference_line", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("line_no", sa.SmallInteger(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "kind IN ('receipt', 'allocation', 'deallocation', 'pick', 'ship', 'adjustment',"
            " 'return', 'transfer')",
            name=op.f("ck_stock_movement_kind"),
        ),
        sa.CheckConstraint(
            "reference_type IN ('order', 'receipt', 'transfer', 'adjustment', 'return', 'bench')",
            name=op.f("ck_stock_movement_reference_type"),
        ),
        sa.CheckConstraint(
            "on_hand_delta <> 0 OR allocated_delta <> 0", name=op.f("ck_stock_movement_delta")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_stock_movement_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["product.tenant_id", "product.id"],
            name=op.f("fk_stock_movement_tenant_id_product_id_product"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_stock_movement")),
        sa.UniqueConstraint(
            "tenant_id",
            "idempotency_key",
            "line_no",
            name=op.f("uq_stock_movement_tenant_id_idempotency_key_line_no"),
        ),
    )
    op.create_index(
        "ix_stock_movement_tenant_id_product_id_id",
        "stock_movement",
        ["tenant_id", "product_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_stock_movement_tenant_id_reference",
        "stock_movement",
        ["tenant_id", "reference_type", "reference_id"],
        unique=False,
    )
    op.create_table(
        "stock_reconciliation",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("levels", sa.Integer(), nullable=False),
        sa.Column("movements", sa.BigInteger(), nullable=False),
        sa.Column("mismatches", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("mismatch_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_stock_reconciliation")),
        sa.UniqueConstraint(
            "tenant_id", "checked_on", name=op.f("uq_stock_reconciliation_tenant_id_checked_on")
        ),
    )
    # Movements are history: nobody, the owner included, changes or removes one.
    op.execute(
        """
        CREATE FUNCTION stock_movement_is_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'stock_movement is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER stock_movement_no_update_delete BEFORE UPDATE OR DELETE ON stock_movement"
        " FOR EACH ROW EXECUTE FUNCTION stock_movement_is_append_only()"
    )
    op.execute(
        "CREATE TRIGGER stock_movement_no_truncate BEFORE TRUNCATE ON stock_movement"
        " FOR EACH STATEMENT EXECUTE FUNCTION stock_movement_is_append_only()"
    )
    # A third wall behind the services: stock only goes into a bin assigned to its shop.
    op.execute(
        """
        CREATE FUNCTION stock_level_in_own_bin() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF (TG_OP = 'INSERT' OR NEW.on_hand > OLD.on_hand) AND NOT EXISTS (
                SELECT 1 FROM location WHERE id = NEW.location_id AND shop_id = NEW.tenant_id
            ) THEN
                RAISE EXCEPTION 'bin % is not assigned to this shop', NEW.location_id
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER stock_level_own_bin BEFORE INSERT OR UPDATE OF on_hand ON stock_level"
        " FOR EACH ROW EXECUTE FUNCTION stock_level_in_own_bin()"
    )
    grant_app("location", "SELECT, INSERT, UPDATE")
    enable_tenant_rls("stock_lot", "SELECT, INSERT")
    enable_tenant_rls("stock_level", "SELECT, INSERT, UPDATE")
    enable_tenant_rls("stock_movement", "SELECT, INSERT")
    enable_tenant_rls("stock_reconciliation", "SELECT, INSERT, UPDATE")

    op.add_column(
        "shop_settings",
        sa.Column("min_shelf_life_days", sa.Integer(), nullable=False, server_default="0"),
    )
    op.alter_column("shop_settings", "min_shelf_life_days", server_default=None)
    op.create_check_constraint(
        op.f("ck_shop_settings_min_shelf_life"),
        "shop_settings",
        "min_shelf_life_days BETWEEN 0 AND 3650",
    )
    op.drop_constraint(op.f("ck_sales_order_status"), "sales_order", type_="check")
    op.create_check_constraint(op.f("ck_sales_order_status"), "sales_order", ORDER_STATUSES)


def downgrade() -> None:
    # Allocated orders wait for allocation again (their stock ledger goes with the tables).
    for _tenant_id in each_tenant():
        op.execute("UPDATE sales_order SET status = 'released' WHERE status = 'allocated'")
    op.drop_constraint(op.f("ck_sales_order_status"), "sales_order", type_="check")
    op.create_check_constraint(op.f("ck_sales_order_status"), "sales_order", ORDER_STATUSES_BEFORE)
    op.drop_constraint(op.f("ck_shop_settings_min_shelf_life"), "shop_settings", type_="check")
    op.drop_column("shop_settings", "min_shelf_life_days")
    op.drop_table("stock_reconciliation")
    op.drop_index("ix_stock_movement_tenant_id_reference", table_name="stock_movement")
    op.drop_index("ix_stock_movement_tenant_id_product_id_id", table_name="stock_movement")
    op.drop_table("stock_movement")
    op.drop_index("ix_stock_level_tenant_id_location_id", table_name="stock_level")
    op.drop_table("stock_level")
    op.drop_table("stock_lot")
    op.drop_index("ix_location_shop_id_pick_sequence", table_name="location")
    op.drop_table("location")
    op.execute("DROP FUNCTION stock_level_in_own_bin()")
    op.execute("DROP FUNCTION stock_movement_is_append_only()")
