"""Run every benchmark: ``python -m bench`` (``make bench``), or one: ``python -m bench.audit``."""

from bench import audit, catalog_import, order_import, order_intake, spine, tenant_session

BENCHMARKS = (tenant_session, audit, spine, catalog_import, order_intake, order_import)

if __name__ == "__main__":
    for benchmark in BENCHMARKS:
        benchmark.main()
