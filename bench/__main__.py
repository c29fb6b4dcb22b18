"""Run every benchmark: ``python -m bench`` (``make bench``), or one: ``python -m bench.audit``."""

from bench import (
    audit,
    carrier_files,
    catalog_import,
    forecast,
    order_import,
    order_intake,
    pick_list,
    portal_load,
    sasage_renditions,
    spine,
    stock_allocation,
    tenant_session,
    verifier,
)

BENCHMARKS = (
    tenant_session,
    audit,
    spine,
    catalog_import,
    order_intake,
    order_import,
    sasage_renditions,
    stock_allocation,
    forecast,
    pick_list,
    carrier_files,
    verifier,
    portal_load,
)

if __name__ == "__main__":
    for benchmark in BENCHMARKS:
        benchmark.main()
