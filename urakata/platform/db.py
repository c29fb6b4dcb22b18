"""Engine, declarative base and the session that carries a tenant (DESIGN §4).

Two walls keep one shop's rows away from another:

1. PostgreSQL row-level security. Each transaction of a :class:`UrakataSession` starts with
   ``SET LOCAL app.tenant_id = '<uuid>'`` (or ``''`` when no tenant is bound), issued
   from an ``after_begin`` hook; the policy on every tenant table compares against it.
2. The ORM. A ``do_orm_execute`` hook adds ``with_loader_criteria`` for the bound tenant to
   every statement that touches a :class:`TenantOwned` entity and raises
   :class:`TenantNotBound` when no tenant is bound. A ``before_flush`` hook stamps new
   tenant rows with the bound tenant and refuses rows of another tenant.

A session is bound to at most one tenant for its whole life.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    MetaData,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.types import Uuid

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True), uuid.UUID: Uuid()}


class TenantOwned:
    """Mixin for every table a shop owns: ``tenant_id`` leads the primary key.

    Models add their own key columns after it and lead every unique constraint,
    foreign key and index with ``tenant_id`` too (the catalog test checks this).
    """

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid(), primary_key=True, sort_order=-100, nullable=False
    )


def one_of(column: str, values) -> str:
    """A CHECK constraint's text: ``column`` holds one of ``values`` (codes, not input)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def tenant_fk(column: str, target: str, ondelete: str | None = None) -> ForeignKeyConstraint:
    """A foreign key to another tenant-owned table's ``(tenant_id, id)``: a row can only
    point at a row of its own shop."""
    return ForeignKeyConstraint(
        ["tenant_id", column], [f"{target}.tenant_id", f"{target}.id"], ondelete=ondelete
    )


def row_id() -> Mapped[int]:
    """The row's own id after ``tenant_id`` in a shop's composite key: an IDENTITY.

    ``autoincrement=True`` names it the key's generated column (SQLAlchemy will not guess
    in a composite key), so the ORM inserts many new rows with one statement and matches
    the returned ids to them, instead of one INSERT per row.
    """
    return mapped_column(BigInteger, Identity(), primary_key=True, autoincrement=True)


class TenantNotBound(RuntimeError):
    """A tenant-owned table was queried by a session bound to no tenant."""


class CrossTenantWrite(RuntimeError):
    """A session tried to write a row that belongs to another tenant."""


class TenantRebind(RuntimeError):
    """A session already bound to one tenant was asked to bind to another."""


def validate_tenant_id(value: uuid.UUID | str) -> uuid.UUID:
    """Return ``value`` as a UUID; the only values ever placed into ``SET LOCAL``."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


class UrakataSession(Session):
    """A session that may carry one tenant, fixed for its lifetime."""

    @property
    def tenant_id(self) -> uuid.UUID | None:
        return self.info.get("tenant_id")

    def bind_tenant(self, tenant_id: uuid.UUID | str) -> None:
        tid = validate_tenant_id(tenant_id)
        bound = self.info.get("tenant_id")
        if bound is not None:
            if bound != tid:
                raise TenantRebind(f"session is bound to tenant {bound}, refused {tid}")
            return
        self.info["tenant_id"] = tid
        if self.in_transaction():
            # The transaction began unbound; set the GUC now for the rest of it.
            _set_tenant_guc(self.connection(), tid)


def _set_tenant_guc(connection, tenant_id: uuid.UUID | None) -> None:
    value = "" if tenant_id is None else str(validate_tenant_id(tenant_id))
    # SET LOCAL (not set_config) so Citus propagates it; value is a validated UUID.
    connection.exec_driver_sql(f"SET LOCAL app.tenant_id = '{value}'")


@event.listens_for(UrakataSession, "after_begin")
def _bind_guc_on_begin(session: UrakataSession, transaction, connection) -> None:
    _set_tenant_guc(connection, session.info.get("tenant_id"))


def _touches_tenant_table(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, TenantOwned) for m in state.all_mappers)


@functools.lru_cache(maxsize=4096)
def _wall_for(tid: uuid.UUID):
    """The loader criteria of one tenant, made once: building the option (its lambda is
    analysed for the closure variable) cost more than the rest of a small query's run."""
    return with_loader_criteria(
        TenantOwned,
        lambda cls: cls.tenant_id == tid,
        include_aliases=True,
        track_closure_variables=True,
    )


