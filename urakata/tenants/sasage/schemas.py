"""Sasage schemas, one per direction: ``…In`` for what a shop or an operator sends
(unknown fields refused, no tenant), ``…Out`` for the API's answers.

Lengths are millimetres and weights grams, as in the catalog; apparel measurements are
given in centimetres with at most one decimal (着丈 68.5) and kept as whole millimetres,
so no float ever reaches the ledger. Copy keeps its characters (①, ™ and the
ideographic space stay) except that full-width ASCII becomes ASCII and half-width kana
full-width, as the malls' guidelines ask.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from urakata.platform.fields import N_, BaseField, SingleLine, WholeNumber, normalise_text
from urakata.tenants.catalog.schemas import DIMENSION_MAX_MM, WEIGHT_MAX_G, Sku
from urakata.tenants.sasage.models import TASK_KINDS

SKUS_MAX = 200  # one request; a bigger catalog goes in several
NOTE_MAX = 1_000
COMMENT_MAX = 2_000
SIZES_MAX = 10  # XS to 4XL, or kids 90 to 160
MEASURES_MAX = 8  # 着丈 身幅 肩幅 袖丈 ウエスト ヒップ 股下 裾幅
LABEL_MAX = 20
MEASURE_MAX_CM = Decimal(300)  # a 3 m garment or bolt of cloth; more is a typo
TITLE_MAX = 255
CATCH_MAX = 255
DESCRIPTION_MAX = 10_240  # Rakuten's PC description holds 10,240 半角 units
DETAIL_MAX = 2_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HALF_KANA = re.compile(r"[\uff61-\uff9f]+")
_FULL_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def normalise_copy(text: str) -> str:
    """Line breaks as \\n, full-width ASCII as ASCII, half-width kana as full-width."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_FULL_ASCII)
    text = _HALF_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).strip()


