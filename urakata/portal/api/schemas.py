"""API schemas, one per direction (``…Query`` for query strings, ``…Out`` for responses).

Every load schema rejects unknown fields (422 naming them) and none accepts a tenant or
shop id: the shop always comes from the API key.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from urakata.tenants.shop.models import SPLIT_POLICIES


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class ShopQuery(StrictSchema):
    """GET /shop takes no query parameters; any given is refused rather than ignored."""


class ShopOut(ma.Schema):
    slug = fields.String(
        required=True, metadata={"description": "The shop's URL name, as in /s/<slug>/."}
    )
    name = fields.String(required=True, metadata={"description": "The shop's display name."})
    timezone = fields.String(
        required=True,
        metadata={"description": "IANA time zone the shop's business days run in."},
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(("active", "suspended")),
        metadata={"description": "Whether the agency currently works for the shop."},
    )
    same_day_cutoff = fields.Time(
        required=True,
        format="%H:%M",
        metadata={
            "description": "Orders confirmed before this local time ship the same day (HH:MM).",
            "example": "14:00",
            "pattern": r"^\d{2}:\d{2}$",
        },
    )
    split_policy = fields.String(
        required=True,
        validate=validate.OneOf(SPLIT_POLICIES),
        metadata={"description": "How an order with missing stock is shipped."},
    )
    sasage_turnaround_days = fields.Integer(
        required=True,
        metadata={"description": "Business days agreed for sasage (photos, sizes, copy)."},
    )
