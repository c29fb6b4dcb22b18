"""Marshmallow fields for Japanese input, with messages people can act on, translatable.

Input is normalised before it is checked: NFKC turns full-width digits, letters, hyphens
and the ideographic space into their ASCII forms and half-width kana into full-width.
Nothing is ever cut to fit a limit: a value that is too long is refused with a message.
Messages are English and built with :func:`N_`, which marks them for extraction and keeps
the msgid and its parameters, so the portal can show them in the user's language.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from marshmallow import ValidationError, fields

_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−ー"), "-")  # what NFKC leaves as non-ASCII dashes
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGITS = re.compile(r"[0-9]+")


class Message(str):
    """An English message that remembers its msgid and parameters for translation."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Message:
        obj = super().__new__(cls, msgid % params if params else msgid)
        obj.msgid = msgid
        obj.params = params
        return obj


N_ = Message  # the name Babel's extractor looks for by default


def normalise_text(value: str) -> str:
    """NFKC, then strip: full-width digits and hyphens become ASCII, half-width kana full."""
    return unicodedata.normalize("NFKC", value).strip()


def normalise_code(value: str) -> str:
    """Text for digit fields: NFKC, any dash read as a hyphen, no surrounding space."""
    return normalise_text(value).translate(_DASHES)


class BaseField(fields.Field):
    """A field whose every message is ours (translatable), not marshmallow's."""

    default_error_messages = {
        "required": N_("This field is required."),
        "null": N_("This field cannot be empty."),
        "validator_failed": N_("This value is not accepted."),
    }

    @staticmethod
    def _text(value: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(N_("Enter text."))
        return value


class SingleLine(BaseField):
    """Free text on one line (carrier files are line-based), at most ``max_length``."""

    def __init__(self, *, max_length: int, nfkc: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.nfkc = nfkc

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = self._text(value)
        text = normalise_text(text) if self.nfkc else text.strip()
        if _CONTROL.search(text):
            raise ValidationError(N_("Use a single line, without tabs or line breaks."))
        if len(text) > self.max_length:
            raise ValidationError(
                N_(
                    "Use at most %(limit)d characters (this has %(count)d).",
                    limit=self.max_length,
                    count=len(text),
                )
            )
        return text


class WholeNumber(BaseField):
    """A whole number in a range; accepts full-width digits and thousands separators."""

    def __init__(self, *, minimum: int, maximum: int, **kwargs):
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        number = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str):
            text = normalise_text(value).replace(",", "")
            # The length check keeps int() away from huge strings (and its digit limit).
            number = int(text) if len(text) <= 18 and _DIGITS.fullmatch(text) else None
        if number is None or not self.minimum <= number <= self.maximum:
            minimum, maximum = format(self.minimum, ","), format(self.maximum, ",")
            raise ValidationError(
                N_(
                    "Enter a whole number from %(minimum)s to %(maximum)s.",
                    minimum=minimum,
                    maximum=maximum,
                )
            )
        return number
