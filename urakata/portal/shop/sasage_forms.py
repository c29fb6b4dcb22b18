"""The sasage forms and labels (the shop's pages and the operators' board share them).

Forms only parse the posted strings; the sasage services validate and normalise, and
their errors (keyed as the API names fields: ``skus[2]``, ``sizes[0].着丈``) are put
back next to the field they belong to.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import FieldList, Form, FormField, HiddenField, SelectField, StringField, TextAreaField

from urakata.portal.i18n import translate_message
from urakata.tenants.sasage.schemas import MEASURES_MAX, SIZES_MAX

KIND_LABELS = {
    "photo": _l("Photography"),
    "measure": _l("Measurement"),
    "copy": _l("Copy"),
}
STATE_LABELS = {
    "todo": _l("To do"),
    "in_progress": _l("In progress"),
    "waiting": _l("Waiting for the shop"),
    "returned": _l("Returned"),
    "approved": _l("Approved"),
}
LIST_STATE_LABELS = {
    "open": _l("Not complete"),
    "waiting": _l("Waiting for the shop"),
    "returned": _l("Returned to the agency"),
    "complete": _l("Sasage complete"),
}
COPY_LABELS = {
    "title": _l("Title"),
    "catch_copy": _l("Catch copy"),
    "description": _l("Description"),
    "materials": _l("Materials"),
    "care": _l("Care notes"),
    "title_en": _l("Title (English)"),
    "description_en": _l("Description (English)"),
}


def split_entries(text: str) -> list[str]:
    """SKUs as typed: one per line or separated by commas, blanks skipped."""
    return [part.strip() for line in text.splitlines() for part in line.split(",") if part.strip()]


class RequestForm(FlaskForm):
    skus = TextAreaField(
        _l("SKUs"),
        description=_l("One SKU per line (or separated by commas), at most 200."),
        render_kw={"rows": 6, "autocomplete": "off"},
    )
    note = TextAreaField(
        _l("Note for the agency"),
        description=_l("What the photos and copy should stress, colours, sizes to measure…"),
        render_kw={"rows": 3},
    )


class VersionedForm(FlaskForm):
    version = HiddenField()


class UploadForm(FlaskForm):
    images = MultipleFileField(
        _l("Photos"),
        description=_l(
            "JPEG, PNG or WebP, each at most 15 MB and at least 500 pixels on the longer"
            " side; 20 MB per upload. Metadata (camera, GPS) is removed from what is shown."
        ),
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )


class PhotoMoveForm(VersionedForm):
    direction = HiddenField()


class AssignForm(VersionedForm):
    assignee = SelectField(_l("Assignee"), choices=[], validate_choice=False)


class ReviewForm(VersionedForm):
    comment = TextAreaField(
        _l("Comment"),
        description=_l("Needed when returning: say what should change."),
        render_kw={"rows": 3},
    )


class CopyForm(FlaskForm):
    based_on = HiddenField()
    title = StringField(COPY_LABELS["title"])
    catch_copy = StringField(COPY_LABELS["catch_copy"])
    description = TextAreaField(COPY_LABELS["description"], render_kw={"rows": 8})
    materials = TextAreaField(COPY_LABELS["materials"], render_kw={"rows": 2})
    care = TextAreaField(COPY_LABELS["care"], render_kw={"rows": 2})
    title_en = StringField(COPY_LABELS["title_en"])
    description_en = TextAreaField(COPY_LABELS["description_en"], render_kw={"rows": 4})

    def copy_data(self) -> dict:
        data = {name: self[name].data or "" for name in COPY_LABELS}
        data["based_on"] = _whole(self.based_on.data, default=0)
        return data


class SizeRow(Form):
    size = StringField(_l("Size"))
    values = FieldList(StringField(), min_entries=MEASURES_MAX, max_entries=MEASURES_MAX)


class MeasurementForm(FlaskForm):
    version = HiddenField()
    length_mm = StringField(_l("Length (mm)"), render_kw={"inputmode": "numeric"})
    width_mm = StringField(_l("Width (mm)"), render_kw={"inputmode": "numeric"})
    height_mm = StringField(_l("Height (mm)"), render_kw={"inputmode": "numeric"})
    weight_g = StringField(_l("Weight (g)"), render_kw={"inputmode": "numeric"})
    names = FieldList(StringField(), min_entries=MEASURES_MAX, max_entries=MEASURES_MAX)
    rows = FieldList(FormField(SizeRow), min_entries=SIZES_MAX, max_entries=SIZES_MAX)
    note = TextAreaField(_l("Note"), render_kw={"rows": 2})

    SIDES = ("length_mm", "width_mm", "height_mm", "weight_g")

    def measurement_data(self) -> tuple[dict, list[int]]:
        """The measurement as the service takes it, and the form row of each size sent."""
        names = [(field.data or "").strip() for field in self.names]
        sizes, rows = [], []
        for n, entry in enumerate(self.rows):
            label = (entry.form.size.data or "").strip()
            filled = [(c, (v.data or "").strip()) for c, v in enumerate(entry.form["values"])]
            filled = [(c, value) for c, value in filled if value]
            if not label and not filled:
                continue
            sizes.append({"size": label, "values": [[names[c], value] for c, value in filled]})
            rows.append(n)
        data = {name: (self[name].data or "").strip() for name in self.SIDES}
        data |= {"sizes": sizes, "note": self.note.data or ""}
        data["version"] = _whole(self.version.data, default=None)
        return data, rows

    def fill(self, measurement) -> None:
        """Show a saved measurement: names in the order first used, lengths in cm."""
        for name in self.SIDES:
            self[name].data = str(getattr(measurement, name))
        self.version.data = str(measurement.version)
        self.note.data = measurement.note
        names = size_names(measurement.sizes)
        for c, name in enumerate(names[:MEASURES_MAX]):
            self.names[c].data = name
        for n, size in enumerate(measurement.sizes[:SIZES_MAX]):
            row = self.rows[n].form
            row.size.data = size["size"]
            for name, mm in size["values"]:
                if name in names[:MEASURES_MAX]:
                    row["values"][names.index(name)].data = centimetres(mm)

    def attach(self, errors: dict[str, list], rows: list[int]) -> list[str]:
        """Put each message in its cell; return those that belong to none."""
        names = [(field.data or "").strip() for field in self.names]
        unplaced = []
        for key, messages in errors.items():
            texts = [translate_message(m) for m in messages]
            target = self._target(key, rows, names)
            if target is None:
                unplaced.extend(texts)
            else:
                target.errors = [*target.errors, *texts]
        return unplaced

    def _target(self, key: str, rows: list[int], names: list[str]):
        if key in self.SIDES or key == "note":
            return self[key]
        if not key.startswith("sizes["):
            return None
        index, _, rest = key.removeprefix("sizes[").partition("]")
        if not index.isdigit() or int(index) >= len(rows):
            return None
        row = self.rows[rows[int(index)]].form
        rest = rest.removeprefix(".")
        if rest in ("size", "values", ""):
            return row.size
        return row["values"][names.index(rest)] if rest in names else row.size


def size_names(sizes: list[dict]) -> list[str]:
    """The measurement names of a size table, in the order first used."""
    names: list[str] = []
    for size in sizes:
        names.extend(name for name, _mm in size["values"] if name not in names)
    return names


def centimetres(mm: int) -> str:
    return f"{mm // 10}" if mm % 10 == 0 else f"{mm // 10}.{mm % 10}"


def _whole(text, *, default):
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) <= 9 else default


def attach_errors(form: FlaskForm, errors: dict[str, list]) -> list[str]:
    """Messages next to the fields of ``form`` they name; the rest returned."""
    unplaced = []
    for name, messages in errors.items():
        texts = [translate_message(m) for m in messages]
        if name in form and name not in ("version", "based_on", "csrf_token"):
            form[name].errors = [*form[name].errors, *texts]
        else:
            unplaced.extend(texts)
    return unplaced
