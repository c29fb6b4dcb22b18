"""Product schemas, one per direction: ``ProductIn`` (create), ``ProductPatch`` (update),
``ProductOut`` (API responses). Load schemas never accept ``tenant_id`` and refuse
unknown fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from urakata.platform.codes import gtin_check_digit, normalise_code
from urakata.platform.fields import N_, BaseField, SingleLine, WholeNumber, normalise_text
from urakata.tenants.catalog.models import STATUSES, TAX_RATES, TEMPERATURE_ZONES

SKU_MAX = 64
NAME_MAX = 200
PRICE_MAX = 100_000_000
DIMENSION_MAX_MM = 3000
WEIGHT_MAX_G = 1_000_000
BARCODES_MAX = 20
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_./]*")


_SKU_CHARACTERS = re.compile(r"[A-Za-z0-9_./-]+")  # ASCII letters and digits, - _ . /


class Sku(BaseField):
    """Letters, digits and - _ . / ; NFKC-normalised; at most 64 characters."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = normalise_text(self._text(value))
        if not text:
            raise ValidationError(N_("This field cannot be empty."))
        if len(text) > SKU_MAX:
            raise ValidationError(
                N_(
                    "Use at most %(limit)d characters (this has %(count)d).",
                    limit=SKU_MAX,
                    count=len(text),
                )
            )
        if not _SKU_CHARACTERS.fullmatch(text):
            raise ValidationError(N_("Use letters, digits and - _ . / only."))
        return text


class Gtin(BaseField):
    """Blank, or a JAN/GTIN-13 or GTIN-8 with a correct check digit."""

    def __init__(self, *, lengths: tuple[int, ...] = (8, 13), **kwargs):
        super().__init__(**kwargs)
        self.lengths = lengths

    def _deserialize(self, value, attr, data, **kwargs) -> str | None:
        code = normalise_code(self._text(value))
        if not code:
            return None
        if not code.isdigit():
            raise ValidationError(N_("A code has digits only."))
        if len(code) not in self.lengths:
            raise ValidationError(
                N_(
                    "Use %(lengths)s digits (this has %(count)d).",
                    lengths=" / ".join(str(n) for n in self.lengths),
                    count=len(code),
                )
            )
        expected = gtin_check_digit(code[:-1])
        if expected != int(code[-1]):
            raise ValidationError(
                N_(
                    "The check digit should be %(expected)d, not %(found)s.",
                    expected=expected,
                    found=code[-1],
                )
            )
        return code


