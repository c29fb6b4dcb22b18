"""Order schemas: ``OrderIn`` (intake by API, portal entry and cart imports), the address
patch an operator makes, and ``OrderOut`` (API responses).

Load schemas refuse unknown fields and never accept ``tenant_id``. What a shop must
fix in its request (a missing field, a zero quantity, an unknown prefecture) is a
validation error; what an operator can act on (a postal code Japan Post does not know,
a phone number of the wrong length) is accepted and becomes a hold reason.
"""

from __future__ import annotations

import functools
from datetime import date

from marshmallow import RAISE, Schema, ValidationError, fields, missing

from urakata.platform import jpaddress
from urakata.platform.fields import N_, BaseField, SingleLine, WholeNumber, normalise_text
from urakata.tenants.catalog.schemas import Flag, LocalDateTime, OneOf, Sku
from urakata.tenants.orders.models import (
    CHANNELS,
    DELIVERY_SLOTS,
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
)

LINES_MAX = 200
QUANTITY_MAX = 10_000
YEN_MAX = 100_000_000
NOTES_MAX = 2_000


class Prefecture(BaseField):
    """A JIS code, a name or a cart's spelling ("13", "東京都", "Tokyo") → the JIS code."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = normalise_text(self._text(value))
        if not text:
            raise ValidationError(N_("This field cannot be empty."))
        code = jpaddress.prefecture_code(text)
        if code is None:
            raise ValidationError(
                N_("%(value)s is not one of the 47 prefectures of Japan.", value=text[:40])
            )
        return code


class Address(BaseField):
    """Free text of an address line, NFKC-normalised with runs of spaces collapsed."""

    def __init__(self, *, max_length: int, nonblank: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.nonblank = nonblank

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = jpaddress.normalise_text(self._text(value))
        if self.nonblank and not text:
            raise ValidationError(N_("This field cannot be empty."))
        if len(text) > self.max_length:
            raise ValidationError(
                N_(
                    "Use at most %(limit)d characters (this has %(count)d).",
                    limit=self.max_length,
                    count=len(text),
                )
            )
        return text


class DeliveryDate(BaseField):
    def _deserialize(self, value, attr, data, **kwargs) -> date | None:
        text = normalise_text(self._text(value)).replace("/", "-")
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise ValidationError(N_("Use a date such as 2026-12-01.")) from exc


class Notes(BaseField):
    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = self._text(value).strip()
        if len(text) > NOTES_MAX:
            raise ValidationError(
                N_(
                    "Use at most %(limit)d characters (this has %(count)d).",
                    limit=NOTES_MAX,
                    count=len(text),
                )
            )
        return text


def nonblank(text: str) -> None:
    if not text:
        raise ValidationError(N_("This field cannot be empty."))


def _yen(**kwargs) -> WholeNumber:
    return WholeNumber(minimum=0, maximum=YEN_MAX, **kwargs)


# marshmallow's own messages are not translatable: every load schema and nested field
# uses ours instead.
_SCHEMA_ERRORS = {"unknown": N_("Unknown field."), "type": N_("Send a JSON object.")}
_NESTED_ERRORS = {
    "required": N_("This field is required."),
    "null": N_("This field cannot be empty."),
    "type": N_("Send a JSON object."),
}


def _nested(schema, **kwargs) -> fields.Nested:
    return fields.Nested(schema, error_messages=_NESTED_ERRORS, **kwargs)


class CustomerIn(Schema):
    class Meta:
        unknown = RAISE

    error_messages = _SCHEMA_ERRORS

    name = Address(max_length=100, nonblank=True, required=True)
    kana = Address(max_length=100)
    email = SingleLine(max_length=254)
    phone = SingleLine(max_length=20)


class ShipToIn(Schema):
    class Meta:
        unknown = RAISE

    error_messages = _SCHEMA_ERRORS

    name = Address(max_length=100, required=True)
    postal_code = SingleLine(max_length=16, required=True)
    prefecture = Prefecture(required=True)
    city = Address(max_length=100, required=True)
    street = Address(max_length=200, required=True)
    building = Address(max_length=200)
    phone = SingleLine(max_length=20, required=True)


class LineIn(Schema):
    class Meta:
        unknown = RAISE

    error_messages = _SCHEMA_ERRORS

    sku = Sku(required=True)
    name = SingleLine(max_length=200)
    quantity = WholeNumber(minimum=1, maximum=QUANTITY_MAX, required=True)
    unit_price_yen = _yen(required=True)
    tax_rate = OneOf(choices=(10, 8))


class Lines(fields.List):
    @staticmethod
    def check(value) -> None:
        if not isinstance(value, list) or not value:
            raise ValidationError(N_("Give at least one line."))
        if len(value) > LINES_MAX:
            raise ValidationError(N_("At most %(limit)d lines.", limit=LINES_MAX))

    def _deserialize(self, value, attr, data, **kwargs):
        self.check(value)
        return super()._deserialize(value, attr, data, **kwargs)


class OrderIn(Schema):
    class Meta:
        unknown = RAISE

    error_messages = _SCHEMA_ERRORS

    context_zone = "Asia/Tokyo"

    channel = OneOf(choices=CHANNELS)
    external_id = SingleLine(max_length=64, required=True, validate=nonblank)
    ordered_at = LocalDateTime()
    customer = _nested(CustomerIn, required=True)
    ship_to = _nested(ShipToIn, required=True)
    delivery_date = DeliveryDate(allow_none=True)
    delivery_slot = OneOf(choices=DELIVERY_SLOTS, allow_none=True)
    gift_wrap = Flag()
    noshi = SingleLine(max_length=100)
    lines = Lines(_nested(LineIn), required=True, error_messages=_NESTED_ERRORS)
    payment_method = OneOf(choices=PAYMENT_METHODS, required=True)
    payment_status = OneOf(choices=PAYMENT_STATUSES)
    shipping_fee_yen = _yen()
    fee_yen = _yen()
    discount_yen = _yen()
    total_yen = _yen(allow_none=True)  # the channel's own total, compared with the lines
    notes = Notes()


class AddressPatch(Schema):
    """An operator's correction of the ship-to, made on the order's version."""

    class Meta:
        unknown = RAISE

    error_messages = _SCHEMA_ERRORS

    version = fields.Integer(
        required=True,
        strict=True,
        error_messages={
            "required": N_("This field is required."),
            "null": N_("This field cannot be empty."),
            "invalid": N_("Give the order's version as a whole number."),
        },
    )
    name = Address(max_length=100)
    postal_code = SingleLine(max_length=16)
    prefecture = Prefecture()
    city = Address(max_length=100)
    street = Address(max_length=200)
    building = Address(max_length=200)
    phone = SingleLine(max_length=20)


def flatten_errors(messages, prefix: str = "") -> dict[str, list]:
    """marshmallow's nested messages as ``{"ship_to.prefecture": [...], "lines[0].sku": …}``."""
    if not isinstance(messages, dict):
        return {prefix or "_schema": messages if isinstance(messages, list) else [messages]}
    flat: dict[str, list] = {}
    for key, value in messages.items():
        if isinstance(key, int):
            name = f"{prefix}[{key}]"
        elif key == "_schema" and prefix:
            name = prefix
        else:
            name = f"{prefix}.{key}" if prefix else str(key)
        flat.update(flatten_errors(value, name))
    return flat


