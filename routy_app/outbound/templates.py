"""`{macro}` templates for outbound messages: one syntax, escaped for where the value lands.

- `render_text`: values as plain text (alert subjects and messages).
- `render_url`: values percent-encoded, so a value cannot add a path segment or a query parameter.
- `render_json`: values JSON-escaped by context: inside a JSON string a value is escaped into it;
  elsewhere it becomes a JSON value (numbers stay numbers, None becomes null, text is quoted). The
  result must parse as JSON, or TemplateError says where it breaks.

A macro is `{name}` with a letter or underscore first, then letters, digits or underscores; anything
else in braces (a JSON object's `{"a": 1}`) is left alone. `check` names unknown macros, so a typo is
refused when a template is saved rather than sent as literal text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

MACRO = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TemplateError(ValueError):
    """The template cannot be used; `message` is shown to the person who wrote it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def macros(template: str) -> list[str]:
    """The macro names a template uses, in order of first use."""
    seen: dict[str, None] = {}
    for match in MACRO.finditer(template):
        seen.setdefault(match.group(1), None)
    return list(seen)


def check(template: str, known: Iterable[str]) -> None:
    """Raise TemplateError naming every macro that is not in `known`."""
    allowed = set(known)
    unknown = [name for name in macros(template) if name not in allowed]
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        raise TemplateError(
            f"Unknown macro{'s' if len(unknown) > 1 else ''} {names}; "
            f"available: {', '.join('{' + k + '}' for k in sorted(allowed))}."
        )


def _value(values: Mapping[str, Any], name: str) -> Any:
    if name not in values:
        raise TemplateError(f"No value for {{{name}}}.")
    return values[name]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def render_text(template: str, values: Mapping[str, Any]) -> str:
    """Macros replaced by their values as text (None: empty)."""
    return MACRO.sub(lambda m: _text(_value(values, m.group(1))), template)


def render_url(template: str, values: Mapping[str, Any]) -> str:
    """Macros replaced by their percent-encoded values (every reserved character encoded)."""
    return MACRO.sub(lambda m: quote(_text(_value(values, m.group(1))), safe=""), template)


def render_json(template: str, values: Mapping[str, Any]) -> str:
    """Macros replaced by JSON-escaped values (see the module's docstring); the result is valid JSON."""
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        if in_string and char == "\\":
            out.append(template[i : i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "{" and (match := MACRO.match(template, i)):
            value = _value(values, match.group(1))
            out.append(json.dumps(_text(value))[1:-1] if in_string else json.dumps(value, default=str))
            i = match.end()
            continue
        out.append(char)
        i += 1
    rendered = "".join(out)
    try:
        json.loads(rendered)
    except ValueError as exc:
        raise TemplateError(f"The body is not valid JSON after filling in the macros: {exc}.") from None
    return rendered
