"""Agency forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Regexp

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
