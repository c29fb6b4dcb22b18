"""The shop's mail templates: saved only when they render with every sample order, and
held in the sandbox: no Python internals, no methods, nothing that builds gigabytes."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError

from tests.tenants.payments.conftest import OPERATOR, actions
from urakata.tenants.orders import confirmation
from urakata.tenants.shop import mail_templates
from urakata.tenants.shop.mail_templates import StaleTemplate, TemplateRefused

KIND = confirmation.KIND
SUBJECT = "ご注文 {{ order.number }}"


def refused(body: str, subject: str = SUBJECT) -> dict[str, list[str]]:
    with pytest.raises(TemplateRefused) as caught:
        mail_templates.check_template(KIND, "ja", subject, body)
    return {name: [str(m) for m in messages] for name, messages in caught.value.errors.items()}


def test_the_defaults_pass_their_own_checks():
    for locale in mail_templates.LOCALES:
        mail_templates.check_template(
            KIND, locale, confirmation.SUBJECTS[locale], confirmation.default_body(locale)
        )


def test_a_syntax_error_names_its_line():
    errors = refused("{{ order.number }}\n{% if order.total_yen %}\n合計\n")
    assert errors["body"][0].startswith("Line 3: Unexpected end of template")  # no endif
    assert refused("x", subject="{{ order.number ")["subject"][0].startswith("Line 1:")


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__ }}",
        "{{ order.__class__ }}",
        "{{ order.lines.__len__ }}",
        "{{ order['__class__'] }}",
        "{{ payment.label.__class__.__base__ }}",
    ],
)
def test_python_internals_are_out_of_reach(body):
    (message,) = refused(body)["body"]
    assert "may not do" in message and "unsafe" in message


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{{ order.number.upper() }}", "cannot call functions or methods"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "cannot call functions or methods"),
        ("{{ cycler.__init__.__globals__ }}", "unsafe"),  # no such global: an undefined's insides
        ("{{ self.__init__.__globals__ }}", "unsafe"),
        ("{% set x = 1 %}{{ x }}", "{% set %}"),
        ("{% macro m() %}x{% endmacro %}", "{% macro %}"),
        ("{% include 'base.html' %}", "{% include %}"),
        ("{% import 'x' as y %}", "{% import %}"),
        ("{% extends 'x' %}", "{% extends %}"),
        (
            "{% for a in order.lines %}{% for b in order.lines %}x{% endfor %}{% endfor %}",
            "a loop inside a loop",
        ),
        ("{% for c in 'abc' * 3 %}{{ c }}{% endfor %}", "list of the mail's data"),
        ("{{ order.number|center(100) }}", "the filter center is not available"),
        ("{{ order.number|format(1) }}", "the filter format is not available"),
        ("{{ 'x' * 100000 }}", "longer than 20000"),
        ("{{ ('x' * 10000) + ('y' * 10001) }}", "longer than 20000"),
        ("{{ 9 ** 9 }}", "** operator"),
        ("{{ '%s' % order.number }}", "formatting text with %"),
        ("{{ order.number|replace('', 'xxxxxxxxxx'*1000) }}", "longer than 20000"),
        ("{{ order.lines|join('x' * 19999) }}", "longer than 20000"),
        ("{{ config }}", "'config' is undefined"),
        ("{{ order.no_such_field }}", "no_such_field"),
        ("{{ " + " ~ ".join(["order.number"] * 31) + " }}", "at most 30 values"),
    ],
)
def test_what_the_sandbox_refuses_is_said(body, says):
    messages = " ".join(refused(body)["body"])
    assert says in messages, messages


def test_a_mail_too_long_to_send_is_refused():
    body = "{% for line in order.lines %}" + "長い本文" * 4_000 + "{% endfor %}"
    with pytest.raises(TemplateRefused):  # 2 lines × 16,000 characters is fine …
        mail_templates.check_template(KIND, "ja", SUBJECT, "x" * 20_001)
    mail_templates.check_template(KIND, "ja", SUBJECT, body)
    data = confirmation.sample_contexts("ja")[0]
    data["order"]["lines"] = data["order"]["lines"] * 10  # … 20 lines are 320,000: refused
    with pytest.raises(SecurityError, match="longer than"):
        mail_templates.render(body, data)


def test_empty_fields_and_a_subject_that_renders_empty_are_refused():
    assert refused("本文", subject=" ")["subject"] == ["This field cannot be empty."]
    assert refused("本文", subject="{{ order.notes|default('') }}")["subject"]
    assert refused(" \n")["body"] == ["This field cannot be empty."]


def test_a_subject_stays_on_one_line():
    data = confirmation.sample_contexts("ja")[0]
    rendered = mail_templates.render("a\n{{ order.number }}\r\nb", data)
    assert mail_templates.subject_line(rendered) == "a SAMPLE-1001 b"


def test_saving_versions_and_resetting(db, world):
    shop = world.shop_a
    with db.tenant_session(shop.id) as s:
        default = mail_templates.get_template(s, KIND, "ja")
        assert (default.custom, default.version) == (False, 0)
        saved = mail_templates.save_template(
            s, actor=OPERATOR, kind=KIND, locale="ja", subject=SUBJECT, body="本文\r\n", version=0
        )
        assert (saved.custom, saved.version, saved.body) == (True, 1, "本文\n")
    with pytest.raises(StaleTemplate), db.tenant_session(shop.id) as s:
        mail_templates.save_template(
            s, actor=OPERATOR, kind=KIND, locale="ja", subject=SUBJECT, body="古い版から", version=0
        )
    with pytest.raises(TemplateRefused), db.tenant_session(shop.id) as s:
        mail_templates.save_template(
            s,
            actor=OPERATOR,
            kind=KIND,
            locale="ja",
            subject=SUBJECT,
            body="{{ ''.__class__ }}",
            version=1,
        )
    with db.tenant_session(shop.id) as s:
        assert mail_templates.get_template(s, KIND, "ja").body == "本文\n"  # nothing saved
        assert mail_templates.get_template(s, KIND, "en").custom is False
    with db.tenant_session(world.shop_b.id) as s:  # the other shop has its default
        assert mail_templates.get_template(s, KIND, "ja").custom is False
        with pytest.raises(StaleTemplate):
            mail_templates.reset_template(s, actor=OPERATOR, kind=KIND, locale="ja", version=1)
    with db.tenant_session(shop.id) as s:
        back = mail_templates.reset_template(s, actor=OPERATOR, kind=KIND, locale="ja", version=1)
        assert back.custom is False
    assert actions(db, shop, "mail_template", f"{KIND}/ja") == [
        "mail_template.saved",
        "mail_template.reset",
    ]
