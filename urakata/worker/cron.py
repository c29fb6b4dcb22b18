"""Periodic work for ``rq cron urakata.worker.cron`` (exactly one such process runs).

Each feature registers its entries here with ``rq.cron.register``; every entry must be
idempotent, because a restart of the cron process may enqueue one twice. No feature has
periodic work yet, so the cron process starts with an empty schedule.
"""
