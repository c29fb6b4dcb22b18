"""Labels for goods that arrive without a barcode: one Code128 label per piece with the
SKU, the product's name, the lot and the notice, printed on a label printer (50 × 30 mm).
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, select_autoescape

from urakata.platform.barcodes import code128_svg, data_uri
from urakata.platform.db import UrakataSession
from urakata.platform.pdf import render_pdf
from urakata.tenants.inbound.models import InboundNotice
from urakata.tenants.inbound.services import items_of

LABELS_MAX = 1_000  # one document; more is a mistake in the notice, not a print run

_TEMPLATE = Environment(autoescape=select_autoescape(default=True)).from_string(
    """<!doctype html><html lang="ja"><head><meta charset="utf-8"><style>
@page { size: 50mm 30mm; margin: 2mm; }
body { margin: 0; font-size: 7pt; }
.label { page-break-after: always; height: 26mm; overflow: hidden; }
.label:last-child { page-break-after: auto; }
.name { font-size: 7pt; line-height: 1.15; max-height: 2.4em; overflow: hidden; }
.meta { font-size: 6pt; }
img { width: 46mm; height: 14mm; }
</style></head><body>
{% for label in labels %}<div class="label">
<img src="{{ label.barcode }}" alt="{{ label.sku }}">
<div class="name">{{ label.name }}</div>
<div class="meta">{{ label.sku }}{% if label.lot_no %} · {{ label.lot_no }}{% endif %}
 · {{ number }}</div>
</div>{% endfor %}
</body></html>"""
)


@dataclass(frozen=True)
class Label:
    sku: str
    name: str
    lot_no: str
    barcode: str


def needs_label(product) -> bool:
    """A product with no JAN and no other barcode of the shop."""
    return not product.jan and not product.barcodes


def labels_for(session: UrakataSession, notice: InboundNotice) -> list[Label]:
    """One label per piece of the SKUs without a barcode: the pieces received, or the
    pieces expected while nothing is received yet."""
    received = [
        (i.product, i.lot_no, i.quantity)
        for i in items_of(session, notice.id)
        if i.product is not None and i.condition != "unknown"
    ]
    if not received:
        received = [(line.product, line.lot_no, line.quantity) for line in notice.lines]
    labels: list[Label] = []
    for product, lot_no, quantity in received:
        if not needs_label(product):
            continue
        barcode = data_uri(code128_svg(product.sku, text=True))
        labels.extend([Label(product.sku, product.name, lot_no, barcode)] * quantity)
    return labels[:LABELS_MAX]


def render_labels(labels: list[Label], number: str) -> bytes:
    """The labels as a PDF, one 50 × 30 mm page each."""
    return render_pdf(_TEMPLATE.render(labels=labels, number=number))


def labels_pdf(session: UrakataSession, notice: InboundNotice) -> bytes | None:
    """The notice's labels as a PDF, or None when every SKU has a barcode."""
    labels = labels_for(session, notice)
    return render_labels(labels, notice.number) if labels else None
