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


if __name__ == "__main__":
    sys.exit(main())
