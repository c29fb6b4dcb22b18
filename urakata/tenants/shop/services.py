"""Onboarding a shop, reading and changing its settings. Services never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from io import BytesIO

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select, update

from urakata.platform import audit, auth
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.identity import (
    InvalidMembership,
    Role,
    UserAccount,
    create_user,
    get_user_by_email,
    grant_role,
)
from urakata.platform.tenancy import InvalidTenantData, Tenant, create_tenant
from urakata.tenants.shop.models import ShopSettings, ShopSettingsVersion
from urakata.tenants.shop.schemas import N_, load_settings_patch, service_problem


@dataclass(frozen=True)
class Onboarded:
    tenant: Tenant
    admin: UserAccount
    welcome_token: str | None  # the mailed set-password token; None when the user had a password


def onboard_shop(
    session: UrakataSession,
    *,
    actor: audit.Actor,
    link_key: bytes,
    slug: str,
    name: str,
    timezone: str,
    admin_email: str,
    admin_name: str,
) -> Onboarded:
    """Create the shop, its settings and its first shop admin, in the caller's transaction.

    The session must be bound to no shop yet; it is bound to the new shop here (a session
    binds once), so the caller's request touches no other shop afterwards.
    """
    if not admin_name.strip():
        raise InvalidTenantData("admin_name", "the shop admin needs a name")
    tenant = create_tenant(session, slug, name, timezone)
    session.bind_tenant(tenant.id)
    audit.ensure_chain(session, tenant.id)
    session.add(ShopSettings(tenant_id=tenant.id, sender_name=tenant.name))
    admin = get_user_by_email(session, admin_email)
    if admin is None:
        admin = create_user(session, admin_email, admin_name.strip())
    elif any(m.role != Role.shop_admin.value and m.shop_id is None for m in admin.memberships):
        raise InvalidTenantData("admin_email", "this address belongs to agency staff")
    try:
        grant_role(session, admin, Role.shop_admin, tenant.id)
    except InvalidMembership as exc:  # pragma: no cover - roles above are always valid
        raise InvalidTenantData("admin_email", str(exc)) from exc
    audit.record(
        session,
        actor,
        "shop.onboarded",
        object_type="shop",
        object_id=tenant.id,
        data={"slug": tenant.slug, "name": tenant.name, "timezone": tenant.timezone},
    )
    audit.record(
        session,
        actor,
        "user.role_granted",
        object_type="user",
        object_id=admin.id,
        data={"role": Role.shop_admin.value, "shop": str(tenant.id)},
    )
    token = None
    if admin.password_hash is None:
        _, token = auth.issue_password_link(
            session,
            admin.email,
            actor=actor,
            link_key=link_key,
            mail_kind="welcome",
            shop_name=tenant.name,
            ttl=auth.WELCOME_LINK_TTL,
        )
    session.flush()
    return Onboarded(tenant=tenant, admin=admin, welcome_token=token)


def get_settings(session: UrakataSession) -> ShopSettings:
    """The bound shop's settings row (every shop has one from onboarding or migration)."""
    settings = session.get(ShopSettings, session.tenant_id)
    if settings is None:
        raise LookupError("shop has no settings row")
    return settings


# --- Settings changes -------------------------------------------------------------------

SECRET_FIELDS = frozenset({"shopify_webhook_secret"})
TENANT_FIELDS = frozenset({"timezone"})  # kept on the platform's tenant row
MASK = "********"
LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_PIXELS = 2000
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
HISTORY_PAGE_SIZE = 20
HISTORY_MAX_PAGE = 1_000_000  # keeps OFFSET within bigint whatever ?page= says


