"""Creating, changing and finding a shop's products. Services never commit.

Every change is recorded on the shop's ledger chain with the fields before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.tenancy import get_scoped
from urakata.tenants.catalog.models import Product, ProductBarcode
from urakata.tenants.catalog.schemas import load_product

# Parcel size classes by the sum of the three sides and the weight (Yamato's table; the
# carriers' tables differ slightly [P], so this is the one place to correct them).
SIZE_CLASSES = (
    (60, 600, 2_000),
    (80, 800, 5_000),
    (100, 1_000, 10_000),
    (120, 1_200, 15_000),
    (140, 1_400, 20_000),
    (160, 1_600, 25_000),
)
FIELDS = (
    "sku",
    "jan",
    "name",
    "name_en",
    "price_yen",
    "tax_rate",
    "sale_starts_at",
    "status",
    "length_mm",
    "width_mm",
    "height_mm",
    "weight_g",
    "temperature_zone",
    "lot_tracked",
    "case_quantity",
    "case_itf14",
)


class ProductInvalid(ValueError):
    """Input a user can fix; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[Any]]):
        super().__init__("; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))
        self.errors = errors


class StaleProduct(RuntimeError):
    """Someone changed the product since the given version (409)."""


def size_class(length_mm, width_mm, height_mm, weight_g) -> int | None:
    """The parcel size class, or None when a measure is unknown or it is over 160."""
    if None in (length_mm, width_mm, height_mm, weight_g):
        return None
    total = length_mm + width_mm + height_mm
    for name, max_sides, max_weight in SIZE_CLASSES:
        if total <= max_sides and weight_g <= max_weight:
            return name
    return None


def _load(data: dict, zone: str, patch: bool) -> dict:
    try:
        return load_product(data, zone=zone, patch=patch)
    except ValidationError as exc:
        raise ProductInvalid(_flatten(exc.messages)) from exc


def _flatten(messages) -> dict[str, list]:
    if isinstance(messages, dict):
        return {k: (v if isinstance(v, list) else [v]) for k, v in messages.items()}
    return {"_schema": list(messages)}


def _codes_of(values: dict) -> list[tuple[str, str, str]]:
    """(field, code, kind) for every code the product will answer to."""
    codes = []
    if values.get("jan"):
        codes.append(("jan", values["jan"], "jan" if len(values["jan"]) == 13 else "gtin8"))
    if values.get("case_itf14"):
        codes.append(("case_itf14", values["case_itf14"], "itf14"))
    codes.extend(("barcodes", code, "shop") for code in values.get("barcodes", []))
    return codes


def _duplicates(session: UrakataSession, values: dict, product_id: int | None) -> dict:
    errors: dict[str, list] = {}
    if "sku" in values:
        taken = session.scalar(
            select(Product.id).where(Product.sku == values["sku"], Product.id != (product_id or 0))
        )
        if taken:
            errors["sku"] = [N_("The SKU %(sku)s is already used in this shop.", sku=values["sku"])]
    seen: dict[str, str] = {}
    for field, code, _kind in _codes_of(values):
        if code in seen and seen[code] != field:
            errors.setdefault(field, []).append(N_("The code %(code)s is given twice.", code=code))
        seen[code] = field
    if seen:
        owners = session.execute(
            select(ProductBarcode.code, Product.sku)
            .join(Product, Product.id == ProductBarcode.product_id)
            .where(ProductBarcode.code.in_(seen), ProductBarcode.product_id != (product_id or 0))
        ).all()
        for code, sku in owners:
            errors.setdefault(seen[code], []).append(
                N_("The code %(code)s already belongs to %(sku)s.", code=code, sku=sku)
            )
    return errors


def _sync_barcodes(product: Product, values: dict) -> None:
    wanted = {(code, kind) for _f, code, kind in _codes_of(values)}
    for barcode in list(product.barcodes):
        if (barcode.code, barcode.kind) not in wanted:
            product.barcodes.remove(barcode)
    have = {(b.code, b.kind) for b in product.barcodes}
    for code, kind in sorted(wanted - have):
        product.barcodes.append(ProductBarcode(code=code, kind=kind))


def _current(product: Product) -> dict:
    values = {f: getattr(product, f) for f in FIELDS}
    values["barcodes"] = [b.code for b in product.barcodes if b.kind == "shop"]
    return values


def create_product(
    session: UrakataSession, *, actor: Actor, data: dict, zone: str = "Asia/Tokyo"
) -> Product:
    values = _load(data, zone, patch=False)
    errors = _duplicates(session, values, None)
    if errors:
        raise ProductInvalid(errors)
    product = Product(**{k: v for k, v in values.items() if k in FIELDS})
    product.size_class = size_class(
        product.length_mm, product.width_mm, product.height_mm, product.weight_g
    )
    session.add(product)
    _sync_barcodes(product, values)
    session.flush()
    audit.record(
        session,
        actor,
        "product.created",
        object_type="product",
        object_id=product.id,
        changes={k: (None, v) for k, v in _current(product).items() if v not in (None, "", [])},
    )
    return product


def update_product(
    session: UrakataSession,
    *,
    actor: Actor,
    product_id: int,
    data: dict,
    zone: str = "Asia/Tokyo",
) -> Product:
    """Apply the given fields if ``data["version"]`` is still current (else StaleProduct)."""
    values = _load(data, zone, patch=True)
    product = get_product(session, product_id)
    if product.version != values.pop("version"):
        raise StaleProduct(f"product {product.sku} is at version {product.version}")
    errors = _duplicates(session, values, product.id)
    if errors:
        raise ProductInvalid(errors)
    before = _current(product)
    merged = {**before, **values}
    for field in FIELDS:
        if field in values:
            setattr(product, field, values[field])
    product.size_class = size_class(
        product.length_mm, product.width_mm, product.height_mm, product.weight_g
    )
    _sync_barcodes(product, merged)
    changes = audit.diff(before, _current(product))
    if not changes:
        return product
    product.updated_at = utcnow()
    try:
        session.flush()
    except StaleDataError as exc:  # changed by another transaction since we read it
        raise StaleProduct(f"product {product.sku} was changed meanwhile") from exc
    audit.record(
        session,
        actor,
        "product.updated",
        object_type="product",
        object_id=product.id,
        changes=changes,
        data={"version": product.version},
    )
    return product


def get_product(session: UrakataSession, product_id: int) -> Product:
    return get_scoped(session, Product, product_id)


def find_by_code(session: UrakataSession, code: str) -> Product | None:
    """The product a scanned or typed code (JAN, ITF-14, shop code) belongs to."""
    return session.scalar(select(Product).join(ProductBarcode).where(ProductBarcode.code == code))


@dataclass(frozen=True)
class ProductPage:
    items: list[Product]
    next_after: int | None


def list_products(
    session: UrakataSession,
    *,
    query: str = "",
    status: str | None = None,
    temperature_zone: str | None = None,
    updated_since: datetime | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> ProductPage:
    """Keyset-paginated by id; search matches SKU, JAN, any barcode or the name."""
    stmt = select(Product).order_by(Product.id).limit(limit + 1)
    if query:
        like = f"%{query}%"
        coded = select(ProductBarcode.product_id).where(ProductBarcode.code == query)
        stmt = stmt.where(
            or_(
                Product.sku.ilike(like),
                Product.name.ilike(like),
                Product.name_en.ilike(like),
                Product.id.in_(coded),
            )
        )
    if status:
        stmt = stmt.where(Product.status == status)
    if temperature_zone:
        stmt = stmt.where(Product.temperature_zone == temperature_zone)
    if updated_since:
        stmt = stmt.where(Product.updated_at >= updated_since)
    if after_id:
        stmt = stmt.where(Product.id > after_id)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    items = rows[:limit]
    return ProductPage(items, items[-1].id if more else None)
