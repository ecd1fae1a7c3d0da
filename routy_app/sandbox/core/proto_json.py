"""Google's own message types as the schema of the emulated Google REST APIs (Data Manager, GA4 Data).

Why: our sandbox and our adapters were written from one reading of the docs; the message types Google
ships in its Python packages (`google-ads-datamanager`, `google-analytics-data`, proto-plus over
protobuf) are the providers' schema itself. Requests are parsed with them strictly, as Google's JSON
transcoder does: an unknown field, a wrong JSON type or an unknown enum name is a 400 naming the field,
and enum names and numbers are both accepted. Answers are built through the same types and rendered in
the enum encoding the client asked for (`$alt=json;enum-encoding=int` makes enums numbers; default
names), with default values left out as proto3 JSON does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf import json_format
from google.protobuf.message import Message
from starlette.requests import Request

from routy_app.sandbox.core import jsonio

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_FAILED = re.compile(r"Failed to parse (\w+) field")


class ProtoPlusMessage(Protocol):
    """A message class generated with proto-plus (what Google's Python packages ship); `pb()` is its protobuf class."""

    @classmethod
    def pb(cls) -> Any: ...


@dataclass(frozen=True)
class SchemaViolation:
    """The first thing Google's schema refuses in a request (the transcoder stops at the first)."""

    field: str  # snake_case proto path with [i] indexes, as google.rpc.BadRequest names fields
    description: str


def snake_path(path: str) -> str:
    """`events[0].eventSource` -> `events[0].event_source` (JSON names to proto field names)."""
    return ".".join(_CAMEL.sub(lambda m: "_" + m.group(1).lower(), part) for part in path.split("."))


def _path(text: str, root: str) -> str:
    """Where a json_format.ParseError happened, as a proto path (best effort from its message)."""
    match = re.search(rf'at "?{re.escape(root)}\.?([\w\[\].]*?)"?\.*(?:\s|$)', text)
    if match and match.group(1):
        return snake_path(match.group(1).rstrip("."))
    return snake_path(".".join(_FAILED.findall(text)))


def _describe(text: str, path: str, root: str) -> str:
    """Google's transcoder wording for the usual cases, else the parser's own text."""
    unknown = re.search(r'has no field named "([^"]+)"', text)
    if unknown:
        where = f" at '{path}'" if path else ""
        return f'Invalid JSON payload received. Unknown name "{unknown.group(1)}"{where}: Cannot find field.'
    enum = re.search(r"Invalid enum value (\S+) for enum type ([\w.]+)", text)
    if enum:
        return f"Invalid value at '{path}' (type.googleapis.com/{enum.group(2)}), \"{enum.group(1)}\""
    detail = re.sub(r"Failed to parse \w+ field: ", "", text)
    detail = re.split(rf' at "?{re.escape(root)}', detail)[0].rstrip(". ")
    return f"Invalid value at '{path}': {detail}" if path else f"Invalid JSON payload received. {detail}"


def parse(message_type: type[ProtoPlusMessage], raw: bytes | str | dict[str, Any]) -> Message | SchemaViolation:
    """The request as a protobuf message of `message_type`, or the schema's refusal.

    `raw` is the JSON body (or an already decoded object, e.g. built from query parameters).
    """
    pb_type = message_type.pb()
    root = pb_type.DESCRIPTOR.name
    if isinstance(raw, (bytes, str)):
        try:
            raw = jsonio.loads(raw or b"{}")
        except ValueError as exc:
            return SchemaViolation("", f"Invalid JSON payload received. {exc}")
    if not isinstance(raw, dict):
        return SchemaViolation("", f'Invalid JSON payload received. Expected an object for "{root}".')
    message = pb_type()
    try:
        json_format.ParseDict(raw, message, ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        text = str(exc)
        path = _path(text, root)
        return SchemaViolation(path, _describe(text, path, root))
    return message


def wants_int_enums(request: Request) -> bool:
    """True when the caller asked for `$alt=json;enum-encoding=int` (what Google's REST clients send)."""
    return "enum-encoding=int" in request.query_params.get("$alt", "")


def render(message_type: type[ProtoPlusMessage], body: dict[str, Any], *, int_enums: bool) -> dict[str, Any]:
    """An answer built through the official type (a field it does not have is a bug here, and raises)."""
    message = message_type.pb()()
    json_format.ParseDict(body, message, ignore_unknown_fields=False)
    return _as_json(message, int_enums=int_enums)


def canonical(message: Message) -> dict[str, Any]:
    """A parsed request as proto3 JSON with enum names (unknown enum numbers stay numbers)."""
    return _as_json(message, int_enums=False)


def _as_json(message: Message, *, int_enums: bool) -> dict[str, Any]:
    as_dict: dict[str, Any] = json_format.MessageToDict(message, use_integers_for_enums=int_enums)
    return as_dict
