"""A parser for the subset of GAQL (Google Ads Query Language) that Routy and its tests send.

SELECT f, ... FROM resource [WHERE cond AND ...] [ORDER BY f [ASC|DESC], ...] [LIMIT n] [PARAMETERS ...]
with conditions `=, !=, <, <=, >, >=, IN (...), NOT IN (...), LIKE, NOT LIKE, BETWEEN a AND b,
DURING NAMED_RANGE, IS NULL, IS NOT NULL`. Errors carry the real `queryError` enum names so the
adapter sees the same failures as against googleads.googleapis.com.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class GaqlError(ValueError):
    """A query the real API would refuse; `code` is the `queryError` enum value."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # =, !=, <, <=, >, >=, IN, NOT IN, LIKE, NOT LIKE, BETWEEN, DURING, IS NULL, IS NOT NULL
    values: tuple[Any, ...] = ()


@dataclass
class Query:
    select: list[str]
    resource: str
    where: list[Condition] = field(default_factory=list)
    order_by: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None


_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)(?![\w.])"""
    r"""|(?P<op><=|>=|!=|=|<|>)|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"""
)
_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "ORDER",
    "BY",
    "LIMIT",
    "PARAMETERS",
    "IN",
    "NOT",
    "LIKE",
    "BETWEEN",
    "DURING",
    "IS",
    "NULL",
    "ASC",
    "DESC",
}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise GaqlError("BAD_SYMBOL", f"Error in query: unexpected input {text[pos : pos + 20]!r}.")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "word" and value.upper() in _KEYWORDS:
            kind, value = "kw", value.upper()
        out.append((kind, value))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise GaqlError("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
        self.i += 1
        return tok

    def kw(self, word: str, code: str) -> None:
        tok = self.next()
        if tok != ("kw", word):
            raise GaqlError(code, f"Error in query: expected {word}, found {tok[1]!r}.")

    def at_kw(self, word: str) -> bool:
        return self.peek() == ("kw", word)

    def name(self) -> str:
        kind, value = self.next()
        if kind != "word":
            raise GaqlError("BAD_FIELD_NAME", f"Error in query: expected a field name, found {value!r}.")
        return value

    def literal(self) -> Any:
        kind, value = self.next()
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind in ("str", "word"):
            return value  # enum constants may be bare words
        raise GaqlError("BAD_VALUE", f"Error in query: expected a value, found {value!r}.")

    def literal_list(self) -> tuple[Any, ...]:
        if self.next() != ("punct", "("):
            raise GaqlError("EXPECTED_LIST", "Error in query: expected a list of values.")
        values = [self.literal()]
        while self.peek() == ("punct", ","):
            self.next()
            values.append(self.literal())
        if self.next() != ("punct", ")"):
            raise GaqlError("EXPECTED_LIST", "Error in query: expected ')'.")
        return tuple(values)

    def condition(self) -> Condition:
        fname = self.name()
        kind, value = self.next()
        if kind == "op":
            return Condition(fname, value, (self.literal(),))
        if (kind, value) == ("kw", "IN"):
            return Condition(fname, "IN", self.literal_list())
        if (kind, value) == ("kw", "NOT"):
            nxt = self.next()
            if nxt == ("kw", "IN"):
                return Condition(fname, "NOT IN", self.literal_list())
            if nxt == ("kw", "LIKE"):
                return Condition(fname, "NOT LIKE", (self.literal(),))
            raise GaqlError("BAD_OPERATOR", f"Error in query: NOT {nxt[1]} is not an operator.")
        if (kind, value) == ("kw", "LIKE"):
            return Condition(fname, "LIKE", (self.literal(),))
        if (kind, value) == ("kw", "BETWEEN"):
            low = self.literal()
            if not self.at_kw("AND"):
                raise GaqlError("EXPECTED_AND", "Error in query: BETWEEN needs AND.")
            self.next()
            return Condition(fname, "BETWEEN", (low, self.literal()))
        if (kind, value) == ("kw", "DURING"):
            kind2, rng = self.next()
            if kind2 != "word":
                raise GaqlError("INVALID_VALUE_WITH_DURING_OPERATOR", f"Error in query: bad DURING value {rng!r}.")
            return Condition(fname, "DURING", (rng.upper(),))
        if (kind, value) == ("kw", "IS"):
            negate = self.at_kw("NOT")
            if negate:
                self.next()
            self.kw("NULL", "BAD_VALUE")
            return Condition(fname, "IS NOT NULL" if negate else "IS NULL")
        raise GaqlError("BAD_OPERATOR", f"Error in query: unexpected operator {value!r}.")

    def parse(self) -> Query:
        self.kw("SELECT", "EXPECTED_SELECT")
        select = [self.name()]
        while self.peek() == ("punct", ","):
            self.next()
            select.append(self.name())
        self.kw("FROM", "EXPECTED_FROM")
        query = Query(select, self.name())
        if self.at_kw("WHERE"):
            self.next()
            query.where.append(self.condition())
            while self.at_kw("AND"):
                self.next()
                query.where.append(self.condition())
        if self.at_kw("ORDER"):
            self.next()
            self.kw("BY", "EXPECTED_BY")
            while True:
                fname = self.name()
                direction = "ASC"
                if self.peek() in (("kw", "ASC"), ("kw", "DESC")):
                    direction = self.next()[1]
                query.order_by.append((fname, direction))
                if self.peek() != ("punct", ","):
                    break
                self.next()
        if self.at_kw("LIMIT"):
            self.next()
            kind, value = self.next()
            if kind != "num" or int(float(value)) <= 0:
                raise GaqlError("BAD_LIMIT_VALUE", f"Error in query: bad LIMIT {value!r}.")
            query.limit = int(float(value))
        if self.at_kw("PARAMETERS"):
            self.i = len(self.toks)  # include_drafts / omit_unselected_resource_names: accepted, ignored
        if (extra := self.peek()) is not None:
            raise GaqlError("BAD_SYMBOL", f"Error in query: unexpected {extra[1]!r}.")
        if len(set(select)) != len(select):
            raise GaqlError(
                "PROHIBITED_FIELD_COMBINATION_IN_SELECT_CLAUSE", "Error in query: a field is selected twice."
            )
        return query


def parse(text: str) -> Query:
    if not text or not text.strip():
        raise GaqlError("UNEXPECTED_END_OF_QUERY", "Error in query: the query is empty.")
    return _Parser(text).parse()


# ---------------------------------------------------------------- dates

_DURING = {"LAST_7_DAYS": 7, "LAST_14_DAYS": 14, "LAST_30_DAYS": 30, "LAST_90_DAYS": 90}


def _as_date(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise GaqlError("BAD_VALUE", f"Error in query: {value!r} is not a date in the format YYYY-MM-DD.") from None


def date_range(query: Query, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The (start, end) the WHERE clause puts on segments.date; None where a side is open."""
    start: dt.date | None = None
    end: dt.date | None = None

    def narrow(lo: dt.date | None, hi: dt.date | None) -> None:
        nonlocal start, end
        if lo is not None:
            start = lo if start is None else max(start, lo)
        if hi is not None:
            end = hi if end is None else min(end, hi)

    for cond in query.where:
        if cond.field != "segments.date":
            continue
        if cond.op == "BETWEEN":
            narrow(_as_date(cond.values[0]), _as_date(cond.values[1]))
        elif cond.op == "DURING":
            name = cond.values[0]
            if name == "TODAY":
                narrow(today, today)
            elif name == "YESTERDAY":
                narrow(today - dt.timedelta(days=1), today - dt.timedelta(days=1))
            elif name in _DURING:
                narrow(today - dt.timedelta(days=_DURING[name]), today - dt.timedelta(days=1))
            elif name == "THIS_MONTH":
                narrow(today.replace(day=1), today)
            elif name == "LAST_MONTH":
                last = today.replace(day=1) - dt.timedelta(days=1)
                narrow(last.replace(day=1), last)
            else:
                raise GaqlError("INVALID_VALUE_WITH_DURING_OPERATOR", f"Error in query: unsupported DURING {name}.")
        elif cond.op == "=":
            day = _as_date(cond.values[0])
            narrow(day, day)
        elif cond.op in (">=", ">"):
            day = _as_date(cond.values[0])
            narrow(day + dt.timedelta(days=1) if cond.op == ">" else day, None)
        elif cond.op in ("<=", "<"):
            day = _as_date(cond.values[0])
            narrow(None, day - dt.timedelta(days=1) if cond.op == "<" else day)
        else:
            raise GaqlError("BAD_OPERATOR", f"Error in query: operator {cond.op} is not supported on segments.date.")
    return start, end


