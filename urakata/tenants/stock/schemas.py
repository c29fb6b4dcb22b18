"""Stock schemas, one per direction: ``…In`` for what an operator or a system sends
(unknown fields refused, no tenant), ``…Out`` for the API's answers.

Quantities are whole pieces: a negative, fractional or absurd number is refused with a
message that says what is expected. Bin codes, lots and dates are NFKC-normalised first,
so full-width digits typed on a Japanese keyboard are read as digits.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields

from urakata.platform.fields import N_, BaseField, SingleLine, WholeNumber, normalise_code
from urakata.platform.locations import parse_code
from urakata.tenants.catalog.schemas import Sku
from urakata.tenants.orders.schemas import flatten_errors
from urakata.tenants.stock.errors import StockInvalid
from urakata.tenants.stock.models import LOT_MAX

QUANTITY_MAX = 1_000_000  # pieces in one movement
CASES_MAX = 100_000
LINES_MAX = 200
KEY_MIN, KEY_MAX = 8, 200
_LOT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_./]*$")
_KEY = re.compile(r"^[!-~]+$")
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")

_SCHEMA_ERRORS = {"unknown": N_("Unknown field."), "type": N_("Send a JSON object.")}
_NESTED_ERRORS = {
    "required": N_("This field is required."),
    "null": N_("This field cannot be empty."),
    "type": N_("Send a JSON object."),
}


def quantity(**kwargs) -> WholeNumber:
    return WholeNumber(minimum=1, maximum=QUANTITY_MAX, **kwargs)


class BinCode(BaseField):
    """A bin's code, zone–aisle–shelf–bin (``A-01-03-2``); whose bin it is, the service says."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        code = parse_code(self._text(value))
        if code is None:
            raise ValidationError(N_("Enter a bin code such as A-01-03-2."))
        return code


class LotNo(BaseField):
    """A lot number as printed on the goods: letters, digits and - _ . / (blank: none)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = normalise_code(self._text(value))
        if not text:
            return ""
        if len(text) > LOT_MAX:
            raise ValidationError(
                N_(
                    "Use at most %(limit)d characters (this has %(count)d).",
                    limit=LOT_MAX,
                    count=len(text),
                )
            )
        if not _LOT.match(text):
            raise ValidationError(N_("Use letters, digits and - _ . / only."))
        return text


class LocalDate(BaseField):
    """A calendar day, ``2026-12-31`` or ``2026/12/31`` (blank: none)."""

    def _deserialize(self, value, attr, data, **kwargs) -> date | None:
        if isinstance(value, date):
            return value
        text = normalise_code(self._text(value))
        if not text:
            return None
        match = _DATE.match(text)
        try:
            if match is None:
                raise ValueError(text)
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError as exc:
            raise ValidationError(N_("Use a date such as 2026-12-31.")) from exc


class IdempotencyKey(BaseField):
    """The submission's own key (a form's hidden field, an API client's header)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = self._text(value).strip()
        if not (KEY_MIN <= len(text) <= KEY_MAX and _KEY.match(text)):
            raise ValidationError(
                N_(
                    "Send a key of %(min)d to %(max)d printable ASCII characters.",
                    min=KEY_MIN,
                    max=KEY_MAX,
                )
            )
        return text


class Lines(fields.List):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or not value:
            raise ValidationError(N_("Give at least one line."))
        if len(value) > LINES_MAX:
            raise ValidationError(N_("At most %(limit)d lines.", limit=LINES_MAX))
        return super()._deserialize(value, attr, data, **kwargs)


class _In(Schema):
    class Meta:
        unknown = RAISE

    error_messages = _SCHEMA_ERRORS


class ReceiptLineIn(_In):
    """Pieces of one SKU (and lot) put into one bin. ``cases`` counts whole cases of the
    product's case quantity; pieces and cases add up."""

    sku = Sku(required=True)
    quantity = WholeNumber(minimum=0, maximum=QUANTITY_MAX, load_default=0)
    cases = WholeNumber(minimum=0, maximum=CASES_MAX, load_default=0)
    location = BinCode(required=True)
    lot_no = LotNo(load_default="")
    best_before = LocalDate(load_default=None, allow_none=True)


class ReceiptIn(_In):
    """Goods that arrived and were put away (入庫): one or more lines."""

    key = IdempotencyKey(required=True)
    reference = SingleLine(max_length=64, load_default="")
    note = SingleLine(max_length=200, load_default="")
    lines = Lines(
        fields.Nested(ReceiptLineIn, error_messages=_NESTED_ERRORS),
        required=True,
        error_messages=_NESTED_ERRORS,
    )


class TransferIn(_In):
    """Pieces of a SKU moved from one bin to another (replenishing a pick face)."""

    key = IdempotencyKey(required=True)
    sku = Sku(required=True)
    lot_no = LotNo(load_default="")
    from_location = BinCode(required=True)
    to_location = BinCode(required=True)
    quantity = quantity(required=True)
    reason = SingleLine(max_length=200, load_default="")


def load(schema: Schema, data: Any) -> dict:
    """Load ``data`` or raise :class:`StockInvalid` with every field's messages."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise StockInvalid(flatten_errors(exc.messages)) from exc


# -- the API's answers ----------------------------------------------------------------------


class StockItemOut(Schema):
    product_id = fields.Integer(metadata={"description": "The product's id."})
    sku = fields.String()
    name = fields.String()
    lot_tracked = fields.Boolean()
    on_hand = fields.Integer(metadata={"description": "Pieces in the shop's bins."})
    allocated = fields.Integer(metadata={"description": "Pieces promised to orders."})
    available = fields.Integer(metadata={"description": "On hand less allocated."})


class LevelOut(Schema):
    location = fields.String(attribute="code", metadata={"description": "The bin's code."})
    location_kind = fields.String(
        attribute="kind", metadata={"description": "pick_face, reserve, returns or damaged."}
    )
    lot_no = fields.String()
    best_before = fields.Date(allow_none=True)
    on_hand = fields.Integer()
    allocated = fields.Integer()
    available = fields.Integer()
    allocatable = fields.Boolean(
        metadata={
            "description": "Whether orders may be allocated from it (bin kind, "
            "best-before and the shop's minimum remaining shelf life)."
        }
    )


class MovementOut(Schema):
    id = fields.Integer()
    occurred_at = fields.AwareDateTime()
    kind = fields.String(
        metadata={
            "description": "receipt, allocation, deallocation, pick, "
            "ship, adjustment, return or transfer."
        }
    )
    location = fields.String(attribute="code")
    lot_no = fields.String()
    on_hand_delta = fields.Integer()
    allocated_delta = fields.Integer()
    reference_type = fields.String()
    reference_id = fields.String()
    reason = fields.String()
