"""Mails a shop writes itself (the order confirmation): its templates, per language, and
the sandbox they render in.

A shop template is Jinja, written by the shop's people, rendered by the agency's worker.
It runs in Jinja's immutable sandbox (no underscore attributes, no Python internals)
and is held to a small language on top (DESIGN §10, "Shop-editable templates"):

* no ``set``, ``macro``, ``call``, ``include``, ``import``, ``extends``, ``block`` or
  method calls: output, ``if``, ``for`` over the mail's own data (not nested), filters
  from a short list, tests, comparisons and arithmetic;
* operators and the two filters that can grow text (``replace``, ``join``) check the
  size before they build anything; ``**`` and ``%`` on text are refused;
* the rendered mail is at most :data:`OUTPUT_MAX` characters, counted as it is written.

So a template can neither reach the worker's internals nor make it build gigabytes. A
template is checked when it is saved (syntax, the rules above, and a render against
sample data of every payment method): what fails is refused with a message, nothing
saved. A shop without its own template uses the app's default for that language.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import Base, TenantOwned, UrakataSession, utcnow
from urakata.platform.fields import N_, Message

LOCALES = ("ja", "en")
SUBJECT_MAX = 200
BODY_MAX = 20_000
VALUE_MAX = 20_000  # characters of any one value a template builds
OUTPUT_MAX = 100_000  # characters of a rendered mail
CONCAT_MAX = 30  # operands of one ``~`` chain


class MailTemplate(TenantOwned, Base):
    """A shop's own text of one kind of mail in one language."""

    __tablename__ = "mail_template"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    locale: Mapped[str] = mapped_column(String(2), primary_key=True)
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_name: Mapped[str] = mapped_column(String(200), default="")

    __mapper_args__ = {"version_id_col": version}


class TemplateRefused(ValueError):
    """The template cannot be used; ``errors`` maps ``subject``/``body`` to messages."""

    def __init__(self, errors: dict[str, list[Message]]):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class StaleTemplate(RuntimeError):
    """Someone saved (or reset) the template since the version the form showed (409)."""


# -- kinds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateKind:
    """A kind of shop mail: its defaults per language, its sample data and its fields."""

    kind: str
    subjects: dict[str, str]  # the default subject per locale
    bodies: Callable[[str], str]  # the default body of a locale
    samples: Callable[[str], list[dict]]  # contexts a saved template must render with
    fields: tuple[tuple[str, str], ...]  # (name, English description msgid) for editors


KINDS: dict[str, TemplateKind] = {}


def register_kind(kind: TemplateKind) -> None:
    KINDS[kind.kind] = kind


# -- the sandbox ---------------------------------------------------------------------------

_budget: contextvars.ContextVar[list[int]] = contextvars.ContextVar("mail_template_budget")


def _too_big(what: str) -> SecurityError:
    return SecurityError(f"{what} would be longer than {VALUE_MAX} characters")


def _checked(value):
    if isinstance(value, str | list | tuple) and len(value) > VALUE_MAX:
        raise _too_big("a value")
    return value


def _replace(value, old, new, count=None):
    text, old, new = str(value), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if count is not None:
        found = min(found, max(int(count), 0))
    if len(text) + found * (len(new) - len(old)) > VALUE_MAX:
        raise _too_big("the replaced text")
    return text.replace(old, new, -1 if count is None else max(int(count), 0))


def _join(value, separator="", attribute=None):
    items = [str(v[attribute] if attribute is not None else v) for v in value]
    if sum(map(len, items)) + len(str(separator)) * max(len(items) - 1, 0) > VALUE_MAX:
        raise _too_big("the joined text")
    return str(separator).join(items)


def yen(value) -> str:
    """¥1,234 (integer yen)."""
    return f"¥{int(value):,}"


