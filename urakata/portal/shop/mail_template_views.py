"""The shop's own mail templates: the order confirmation, in Japanese and in English.

Everyone in the shop reads them; shop admins and agency admins edit, preview and reset
them (``mail_templates.edit``). The editor previews with a made-up order (one per payment
method, so each branch of the template can be seen) and never with a real customer's
data. A template with a syntax error, or one that reaches for anything the sandbox
forbids, is refused with the reason and nothing is saved.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from jinja2.exceptions import TemplateError
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from urakata.portal.access import has_permission, require_permission
from urakata.portal.actor import current_actor
from urakata.portal.i18n import translate_message
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry
from urakata.portal.shop.payment_views import LOCALE_LABELS
from urakata.tenants.orders import confirmation
from urakata.tenants.shop import mail_templates
from urakata.tenants.shop.mail_templates import StaleTemplate, TemplateRefused

menu_entry("shop.mail_templates_list", _l("Mail templates"), "mail_templates.view")

KIND = confirmation.KIND
KIND_LABELS = {KIND: _l("Order confirmation")}
SAMPLE_LABELS = (
    ("0", _l("Bank transfer")),
    ("1", _l("Bank transfer, no account set yet")),
    ("2", _l("Convenience store payment")),
    ("3", _l("Cash on delivery")),
    ("4", _l("Credit card")),
    ("5", _l("Deferred payment (atobarai)")),
    ("6", _l("Other")),
)


class TemplateForm(FlaskForm):
    version = HiddenField()
    subject = StringField(_l("Subject"))
    body = TextAreaField(
        _l("Text"),
        render_kw={"rows": 24, "spellcheck": "false", "class": "mail-template-body"},
    )
    sample = SelectField(
        _l("Preview as an order paid by"),
        choices=[SelectChoice(k, v) for k, v in SAMPLE_LABELS],
        validate_choice=False,
    )


def _locale_or_404(lang: str) -> str:
    if lang not in mail_templates.LOCALES:
        abort(404)
    return lang


@bp.get("/mail-templates")
def mail_templates_list():
    require_permission("mail_templates.view")
    session = db_session()
    rows = [mail_templates.get_template(session, KIND, locale) for locale in mail_templates.LOCALES]
    return render_template("mail_templates/list.html", shop=g.shop, rows=rows,
                           kind_labels=KIND_LABELS, locale_labels=LOCALE_LABELS)  # fmt: skip


@bp.get("/mail-templates/order-confirmation/<lang>")
def mail_template(lang: str):
    require_permission("mail_templates.view")
    locale = _locale_or_404(lang)
    current = mail_templates.get_template(db_session(), KIND, locale)
    form = TemplateForm(formdata=None, data={"version": current.version, "subject": current.subject,
                                             "body": current.body, "sample": "0"})  # fmt: skip
    return _editor(locale, current, form, preview=_preview(locale, current.subject, current.body))


def _sample(locale: str, choice: str) -> dict:
    samples = confirmation.sample_contexts(locale)
    index = int(choice) if choice.isdigit() and int(choice) < len(samples) else 0
    return samples[index]


def _preview(locale: str, subject: str, body: str, sample: str = "0"):
    """(subject, text) of the template with a sample order, or None when it cannot render."""
    data = _sample(locale, sample)
    try:
        return (mail_templates.subject_line(mail_templates.render(subject, data)),
                mail_templates.render(body, data))  # fmt: skip
    except (TemplateError, ArithmeticError, TypeError, ValueError, RecursionError):
        return None


def _editor(locale, current, form, *, preview=None, unplaced=()):
    return render_template(
        "mail_templates/edit.html",
        shop=g.shop,
        locale=locale,
        current=current,
        form=form if has_permission("mail_templates.edit") else None,
        preview=preview,
        unplaced=unplaced,
        fields=confirmation.FIELDS,
        filters=mail_templates.FILTERS,
        kind_label=KIND_LABELS[KIND],
        locale_labels=LOCALE_LABELS,
    )


@bp.post("/mail-templates/order-confirmation/<lang>")
def save_mail_template(lang: str):
    """Preview (``action=preview``) or save the posted text; refused text is not saved."""
    require_permission("mail_templates.edit")
    locale = _locale_or_404(lang)
    form = TemplateForm()
    if not form.validate() or len(form.version.raw_data or ()) != 1:
        abort(400)
    try:
        version = int(form.version.data)
    except ValueError:
        abort(400)
    session = db_session()
    current = mail_templates.get_template(session, KIND, locale)
    subject, body = form.subject.data or "", (form.body.data or "").replace("\r\n", "\n")
    try:
        mail_templates.check_template(KIND, locale, subject, body)
        if request.form.get("action") == "preview":
            flash(_("Preview only: the template is fine but not saved yet."), "warning")
            return _editor(
                locale,
                current,
                form,
                preview=_preview(locale, subject, body, form.sample.data or "0"),
            )
        mail_templates.save_template(session, actor=current_actor(), kind=KIND, locale=locale,
                                     subject=subject, body=body, version=version)  # fmt: skip
    except TemplateRefused as exc:
        session.rollback()
        for name, messages in exc.errors.items():
            form[name].errors = [*form[name].errors, *(translate_message(m) for m in messages)]
        return _editor(locale, current, form), 422
    except StaleTemplate:
        session.rollback()
        fresh = mail_templates.get_template(session, KIND, locale)
        form.version.data = fresh.version
        problem = _("Someone changed this template meanwhile. Your text is below; the saved one"
                    " is in the preview. Save again to replace it.")  # fmt: skip
        return _editor(
            locale,
            fresh,
            form,
            unplaced=[problem],
            preview=_preview(locale, fresh.subject, fresh.body),
        ), 409
    flash(_("The template was saved; the next confirmation mails use it."), "success")
    return redirect(url_for("shop.mail_template", lang=locale), 303)


@bp.post("/mail-templates/order-confirmation/<lang>/reset")
def reset_mail_template(lang: str):
    require_permission("mail_templates.edit")
    locale = _locale_or_404(lang)
    form = TemplateForm()
    if not form.validate() or len(form.version.raw_data or ()) != 1:
        abort(400)
    try:
        version = int(form.version.data)
    except ValueError:
        abort(400)
    try:
        mail_templates.reset_template(db_session(), actor=current_actor(), kind=KIND,
                                      locale=locale, version=version)  # fmt: skip
    except StaleTemplate:
        db_session().rollback()
        flash(_("The template changed meanwhile (or is the default already); nothing was reset."),
              "error")  # fmt: skip
        return redirect(url_for("shop.mail_template", lang=locale), 303)
    flash(_("The template is back to the default."), "success")
    return redirect(url_for("shop.mail_template", lang=locale), 303)
