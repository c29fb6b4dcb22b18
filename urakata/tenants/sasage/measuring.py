"""The measurement task: the product's sides and weight, and apparel sizes.

Saving a measurement also changes the product in the catalog (through its own service,
which records the change and computes the parcel size class from the sides and weight),
so the warehouse and the carriers' size class follow what was measured.
"""

from __future__ import annotations

from sqlalchemy import select

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.tenants.catalog.services import (
    ProductInvalid,
    StaleProduct,
    get_product,
    update_product,
)
from urakata.tenants.sasage.models import SasageMeasurement
from urakata.tenants.sasage.schemas import MeasurementIn
from urakata.tenants.sasage.services import (
    SasageInvalid,
    StaleSasage,
    load,
    record_work,
    task_for_work,
)

SIDES = ("length_mm", "width_mm", "height_mm", "weight_g")
FIELDS = (*SIDES, "sizes", "note")


def get_measurement(session: UrakataSession, request_id: int) -> SasageMeasurement | None:
    return session.scalar(
        select(SasageMeasurement).where(SasageMeasurement.request_id == request_id)
    )


def _snapshot(measurement: SasageMeasurement | None) -> dict:
    if measurement is None:  # the first save: numbers from nothing, no sizes, no note
        return {"sizes": [], "note": ""}
    return {name: getattr(measurement, name) for name in FIELDS}


def save_measurement(
    session: UrakataSession, *, actor: Actor, request_id: int, data: dict
) -> SasageMeasurement:
    """Validate and keep the measurement made on ``data["version"]`` (None the first time);
    the product's sides, weight and size class follow."""
    values = load(MeasurementIn(), data)
    task = task_for_work(session, request_id, "measure")
    current = get_measurement(session, request_id)
    if (current.version if current else None) != values.pop("version"):
        raise StaleSasage(f"the measurement of sasage request {request_id} changed meanwhile")
    before = _snapshot(current)
    if current is None:
        current = SasageMeasurement(request_id=request_id)
        session.add(current)
    after = {name: values.get(name, [] if name == "sizes" else "") for name in FIELDS}
    changes = audit.diff(before, after)
    if not changes:
        return current
    for name in changes:  # only what changed: an unchanged row must not move its version
        setattr(current, name, after[name])
    current.measured_by, current.measured_by_name = actor.user_id, actor.label
    current.updated_at = utcnow()
    product = _update_product(session, actor, task.request.product_id, values)
    record_work(
        session, actor, task, "sasage.measured", changes=changes,
        data={"sku": product.sku, "size_class": product.size_class},
    )  # fmt: skip
    return current


def _update_product(session: UrakataSession, actor: Actor, product_id: int, values: dict):
    product = get_product(session, product_id)
    try:
        return update_product(
            session,
            actor=actor,
            product_id=product.id,
            data={"version": product.version, **{name: values[name] for name in SIDES}},
        )
    except StaleProduct as exc:
        raise StaleSasage(f"product {product.sku} was changed meanwhile") from exc
    except ProductInvalid as exc:  # pragma: no cover - the same limits were checked above
        raise SasageInvalid(exc.errors) from exc
