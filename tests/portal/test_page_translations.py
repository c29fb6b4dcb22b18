"""Templates look their catalog up once a request, and still follow the request's locale:
the language the person chose, and a locale forced for a while (the error pages)."""

from __future__ import annotations

from flask import render_template_string, session
from flask_babel import force_locale

PAGE = "{{ _('Orders') }}|{{ _('Order queue') }}"


def test_a_page_is_in_the_chosen_language(app):
    with app.test_request_context("/"):
        session["lang"] = "ja"
        assert render_template_string(PAGE) == "注文|受注処理キュー"
        assert render_template_string(PAGE) == "注文|受注処理キュー"  # from the kept catalog
    with app.test_request_context("/"):
        session["lang"] = "en"
        assert render_template_string(PAGE) == "Orders|Order queue"


def test_a_forced_locale_is_followed_and_given_back(app):
    with app.test_request_context("/"):
        session["lang"] = "ja"
        assert render_template_string(PAGE) == "注文|受注処理キュー"
        with force_locale("en"):
            assert render_template_string(PAGE) == "Orders|Order queue"
        assert render_template_string(PAGE) == "注文|受注処理キュー"
    with app.test_request_context("/"):
        session["lang"] = "en"
        with force_locale("ja"):  # forced before anything was translated in this request
            assert render_template_string(PAGE) == "注文|受注処理キュー"
        assert render_template_string(PAGE) == "Orders|Order queue"


def test_plural_and_escaping_behave_as_before(app):
    template = "{{ ngettext('%(num)s order', '%(num)s orders', n) }}|{{ _('Orders') ~ x }}"
    with app.test_request_context("/"):
        session["lang"] = "en"
        assert render_template_string(template, n=1, x="<b>") == "1 order|Orders&lt;b&gt;"
        assert render_template_string(template, n=2, x="") == "2 orders|Orders"
