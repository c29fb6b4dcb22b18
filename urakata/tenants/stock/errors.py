"""What stock services refuse, with messages people can act on (platform.fields.Message)."""

from __future__ import annotations

from typing import Any

from urakata.platform.fields import N_, Message


class StockInvalid(ValueError):
    """Input the sender must fix; ``errors`` maps each field to its messages (422).

    Nothing was written: the services check before they change a level, and a refusal
    found while changing one (not enough left) undoes what the call did.
    """

    def __init__(self, errors: dict[str, list[Any]]):
        super().__init__("; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))
        self.errors = errors


class DuplicateSubmission(StockInvalid):
    """The idempotency key was used already: the same form or request came twice (409).

    The first submission's effect stands; this one changed nothing.
    """

    def __init__(self, field: str = "key", message: Message | None = None):
        super().__init__(
            {field: [message or N_("This was recorded already: the same form was sent twice.")]}
        )
        self.field = field


class StockContention(RuntimeError):
    """The levels kept changing under an allocation's plan; the caller may try again."""
