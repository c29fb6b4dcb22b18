"""Agency forms."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, Regexp

from urakata.platform.tenancy import SLUG_RE


class OnboardShopForm(FlaskForm):
    name = StringField(_l("Shop name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        _l("URL name (slug)"),
        validators=[
            DataRequired(),
            Regexp(SLUG_RE, message=_l("Lowercase letters, digits and hyphens only.")),
        ],
        description=_l("Used in addresses: /s/<slug>/"),
    )
    timezone = StringField(_l("Time zone"), default="Asia/Tokyo", validators=[DataRequired()])
    admin_name = StringField(_l("Shop admin's name"), validators=[DataRequired(), Length(max=200)])
    admin_email = EmailField(
        _l("Shop admin's e-mail"), validators=[DataRequired(), Email(), Length(max=254)]
    )


class AssignOperatorForm(FlaskForm):
    operator = SelectField(_l("Operator"), validators=[DataRequired()])


class InviteStaffForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice("operator", _l("Operator")),
            SelectChoice("auditor", _l("Auditor")),
            SelectChoice("agency_admin", _l("Agency admin")),
        ],
    )
    shop = SelectField(
        _l("Shop"),
        description=_l("Operators start with one shop; auditors may audit one shop or all."),
    )


def _iso_day(form, field) -> None:
    try:
        field.day = date.fromisoformat(field.data.strip())
    except ValueError:
        raise ValidationError(_l("Give the day as YYYY-MM-DD.")) from None


class ClosedDayForm(FlaskForm):
    day = StringField(
        _l("Day"),
        validators=[InputRequired(message=_l("Give the day as YYYY-MM-DD.")), _iso_day],
        description=_l("The warehouse does not ship for any shop that day."),
        render_kw={"type": "date"},
    )
    note = StringField(_l("Why (shown to operators)"), validators=[Optional(), Length(max=200)])
