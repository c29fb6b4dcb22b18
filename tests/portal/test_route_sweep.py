"""Every route, as every role, with the other shop's slug and ids: 404, 403 or the login page.

The sweep enumerates ``app.url_map``; a route parameter it does not know how to fill fails
the sweep, so no new route can slip past it. Shop A is the target; every identity below
belongs elsewhere (or nowhere) and must not see or change anything of shop A.
"""

from __future__ import annotations

import uuid

import pytest

from tests.portal_client import PortalClient

# Routes anyone may call without logging in (they reveal no shop's data).
PUBLIC = {
    "static",
    "ops.healthz",
    "ops.readyz",
    "auth.login",
    "auth.two_factor",
    "auth.totp_setup",
    "auth.logout",
    "auth.forgot_password",
    "auth.reset_password",
    "auth.set_language",
    "api-docs.openapi_json",  # the API's description: no shop data
    "api_reference.api_docs",
    "webhooks.shopify_orders",  # a cart's webhook: nothing happens without the shop's signature
}


def _fillers(world, shop_a_ids: dict) -> dict:
    """How to fill each route parameter with something that belongs to shop A."""
    return {
        "shop": world.shop_a.slug,
        "user_id": world.operator_a.id,
        "key_id": shop_a_ids.get("api_key", uuid.uuid4()),
        "token": "not-a-real-token-" + "x" * 30,
        "lang": "en",
        "filename": "app.css",
        "task_id": shop_a_ids.get("task", uuid.uuid4()),
        "product_id": shop_a_ids.get("product", 10**9),
        "order_id": shop_a_ids.get("order", 10**9),
        "name": "20260101T000000000000-x.eml",
        "day": "2099-12-31",  # an agency closed day (agency admins only)
        "shop_slug": world.shop_a.slug,  # a webhook's shop (401 unless signed by it)
        "request_id": shop_a_ids.get("sasage_request", 10**9),
        "image_id": shop_a_ids.get("sasage_image", 10**9),
        "rendition": "thumb",
        "kind": "photo",
        "location_id": shop_a_ids.get("location", 10**9),  # a bin assigned to shop A
        "statement_id": shop_a_ids.get("bank_statement", 10**9),
        "line_id": shop_a_ids.get("bank_line", 10**9),
        "chain": world.shop_a.slug,  # an auditor's ledger pages (a shop's slug or _agency)
        "seq": 1,
        "object_type": "order",
        "object_id": "A-1",
        "notice_id": shop_a_ids.get("inbound_notice", 10**9),
        "item_id": shop_a_ids.get("inbound_item", 10**9),
        "stocktake_id": shop_a_ids.get("stocktake", 10**9),
        "wave_id": shop_a_ids.get("wave", 10**9),
        "shipment_id": shop_a_ids.get("shipment", 10**9),
        "put_back_id": 10**9,
        "document_id": 10**9,  # a wave's packing-slip PDF
        "import_id": 10**9,  # a tracking-number import
        "handover_id": 10**9,  # a carrier pickup
        "unpack_id": 10**9,  # a parcel to unpack
    }


def _urls(app, fillers):
    for rule in app.url_map.iter_rules():
        unknown = set(rule.arguments) - set(fillers)
        assert not unknown, f"route {rule.rule} has parameters the sweep cannot fill: {unknown}"
        values = {name: fillers[name] for name in rule.arguments}
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, url


def _request(portal, method, url):
    if method == "GET":
        return portal.get(url)
    if method != "POST":  # API verbs (PATCH, PUT, DELETE) carry no form
        return portal.client.open(url, method=method, json={})
    # Forms carry a valid CSRF token from a page the identity can open.
    return portal.post_form(url, {}, form_url="/login" if not portal.logged_in else "/account")


@pytest.fixture
def shop_a_ids(db, world, tmp_path):
    """Objects of shop A that routes take ids of; grows with the features."""
    ids = {}
    try:
        from urakata.platform.apikeys import create_api_key
        from urakata.platform.audit import user_actor
    except ImportError:
        return ids
    with db.platform_session() as s:
        key, _token = create_api_key(
            s, world.shop_a.id, "sweep key", actor=user_actor(world.shop_admin_a)
        )
        ids["api_key"] = key.id
    from urakata.platform import tasks
    from urakata.tenants.catalog.services import create_product

    with db.tenant_session(world.shop_a.id) as s:
        ids["product"] = create_product(
            s,
            actor=user_actor(world.shop_admin_a),
            data={"sku": "SWEEP-1", "name": "掃引テスト", "price_yen": 100},
        ).id
        ids["order"] = _sweep_order(s, user_actor(world.shop_admin_a))
        ids["task"] = tasks.start_task(
            s,
            kind=tasks.VERIFY_CHAIN,
            actor=user_actor(world.shop_admin_a),
            job=tasks.VERIFY_CHAIN_JOB,
            queue=tasks.VERIFY_CHAIN_QUEUE,
        ).id
    ids.update(_sweep_sasage(db, world, tmp_path))
    ids.update(_sweep_stock(db, world))
    ids.update(_sweep_payments(db, world))
    ids.update(_sweep_inbound(db, world))
    ids.update(_sweep_fulfilment(db, world))
    return ids


