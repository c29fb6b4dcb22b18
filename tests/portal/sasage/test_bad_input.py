"""Bad input through the pages: a "PNG" that is something else, a file over the size limit,
a decompression bomb, negative and absurd measurements, a stale copy. Each gets a clear
message next to its field (422) and nothing is stored."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO

import pytest
from sqlalchemy import func, select

from tests.portal.sasage.helpers import files, page_of
from tests.tenants.sasage.helpers import COPY, photo, png_bomb, request, task, write
from urakata.platform.tasks import ShopTask
from urakata.tenants.catalog.models import Product
from urakata.tenants.sasage.measuring import get_measurement
from urakata.tenants.sasage.models import SasageImage


def _errors(html: str) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]+)<', html)


def _nothing_stored(db, shop, store) -> None:
    with db.tenant_session(shop.id) as s:
        assert s.scalar(select(func.count()).select_from(SasageImage)) == 0
        assert s.scalar(select(func.count()).select_from(ShopTask)) == 0
    assert not (store.root / "sasage").exists()


def _zip() -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "x")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("really-a-zip.png", _zip()),
        ("script.png", b"<html><script>alert(1)</script></html>"),
        ("garbage.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
        ("huge.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * (15 * 1024 * 1024 + 10)),
        ("bomb.png", png_bomb()),
        ("big-bomb.png", png_bomb(9_000, 8_000)),
    ],
    ids=["zip-as-png", "html-as-png", "png-signature-garbage", "over-15mb", "bomb", "72mp"],
)
def test_a_bad_photo_is_refused_by_name_and_nothing_is_kept(db, world, shops, portal, store,
                                                           name, data):  # fmt: skip
    request_id = request(db, world.shop_a)
    url = f"/s/shop-a/sasage/{request_id}"
    portal.login(world.operator_a)
    response = portal.post_form(
        f"{url}/images", {"images": files(("good.jpg", photo()), (name, data))}, form_url=url
    )
    assert response.status_code == 422
    errors = _errors(response.get_data(as_text=True))
    assert len(errors) == 1 and errors[0].startswith(f"{name}: ")
    _nothing_stored(db, world.shop_a, store)
    assert task(db, world.shop_a, request_id, "photo").state == "todo"


def test_an_upload_with_no_file_is_refused(db, world, shops, portal):
    request_id = request(db, world.shop_a)
    url = f"/s/shop-a/sasage/{request_id}"
    portal.login(world.operator_a)
    assert portal.post_form(f"{url}/images", {}, form_url=url).status_code == 422


MEASURED = {"length_mm": "300", "width_mm": "250", "height_mm": "40", "weight_g": "180"}


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"length_mm": "-5"}, "length_mm"),
        ({"weight_g": "0"}, "weight_g"),
        ({"height_mm": "99999999"}, "height_mm"),
        ({"names-0": "着丈", "rows-0-size": "M", "rows-0-values-0": "-3"}, "cell"),
        ({"names-0": "着丈", "rows-0-size": "M", "rows-0-values-0": "12000"}, "cell"),
        ({"names-0": "着丈", "rows-0-size": "M", "rows-0-values-0": "68.25"}, "cell"),
        ({"names-0": "着丈", "rows-0-size": "M", "rows-0-values-0": "abc"}, "cell"),
        ({"names-0": "着丈", "rows-0-values-0": "68"}, "size"),
    ],
    ids=["negative", "zero-weight", "absurd-height", "negative-cm", "absurd-cm", "two-decimals",
         "not-a-number", "no-size-name"],
)  # fmt: skip
def test_a_negative_or_absurd_measurement_is_refused_next_to_its_field(
    db, world, shops, portal, changes, where
):
    request_id = request(db, world.shop_a)
    url = f"/s/shop-a/sasage/{request_id}"
    portal.login(world.operator_a)
    response = portal.post_form(f"{url}/measurement", {**MEASURED, **changes}, form_url=url)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert len(_errors(html)) == 1
    if where == "cell":
        assert re.search(r'id="rows-0-values-0"[^>]*>\s*<small class="field-error"', html)
    elif where == "size":
        assert re.search(r'id="rows-0-size"[^>]*><small class="field-error"', html)
    else:
        assert f'aria-describedby="{where}-error"' in html
    with db.tenant_session(world.shop_a.id) as s:
        assert get_measurement(s, request_id) is None
        product = s.scalar(select(Product).where(Product.sku == "TEE-001"))
        assert (product.length_mm, product.size_class) == (None, None)
    assert task(db, world.shop_a, request_id, "measure").state == "todo"


def test_copy_written_on_an_older_version_answers_409_and_keeps_the_newer(db, world, shops, portal):
    request_id = request(db, world.shop_a)
    write(db, world.shop_a, request_id)
    url = f"/s/shop-a/sasage/{request_id}"
    portal.login(world.operator_a)
    stale = portal.post_form(f"{url}/copy", {**COPY, "title": "古い画面から", "based_on": "0"},
                             form_url=url)  # fmt: skip
    assert stale.status_code == 409
    assert "古い画面から" not in page_of(portal, "shop-a", request_id)


def test_copy_over_a_field_limit_is_refused_not_cut(db, world, shops, portal):
    request_id = request(db, world.shop_a)
    url = f"/s/shop-a/sasage/{request_id}"
    portal.login(world.operator_a)
    response = portal.post_form(f"{url}/copy", {**COPY, "title": "長" * 300}, form_url=url)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert len(_errors(html)) == 1 and "長" * 300 in html  # kept in the form to shorten
    assert 'data-field="title" data-over="yes"' in html
    assert task(db, world.shop_a, request_id, "copy").state == "todo"
