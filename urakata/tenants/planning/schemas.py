"""Planning schemas, one per direction: ``…In`` for what the portal or a system sends
(unknown fields refused, no tenant), ``…Out`` for the API's answers."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from urakata.platform.fields import N_, BaseField, WholeNumber, normalise_text
from urakata.tenants.orders.schemas import flatten_errors
from urakata.tenants.planning.errors import PlanningInvalid
from urakata.tenants.planning.models import MODES, REORDER_POINT_MAX

QUANTITY_MAX = 1_000_000
_ERRORS = {"unknown": N_("Unknown field."), "type": N_("Send a JSON object.")}


class PiecesOrNone(BaseField):
    """Pieces, 0 or more; a negative number is named as such (blank: none)."""

    def __init__(self, *, maximum: int, **kwargs):
        super().__init__(**kwargs)
        self.maximum = maximum

    def _deserialize(self, value, attr, data, **kwargs) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = normalise_text(value).replace(",", "") if isinstance(value, str) else value
        if isinstance(text, str) and text.startswith("-") and text[1:].isdigit():
            text = -int(text[1:])
        if isinstance(text, int) and not isinstance(text, bool) and text < 0:
            raise ValidationError(N_("A reorder point cannot be negative: enter 0 or more pieces."))
        return WholeNumber(minimum=0, maximum=self.maximum).deserialize(value)


class Choice(BaseField):
    def __init__(self, choices: tuple[str, ...], **kwargs):
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if value not in self.choices:
            raise ValidationError(
                N_("Choose one of: %(choices)s.", choices=", ".join(self.choices))
            )
        return value


class _In(Schema):
    class Meta:
        unknown = RAISE

    error_messages = _ERRORS


class ReorderPointIn(_In):
    """A SKU's reorder point: a number of pieces (manual), or the nightly suggestion."""

    mode = Choice(MODES, load_default="manual")
    reorder_point = PiecesOrNone(maximum=REORDER_POINT_MAX, load_default=None)
    lead_time_days = WholeNumber(minimum=1, maximum=365, allow_none=True, load_default=None)
    version = fields.Integer(allow_none=True, load_default=None)

    @validates_schema
    def _point_when_manual(self, data, **kwargs):
        if data.get("mode", "manual") == "manual" and data.get("reorder_point") is None:
            raise ValidationError(
                N_("Enter the reorder point in pieces (0 or more)."), "reorder_point"
            )


class SettingsIn(_In):
    horizon_weeks = WholeNumber(minimum=2, maximum=13, required=True)
    lead_time_days = WholeNumber(minimum=1, maximum=180, required=True)
    service_level_pct = WholeNumber(minimum=50, maximum=99, required=True)
    review_days = WholeNumber(minimum=1, maximum=90, required=True)
    version = fields.Integer(required=True)


class AcceptIn(_In):
    quantity = WholeNumber(minimum=1, maximum=QUANTITY_MAX, required=True)
    version = fields.Integer(required=True)


def load(schema: Schema, data: Any) -> dict:
    """Load ``data`` or raise :class:`PlanningInvalid` with every field's messages."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise PlanningInvalid(flatten_errors(exc.messages)) from exc


# -- the API's answers ----------------------------------------------------------------------


class ReorderPointOut(Schema):
    product_id = fields.Integer()
    sku = fields.String()
    mode = fields.String(metadata={"description": "manual (set by the shop) or suggested."})
    reorder_point = fields.Integer()
    lead_time_days = fields.Integer(allow_none=True)
    alert_state = fields.String(metadata={"description": "ok, or low (at or below it)."})
    available = fields.Integer()
    version = fields.Integer()


class ForecastOut(Schema):
    product_id = fields.Integer()
    sku = fields.String()
    starts_on = fields.Date()
    made_at = fields.DateTime()
    method = fields.String(metadata={"description": "holt_winters, or average (short history)."})
    history_days = fields.Integer()
    daily = fields.List(fields.Float(), metadata={"description": "Pieces a day from starts_on."})
    lower = fields.List(fields.Float(), metadata={"description": "80% range, low side."})
    upper = fields.List(fields.Float(), metadata={"description": "80% range, high side."})
    lead_time_days = fields.Integer()
    safety_stock = fields.Integer()
    suggested_reorder_point = fields.Integer()
    mape_pct = fields.Float(
        allow_none=True,
        metadata={"description": "Mean absolute % error of the last 4 weeks' forecasts."},
    )
    mape_weeks = fields.Integer()


class ProposalOut(Schema):
    id = fields.Integer()
    product_id = fields.Integer()
    sku = fields.String()
    proposed_on = fields.Date()
    status = fields.String()
    available = fields.Integer()
    on_order = fields.Integer()
    reorder_point = fields.Integer()
    lead_time_days = fields.Integer()
    cover_days = fields.Integer()
    demand = fields.Integer()
    safety_stock = fields.Integer()
    case_quantity = fields.Integer(allow_none=True)
    suggested_quantity = fields.Integer()
    quantity = fields.Integer(allow_none=True)
    inbound_notice_id = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    version = fields.Integer()


class SnapshotOut(Schema):
    day = fields.Date()
    bin = fields.String()
    sku = fields.String()
    quantity = fields.Integer()
    received = fields.Integer()