class OneOf(BaseField):
    def __init__(self, *, choices: tuple, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices
        self.numbers = all(isinstance(c, int) for c in choices)

    def _deserialize(self, value, attr, data, **kwargs):
        candidate = value
        if isinstance(value, str):
            candidate = normalise_text(value).lower().rstrip("%")
            if self.numbers and candidate.isdigit():
                candidate = int(candidate)
        if candidate in self.choices:
            return candidate
        raise ValidationError(
            N_("Choose one of: %(choices)s.", choices=", ".join(str(c) for c in self.choices))
        )


class Flag(BaseField):
    TRUE = {"true", "1", "yes", "y", "on", "はい", "有"}
    FALSE = {"false", "0", "no", "n", "off", "", "いいえ", "無"}

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if isinstance(value, bool):
            return value
        text = normalise_text(str(value)).lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValidationError(N_("Use true or false."))


class LocalDateTime(BaseField):
    """An ISO date-time; a naive one is read in the shop's time zone (context "zone")."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime | None:
        if isinstance(value, datetime):
            moment = value
        else:
            text = normalise_text(self._text(value)).replace("/", "-")
            if not text:
                return None
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError as exc:
                raise ValidationError(N_("Use a date and time such as 2026-12-01 10:00.")) from exc
        if moment.tzinfo is None:
            zone = ZoneInfo(self.parent.context_zone if self.parent else "Asia/Tokyo")
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(UTC)


class Barcodes(BaseField):
    """The shop's own extra codes: a list or a text with one code per line / comma."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        items = value if isinstance(value, list) else str(value).replace(",", "\n").splitlines()
        codes = []
        for item in items:
            code = normalise_text(str(item))
            if not code:
                continue
            if len(code) > 32 or not code.isascii() or not _CODE.fullmatch(code):
                raise ValidationError(
                    N_(
                        "A barcode has up to 32 letters, digits and - _ . /: %(code)s",
                        code=code[:40],
                    )
                )
            if code not in codes:
                codes.append(code)
        if len(codes) > BARCODES_MAX:
            raise ValidationError(N_("At most %(limit)d barcodes.", limit=BARCODES_MAX))
        return codes


def _dimension() -> WholeNumber:
    return WholeNumber(minimum=1, maximum=DIMENSION_MAX_MM, allow_none=True)


class _ProductFields(Schema):
    class Meta:
        unknown = RAISE

    context_zone = "Asia/Tokyo"

    sku = Sku(required=True)
    jan = Gtin(allow_none=True)
    name = SingleLine(max_length=NAME_MAX, required=True)
    name_en = SingleLine(max_length=NAME_MAX)
    price_yen = WholeNumber(minimum=0, maximum=PRICE_MAX, required=True)
    tax_rate = OneOf(choices=TAX_RATES)
    sale_starts_at = LocalDateTime(allow_none=True)
    status = OneOf(choices=STATUSES)
    length_mm = _dimension()
    width_mm = _dimension()
    height_mm = _dimension()
    weight_g = WholeNumber(minimum=1, maximum=WEIGHT_MAX_G, allow_none=True)
    temperature_zone = OneOf(choices=TEMPERATURE_ZONES)
    lot_tracked = Flag()
    case_quantity = WholeNumber(minimum=1, maximum=100_000, allow_none=True)
    case_itf14 = Gtin(lengths=(14,), allow_none=True)
    barcodes = Barcodes()

    @validates_schema
    def _name_present(self, data, **kwargs):
        if "name" in data and not data["name"]:
            raise ValidationError(N_("This field cannot be empty."), field_name="name")


class ProductIn(_ProductFields):
    """A new product."""


class ProductPatch(_ProductFields):
    """Changes to a product: only the fields given, plus the version they were made on."""

    version = fields.Integer(required=True, strict=True)

    def __init__(self, **kwargs):
        # Every field may be left out except the version the change was made on.
        super().__init__(partial=tuple(n for n in _ProductFields._declared_fields), **kwargs)


def load_product(data: dict, *, zone: str = "Asia/Tokyo", patch: bool = False) -> dict:
    """Validate and normalise; raises marshmallow.ValidationError keyed by field."""
    schema = ProductPatch() if patch else ProductIn()
    schema.context_zone = zone
    return schema.load(data)


class ProductOut(Schema):
    id = fields.Integer()
    sku = fields.String()
    jan = fields.String(allow_none=True)
    name = fields.String()
    name_en = fields.String()
    price_yen = fields.Integer()
    tax_rate = fields.Integer()
    sale_starts_at = fields.DateTime(allow_none=True)
    status = fields.String()
    length_mm = fields.Integer(allow_none=True)
    width_mm = fields.Integer(allow_none=True)
    height_mm = fields.Integer(allow_none=True)
    weight_g = fields.Integer(allow_none=True)
    size_class = fields.Integer(allow_none=True)
    temperature_zone = fields.String()
    lot_tracked = fields.Boolean()
    case_quantity = fields.Integer(allow_none=True)
    case_itf14 = fields.String(allow_none=True)
    barcodes = fields.Method("_shop_codes")
    version = fields.Integer()
    updated_at = fields.DateTime()

    def _shop_codes(self, product) -> list[str]:
        return [b.code for b in product.barcodes if b.kind == "shop"]