# ---------------------------------------------------------------- filters


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _coerce(literal: Any, like: Any) -> Any:
    if isinstance(like, bool):
        return str(literal).lower() == "true"
    if isinstance(like, int):
        return int(float(literal))
    if isinstance(like, float):
        return float(literal)
    return str(literal)


def matches(cond: Condition, value: Any) -> bool:
    """Whether a row's `value` for cond.field passes the condition."""
    if cond.op == "IS NULL":
        return value in (None, "")
    if cond.op == "IS NOT NULL":
        return value not in (None, "")
    if value is None:
        return False
    vals = [_coerce(v, value) for v in cond.values]
    op = cond.op
    if op in _COMPARISONS:
        return bool(_COMPARISONS[op](value, vals[0]))
    if op == "IN":
        return value in vals
    if op == "NOT IN":
        return value not in vals
    if op in ("LIKE", "NOT LIKE"):
        pattern = "^" + re.escape(str(vals[0])).replace("%", ".*").replace("_", ".") + "$"
        found = re.match(pattern, str(value), re.IGNORECASE) is not None
        return found if op == "LIKE" else not found
    if op == "BETWEEN":
        return bool(vals[0] <= value <= vals[1])
    raise GaqlError("BAD_OPERATOR", f"Error in query: operator {op} is not supported on {cond.field}.")