def _sweep_inbound(db, world) -> dict:
    """An inbound notice of shop A with one scanned piece, and a stocktake of it."""
    from urakata.platform.audit import Actor
    from urakata.tenants.inbound import services as inbound
    from urakata.tenants.stocktake import services as stocktakes

    actor = Actor.system("route sweep")
    with db.tenant_session(world.shop_a.id) as s:
        notice = inbound.create_notice(
            s, actor, lines=[{"sku": "SWEEP-1", "quantity": 2}], expected_on="2026-12-01"
        )
        item = inbound.receive_item(s, actor, notice.id, code="SWEEP-1", quantity=1)
        take = stocktakes.plan_stocktake(s, actor, scope="full")
        return {"inbound_notice": notice.id, "inbound_item": item.id, "stocktake": take.id}


def _sweep_fulfilment(db, world) -> dict:
    """A wave of shop A with one shipment (its order instructed from SWEEP-1's stock)."""
    from sqlalchemy import update

    from urakata.platform.audit import Actor
    from urakata.tenants.catalog.models import Product
    from urakata.tenants.fulfilment import services as fulfilment
    from urakata.tenants.orders import services as orders
    from urakata.tenants.stock.allocation import allocate_order

    actor = Actor.system("route sweep")
    body = {
        "external_id": "#SWEEP-W", "customer": {"name": "掃引 太郎", "email": "w@example.jp"},
        "ship_to": {"name": "掃引 太郎", "postal_code": "100-0001", "prefecture": "東京都",
                    "city": "千代田区", "street": "千代田1-1", "phone": "090-1234-5678"},
        "lines": [{"sku": "SWEEP-1", "quantity": 1, "unit_price_yen": 100}],
        "payment_method": "card", "payment_status": "authorized",
    }  # fmt: skip
    with db.tenant_session(world.shop_a.id) as s:
        s.execute(update(Product).values(status="active"))
        order = orders.intake(s, actor=actor, data=body, channel="api")
        allocate_order(s, actor=actor, order_id=order.id)
        (shipment,) = fulfilment.instruct_order(s, actor=actor, order_id=order.id)
        wave, _ = fulfilment.create_wave(
            s, actor=actor, shipment_ids=[shipment.id], request_key=uuid.uuid4().hex
        )
        return {"wave": wave.id, "shipment": shipment.id}


def _sweep_payments(db, world) -> dict:
    """A bank statement of shop A with one deposit waiting for review."""
    from urakata.platform.audit import user_actor
    from urakata.tenants.payments.statements import import_statement, statement_lines

    data = "取引日,入金額,振込依頼人名\r\n2026/06/01,1000,ｿｳｻ ﾀﾛｳ\r\n".encode("cp932")
    with db.tenant_session(world.shop_a.id) as s:
        result = import_statement(s, actor=user_actor(world.shop_admin_a), data=data,
                                  filename="sweep.csv")  # fmt: skip
        line = statement_lines(s, result.statement.id)[0]
        return {"bank_statement": result.statement.id, "bank_line": line.id}


def _sweep_stock(db, world) -> dict:
    """A bin of shop A holding some of its SWEEP-1."""
    from urakata.platform.audit import Actor
    from urakata.platform.locations import create_locations
    from urakata.tenants.stock.bins import assign_bins
    from urakata.tenants.stock.receipts import receive

    actor = Actor.system("route sweep")
    with db.platform_session() as s:
        data = {"zone": "SW", "aisle": "01", "shelf": "1", "bin": "1", "kind": "pick_face"}
        location = create_locations(s, actor=actor, data=data)[0]
    with db.tenant_session(world.shop_a.id) as s:
        assign_bins(s, actor=actor, codes=[location.code])
        line = {"sku": "SWEEP-1", "quantity": 3, "location": location.code}
        receive(s, actor=actor, data={"key": "sweep-receipt-1", "lines": [line]})
    return {"location": location.id}


def _sweep_sasage(db, world, tmp_path) -> dict:
    """A sasage request of shop A with a photo (its files in a directory of the test's)."""
    from tests.tenants.sasage.helpers import photo
    from urakata.platform.audit import user_actor
    from urakata.tenants.sasage import photos, services
    from urakata.tenants.sasage.storage import FileStore

    actor = user_actor(world.shop_admin_a)
    with db.tenant_session(world.shop_a.id) as s:
        request = services.request_sasage(s, actor=actor, data={"skus": ["SWEEP-1"]})[0]
        photos.add_photos(s, actor=actor, request_id=request.id,
                          uploads=[photos.Upload("sweep.jpg", photo())],
                          store=FileStore.at(tmp_path / "sweep-files"))  # fmt: skip
        image = photos.list_photos(s, request.id)[0]
        return {"sasage_request": request.id, "sasage_image": image.id}


