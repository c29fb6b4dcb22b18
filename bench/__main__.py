"""Run every benchmark: ``python -m bench`` (``make bench``), or one: ``python -m bench.audit``."""

from bench import audit, catalog_import, order_intake, spine, tenant_session

if __name__ == "__main__":
    for benchmark in (tenant_session, audit, spine, catalog_import, order_intake):
        benchmark.main()
