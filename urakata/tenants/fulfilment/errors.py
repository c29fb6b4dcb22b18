"""What fulfilment services refuse, with messages people can act on."""

from __future__ import annotations

from typing import Any

from urakata.platform.fields import Message


class FulfilmentInvalid(ValueError):
    """Input the sender must fix; ``errors`` maps each field to its messages (422).
    Nothing was written."""

    def __init__(self, errors: dict[str, list[Any]]):
        super().__init__("; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))
        self.errors = errors


class IllegalShipmentMove(RuntimeError):
    """The shipment (or wave) is not in a state that allows this (409)."""

    def __init__(self, message: Message):
        super().__init__(str(message))
        self.message = message


class StaleShipment(RuntimeError):
    """Someone changed the shipment or wave since it was shown (409)."""