class SettingsInvalid(ValueError):
    """The changes were refused; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class StaleSettings(RuntimeError):
    """The settings changed since the caller read them (their version is not current)."""

    def __init__(self, expected: int, current: int | None = None):
        super().__init__(f"settings are not at version {expected} (now {current})")
        self.expected = expected
        self.current = current


def update_settings(
    session: UrakataSession, *, actor: audit.Actor, expected_version: int, changes: dict
) -> ShopSettings:
    """Apply ``changes`` to the bound shop's settings as one new version.

    Values are normalised and validated (:class:`SettingsInvalid`); ``expected_version``
    must be the current one (:class:`StaleSettings`). Changed fields are written together
    with one history row (secrets masked); when nothing changed nothing is written.
    A blank ``shopify_webhook_secret`` keeps the current secret.
    """
    values, errors = load_settings_patch(changes)
    if errors:
        raise SettingsInvalid(errors)
    if values.get("shopify_webhook_secret") == "":
        del values["shopify_webhook_secret"]
    settings = get_settings(session)
    _check_version(settings, expected_version)
    if {"default_carrier", "default_carrier_service"} & set(values):
        carrier = values.get("default_carrier", settings.default_carrier)
        service = values.get("default_carrier_service", settings.default_carrier_service)
        if problem := service_problem(carrier, service):
            raise SettingsInvalid({"default_carrier_service": [problem]})
    tenant = session.get(Tenant, session.tenant_id)
    current = {f: tenant.timezone if f in TENANT_FIELDS else getattr(settings, f) for f in values}
    diff = {f: (current[f], new) for f, new in values.items() if current[f] != new}
    if not diff:
        return settings
    columns = {f: new for f, (_, new) in diff.items() if f not in TENANT_FIELDS}
    history = {f: _history_entry(f, old, new) for f, (old, new) in diff.items()}
    _write_version(session, settings, actor, expected_version, columns, history)
    if "timezone" in diff:
        tenant.timezone = diff["timezone"][1]
    return settings


def set_logo(
    session: UrakataSession, *, actor: audit.Actor, expected_version: int, data: bytes
) -> ShopSettings:
    """Store a PNG, JPEG or WebP logo, recognised by its content (never by a file name)."""
    mime, label = _inspect_logo(data)
    settings = get_settings(session)
    _check_version(settings, expected_version)
    if settings.logo == data:
        return settings
    history = {"logo": {"old": _logo_label(settings), "new": label}}
    columns = {"logo": data, "logo_mime": mime}
    _write_version(session, settings, actor, expected_version, columns, history)
    return settings


def remove_logo(
    session: UrakataSession, *, actor: audit.Actor, expected_version: int
) -> ShopSettings:
    settings = get_settings(session)
    _check_version(settings, expected_version)
    if settings.logo is None:
        return settings
    history = {"logo": {"old": _logo_label(settings), "new": None}}
    columns = {"logo": None, "logo_mime": None}
    _write_version(session, settings, actor, expected_version, columns, history)
    return settings


@dataclass(frozen=True)
class HistoryPage:
    versions: list[ShopSettingsVersion]
    page: int
    has_next: bool


def settings_history(
    session: UrakataSession, *, page: int = 1, field: str | None = None
) -> HistoryPage:
    """The bound shop's settings versions, newest first, ``HISTORY_PAGE_SIZE`` a page."""
    page = min(max(page, 1), HISTORY_MAX_PAGE)
    query = select(ShopSettingsVersion).order_by(
        ShopSettingsVersion.version.desc(), ShopSettingsVersion.id.desc()
    )
    if field:
        query = query.where(ShopSettingsVersion.changes.has_key(field))
    rows = list(
        session.scalars(query.offset((page - 1) * HISTORY_PAGE_SIZE).limit(HISTORY_PAGE_SIZE + 1))
    )
    return HistoryPage(rows[:HISTORY_PAGE_SIZE], page, len(rows) > HISTORY_PAGE_SIZE)


def _check_version(settings: ShopSettings, expected_version: int) -> None:
    if settings.version != expected_version:
        raise StaleSettings(expected_version, settings.version)


def _write_version(
    session: UrakataSession,
    settings: ShopSettings,
    actor: audit.Actor,
    expected_version: int,
    columns: dict,
    history: dict,
) -> None:
    """Bump the version only if it is still ``expected_version``, then record the change
    in the settings history and in the shop's audit chain."""
    bumped = session.execute(
        update(ShopSettings)
        .where(
            ShopSettings.tenant_id == session.tenant_id,
            ShopSettings.version == expected_version,
        )
        .values(
            version=ShopSettings.version + 1,
            updated_at=utcnow(),
            updated_by=actor.user_id,
            **columns,
        )
        .returning(ShopSettings.version)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if bumped is None:  # another transaction committed a new version first
        raise StaleSettings(expected_version)
    session.add(
        ShopSettingsVersion(
            version=bumped,
            changed_by=actor.user_id,
            changed_by_name=actor.label,
            changes=history,
        )
    )
    session.flush()
    audit.record(
        session,
        actor,
        "settings.changed",
        object_type="shop",
        object_id=session.tenant_id,
        changes={name: (entry["old"], entry["new"]) for name, entry in history.items()},
        data={"version": bumped},
    )
    session.refresh(settings)


def _history_entry(field: str, old, new) -> dict:
    if field in SECRET_FIELDS:
        return {"old": MASK if old else "", "new": MASK if new else ""}
    return {"old": _jsonable(old), "new": _jsonable(new)}


def _jsonable(value):
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _inspect_logo(data: bytes) -> tuple[str, str]:
    """``(mime, label)`` of an acceptable logo, or :class:`SettingsInvalid` for ``logo``."""
    if not data:
        raise SettingsInvalid({"logo": [N_("Choose a PNG, JPEG or WebP image.")]})
    if len(data) > LOGO_MAX_BYTES:
        raise SettingsInvalid(
            {
                "logo": [
                    N_("The image must be %(limit)d KB or smaller.", limit=LOGO_MAX_BYTES // 1024)
                ]
            }
        )
    try:
        # formats= limits Pillow to these decoders: no other plugin ever sees the bytes.
        with Image.open(BytesIO(data), formats=tuple(LOGO_FORMATS)) as image:
            fmt, (width, height) = image.format, image.size
            if width <= LOGO_MAX_PIXELS and height <= LOGO_MAX_PIXELS:
                image.load()  # a truncated or corrupt file fails here, not when shown
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise SettingsInvalid(
            {"logo": [N_("This file is not a PNG, JPEG or WebP image.")]}
        ) from exc
    if width > LOGO_MAX_PIXELS or height > LOGO_MAX_PIXELS:
        message = N_(
            "The image must be at most %(limit)d × %(limit)d pixels"
            " (this one is %(width)d × %(height)d).",
            limit=LOGO_MAX_PIXELS,
            width=width,
            height=height,
        )
        raise SettingsInvalid({"logo": [message]})
    mime = LOGO_FORMATS[fmt]
    return mime, f"{mime} {width}×{height}"


def _logo_label(settings: ShopSettings) -> str | None:
    if settings.logo is None:
        return None
    try:
        with Image.open(BytesIO(settings.logo), formats=tuple(LOGO_FORMATS)) as image:
            return f"{settings.logo_mime} {image.size[0]}×{image.size[1]}"
    except (UnidentifiedImageError, OSError):
        return settings.logo_mime
