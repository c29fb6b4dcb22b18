"""Packing slips (納品書) and the handover manifest: what they say, and real PDFs."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from tests.tenants.shipping.conftest import ADMIN, PACKER, inspected, labelled, shipment
from urakata.tenants.shipping import documents, handover, settings
from urakata.tenants.shop.services import get_settings, set_logo

E2E = Path(__file__).resolve().parents[3] / "var" / "e2e"
PNG_LOGO = bytes.fromhex(  # a 120×40 red PNG
    "89504e470d0a1a0a0000000d4948445200000078000000280802000000ba88a9720000007649444154789c"
    "edd04111c02000c0304017fe0f59a858792c51d0eb3c7b0fbeb75e07fc85d111a32346478c8e181d313a62"
    "74c4e888d111a32346478c8e181d313a6274c4e888d111a32346478c8e181d313a6274c4e888d111a32346"
    "478c8e181d313a6274c4e888d111a32346478c8e181d313a72018d550190baa4f77d0000000049454e44ae"
    "426082"
)


def _slip_html(db, shop, shipment_id) -> str:
    with db.tenant_session(shop.id) as s:
        return documents.slips_html(s, [documents.fulfilment.get_shipment(s, shipment_id)], "t")


def test_a_slip_has_the_shop_its_message_lines_and_totals_per_rate(db, stocked):
    shop_a, _ = stocked
    with db.tenant_session(shop_a.id) as s:
        settings.update_options(s, actor=ADMIN, version=0, data={
            "slip_message": "またのご利用をお待ちしております。<script>x</script>"})  # fmt: skip
        current = get_settings(s)
        set_logo(s, actor=ADMIN, expected_version=current.version, data=PNG_LOGO)
    shipment_id = inspected(db, shop_a, ("CUP-1", 3), ("ICE-1", 1))
    html = _slip_html(db, shop_a, shipment_id)
    assert "納品書" in html and "あかり雑貨" in html and "data:image/png;base64," in html
    assert "またのご利用をお待ちしております。&lt;script&gt;" in html  # text, never markup
    assert "抹茶アイス 6個入 ※" in html and "有田焼 湯呑み ※" not in html
    assert "※は軽減税率（8%）対象商品です。" in html
    # Unit prices are the order's (1,000 each): 10% ¥3,000 → tax ¥272; 8% ¥1,000 → ¥74.
    assert "¥3,000" in html and "内消費税 ¥272" in html and "内消費税 ¥74" in html
    assert "¥4,000" in html


def test_no_prices_on_the_slip_when_the_shop_sends_gifts(db, stocked):
    shop_a, _ = stocked
    with db.tenant_session(shop_a.id) as s:
        settings.update_options(s, actor=ADMIN, version=0, data={"slip_hide_prices": "on"})
    shipment_id = inspected(db, shop_a, ("CUP-1", 1))
    html = _slip_html(db, shop_a, shipment_id)
    assert "有田焼 湯呑み" in html and "¥" not in html and "単価" not in html


def test_real_pdfs_of_a_reprinted_slip_and_a_manifest(db, stocked):
    shop_a, _ = stocked
    shipment_id, number = labelled(db, shop_a, ("CUP-1", 2), ("ICE-1", 1), n=30)
    with db.tenant_session(shop_a.id) as s:
        slip = documents.reprint_slip(s, actor=PACKER, shipment_id=shipment_id)
        handed = handover.hand_over(s, actor=PACKER, carrier="yamato", key=uuid.uuid4().hex)
        manifest = documents.render_manifest(s, actor=PACKER, handover_id=handed.id)
    assert slip.startswith(b"%PDF") and manifest.startswith(b"%PDF")
    E2E.mkdir(parents=True, exist_ok=True)
    for name, data in (("shipping-slip", slip), ("shipping-manifest", manifest)):
        path = E2E / f"{name}.pdf"
        path.write_bytes(data)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path),
                        str(E2E / name)], check=True, timeout=60)  # fmt: skip
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True,
                              timeout=60).stdout.decode()  # fmt: skip
        if name == "shipping-slip":
            assert "ご注文番号" in text and "抹茶アイス" in text
        else:
            assert number in text and "ドライバー署名" in text
    assert shipment(db, shop_a, shipment_id).status == "shipped"
