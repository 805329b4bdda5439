"""BCP 47 locale tags: well-formedness and canonical case (API §3.2)."""

from __future__ import annotations

import re

from domain.errors import InvalidInputError

MAX_LOCALE_LENGTH = 35

_TAG = re.compile(
    r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?"
    r"(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(-[0-9A-WYZa-wyz](-[A-Za-z0-9]{2,8})+)*"
    r"(-[xX](-[A-Za-z0-9]{1,8})+)?$"
)


def canonical_locale(raw: str, key: str = "locale") -> str:
    """Trim, validate and re-case a tag: `FI-fi` → `fi-FI`, `zh-hant-tw` → `zh-Hant-TW`."""
    tag = raw.strip()
    if len(tag) > MAX_LOCALE_LENGTH or not tag.isascii() or not _TAG.match(tag):
        raise InvalidInputError.field(key, "Invalid locale tag")
    parts = tag.split("-")
    out = [parts[0].lower()]
    position = 1
    # Script and region are recognised only right after the language, before any singleton.
    if position < len(parts) and len(parts[position]) == 4 and parts[position].isalpha():
        out.append(parts[position].title())
        position += 1
    if position < len(parts) and (
        (len(parts[position]) == 2 and parts[position].isalpha())
        or (len(parts[position]) == 3 and parts[position].isdigit())
    ):
        out.append(parts[position].upper())
        position += 1
    out.extend(p.lower() for p in parts[position:])
    return "-".join(out)


def primary_subtag(locale: str) -> str:
    """The language subtag, lower-cased: `fi-FI` → `fi`."""
    return locale.split("-", 1)[0].casefold()
