"""A shop's bins: assigning free bins of the warehouse to the shop, releasing them again.

The session is bound to the shop, so both are recorded on the shop's chain (an agency
action about a shop). A bin is assigned to one shop at a time; it is released only when
none of the shop's stock is in it any more, and while a receipt or transfer puts stock
into it (they lock it ``FOR SHARE``) it cannot be released.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_
from urakata.platform.locations import Location, StaleLocation, parse_code
from urakata.platform.tenancy import NotFound
from urakata.tenants.stock.errors import StockInvalid
from urakata.tenants.stock.models import StockLevel

CODES_MAX = 2_000


def shop_bins(session: UrakataSession) -> list[Location]:
    """The bound shop's bins, in pick-path order."""
    return list(
        session.scalars(
            select(Location)
            .where(Location.shop_id == session.tenant_id)
            .order_by(Location.pick_sequence, Location.code)
        )
    )


def get_shop_bin(session: UrakataSession, location_id: int) -> Location:
    """A bin of the bound shop, or NotFound (another shop's bin, or none, alike)."""
    location = session.get(Location, location_id)
    if location is None or location.shop_id != session.tenant_id:
        raise NotFound(f"no bin {location_id} in this shop")
    return location


def parse_codes(text: str) -> list[str]:
    """Bin codes typed one per line (or separated by commas or spaces), as given."""
    return [part for part in text.replace(",", " ").split() if part]


def assign_bins(session: UrakataSession, *, actor: Actor, codes: list[str]) -> list[Location]:
    """Assign free bins to the bound shop, all or none; each problem names its code."""
    if not codes:
        raise StockInvalid({"codes": [N_("Enter at least one bin code.")]})
    if len(codes) > CODES_MAX:
        raise StockInvalid({"codes": [N_("At most %(limit)s bins at a time.", limit=CODES_MAX)]})
    parsed = [(raw, parse_code(raw)) for raw in codes]
    problems = [
        N_("%(code)s is not a bin code such as A-01-03-2.", code=raw)
        for raw, code in parsed
        if code is None
    ]
    wanted = sorted({code for _raw, code in parsed if code})
    found = {
        loc.code: loc
        for loc in session.scalars(
            select(Location)
            .where(Location.code.in_(wanted))
            .order_by(Location.id)
            .with_for_update()
        )
    }
    for code in wanted:
        location = found.get(code)
        if location is None:
            problems.append(N_("There is no bin %(code)s.", code=code))
        elif location.shop_id == session.tenant_id:
            problems.append(N_("Bin %(code)s is this shop's already.", code=code))
        elif location.shop_id is not None:
            problems.append(N_("Bin %(code)s is assigned to another shop.", code=code))
    if problems:
        raise StockInvalid({"codes": problems})
    now = utcnow()
    for code in wanted:
        found[code].shop_id, found[code].assigned_at, found[code].updated_at = (
            session.tenant_id,
            now,
            now,
        )
    session.flush()
    audit.record(
        session,
        actor,
        "stock.bins_assigned",
        object_type="shop",
        object_id=session.tenant_id,
        data={"bins": wanted},
    )
    return [found[code] for code in wanted]


def release_bin(
    session: UrakataSession, *, actor: Actor, location_id: int, version: int
) -> Location:
    """Give a bin of the bound shop back to the warehouse; refused while stock is in it."""
    location = get_shop_bin(session, location_id)
    if location.version != version:
        raise StaleLocation(f"location {location.code} is at version {location.version}")
    session.refresh(location, with_for_update=True)
    if location.shop_id != session.tenant_id or location.version != version:
        raise StaleLocation(f"location {location.code} was changed meanwhile")
    pieces = session.scalar(
        select(func.coalesce(func.sum(StockLevel.on_hand), 0)).where(
            StockLevel.location_id == location.id
        )
    )
    if pieces:
        raise StockInvalid(
            {
                "location": [
                    N_(
                        "Bin %(code)s still holds %(pieces)s pieces of this shop's stock:"
                        " move them first.",
                        code=location.code,
                        pieces=pieces,
                    )
                ]
            }
        )
    location.shop_id, location.assigned_at, location.updated_at = None, None, utcnow()
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleLocation(f"location {location.code} was changed meanwhile") from exc
    audit.record(
        session,
        actor,
        "stock.bin_released",
        object_type="shop",
        object_id=session.tenant_id,
        data={"bin": location.code},
    )
    return location