@event.listens_for(UrakataSession, "do_orm_execute")
def _tenant_wall(state: ORMExecuteState) -> None:
    """Every ORM SELECT, UPDATE and DELETE of a bound session is limited to its tenant's
    rows (the criteria only touch tenant-owned entities); with no tenant bound, one that
    touches a tenant-owned table is refused. Row-level security says the same below."""
    if not (state.is_select or state.is_update or state.is_delete):
        return
    tid = state.session.info.get("tenant_id")
    if tid is None:
        if _touches_tenant_table(state):
            raise TenantNotBound(
                "a tenant-owned table was queried with no tenant bound; "
                "open the session with Database.tenant_session() or use fan_out_across_tenants()"
            )
        return
    state.statement = state.statement.options(_wall_for(tid))


@event.listens_for(UrakataSession, "before_flush")
def _stamp_new_rows(session: UrakataSession, flush_context, instances) -> None:
    tid = session.info.get("tenant_id")
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantOwned):
            continue
        if tid is None:
            raise TenantNotBound(f"cannot write {type(obj).__name__} with no tenant bound")
        if obj.tenant_id is None:
            obj.tenant_id = tid
        elif obj.tenant_id != tid:
            raise CrossTenantWrite(
                f"{type(obj).__name__} belongs to tenant {obj.tenant_id}, session to {tid}"
            )


def normalise_url(url: str | URL) -> URL:
    """Accept ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs) -> Engine:
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(normalise_url(url), **kwargs)


class Database:
    """An engine and its session factory. Sessions are opened per request and per job."""

    def __init__(self, engine: Engine, *, bind=None, **session_options):
        self.engine = engine
        self._factory = sessionmaker(
            bind=bind if bind is not None else engine,
            class_=UrakataSession,
            expire_on_commit=False,
            **session_options,
        )

    @classmethod
    def joined_to(cls, connection) -> Database:
        """Sessions that run inside ``connection``'s open transaction, as SAVEPOINTs.

        The test harness uses it so each test rolls back everything it wrote.
        """
        return cls(connection.engine, bind=connection, join_transaction_mode="create_savepoint")

    @classmethod
    def from_url(cls, url: str | URL, **kwargs) -> Database:
        return cls(make_engine(url, **kwargs))

    def session(self, tenant_id: uuid.UUID | str | None = None) -> UrakataSession:
        session = self._factory()
        if tenant_id is not None:
            session.bind_tenant(tenant_id)
        return session

    @contextmanager
    def tenant_session(self, tenant_id: uuid.UUID | str) -> Iterator[UrakataSession]:
        """A session bound to one shop: commits on success, rolls back on any exception."""
        with self.session(tenant_id) as session, session.begin():
            yield session

    @contextmanager
    def on_one_connection(self) -> Iterator[Database]:
        """This database with its sessions run one after another on one pooled connection.

        Each session still begins and ends its own transaction (so ``SET LOCAL
        app.tenant_id`` is set at its begin and gone at its end, as on a connection the pool
        hands out again) and keeps its own identity map and tenant; only the pool checkout,
        its ping and its reset are saved, once per session, for code that opens many short
        sessions in a row (a fan-out over shops). Sessions must not overlap. A database
        already bound to a connection (the tests') is used as it is.
        """
        options = dict(self._factory.kw)
        if options.pop("bind", None) is not self.engine:
            yield self
            return
        options.pop("class_", None)
        options.pop("expire_on_commit", None)
        with self.engine.connect() as connection:
            yield Database(self.engine, bind=connection, **options)

    @contextmanager
    def platform_session(self) -> Iterator[UrakataSession]:
        """A session bound to no shop: it can read platform tables only."""
        with self.session() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
