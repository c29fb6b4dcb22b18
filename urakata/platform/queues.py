"""The queues, named in one place. Workers listen in this order (first = most urgent).

In platform so the portal (queue figures) and the worker (listening) share one list.
"""

QUEUES = ("default", "mail", "fulfilment", "billing", "pdf", "maintenance")
