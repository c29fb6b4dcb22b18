"""Run every benchmark: ``python -m bench`` (``make bench``)."""

from bench import tenant_session

if __name__ == "__main__":
    tenant_session.main()
    __import__("bench.audit", fromlist=["main"]).main()