class CopyText(BaseField):
    """Copy, one line or many; refused (never cut) when longer than ``max_length``."""

    def __init__(self, *, max_length: int, multiline: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = normalise_copy(self._text(value))
        if _CONTROL.search(text):
            raise ValidationError(N_("Remove the control characters from the text."))
        if not self.multiline and "\n" in text:
            raise ValidationError(N_("Use a single line, without tabs or line breaks."))
        if len(text) > self.max_length:
            raise ValidationError(
                N_(
                    "Use at most %(limit)d characters (this has %(count)d).",
                    limit=self.max_length,
                    count=len(text),
                )
            )
        return text


class SkuList(BaseField):
    """SKUs as a list or a text with one per line (or comma); each checked as the catalog
    checks SKUs. Errors name the entry: ``skus[2]``. Whether the shop has them (and each
    only once) is the service's to say."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[str]:
        if isinstance(value, list):
            items = value
        elif isinstance(value, str):
            items = [part for line in value.splitlines() for part in line.split(",")]
            items = [item for item in items if item.strip()]
        else:
            raise ValidationError(N_("Give the SKUs as a list."))
        if not items:
            raise ValidationError(N_("Give at least one SKU."))
        if len(items) > SKUS_MAX:
            raise ValidationError(N_("At most %(limit)d SKUs in one request.", limit=SKUS_MAX))
        skus, errors = [], {}
        for n, item in enumerate(items):
            try:
                skus.append(Sku().deserialize(item))
            except ValidationError as exc:
                errors[f"skus[{n}]"] = exc.messages
        if errors:
            raise ValidationError(errors)
        return skus


def centimetres_to_mm(value) -> int:
    """A length in cm (number or text, at most one decimal) as whole millimetres."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValidationError(N_("Enter a length in centimetres, such as 68.5."))
    text = normalise_text(str(value)).lower().removesuffix("cm").strip()
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(N_("Enter a length in centimetres, such as 68.5.")) from exc
    if not number.is_finite() or not Decimal(0) < number <= MEASURE_MAX_CM:
        raise ValidationError(
            N_("Enter a length from 0.1 to %(limit)s cm.", limit=str(MEASURE_MAX_CM))
        )
    millimetres = number * 10
    if millimetres != millimetres.to_integral_value():
        raise ValidationError(N_("Use at most one decimal (millimetres)."))
    return int(millimetres)


def _label(value, empty) -> str:
    if not isinstance(value, str) or not normalise_text(value):
        raise ValidationError(empty)
    text = normalise_text(value)
    if len(text) > LABEL_MAX or _CONTROL.search(text) or "\n" in text:
        raise ValidationError(N_("Use at most %(limit)d characters on one line.", limit=LABEL_MAX))
    return text


class SizeTable(BaseField):
    """Apparel measurements per size: ``[{"size": "M", "values": {"着丈": 68.5, …}}]`` (or
    ``values`` as ``[["着丈", 68.5], …]``), kept as ``[{"size", "values": [[name, mm]]}]``.
    Errors name the cell: ``sizes[0].size``, ``sizes[1].着丈``."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[dict]:
        if not isinstance(value, list):
            raise ValidationError(N_("Give the sizes as a list."))
        if len(value) > SIZES_MAX:
            raise ValidationError(N_("At most %(limit)d sizes.", limit=SIZES_MAX))
        table, errors, seen = [], {}, set()
        for n, row in enumerate(value):
            where = f"sizes[{n}]"
            if not isinstance(row, dict) or set(row) - {"size", "values"}:
                errors[where] = [N_("Give each size as its name and its values.")]
                continue
            try:
                size = _label(row.get("size"), N_("Name the size."))
                if size in seen:
                    raise ValidationError(N_("The size %(size)s is given twice.", size=size))
                seen.add(size)
            except ValidationError as exc:
                errors[f"{where}.size"] = exc.messages
                size = None
            values = self._values(row.get("values"), where, errors)
            if size is not None and values is not None:
                table.append({"size": size, "values": values})
        if errors:
            raise ValidationError(errors)
        return table

    @staticmethod
    def _values(given, where: str, errors: dict) -> list[list] | None:
        pairs = list(given.items()) if isinstance(given, dict) else given
        if not isinstance(pairs, list) or not pairs:
            errors[f"{where}.values"] = [N_("Give at least one measurement for the size.")]
            return None
        if len(pairs) > MEASURES_MAX:
            errors[f"{where}.values"] = [
                N_("At most %(limit)d measurements a size.", limit=MEASURES_MAX)
            ]
            return None
        values, names = [], set()
        for pair in pairs:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                errors[f"{where}.values"] = [N_("Give each measurement as a name and a length.")]
                return None
            try:
                name = _label(pair[0], N_("Name the measurement."))
            except ValidationError as exc:
                errors[f"{where}.values"] = exc.messages
                return None
            try:
                if name in names:
                    raise ValidationError(N_("The measurement %(name)s is given twice.", name=name))
                names.add(name)
                values.append([name, centimetres_to_mm(pair[1])])
            except ValidationError as exc:
                errors[f"{where}.{name}"] = exc.messages
        return values if len(values) == len(pairs) else None


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class RequestIn(_Strict):
    """SKUs the shop wants sasage for, and a note for the agency."""

    skus = SkuList(required=True)
    note = CopyText(max_length=NOTE_MAX)


def _dimension() -> WholeNumber:
    return WholeNumber(minimum=1, maximum=DIMENSION_MAX_MM, required=True)


class MeasurementIn(_Strict):
    """The product as measured: three sides (mm), weight (g), per-size measurements (cm).
    ``version`` is the measurement's version the form showed (absent the first time)."""

    length_mm = _dimension()
    width_mm = _dimension()
    height_mm = _dimension()
    weight_g = WholeNumber(minimum=1, maximum=WEIGHT_MAX_G, required=True)
    sizes = SizeTable(load_default=list)
    note = CopyText(max_length=NOTE_MAX)
    version = fields.Integer(strict=True, allow_none=True, load_default=None)


class CopyIn(_Strict):
    """A new version of the copy. ``based_on`` is the version the writer started from (0
    when there was none): a newer one saved meanwhile answers 409."""

    title = CopyText(max_length=TITLE_MAX, multiline=False, required=True)
    catch_copy = CopyText(max_length=CATCH_MAX, multiline=False)
    description = CopyText(max_length=DESCRIPTION_MAX, required=True)
    materials = CopyText(max_length=DETAIL_MAX)
    care = CopyText(max_length=DETAIL_MAX)
    title_en = SingleLine(max_length=TITLE_MAX)
    description_en = CopyText(max_length=DESCRIPTION_MAX)
    based_on = fields.Integer(strict=True, required=True)

    @validates_schema(skip_on_field_errors=False)
    def _required_text(self, data, **kwargs):
        for name in ("title", "description"):
            if name in data and not data[name]:
                raise ValidationError(N_("This field cannot be empty."), field_name=name)


class ReviewIn(_Strict):
    """The shop's decision on a task it saw at ``version``; a return needs a comment."""

    decision = fields.String(required=True)
    comment = CopyText(max_length=COMMENT_MAX, load_default="")
    version = fields.Integer(strict=True, required=True)

    @validates_schema
    def _decision(self, data, **kwargs):
        if data.get("decision") not in ("approve", "return"):
            raise ValidationError(N_("Choose approve or return."), field_name="decision")
        if data["decision"] == "return" and not data.get("comment"):
            raise ValidationError(
                N_("Say what should change: the comment goes to the agency."),
                field_name="comment",
            )


def flatten(messages) -> dict[str, list]:
    """marshmallow's nested messages as ``{"field": [...], "sizes[0].size": [...]}``."""
    flat: dict[str, list] = {}
    if not isinstance(messages, dict):
        return {"_schema": list(messages)}
    for name, value in messages.items():
        if isinstance(value, dict):
            for inner, inner_value in flatten(value).items():
                flat[inner] = inner_value
        else:
            flat[name] = value if isinstance(value, list) else [value]
    return flat


# --- the API's answers -----------------------------------------------------------------


class TaskOut(Schema):
    kind = fields.String(metadata={"enum": list(TASK_KINDS)})
    state = fields.String(
        metadata={"enum": ["todo", "in_progress", "waiting", "returned", "approved"]}
    )
    due_date = fields.Date()
    assignee = fields.String(attribute="assignee_name")
    version = fields.Integer()
    return_count = fields.Integer()
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)


class ImageOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    main = fields.Boolean(attribute="is_main")
    status = fields.String(metadata={"enum": ["pending", "ready", "failed"]})
    filename = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    renditions = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "URL of each rendition (JPEG, sRGB, no metadata) once ready."},
    )


class MeasurementOut(Schema):
    length_mm = fields.Integer()
    width_mm = fields.Integer()
    height_mm = fields.Integer()
    weight_g = fields.Integer()
    sizes = fields.List(
        fields.Dict(),
        metadata={"description": 'Per size: {"size": "M", "values": [["着丈", 685], …]} (mm).'},
    )
    note = fields.String()
    version = fields.Integer()


class CopyOut(Schema):
    number = fields.Integer(metadata={"description": "Versions count up; older ones are kept."})
    title = fields.String()
    catch_copy = fields.String()
    description = fields.String()
    materials = fields.String()
    care = fields.String()
    title_en = fields.String()
    description_en = fields.String()
    created_at = fields.DateTime()


class RequestOut(Schema):
    id = fields.Integer()
    sku = fields.String(attribute="product.sku")
    product_name = fields.String(attribute="product.name")
    note = fields.String()
    due_date = fields.Date()
    requested_at = fields.DateTime()
    complete = fields.Boolean(
        attribute="is_complete",
        metadata={"description": "True only when the photos, sizes and copy are all approved."},
    )
    completed_at = fields.DateTime(allow_none=True)
    tasks = fields.List(fields.Nested(TaskOut))