def _sweep_order(session, actor) -> int:
    from urakata.tenants.orders.services import intake

    data = {
        "external_id": "SWEEP-ORDER-1",
        "customer": {"name": "掃引 太郎"},
        "ship_to": {"name": "掃引 太郎", "postal_code": "1000001", "prefecture": "13",
                    "city": "千代田区", "street": "千代田1-1", "phone": "03-1234-5678"},
        "lines": [{"sku": "SWEEP-1", "quantity": 1, "unit_price_yen": 100}],
        "payment_method": "cod",
    }  # fmt: skip
    return intake(session, actor=actor, data=data, channel="manual").id


STRANGERS = ["anonymous", "shop_admin_b", "operator_b", "shop_auditor_b"]


@pytest.mark.parametrize("who", STRANGERS)
def test_no_stranger_reaches_shop_a(app, db, world, shop_a_ids, who):
    from tests.factories import make_user
    from urakata.platform.identity import Role

    portal = PortalClient(app, db)
    portal.logged_in = who != "anonymous"
    if who == "shop_auditor_b":
        portal.login(make_user(db, Role.auditor, world.shop_b))
    elif who != "anonymous":
        portal.login(getattr(world, who))
    problems = []
    for rule, method, url in _urls(app, _fillers(world, shop_a_ids)):
        if rule.endpoint in PUBLIC:
            continue
        response = _request(portal, method, url)
        status = response.status_code
        body = response.get_data(as_text=True)
        if who == "anonymous":
            ok = status in (302, 401) and (
                status == 401 or "/login" in response.headers.get("Location", "")
            )
        elif "<shop>" in rule.rule:
            ok = status == 404
        else:
            ok = status in (200, 302, 400, 401, 403, 404, 405, 422)
        if world.shop_a.name in body and status == 200 and "<shop>" not in rule.rule:
            ok = False  # an agency page of a stranger shows shop A's name
        if not ok:
            problems.append(f"{who} {method} {url} -> {status}")
    assert problems == []


def test_every_shop_scoped_route_answers_404_for_a_missing_shop(app, db, world, shop_a_ids):
    portal = PortalClient(app, db)
    portal.logged_in = True
    portal.login(world.agency_admin)
    fillers = {**_fillers(world, shop_a_ids), "shop": "no-such-shop"}
    problems = [
        f"{method} {url} -> {status}"
        for rule, method, url in _urls(app, fillers)
        if "<shop>" in rule.rule and (status := _request(portal, method, url).status_code) != 404
    ]
    assert problems == []


@pytest.mark.parametrize("who", ["shop_admin_a", "operator_a", "agency_admin", "auditor"])
def test_no_route_fails_for_a_member_of_the_shop(app, db, world, shop_a_ids, who):
    """Inside their own shop, every role gets an answer, never a server error."""
    portal = PortalClient(app, db)
    portal.logged_in = True
    portal.login(getattr(world, who))
    problems = [
        f"{method} {url} -> {status}"
        for rule, method, url in _urls(app, _fillers(world, shop_a_ids))
        if rule.endpoint not in {"auth.logout"}
        and (status := _request(portal, method, url).status_code) >= 500
    ]
    assert problems == []


def test_the_api_with_another_shops_key_never_shows_shop_a(app, db, world, shop_a_ids):
    """Every API route, called with shop B's key, answers about shop B or not at all."""
    from urakata.platform.apikeys import create_api_key
    from urakata.platform.audit import user_actor

    with db.platform_session() as s:
        _key, token = create_api_key(
            s, world.shop_b.id, "stranger", actor=user_actor(world.shop_admin_b)
        )
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    leaks = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint in PUBLIC:
            continue
        fillers = _fillers(world, shop_a_ids)
        unknown = set(rule.arguments) - set(fillers)
        assert not unknown, f"fill the API parameters {unknown} of {rule.rule} in the sweep"
        url = rule.build({k: fillers[k] for k in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, headers=headers, json={})
            body = response.get_data(as_text=True)
            if world.shop_a.slug in body or str(world.shop_a.id) in body or "SWEEP-1" in body:
                leaks.append(f"{method} {rule.rule} -> {response.status_code}")
            assert response.status_code < 500, f"{method} {rule.rule}"
            if rule.arguments:  # shop A's object through shop B's key: as if missing
                assert response.status_code in (404, 405, 422), f"{method} {url}"
    assert leaks == []
