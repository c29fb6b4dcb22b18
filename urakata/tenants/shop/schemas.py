"""Load schemas for a shop's settings (STYLE habit 8: one schema per direction).

Japanese input is normalised before it is checked: NFKC turns full-width digits, letters,
hyphens and the ideographic space into their ASCII forms and half-width kana into
full-width; code fields also read the other dashes people type (ー, −, ‐) as hyphens.
Nothing is ever cut to fit a limit: a value that is too long is refused with a message.

Messages are English and built with :func:`N_`, which marks them for extraction and keeps
the msgid and its parameters, so the portal can show them in the user's language.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

from email_validator import EmailNotValidError, validate_email
from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from urakata.platform.fields import (
    _CONTROL,
    _DIGITS,
    N_,
    BaseField,
    SingleLine,
    WholeNumber,
    normalise_code,
    normalise_text,
)
from urakata.platform.tenancy import InvalidTenantData, validate_timezone
from urakata.tenants.fulfilment.models import ALL_SERVICES, CARRIERS, SERVICES
from urakata.tenants.shop.models import SPLIT_POLICIES

# Limits the carriers and the database impose (domain/japan.md, models.ShopSettings).
SENDER_NAME_MAX = 100
SENDER_ADDRESS_MAX = 200
SENDER_EMAIL_MAX = 254
B2_PHONE_MAX = 15  # Yamato B2: 15 characters including hyphens
SECRET_MAX = 200
NOTE_KEY_MAX = 50
NOTE_KEYS_MAX = 200
CLOSED_DAYS_MAX = 1000
YEN_MAX = 1_000_000_000

_PHONE = re.compile(r"[0-9]+(?:-[0-9]+)*")
_POSTAL = re.compile(r"([0-9]{3})-?([0-9]{4})")
_CUTOFF = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::00)?")
_DATE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")
_DATE_SEPARATORS = re.compile(r"[\s,、]+")


class TimeZoneName(BaseField):
    def _deserialize(self, value, attr, data, **kwargs) -> str:
        name = normalise_text(self._text(value))
        if not name:
            raise ValidationError(N_("Enter a time zone such as Asia/Tokyo."))
        try:
            return validate_timezone(name)
        except InvalidTenantData as exc:
            raise ValidationError(
                N_("Unknown time zone %(name)s. Use an IANA name such as Asia/Tokyo.", name=name)
            ) from exc


class Cutoff(BaseField):
    """A time of day written HH:MM (24-hour)."""

    def _deserialize(self, value, attr, data, **kwargs) -> time:
        if isinstance(value, time):
            return value.replace(second=0, microsecond=0, tzinfo=None)
        match = _CUTOFF.fullmatch(normalise_text(self._text(value)))
        hour, minute = (int(match.group(1)), int(match.group(2))) if match else (99, 99)
        if hour > 23 or minute > 59:
            raise ValidationError(N_("Use a 24-hour time as HH:MM, e.g. 14:00."))
        return time(hour, minute)


class ClosedDays(BaseField):
    """ISO dates, as a list or as text with one date per line; de-duplicated and sorted."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[date]:
        if isinstance(value, str):
            items = [v for v in _DATE_SEPARATORS.split(normalise_text(value)) if v]
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            raise ValidationError(N_("Enter dates as YYYY-MM-DD, one per line."))
        days, bad = set(), []
        for item in items:
            day = self._day(item)
            if day is None:
                bad.append(str(item))
            else:
                days.add(day)
        if bad:
            shown = ", ".join(bad[:5]) + (" …" if len(bad) > 5 else "")
            raise ValidationError(
                N_("Not a date: %(values)s. Use YYYY-MM-DD, one per line.", values=shown)
            )
        if len(days) > CLOSED_DAYS_MAX:
            raise ValidationError(
                N_("At most %(limit)d closed days can be listed.", limit=CLOSED_DAYS_MAX)
            )
        return sorted(days)

    @staticmethod
    def _day(item: Any) -> date | None:
        if isinstance(item, date):
            return item
        if not isinstance(item, str):
            return None
        match = _DATE.fullmatch(normalise_text(item))
        if match is None:
            return None
        try:
            return date(*(int(g) for g in match.groups()))
        except ValueError:
            return None


class SplitPolicy(BaseField):
    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if isinstance(value, str) and value.strip() in SPLIT_POLICIES:
            return value.strip()
        raise ValidationError(
            N_(
                "Choose one of: %(choices)s.",
                choices=", ".join(SPLIT_POLICIES),
            )
        )


class OneOf(BaseField):
    """One of a fixed list of codes."""

    def __init__(self, choices, **kwargs):
        super().__init__(**kwargs)
        self.choices = tuple(choices)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if isinstance(value, str) and value.strip() in self.choices:
            return value.strip()
        raise ValidationError(N_("Choose one of: %(choices)s.", choices=", ".join(self.choices)))


def service_problem(carrier: str, service: str):
    """Why ``service`` cannot be ``carrier``'s default service (None when it can)."""
    if service not in SERVICES.get(carrier, ()):
        return N_(
            "%(service)s is not a service of %(carrier)s; choose one of: %(choices)s.",
            service=service,
            carrier=carrier,
            choices=", ".join(SERVICES.get(carrier, ())),
        )
    return None