_PLAIN_FILTERS = (
    "abs", "capitalize", "default", "d", "first", "last", "float", "int", "length", "count",
    "lower", "upper", "title", "trim", "truncate", "round", "sum", "sort", "list", "min",
    "max", "unique", "wordcount", "string",
)  # fmt: skip
FILTERS = (*_PLAIN_FILTERS, "replace", "join", "yen")


class MailSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, with size checks on the operators that grow values."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def is_safe_attribute(self, obj, attr, value) -> bool:
        # Templates call no methods (the checker refuses calls): no callable is reachable.
        return not callable(value) and super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value):
        return None  # str.format is a method like any other: not reachable

    def call_binop(self, context, operator, left, right):
        if operator == "**":
            raise SecurityError("the ** operator is not available in mail templates")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("formatting text with % is not available; use filters")
        sized = str | list | tuple
        if operator == "*" and any(
            isinstance(seq, sized) and isinstance(times, int) and len(seq) * times > VALUE_MAX
            for seq, times in ((left, right), (right, left))
        ):
            raise _too_big("the repeated text")
        if (
            operator == "+"
            and isinstance(left, sized)
            and isinstance(right, sized)
            and len(left) + len(right) > VALUE_MAX
        ):
            raise _too_big("the added text")
        return super().call_binop(context, operator, left, right)


def _finalize(value):
    """Count every written value against the mail's budget (set by :func:`render`)."""
    budget = _budget.get(None)
    if budget is not None:
        budget[0] -= len(str(value)) if value is not None else 0
        if budget[0] < 0:
            raise SecurityError(f"the mail would be longer than {OUTPUT_MAX} characters")
    return value


@functools.cache
def sandbox() -> MailSandbox:
    env = MailSandbox(
        undefined=StrictUndefined,
        autoescape=False,  # plain-text mails
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.globals.clear()  # no range, lipsum, cycler, joiner, namespace, dict
    plain = {name: _size_checked(env.filters[name]) for name in _PLAIN_FILTERS}
    env.filters.clear()
    env.filters.update({**plain, "replace": _replace, "join": _join, "yen": yen})
    return env


def _size_checked(filter_function):
    """The filter, refusing a result past :data:`VALUE_MAX` (Jinja's markers kept)."""

    @functools.wraps(filter_function)
    def checked(*args, **kwargs):
        return _checked(filter_function(*args, **kwargs))

    return checked


# -- checking ------------------------------------------------------------------------------

_ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.Getattr,
    nodes.Getitem, nodes.Slice, nodes.If, nodes.For, nodes.Filter, nodes.Test, nodes.Compare,
    nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Neg, nodes.Pos, nodes.CondExpr,
    nodes.Concat, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow,
    nodes.List, nodes.Tuple, nodes.Dict, nodes.Pair, nodes.Keyword,
)  # fmt: skip
_REFUSED_TAGS = {
    nodes.Assign: "set", nodes.AssignBlock: "set", nodes.Macro: "macro",
    nodes.CallBlock: "call", nodes.Include: "include", nodes.Import: "import",
    nodes.FromImport: "import", nodes.Extends: "extends", nodes.Block: "block",
    nodes.With: "with", nodes.FilterBlock: "filter", nodes.ExprStmt: "do",
}  # fmt: skip


def _is_data_path(node: nodes.Node) -> bool:
    """``order.lines``, ``order["lines"]``: a name and attribute/item steps, no calls."""
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
            return False
        node = node.node
    return isinstance(node, nodes.Name)


