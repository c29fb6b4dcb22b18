"""The queues, named in one place. Workers listen in this order (first = most urgent)."""

QUEUES = ("default", "mail", "fulfilment", "billing", "pdf", "maintenance")