class PostalCode(BaseField):
    """Blank, or 7 digits stored as NNN-NNNN (a leading 〒 is allowed)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = normalise_code(self._text(value)).removeprefix("〒").strip()
        if not text:
            return ""
        match = _POSTAL.fullmatch(text)
        if match is None:
            raise ValidationError(N_("Use a 7-digit postal code, e.g. 150-0001."))
        return f"{match.group(1)}-{match.group(2)}"


class PhoneNumber(BaseField):
    """Blank, or a Japanese number: digits and hyphens, 10 or 11 digits, ≤ 15 characters."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = normalise_code(self._text(value))
        if not text:
            return ""
        if not _PHONE.fullmatch(text):
            raise ValidationError(N_("Use digits and hyphens only, e.g. 03-1234-5678."))
        digits = text.replace("-", "")
        if len(digits) not in (10, 11) or not digits.startswith("0"):
            raise ValidationError(
                N_("A Japanese phone number has 10 or 11 digits and starts with 0.")
            )
        if len(text) > B2_PHONE_MAX:
            raise ValidationError(
                N_(
                    "Use at most %(limit)d characters including hyphens, as Yamato B2 allows"
                    " (this has %(count)d).",
                    limit=B2_PHONE_MAX,
                    count=len(text),
                )
            )
        return text


class Email(BaseField):
    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = normalise_text(self._text(value))
        if not text:
            return ""
        if len(text) > SENDER_EMAIL_MAX:
            raise ValidationError(
                N_(
                    "Use at most %(limit)d characters (this has %(count)d).",
                    limit=SENDER_EMAIL_MAX,
                    count=len(text),
                )
            )
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValidationError(N_("Enter an e-mail address such as info@example.jp.")) from exc


class DigitCode(BaseField):
    """Blank, or digits only: exactly ``length`` of them, or at most ``max_length``."""

    def __init__(self, *, length: int | None = None, max_length: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.length = length
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = normalise_code(self._text(value))
        if not text:
            return ""
        if self.length is not None and not (_DIGITS.fullmatch(text) and len(text) == self.length):
            raise ValidationError(
                N_("Leave blank or enter exactly %(length)d digits.", length=self.length)
            )
        if self.max_length is not None and not (
            _DIGITS.fullmatch(text) and len(text) <= self.max_length
        ):
            raise ValidationError(
                N_("Leave blank or enter up to %(limit)d digits.", limit=self.max_length)
            )
        return text


class AttributeNames(BaseField):
    """Names separated by commas (、 and full-width commas too), each on one line and at
    most 50 characters; stored as "a, b" without repeats."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = normalise_text(self._text(value))
        if _CONTROL.search(text):
            raise ValidationError(N_("Use a single line, without tabs or line breaks."))
        names = list(dict.fromkeys(n.strip() for n in re.split(r"[,、]", text) if n.strip()))
        for name in names:
            if len(name) > NOTE_KEY_MAX:
                raise ValidationError(
                    N_(
                        "%(name)s: use at most %(limit)d characters per name.",
                        name=name[:20] + "…",
                        limit=NOTE_KEY_MAX,
                    )
                )
        joined = ", ".join(names)
        if len(joined) > NOTE_KEYS_MAX:
            raise ValidationError(
                N_("Use at most %(limit)d characters in all.", limit=NOTE_KEYS_MAX)
            )
        return joined


class ShopSettingsPatch(Schema):
    """The settings an agency admin may change; any subset, unknown names refused.

    ``shopify_webhook_secret`` loads as given; blank meaning "keep" is the service's rule.
    """

    class Meta:
        unknown = RAISE

    error_messages = {
        "unknown": N_("Unknown field."),
        "type": N_("Send the settings as a mapping of field names to values."),
    }

    timezone = TimeZoneName()
    same_day_cutoff = Cutoff()
    closed_days = ClosedDays()
    split_policy = SplitPolicy()
    stocktake_approval_threshold_yen = WholeNumber(minimum=0, maximum=YEN_MAX)
    sasage_turnaround_days = WholeNumber(minimum=1, maximum=60)
    min_shelf_life_days = WholeNumber(minimum=0, maximum=3650)
    sasage_on_first_receipt = fields.Boolean(
        truthy={True, "1", "true", "on"},
        falsy={False, "0", "false", "off", ""},
        error_messages={"invalid": N_("Choose yes or no.")},
    )
    default_carrier = OneOf(CARRIERS)
    default_carrier_service = OneOf(ALL_SERVICES)
    sender_name = SingleLine(max_length=SENDER_NAME_MAX)
    sender_postal_code = PostalCode()
    sender_address = SingleLine(max_length=SENDER_ADDRESS_MAX)
    sender_phone = PhoneNumber()
    sender_email = Email()
    b2_customer_code = DigitCode(length=12)
    b2_freight_code = DigitCode(length=2)
    ehiden_customer_code = DigitCode(max_length=20)
    shopify_webhook_secret = SingleLine(max_length=SECRET_MAX, nfkc=False)
    shopify_date_keys = AttributeNames()
    shopify_slot_keys = AttributeNames()
    shopify_noshi_keys = AttributeNames()

    @validates_schema
    def _service_of_the_carrier(self, data, **kwargs):
        carrier, service = data.get("default_carrier"), data.get("default_carrier_service")
        if carrier and service and (problem := service_problem(carrier, service)):
            raise ValidationError({"default_carrier_service": [problem]})


def load_settings_patch(changes: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``(values, errors)``: normalised values, or messages keyed by field name."""
    try:
        return ShopSettingsPatch().load(changes), {}
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return {}, {
            name: list(errs) if isinstance(errs, list) else [str(errs)]
            for name, errs in messages.items()
        }
