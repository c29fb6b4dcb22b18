"""The job modules, listed in one place; importing them registers their jobs."""

from __future__ import annotations

import functools
import importlib

JOB_MODULES = (
    "urakata.worker.audit_jobs",
    "urakata.worker.catalog_jobs",
    "urakata.worker.fulfilment_jobs",
    "urakata.worker.inbound_jobs",
    "urakata.worker.mail_jobs",
    "urakata.worker.maintenance",
    "urakata.worker.order_import_jobs",
    "urakata.worker.order_jobs",
    "urakata.worker.payment_jobs",
    "urakata.worker.planning_jobs",
    "urakata.worker.sasage_jobs",
    "urakata.worker.shipping_jobs",
    "urakata.worker.stock_jobs",
    "urakata.worker.task_jobs",
)


@functools.cache
def load_jobs() -> None:
    for module in JOB_MODULES:
        importlib.import_module(module)
