"""What shipping services refuse, with messages people can act on."""

from __future__ import annotations

from typing import Any

from urakata.platform.fields import Message


class ShippingInvalid(ValueError):
    """Input the sender must fix; ``errors`` maps each field to its messages (422).
    Nothing was written."""

    def __init__(self, errors: dict[str, list[Any]]):
        super().__init__("; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))
        self.errors = errors


class NotReady(RuntimeError):
    """The shipment (or the handover) is not in a state that allows this (409)."""

    def __init__(self, message: Message):
        super().__init__(str(message))
        self.message = message


class StaleShipping(RuntimeError):
    """Someone changed it since it was shown (409)."""


class DuplicateSubmission(RuntimeError):
    """The same form was sent twice; the first one's result stands."""

    def __init__(self, found: Any = None):
        super().__init__("submitted twice")
        self.found = found