def _problems(tree: nodes.Template) -> list[Message]:
    problems: list[Message] = []

    def visit(node: nodes.Node, in_loop: bool, in_concat: bool) -> None:
        line = getattr(node, "lineno", 0) or 0
        tag = next((t for cls, t in _REFUSED_TAGS.items() if isinstance(node, cls)), None)
        if tag is not None:
            problems.append(N_("Line %(line)d: mail templates cannot use {%% %(tag)s %%}.",
                               line=line, tag=tag))  # fmt: skip
            return
        if isinstance(node, nodes.Call):
            problems.append(N_("Line %(line)d: mail templates cannot call functions or methods;"
                               " use the fields and filters listed.", line=line))  # fmt: skip
            return
        if not isinstance(node, _ALLOWED_NODES):
            problems.append(N_("Line %(line)d: this construct is not available in mail"
                               " templates.", line=line))  # fmt: skip
            return
        if isinstance(node, nodes.Filter) and node.name not in FILTERS:
            problems.append(N_("Line %(line)d: the filter %(name)s is not available; use one of"
                               " %(filters)s.", line=line, name=node.name,
                               filters=", ".join(FILTERS)))  # fmt: skip
        if isinstance(node, nodes.For):
            if in_loop:
                problems.append(N_("Line %(line)d: a loop inside a loop is not available in"
                                   " mail templates.", line=line))  # fmt: skip
            if node.recursive or not _is_data_path(node.iter):
                problems.append(N_("Line %(line)d: a loop goes over a list of the mail's data,"
                                   " such as order.lines.", line=line))  # fmt: skip
            for child in node.body + node.else_:
                visit(child, True, in_concat)
            if node.test is not None:
                visit(node.test, True, in_concat)
            return
        if isinstance(node, nodes.Concat):
            if in_concat or len(node.nodes) > CONCAT_MAX:
                problems.append(N_("Line %(line)d: join at most %(limit)d values with ~, and do"
                                   " not nest such joins.", line=line,
                                   limit=CONCAT_MAX))  # fmt: skip
            for child in node.nodes:
                visit(child, in_loop, True)
            return
        for child in node.iter_child_nodes():
            visit(child, in_loop, in_concat)

    visit(tree, False, False)
    return problems


def check_source(source: str) -> list[Message]:
    """What is wrong with a template's text (syntax and the sandbox's rules)."""
    try:
        tree = sandbox().parse(source)
    except TemplateSyntaxError as exc:
        return [N_("Line %(line)d: %(problem)s", line=exc.lineno or 0, problem=exc.message)]
    return _problems(tree)


def render(source: str, context: dict) -> str:
    """Render a checked template. Raises Jinja's errors (:func:`render_problem` words them)."""
    token = _budget.set([OUTPUT_MAX])
    try:
        text = sandbox().from_string(source).render(context)
    finally:
        _budget.reset(token)
    if len(text) > OUTPUT_MAX:  # the template's own text, repeated by a loop
        raise SecurityError(f"the mail would be longer than {OUTPUT_MAX} characters")
    return text


def render_problem(exc: Exception) -> Message:
    """A message a shop admin can act on for a template that failed to render."""
    if isinstance(exc, SecurityError):
        return N_("The template tries something mail templates may not do: %(problem)s.",
                  problem=str(exc).rstrip("."))  # fmt: skip
    if isinstance(exc, UndefinedError):
        return N_("%(problem)s: use only the fields listed beside the editor.",
                  problem=str(exc))  # fmt: skip
    if isinstance(exc, RecursionError):
        return N_("The template nests too deeply.")
    problem = f"{type(exc).__name__}: {exc}"
    return N_("The template failed: %(problem)s.", problem=problem)


def subject_line(text: str) -> str:
    """A rendered subject on one line (a line break would end the mail's header)."""
    return " ".join(text.split())


