"""The PDFs of packing and handover: packing slips (納品書) and the handover manifest.

A slip is one page per shipment: the shop's name, logo and message, the parcel's lines
with reduced-rate (8%) items marked ※, and totals per tax rate (tax included, computed
once per rate, rounded down); a shop that sends gifts may leave prices off
(``slip_hide_prices``). A wave's slips are one PDF rendered by a job (a
:class:`SlipDocument` the portal finds it by); one shipment's slip can be reprinted on
the spot. The manifest lists a handover's parcels with counts and a signature line.
Everything renders through ``platform.pdf`` (its restricted URL fetcher: the logo is a
``data:`` URI, and nothing a shop writes can make the worker fetch anything).
"""

from __future__ import annotations

import base64
import functools
from collections import defaultdict
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from urakata.platform import audit, jpaddress, pdf, tasks
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.tenancy import Tenant, get_scoped
from urakata.tenants.fulfilment import services as fulfilment
from urakata.tenants.fulfilment.models import Shipment
from urakata.tenants.orders.models import Order, OrderLine
from urakata.tenants.shipping.errors import NotReady
from urakata.tenants.shipping.handover import manifest_context
from urakata.tenants.shipping.models import SlipDocument
from urakata.tenants.shipping.settings import get_options
from urakata.tenants.shop.models import ShopSettings

SLIPPED = ("inspected", "packed", "shipped")
COOL_NAMES = {"none": "常温", "chilled": "冷蔵", "frozen": "冷凍"}


def yen(value) -> str:
    return f"¥{int(value):,}"


@functools.cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates" / "pdf"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yen"] = yen
    return env


def tax_included(amount_yen: int, rate: int) -> int:
    """The consumption tax inside a tax-included amount, rounded down once per rate."""
    return amount_yen * rate // (100 + rate)


def _shop(session: UrakataSession) -> dict:
    tenant = session.get(Tenant, session.tenant_id)
    settings = session.execute(
        select(ShopSettings.sender_address, ShopSettings.sender_phone, ShopSettings.logo,
               ShopSettings.logo_mime)
    ).one()  # fmt: skip
    logo = ""
    if settings.logo:
        logo = f"data:{settings.logo_mime};base64,{base64.b64encode(settings.logo).decode()}"
    options = get_options(session)
    return {
        "name": tenant.name,
        "address": settings.sender_address,
        "phone": settings.sender_phone,
        "logo": logo,
        "message": options.slip_message,
        "hide_prices": options.slip_hide_prices,
        "zone": tenant.zone,
    }


def slip_data(shipment: Shipment, order: Order, lines: dict[int, OrderLine], parts: int, zone):
    """One slip's values: the parcel's lines (its picks merged per order line)."""
    quantities: dict[int, int] = defaultdict(int)
    for line in shipment.lines:
        quantities[line.order_line_id] += line.quantity
    rows, base = [], defaultdict(int)
    for order_line_id, quantity in quantities.items():
        ol = lines[order_line_id]
        amount = ol.unit_price_yen * quantity
        base[ol.tax_rate] += amount
        rows.append({"name": ol.name, "sku": ol.sku, "quantity": quantity,
                     "unit_price_yen": ol.unit_price_yen, "amount_yen": amount,
                     "reduced": ol.tax_rate == 8, "line_no": ol.line_no})  # fmt: skip
    rows.sort(key=lambda r: r["line_no"])
    code = jpaddress.prefecture_code(shipment.ship_prefecture or "")
    postal = jpaddress.normalise_postal_code(shipment.ship_postal_code or "")
    address = " ".join(p for p in (jpaddress.PREFECTURES.get(code or "", shipment.ship_prefecture),
                                   shipment.ship_city, shipment.ship_street,
                                   shipment.ship_building) if p)  # fmt: skip
    return {
        "label": shipment.label,
        "part": shipment.part,
        "parts": parts,
        "order_number": order.external_id,
        "ordered_on": order.ordered_at.astimezone(zone).date().isoformat(),
        "ship_to": {"name": shipment.ship_name, "address": address,
                    "postal_code": jpaddress.format_postal_code(postal) if postal
                    else shipment.ship_postal_code},
        "lines": rows,
        "has_reduced": any(r["reduced"] for r in rows),
        "taxes": [{"rate": rate, "base_yen": base[rate],
                   "tax_yen": tax_included(base[rate], rate)} for rate in (10, 8) if base[rate]],
        "total_yen": sum(base.values()),
        "gift_message": shipment.gift_message,
    }  # fmt: skip


