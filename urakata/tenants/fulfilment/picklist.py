"""The wave's pick list PDF: one walk through the bins, then the sort-to-order list.

The first part lists every (bin, product, lot) the wave needs once, with the total to
take, in the bins' pick-path order (batch picking): a JAN barcode (Code128 of the SKU
when the product has no valid JAN), the lot and best-before for lot-tracked stock. The
second part lists the shipments with their slot (間口) and a Code128 of the shipment's
label, which the scan station reads; for waves of multi-item parcels it is the list to
sort the picked pieces into orders by.

Rendering goes through :func:`urakata.platform.pdf.render` (WeasyPrint, the restricted
URL fetcher, the Japanese font). :func:`render_pick_list` stores the PDF once per wave:
a second run finds it and renders nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from urakata.platform import audit, barcodes, pdf
from urakata.platform.audit import Actor
from urakata.platform.codes import is_valid_gtin
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.tenancy import Tenant
from urakata.tenants.catalog.models import Product
from urakata.tenants.fulfilment.models import ENDED, PickList, Shipment, ShipmentLine, Wave
from urakata.tenants.fulfilment.waves import get_wave
from urakata.tenants.orders.models import Order

TEMPLATES = Path(__file__).resolve().parent / "templates"
KIND_JA = {"single": "単品（シングル）", "multi": "複数品（マルチ・種まき）", "mixed": "混在"}
CARRIER_JA = {"yamato": "ヤマト運輸", "sagawa": "佐川急便", "japan_post": "日本郵便"}
COOL_JA = {"none": "常温", "chilled": "冷蔵", "frozen": "冷凍"}

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def css_string(value: str) -> Markup:
    """Text for a CSS string inside <style>: quotes, backslashes and '<' escaped."""
    out = []
    for ch in value:
        out.append(f"\\{ord(ch):x} " if ch in "\"'\\<>\n" else ch)
    return Markup("".join(out))  # noqa: S704 - quotes, backslash and <> escaped above


@dataclass
class PickRow:
    bin_code: str
    pick_sequence: int
    sku: str
    name: str
    code: str
    lot_no: str
    best_before: date | None
    quantity: int = 0
    barcode: str = ""


@dataclass
class SortRow:
    slot: int
    label: str
    order_number: str
    units: int
    cool_label: str
    barcode: str = ""
    items: list[dict] = field(default_factory=list)


@dataclass
class PickListData:
    wave: Wave
    shop_name: str
    pick_rows: list[PickRow]
    shipments: list[SortRow]


class _Barcodes:
    """Each distinct code drawn once per document."""

    def __init__(self):
        self._cache: dict[tuple[str, str], str] = {}

    def jan(self, code: str) -> str:
        if code.isdigit() and len(code) in (8, 13) and is_valid_gtin(code, (8, 13)):
            return self._draw("ean", code, barcodes.ean_svg)
        return self.code128(code)

    def code128(self, value: str) -> str:
        if not value.isascii():
            return ""
        return self._draw("c128", value, barcodes.code128_svg)

    def _draw(self, kind: str, value: str, draw: Callable[[str], str]) -> str:
        key = (kind, value)
        if key not in self._cache:
            self._cache[key] = barcodes.data_uri(draw(value))
        return self._cache[key]


def collect(session: UrakataSession, wave_id: int) -> PickListData:
    """What the pick list shows (the wave's live shipments)."""
    wave = get_wave(session, wave_id)
    shop_name = session.scalar(select(Tenant.name).where(Tenant.id == session.tenant_id))
    rows = session.execute(
        select(ShipmentLine, Shipment.id, Shipment.cool_type, Order.external_id, Product.jan)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(Order, Order.id == Shipment.order_id)
        .join(Product, Product.id == ShipmentLine.product_id)
        .where(Shipment.wave_id == wave.id, Shipment.status.not_in(ENDED))
        .order_by(Shipment.id, ShipmentLine.id)
    ).all()
    draw = _Barcodes()
    picks: dict[tuple, PickRow] = {}
    sorts: dict[int, SortRow] = {}
    for line, shipment_id, cool_type, external_id, jan in rows:
        key = (line.location_id, line.product_id, line.lot_no)
        if key not in picks:
            code = jan or line.sku
            picks[key] = PickRow(
                line.bin_code,
                line.pick_sequence,
                line.sku,
                line.name,
                code,
                line.lot_no,
                line.best_before,
                barcode=draw.jan(code),
            )
        picks[key].quantity += line.quantity
        if shipment_id not in sorts:
            label = f"SH{shipment_id:010d}"
            cool = COOL_JA[cool_type] if cool_type != "none" else ""
            sorts[shipment_id] = SortRow(
                len(sorts) + 1, label, external_id, 0, cool, barcode=draw.code128(label)
            )
        sort = sorts[shipment_id]
        sort.units += line.quantity
        sort.items.append({"sku": line.sku, "quantity": line.quantity, "lot_no": line.lot_no})
    ordered = sorted(picks.values(), key=lambda r: (r.pick_sequence, r.bin_code, r.sku, r.lot_no))
    return PickListData(wave, shop_name or "", ordered, list(sorts.values()))


def pick_list_html(data: PickListData, *, printed_at: str = "") -> str:
    wave = data.wave
    return _env.get_template("pick_list.html").render(
        wave=wave,
        shop_name=data.shop_name,
        shop_name_css=css_string(data.shop_name),
        printed_at=css_string(printed_at),
        kind_label=KIND_JA[wave.kind],
        carrier_label=CARRIER_JA.get(wave.carrier or "", "複数"),
        cool_label=COOL_JA.get(wave.cool_type or "", "混在"),
        ship_by=wave.ship_by_date.isoformat() if wave.ship_by_date else "—",
        shipment_count=len(data.shipments),
        unit_count=sum(s.units for s in data.shipments),
        wave_barcode=barcodes.data_uri(barcodes.code128_svg(wave.label)),
        pick_rows=data.pick_rows,
        shipments=data.shipments,
        sort_list=wave.kind != "single",
    )


def get_pick_list(session: UrakataSession, wave_id: int) -> PickList | None:
    return session.scalar(select(PickList).where(PickList.wave_id == wave_id))


def render_pick_list(
    session: UrakataSession,
    *,
    actor: Actor,
    wave_id: int,
    progress: Callable[[int, int], None] | None = None,
    printed_at: str = "",
) -> PickList:
    """Render and store the wave's pick list, once: a pick list made already is returned
    as it is (a re-run of the job renders nothing)."""
    report = progress or (lambda done, total: None)
    existing = get_pick_list(session, wave_id)
    if existing is not None and existing.status == "ready":
        return existing
    report(0, 3)
    data = collect(session, wave_id)
    zone = session.get(Tenant, session.tenant_id).zone
    printed_at = printed_at or utcnow().astimezone(zone).strftime("%Y-%m-%d %H:%M")
    html = pick_list_html(data, printed_at=printed_at)
    report(1, 3)
    started = time.perf_counter()
    rendered = pdf.render(html, shop_id=session.tenant_id)
    seconds = time.perf_counter() - started
    report(2, 3)
    values = {
        "tenant_id": session.tenant_id,
        "wave_id": wave_id,
        "status": "ready",
        "pdf": rendered.data,
        "pages": rendered.pages,
        "byte_size": len(rendered.data),
        "sha256": hashlib.sha256(rendered.data).hexdigest(),
        "rendered_at": utcnow(),
        "render_seconds": round(seconds, 3),
        "created_at": utcnow(),
    }
    stmt = pg_insert(PickList).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "wave_id"],
        set_={k: stmt.excluded[k] for k in values if k not in ("tenant_id", "wave_id")},
        where=PickList.status != "ready",
    )
    session.execute(stmt)
    made = get_pick_list(session, wave_id)
    session.refresh(made)
    audit.record(
        session,
        actor,
        "wave.pick_list_rendered",
        object_type="wave",
        object_id=wave_id,
        data={
            "wave": data.wave.label,
            "pages": made.pages,
            "bytes": made.byte_size,
            "sha256": made.sha256,
            "lines": len(data.pick_rows),
            "shipments": len(data.shipments),
        },
    )
    report(3, 3)
    return made
