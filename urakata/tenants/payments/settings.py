"""A shop's payment settings: konbini expiry, the 後払い NG policy, reminder age, and the
bank account customers transfer to (printed in the confirmation mail).

A shop without a row has the defaults (:class:`PaymentSettings` column defaults); the
first save creates the row. Services never commit; every change is on the ledger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from urakata.platform import audit
from urakata.platform.audit import Actor
from urakata.platform.db import UrakataSession, utcnow
from urakata.platform.fields import N_, BaseField, SingleLine, WholeNumber, normalise_code
from urakata.tenants.payments.kana import is_kana_name
from urakata.tenants.payments.models import ACCOUNT_TYPES, ATOBARAI_NG_POLICIES, PaymentSettings

FIELDS = (
    "konbini_expiry_days",
    "atobarai_ng_policy",
    "reminder_after_days",
    "transfer_due_days",
    "bank_name",
    "bank_branch",
    "bank_account_type",
    "bank_account_number",
    "bank_account_holder",
)
_ACCOUNT_NUMBER = re.compile(r"[0-9]{7}")


class SettingsInvalid(ValueError):
    """Values the person must fix; ``errors`` maps each field to its messages (422)."""

    def __init__(self, errors: dict[str, list]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class StaleSettings(RuntimeError):
    """Someone saved the settings since the version the form showed (409)."""


class Choice(BaseField):
    def __init__(self, *, choices: tuple[str, ...], **kwargs):
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if isinstance(value, str) and value.strip() in self.choices:
            return value.strip()
        raise ValidationError(N_("Choose one of: %(choices)s.", choices=", ".join(self.choices)))


class AccountNumber(BaseField):
    """Blank, or the 7 digits of a Japanese bank account number."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = normalise_code(self._text(value)).replace("-", "")
        if text and not _ACCOUNT_NUMBER.fullmatch(text):
            raise ValidationError(N_("A bank account number has 7 digits, e.g. 1234567."))
        return text


class AccountHolder(SingleLine):
    """The account holder's name as the bank prints it: kana (stored full-width)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text and not is_kana_name(text.replace("(", "").replace(")", "")):
            raise ValidationError(
                N_("Write the account holder in katakana, as the bank prints it.")
            )
        return text


class PaymentSettingsPatch(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {"unknown": N_("Unknown field."), "type": N_("Send a JSON object.")}

    konbini_expiry_days = WholeNumber(minimum=1, maximum=30)
    atobarai_ng_policy = Choice(choices=ATOBARAI_NG_POLICIES)
    reminder_after_days = WholeNumber(minimum=1, maximum=60)
    transfer_due_days = WholeNumber(minimum=1, maximum=60)
    bank_name = SingleLine(max_length=40)
    bank_branch = SingleLine(max_length=40)
    bank_account_type = Choice(choices=ACCOUNT_TYPES)
    bank_account_number = AccountNumber()
    bank_account_holder = AccountHolder(max_length=60)


@dataclass(frozen=True)
class BankAccount:
    name: str
    branch: str
    account_type: str
    number: str
    holder: str


def get_payment_settings(session: UrakataSession) -> PaymentSettings:
    """The bound shop's settings; a transient row of defaults when it has none yet."""
    found = session.scalar(select(PaymentSettings))
    if found is not None:
        return found
    defaults = {c.key: c.default.arg for c in PaymentSettings.__table__.columns
                if c.default is not None and not callable(c.default.arg)}  # fmt: skip
    return PaymentSettings(**defaults)


def bank_account(settings: PaymentSettings) -> BankAccount | None:
    """The account to print in payment instructions; None until it is complete."""
    parts = (settings.bank_name, settings.bank_branch, settings.bank_account_number,
             settings.bank_account_holder)  # fmt: skip
    if not all(parts):
        return None
    return BankAccount(
        settings.bank_name,
        settings.bank_branch,
        settings.bank_account_type,
        settings.bank_account_number,
        settings.bank_account_holder,
    )


def update_payment_settings(
    session: UrakataSession, *, actor: Actor, version: int, data: Any
) -> PaymentSettings:
    """Save the changed settings if ``version`` is still the current one (else
    :class:`StaleSettings`); invalid values raise :class:`SettingsInvalid`, nothing saved."""
    try:
        values = PaymentSettingsPatch().load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise SettingsInvalid(messages) from exc
    settings = get_payment_settings(session)
    current = settings.version if settings in session else 0
    if version != current:
        raise StaleSettings(f"payment settings are at version {current}, not {version}")
    before = {name: getattr(settings, name) for name in FIELDS}
    changes = audit.diff(before, {**before, **values})
    if not changes:
        return settings
    for name, value in values.items():
        setattr(settings, name, value)
    settings.updated_at = utcnow()
    settings.updated_by_name = actor.label[:200]
    if settings not in session:
        settings.version = 1
        session.add(settings)
    try:
        session.flush()
    except (StaleDataError, IntegrityError) as exc:  # IntegrityError: two first saves
        raise StaleSettings("payment settings were changed meanwhile") from exc
    audit.record(
        session,
        actor,
        "payments.settings_changed",
        object_type="payment_settings",
        object_id=session.tenant_id,
        changes=changes,
        data={"version": settings.version},
    )
    return settings