@functools.lru_cache(maxsize=64)
def _order_in(zone: str) -> OrderIn:
    """One schema per time zone, reused: a schema's load keeps no state, and building
    one (with its nested schemas) costs more than checking an order."""
    schema = OrderIn()
    schema.context_zone = zone
    return schema


def load_order(data, *, zone: str = "Asia/Tokyo") -> dict:
    """Validate and normalise an order; raises ValidationError with flattened messages.

    A body is first checked field by field (:class:`_Walk`, half the cost); one that is
    not plainly valid is loaded by the schema itself, which names what is wrong."""
    try:
        return _walk(zone).load(data)
    except (_GiveUp, ValidationError):
        pass
    return schema_load_order(data, zone=zone)


def schema_load_order(data, *, zone: str = "Asia/Tokyo") -> dict:
    """:func:`load_order` by the schema's own ``load`` alone (tests compare the two)."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": [N_("Send a JSON object.")]})
    try:
        return _order_in(zone).load(data)
    except ValidationError as exc:
        raise ValidationError(flatten_errors(exc.messages)) from exc


class _Walk:
    """What ``schema.load`` makes of a valid body, by each field's own ``deserialize``
    without the schema's machinery around it (error store, hooks, partial loading), at
    half the cost. It gives up (:class:`_GiveUp` or the field's ValidationError) at the
    first thing that is not plainly valid, and the caller loads the body again with the
    schema, which says what is wrong. A schema with hooks is refused when the walk is
    made: a hook would be skipped here."""

    def __init__(self, schema: Schema):
        if any(schema._hooks.values()):  # noqa: SLF001 - a hook would be skipped here
            raise TypeError(f"{type(schema).__name__} has hooks; load it with the schema")
        self.keys = {field.data_key or name for name, field in schema.load_fields.items()}
        self.fields = []
        for name, field in schema.load_fields.items():
            if isinstance(field, Lines):
                part = ("lines", _Walk(field.inner.schema))
            elif isinstance(field, fields.Nested):
                part = ("nested", _Walk(field.schema))
            elif isinstance(field, fields.List):
                raise TypeError(f"{name}: only Lines of nested schemas are walked")
            elif field.pre_load or field.post_load:
                part = ("field", None)
            else:  # only its own _deserialize and validators (see load)
                part = ("plain", None)
            self.fields.append((field.data_key or name, name, field, *part))

    def load(self, data) -> dict:
        if not isinstance(data, dict) or not self.keys.issuperset(data):
            raise _GiveUp
        out = {}
        for key, name, field, kind, inner in self.fields:
            value = data.get(key, missing)
            if kind == "plain" and value is not missing and value is not None:
                # Field.deserialize for a value that is there, without building the
                # validators' And each time (a property) and the checks that cannot apply.
                value = field._deserialize(value, name, data)  # noqa: SLF001
                for validator in field.validators:
                    if validator(value) is False:
                        raise _GiveUp
                out[name] = value
            elif kind in ("field", "plain"):
                value = field.deserialize(value, name, data)
                if value is not missing:
                    out[name] = value
            elif value is missing or value is None:
                if field.required or value is None:
                    raise _GiveUp
            elif kind == "nested":
                out[name] = inner.load(value)
            else:
                Lines.check(value)
                out[name] = [inner.load(item) for item in value]
        return out


class _GiveUp(Exception):
    """Not plainly valid: load with the schema, which names what is wrong."""


@functools.lru_cache(maxsize=64)
def _walk(zone: str) -> _Walk:
    return _Walk(_order_in(zone))


def load_orders(bodies: list, *, zone: str = "Asia/Tokyo") -> list[dict | ValidationError]:
    """:func:`load_order` of many bodies (a file's): each one's values, or the
    ValidationError :func:`load_order` raises for it, in the same order."""
    loaded: list[dict | ValidationError] = []
    for body in bodies:
        try:
            loaded.append(load_order(body, zone=zone))
        except ValidationError as exc:
            loaded.append(exc)
    return loaded


def load_address_patch(data) -> dict:
    if not isinstance(data, dict):
        raise ValidationError({"_schema": [N_("Send a JSON object.")]})
    try:
        return AddressPatch().load(data)
    except ValidationError as exc:
        raise ValidationError(flatten_errors(exc.messages)) from exc


class LineOut(Schema):
    line_no = fields.Integer()
    sku = fields.String()
    name = fields.String()
    quantity = fields.Integer()
    unit_price_yen = fields.Integer()
    tax_rate = fields.Integer()
    amount_yen = fields.Integer()


class HoldOut(Schema):
    code = fields.String()
    field = fields.String()
    message = fields.Method("_message")

    def _message(self, hold) -> str:
        return hold["msgid"] % hold["params"] if hold.get("params") else hold["msgid"]


class OrderOut(Schema):
    id = fields.Integer()
    channel = fields.String()
    external_id = fields.String()
    ordered_at = fields.DateTime()
    status = fields.String()
    holds = fields.List(fields.Nested(HoldOut))
    customer = fields.Method("_customer")
    ship_to = fields.Method("_ship_to")
    delivery_date = fields.Date(allow_none=True)
    delivery_slot = fields.String(allow_none=True)
    gift_wrap = fields.Boolean()
    noshi = fields.String()
    lines = fields.List(fields.Nested(LineOut))
    payment_method = fields.String()
    payment_status = fields.String()
    items_yen = fields.Integer()
    shipping_fee_yen = fields.Integer()
    fee_yen = fields.Integer()
    discount_yen = fields.Integer()
    total_yen = fields.Integer()
    tax_8_yen = fields.Integer()
    tax_10_yen = fields.Integer()
    notes = fields.String()
    ship_by_date = fields.Date(allow_none=True)
    ship_by_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String()
    version = fields.Integer()
    updated_at = fields.DateTime()

    def _customer(self, order) -> dict:
        return {
            "name": order.customer_name,
            "kana": order.customer_kana,
            "email": order.customer_email,
            "phone": order.customer_phone,
        }

    def _ship_to(self, order) -> dict:
        return {
            "name": order.ship_name,
            "postal_code": order.ship_postal_code,
            "prefecture": order.ship_prefecture,
            "city": order.ship_city,
            "street": order.ship_street,
            "building": order.ship_building,
            "phone": order.ship_phone,
        }
