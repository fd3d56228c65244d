"""Redaction and bounds for everything a message may quote. Pure functions, no I/O.

* The API token never shows: :func:`redact` reads JSON escapes first, then blanks the token in
  plain, percent-encoded and ``repr`` form. Redact before cutting, or a cut token shows its half.
* A message is bounded: :func:`bounded` cuts it to ``MESSAGE_CHARS``, ending "… (N more)".
"""

from __future__ import annotations

import functools
import re
from urllib.parse import quote, quote_plus

from . import _policy as policy

__all__ = ["BODY_EXCERPT", "REDACTED", "body_excerpt", "bounded", "excerpt", "redact"]

#: How much of an unparseable body is quoted in a message.
BODY_EXCERPT = 200
#: What a redacted token is replaced with.
REDACTED = "***"


def bounded(text: str, limit: int = policy.MESSAGE_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters, ending "… (N more)" when cut."""
    if len(text) <= limit:
        return text
    keep = limit - len(f"… ({len(text)} more)")
    return f"{text[:keep]}… ({len(text) - keep} more)"


_JSON_ESCAPE = re.compile(r'\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))')
_ESCAPED = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(match: re.Match[str]) -> str:
    code, char = match.groups()
    if char is not None:
        return _ESCAPED[char]
    point = int(code, 16)
    return match.group() if 0xD800 <= point <= 0xDFFF else chr(point)  # no lone surrogates


@functools.lru_cache(maxsize=8)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    """One regex for every form of ``secret`` an echo may carry; percent-escapes in any case."""
    plain = {secret, repr(secret)[1:-1]}
    encoded = {quote(secret, safe=""), quote(secret), quote_plus(secret)} - plain
    forms = [re.escape(form) for form in plain]
    forms += [f"(?i:{re.escape(form)})" for form in encoded]
    return re.compile("|".join(sorted(forms, key=len, reverse=True)))


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` replaced by ``***`` in every form a server may echo it in.

    JSON escapes (``\\/``, ``\\u0074``, in any mix) cannot all be listed, so a text holding one
    is read as a JSON string would be first; the readable text is kept only when it held the
    secret. Then the plain, ``repr`` and percent-encoded forms are blanked.
    """
    if not secret:
        return text
    pattern = _secret_pattern(secret)
    if "\\" in text:
        readable = _JSON_ESCAPE.sub(_unescape, text)
        if pattern.search(readable):
            text = readable
    return pattern.sub(REDACTED, text)


def excerpt(text: str, limit: int = BODY_EXCERPT) -> str:
    """The start of ``text`` for a message; redact before cutting, or a cut token shows its half."""
    text = text.strip()
    return text[:limit] + ("..." if len(text) > limit else "")


def body_excerpt(body: bytes, secret: str | None) -> str:
    """A redacted excerpt of a body that is not (or not read as) JSON."""
    return excerpt(redact(body[: policy.ERROR_BODY_BYTES].decode("utf-8", "replace"), secret))
