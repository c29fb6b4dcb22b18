"""What planning services refuse, with messages people can act on (platform.fields.Message)."""

from __future__ import annotations

from typing import Any

from urakata.platform.fields import N_


class PlanningInvalid(ValueError):
    """Input the sender must fix; ``errors`` maps each field to its messages (422).
    Nothing was written."""

    def __init__(self, errors: dict[str, list[Any]]):
        super().__init__("; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))
        self.errors = errors


class NoSales(PlanningInvalid):
    """A forecast was asked for a SKU that has sold nothing in the history looked at."""

    def __init__(self, sku: str, days: int):
        super().__init__(
            {
                "product_id": [
                    N_(
                        "%(sku)s has no sales in the last %(days)s days: there is nothing to"
                        " forecast from. Set its reorder point by hand.",
                        sku=sku,
                        days=days,
                    )
                ]
            }
        )


class StaleRecord(RuntimeError):
    """Someone changed the record since it was read (409)."""

    def __init__(self):
        super().__init__(N_("Someone changed this meanwhile. Reload the page and try again."))
        self.message = N_("Someone changed this meanwhile. Reload the page and try again.")


class AlreadyDecided(PlanningInvalid):
    """The proposal was accepted or dismissed already (a form sent twice) (409)."""

    def __init__(self):
        super().__init__(
            {"status": [N_("This proposal was decided already; nothing was changed now.")]}
        )
