"""Periodic work for ``urakata cron`` (``rq cron urakata.worker.cron``; exactly one runs).

Every entry is idempotent: a cron restart may enqueue one twice. Per-shop periodic work
fans out inside its job with ``fan_out_across_tenants``.
"""

from rq import cron

from urakata.worker.runtime import run

# run(job_name, shop_id, idempotency key, outbox id, args)
cron.register(
    run,
    queue_name="maintenance",
    args=("maintenance.reconcile_outbox", None, None, None, {}),
    interval=60,
    job_timeout=120,
    name="reconcile-outbox",
)
cron.register(
    run,
    queue_name="maintenance",
    args=("maintenance.purge_outbox", None, None, None, {}),
    cron="17 3 * * *",  # daily, 03:17 UTC
    job_timeout=300,
    name="purge-outbox",
)
cron.register(
    run,
    queue_name="maintenance",
    args=("maintenance.purge_idempotency_keys", None, None, None, {}),
    cron="29 3 * * *",  # daily, 03:29 UTC
    job_timeout=600,
    name="purge-idempotency-keys",
)
