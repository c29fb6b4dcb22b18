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
cron.register(
    run,
    queue_name="maintenance",
    args=("stock.allocation_sweep", None, None, None, {}),
    interval=60,
    job_timeout=120,
    name="stock-allocation-sweep",
)
cron.register(
    run,
    queue_name="maintenance",
    args=("fulfilment.sweep", None, None, None, {}),
    interval=60,
    job_timeout=120,
    name="fulfilment-instruction-sweep",
)
cron.register(
    run,
    queue_name="maintenance",
    args=("stock.reconcile", None, None, None, {}),
    cron="41 18 * * *",  # daily, 03:41 Asia/Tokyo
    job_timeout=3600,
    name="stock-reconcile",
)
cron.register(
    run,
    queue_name="maintenance",
    args=("payments.sweep_konbini", None, None, None, {}),
    cron="7 * * * *",  # hourly: konbini deadlines end at local midnight (+ grace)
    job_timeout=120,
    name="payments-konbini-expiry",
)
cron.register(
    run,
    queue_name="maintenance",
    args=("payments.sweep_reminders", None, None, None, {}),
    cron="0 0 * * *",  # daily, 09:00 Asia/Tokyo: shops read it in the morning
    job_timeout=120,
    name="payments-reminders",
)
cron.register(
    run,
    queue_name="maintenance",
    args=("audit.checkpoint_chains", None, None, None, {}),
    cron="*/10 * * * *",  # every 10 minutes, also when nothing happened (DESIGN §5)
    job_timeout=1800,
    name="audit-checkpoints",
)
cron.register(
    run,
    queue_name="maintenance",
    args=("retention.erase_due", None, None, None, {}),
    cron="53 17 * * *",  # daily, 02:53 Asia/Tokyo
    job_timeout=3600,
    name="retention-erase-due",
)
cron.register(
    run,
    queue_name="maintenance",
    args=("planning.sweep_snapshots", None, None, None, {}),
    cron="5 15 * * *",  # daily, 00:05 Asia/Tokyo: the day that just ended
    job_timeout=120,
    name="planning-stock-snapshots",
)
cron.register(
    run,
    queue_name="maintenance",
    args=("planning.sweep_forecasts", None, None, None, {}),
    cron="23 16 * * *",  # daily, 01:23 Asia/Tokyo: forecasts and proposals for the morning
    job_timeout=120,
    name="planning-forecasts",
)
cron.register(
    run,
    queue_name="maintenance",
    args=("planning.sweep_low_stock", None, None, None, {}),
    cron="*/5 * * * *",  # every five minutes: the low-stock alert, once per crossing
    job_timeout=120,
    name="planning-low-stock",
)
cron.register(
    run,
    queue_name="maintenance",
    args=("shipping.sweep_unpack", None, None, None, {}),
    cron="*/10 * * * *",  # every ten minutes: packed parcels of cancelled orders get unpacked
    job_timeout=120,
    name="shipping-unpack",
)
