"""API key pages: a shop admin lists, creates and revokes the shop's keys.

A new key's token is rendered once, in the response to the POST that created it: it is
never put in a URL, flashed into the cookie session or stored anywhere but as a hash.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, g, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from urakata.platform import apikeys
from urakata.platform.tenancy import NotFound
from urakata.portal.access import require_permission
from urakata.portal.actor import current_actor
from urakata.portal.requestdb import db_session
from urakata.portal.shop.blueprint import bp, menu_entry

menu_entry("shop.api_keys", _l("API keys"), "shop.apikeys.manage")


class CreateApiKeyForm(FlaskForm):
    name = StringField(
        _l("Key name"),
        filters=[apikeys.normalise_key_name],
        validators=[DataRequired(), Length(max=apikeys.NAME_MAX_LENGTH)],
        description=_l("What the key is for, e.g. the system that will use it."),
    )


def _page(form: CreateApiKeyForm, *, new_key=None, token: str | None = None):
    zone = g.shop.zone
    return render_template(
        "shop/apikeys.html",
        shop=g.shop,
        keys=apikeys.list_api_keys(db_session(), g.shop.id),
        form=form,
        new_key=new_key,
        token=token,
        local_time=lambda value: value.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
    )


@bp.route("/api-keys", methods=["GET", "POST"])
def api_keys():
    require_permission("shop.apikeys.manage")
    form = CreateApiKeyForm()
    if not form.validate_on_submit():
        return _page(form), (422 if form.errors else 200)
    try:
        key, token = apikeys.create_api_key(
            db_session(), g.shop.id, form.name.data, actor=current_actor()
        )
    except apikeys.InvalidApiKeyData:
        form.name.errors.append(_("Give the key a name of 1 to 100 characters."))
        return _page(form), 422
    # The token is in this response only: no redirect, and no cache may keep the page.
    response = make_response(_page(CreateApiKeyForm(formdata=None), new_key=key, token=token))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api-keys/<uuid:key_id>/revoke")
def revoke_api_key(key_id: uuid.UUID):
    require_permission("shop.apikeys.manage")
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        key = apikeys.revoke_api_key(db_session(), g.shop.id, key_id, actor=current_actor())
    except NotFound:
        abort(404)
    flash(_("The key “%(name)s” is revoked; calls with it are refused.", name=key.name), "success")
    return redirect(url_for("shop.api_keys"))
