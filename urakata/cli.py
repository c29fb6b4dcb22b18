"""The ``urakata`` command: demo, migrate, check-db."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="urakata")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the demo (own servers under ./var unless URLs given)")
    demo.add_argument("--var", default="var", help="state directory (default ./var)")
    demo.add_argument("--port", type=int, default=8000)
    sub.add_parser("migrate", help="upgrade the schema to head as MIGRATE_DATABASE_URL")
    sub.add_parser("check-db", help="check that DATABASE_URL is a safe application role")
    worker = sub.add_parser("worker", help="run a pool of RQ workers (scheduler on)")
    worker.add_argument("queues", nargs="*", help="queues to listen on (default: all)")
    worker.add_argument("-n", "--count", type=int, default=2, help="worker processes")
    sub.add_parser("relay", help="move committed outbox rows to RQ (wakes on NOTIFY)")
    sub.add_parser("cron", help="the one periodic scheduler (rq cron urakata.worker.cron)")
    check = sub.add_parser("spine-check", help="send a probe job through outbox, relay, worker")
    check.add_argument("--timeout", type=float, default=30.0)
    audit_cmd = sub.add_parser("audit", help="the audit ledger")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="walk the chains and check every event")
    verify.add_argument("--shop", help="only this shop's chain (its slug)")
    args = parser.parse_args(argv)

    if args.command == "demo":
        from urakata.demo import run_demo

        return run_demo(Path(args.var), args.port)
    if args.command == "migrate":
        from urakata.platform.migrate import upgrade_head

        url = os.environ.get("MIGRATE_DATABASE_URL")
        if not url:
            print("MIGRATE_DATABASE_URL (the owner role's URL) is required", file=sys.stderr)
            return 2
        upgrade_head(url)
        return 0
    if args.command == "spine-check":
        return _spine_check(args.timeout)
    if args.command in ("worker", "relay", "cron"):
        return _spine(args)
    if args.command == "audit":
        return _audit_verify(args.shop)
    if args.command == "check-db":
        from urakata.platform.catalog import isolation_problems
        from urakata.platform.config import Settings
        from urakata.platform.db import make_engine
        from urakata.platform.dbroles import UnsafeDatabaseRole, check_app_role

        settings = Settings.from_env()
        engine = make_engine(settings.database_url)
        try:
            check_app_role(engine)
        except UnsafeDatabaseRole as exc:
            print(exc, file=sys.stderr)
            return 1
        with engine.connect() as conn:
            problems = isolation_problems(conn, settings.app_db_role)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print("database role is safe and every tenant table is isolated")
        return 0
    return 2


def _spine(args) -> int:
    """The background processes; each reads the environment once, here."""
    import logging

    from urakata.platform.config import Settings

    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level)
    if args.command == "worker":
        from urakata.worker.process import run_workers

        run_workers(settings.redis_url, args.queues, args.count)
        return 0
    if args.command == "relay":
        import signal
        import threading

        from urakata.worker.relay import run_relay
        from urakata.worker.runtime import context

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        run_relay(context(), stop)
        return 0
    from rq.cli.cli import main as rq_main

    return (
        rq_main(["cron", "--url", settings.redis_url, "urakata.worker.cron"], standalone_mode=False)
        or 0
    )


def _spine_check(timeout: float) -> int:
    """Probe the running relay and workers: exit 0 with the latency, 1 when nothing ran."""
    import time

    from urakata.platform import outbox
    from urakata.platform.audit import AGENCY_CHAIN_ID
    from urakata.platform.config import Settings
    from urakata.platform.db import Database
    from urakata.platform.outbox import OutboxMessage

    db = Database.from_url(Settings.from_env().database_url)
    started = time.monotonic()
    with db.tenant_session(AGENCY_CHAIN_ID) as session:
        row = outbox.enqueue(session, "maintenance.selftest", queue="default")
    deadline = started + timeout
    while time.monotonic() < deadline:
        with db.platform_session() as session:
            done = session.get(OutboxMessage, row.id)
            if done.done_at or done.failed_at:
                break
        time.sleep(0.05)
    else:
        print(f"no worker finished the probe within {timeout:.0f}s (relay and workers running?)")
        db.dispose()
        return 1
    elapsed = time.monotonic() - started
    db.dispose()
    if done.failed_at:
        print(f"the probe failed: {done.last_error}")
        return 1
    print(f"spine ok: outbox -> relay -> worker -> done in {elapsed * 1000:.0f} ms")
    return 0


def _audit_verify(slug: str | None) -> int:
    import time

    from sqlalchemy.exc import OperationalError

    from urakata.platform import audit
    from urakata.platform.config import Settings
    from urakata.platform.db import Database
    from urakata.platform.tenancy import NotFound

    db = Database.from_url(Settings.from_env().database_url)
    try:
        try:
            with db.platform_session() as session:
                chains = audit.chain_ids(session, slug)
        except NotFound:
            print(f"no shop {slug!r}", file=sys.stderr)
            return 2
        except OperationalError as exc:
            print(f"cannot reach the database: {exc.orig}", file=sys.stderr)
            return 2
        failed, total, started = 0, 0, time.perf_counter()
        for label, chain_id in chains:
            verdict = audit.verify_chain(db, chain_id)
            total += verdict.count
            if verdict.ok:
                print(f"{label}: ok, {verdict.count} events (head seq {verdict.last_seq})")
            else:
                failed += 1
                print(f"{label}: FAILED at seq {verdict.bad_seq}: {verdict.reason}")
        elapsed = time.perf_counter() - started
        chains_word = "chain" if len(chains) == 1 else "chains"
        print(
            f"{len(chains)} {chains_word}, {total} events verified in {elapsed:.2f}s;"
            f" {failed} failed"
        )
        return 1 if failed else 0
    finally:
        db.dispose()


if __name__ == "__main__":
    sys.exit(main())