def slips_html(session: UrakataSession, shipments: list[Shipment], title: str) -> str:
    shop = _shop(session)
    order_ids = {s.order_id for s in shipments}
    orders = {o.id: o for o in session.scalars(select(Order).where(Order.id.in_(order_ids)))}
    lines = {
        line.id: line
        for order in orders.values()
        for line in order.lines
    }  # fmt: skip
    parts: dict[int, int] = defaultdict(int)
    for s in session.scalars(select(Shipment).where(Shipment.order_id.in_(order_ids))):
        if s.status != "cancelled":
            parts[s.order_id] += 1
    slips = [slip_data(s, orders[s.order_id], lines, parts[s.order_id], shop["zone"])
             for s in shipments]  # fmt: skip
    return (
        _env()
        .get_template("slips.html")
        .render(shop=shop, slips=slips, hide_prices=shop["hide_prices"], title=title)
    )


def render_slips(session: UrakataSession, shipments: list[Shipment], title: str):
    return pdf.render(slips_html(session, shipments, title), shop_id=session.tenant_id)


def reprint_slip(session: UrakataSession, *, actor: Actor, shipment_id: int) -> bytes:
    """One shipment's slip again (a torn or lost one); on the ledger."""
    shipment = fulfilment.get_shipment(session, shipment_id)
    if shipment.status not in SLIPPED:
        raise NotReady(N_("Shipment %(label)s is %(state)s: slips are printed from inspection"
                          " on.", label=shipment.label, state=shipment.status))  # fmt: skip
    rendered = render_slips(session, [shipment], shipment.label)
    audit.record(session, actor, "shipping.slip_printed", object_type="shipment",
                 object_id=shipment.id,
                 data={"pages": rendered.pages, "reprint": True})  # fmt: skip
    return rendered.data


# -- a wave's slips (rendered by a job) ------------------------------------------------------------


SLIPS_KIND = "shipping.slips"
SLIPS_JOB = "shipping.render_slips"
SLIPS_QUEUE = "pdf"


def request_wave_slips(session: UrakataSession, *, actor: Actor, wave_id: int) -> SlipDocument:
    """Ask the worker for the wave's slips: a document and its task (the progress bar)."""
    wave = fulfilment.get_wave(session, wave_id)
    if not fulfilment.shipments_of_wave(session, wave.id, statuses=SLIPPED):
        raise NotReady(N_("The wave has no inspected shipments yet: slips follow inspection."))
    pending = latest_slips(session, wave.id)
    if pending is not None and pending.status == "rendering":
        return pending  # a double click (or a second person) follows the same rendering
    document = SlipDocument(wave_id=wave.id, status="rendering", created_by=actor.label[:200],
                            created_at=utcnow())  # fmt: skip
    session.add(document)
    session.flush()
    task = tasks.start_task(session, kind=SLIPS_KIND, actor=actor, job=SLIPS_JOB,
                            queue=SLIPS_QUEUE, document_id=document.id)  # fmt: skip
    document.task_id = task.id
    audit.record(session, actor, "shipping.slips_requested", object_type="wave",
                 object_id=wave.id, data={"document": document.id})  # fmt: skip
    return document


def render_wave_slips(session: UrakataSession, *, actor: Actor, document_id: int) -> SlipDocument:
    """The job's body: render the wave's slips into the document (once)."""
    document = get_scoped(session, SlipDocument, document_id)
    if document.status == "ready":
        return document
    wave = fulfilment.get_wave(session, document.wave_id)
    shipments = fulfilment.shipments_of_wave(session, wave.id, statuses=SLIPPED)
    rendered = render_slips(session, shipments, wave.label)
    document.pdf, document.pages = rendered.data, rendered.pages
    document.status, document.rendered_at = "ready", utcnow()
    session.flush()
    audit.record(session, actor, "shipping.slips_rendered", object_type="wave", object_id=wave.id,
                 data={"document": document.id, "pages": rendered.pages,
                       "shipments": len(shipments)})  # fmt: skip
    return document


def latest_slips(session: UrakataSession, wave_id: int) -> SlipDocument | None:
    return session.scalar(
        select(SlipDocument)
        .where(SlipDocument.wave_id == wave_id)
        .order_by(SlipDocument.id.desc())
        .limit(1)
    )


def get_slips(session: UrakataSession, document_id: int) -> SlipDocument:
    return get_scoped(session, SlipDocument, document_id)


# -- the manifest ---------------------------------------------------------------------------------


def manifest_html(session: UrakataSession, handover_id: int) -> str:
    data = manifest_context(session, handover_id)
    return _env().get_template("manifest.html").render(**data, cool_names=COOL_NAMES)


def render_manifest(session: UrakataSession, *, actor: Actor, handover_id: int) -> bytes:
    rendered = pdf.render(manifest_html(session, handover_id), shop_id=session.tenant_id)
    audit.record(session, actor, "shipping.manifest_printed", object_type="handover",
                 object_id=handover_id, data={"pages": rendered.pages})  # fmt: skip
    return rendered.data