def check_template(kind: str, locale: str, subject: str, body: str) -> None:
    """Refuse (:class:`TemplateRefused`) a template that breaks a rule or fails to render
    with the kind's sample data in every variant; nothing happens when it is fine."""
    spec = KINDS[kind]
    errors: dict[str, list[Message]] = {}
    for name, source, limit in (("subject", subject, SUBJECT_MAX), ("body", body, BODY_MAX)):
        if not source.strip():
            errors[name] = [N_("This field cannot be empty.")]
        elif len(source) > limit:
            errors[name] = [N_("Use at most %(limit)d characters (this has %(count)d).",
                               limit=limit, count=len(source))]  # fmt: skip
        elif problems := check_source(source):
            errors[name] = problems
    if not errors:
        for context in spec.samples(locale):
            for name, source in (("subject", subject), ("body", body)):
                if name in errors:
                    continue
                try:
                    text = render(source, context)
                except (TemplateError, ArithmeticError, TypeError, ValueError,
                        RecursionError) as exc:  # fmt: skip
                    errors[name] = [render_problem(exc)]
                    continue
                if name == "subject" and not subject_line(text):
                    errors[name] = [N_("The subject comes out empty.")]
    if errors:
        raise TemplateRefused(errors)


# -- the shop's templates ---------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateText:
    kind: str
    locale: str
    subject: str
    body: str
    custom: bool  # the shop's own (else the app's default)
    version: int  # 0 for the default
    updated_at: datetime | None = None
    updated_by_name: str = ""


def _row(session: UrakataSession, kind: str, locale: str) -> MailTemplate | None:
    return session.scalar(
        select(MailTemplate).where(MailTemplate.kind == kind, MailTemplate.locale == locale)
    )


def get_template(session: UrakataSession, kind: str, locale: str) -> TemplateText:
    spec = KINDS[kind]
    row = _row(session, kind, locale)
    if row is None:
        return TemplateText(kind, locale, spec.subjects[locale], spec.bodies(locale), False, 0)
    return TemplateText(kind, locale, row.subject, row.body, True, row.version, row.updated_at,
                        row.updated_by_name)  # fmt: skip


def save_template(
    session: UrakataSession,
    *,
    actor: Actor,
    kind: str,
    locale: str,
    subject: str,
    body: str,
    version: int,
) -> TemplateText:
    """Save the shop's own text after :func:`check_template`; ``version`` is what the form
    showed (0: the default). Raises :class:`TemplateRefused` or :class:`StaleTemplate`."""
    body = body.replace("\r\n", "\n")
    check_template(kind, locale, subject, body)
    row = _row(session, kind, locale)
    if (row.version if row else 0) != version:
        raise StaleTemplate(f"{kind}/{locale} is not at version {version}")
    before = get_template(session, kind, locale)
    if row is None:
        row = MailTemplate(kind=kind, locale=locale, subject=subject, body=body, version=1)
        session.add(row)
    elif (row.subject, row.body) == (subject, body):
        return before
    row.subject, row.body = subject, body
    row.updated_at, row.updated_by_name = utcnow(), actor.label[:200]
    _flush(session)
    changes = audit.diff({"subject": before.subject, "body": before.body},
                         {"subject": subject, "body": body})  # fmt: skip
    audit.record(session, actor, "mail_template.saved", object_type="mail_template",
                 object_id=f"{kind}/{locale}", changes=changes,
                 data={"version": row.version, "was_default": not before.custom})  # fmt: skip
    return get_template(session, kind, locale)


def reset_template(
    session: UrakataSession, *, actor: Actor, kind: str, locale: str, version: int
) -> TemplateText:
    """Drop the shop's own text: the default applies again (on the ledger)."""
    row = _row(session, kind, locale)
    if row is None or row.version != version:
        raise StaleTemplate(f"{kind}/{locale} is not at version {version}")
    before = (row.subject, row.body)
    session.delete(row)
    _flush(session)
    audit.record(session, actor, "mail_template.reset", object_type="mail_template",
                 object_id=f"{kind}/{locale}",
                 changes={"subject": (before[0], None), "body": (before[1], None)})  # fmt: skip
    return get_template(session, kind, locale)


def _flush(session: UrakataSession) -> None:
    try:
        session.flush()
    except (StaleDataError, IntegrityError) as exc:  # IntegrityError: two first saves
        raise StaleTemplate("the template was changed meanwhile") from exc
