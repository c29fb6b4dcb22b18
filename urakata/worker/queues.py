"""The queues the workers listen on (the list itself lives in urakata.platform.queues)."""

from urakata.platform.queues import QUEUES

__all__ = ["QUEUES"]
