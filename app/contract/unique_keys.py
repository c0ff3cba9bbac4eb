"""Duplicate keys in a JSON body are refused, before any validation.

JSON parsers keep the last (pydantic, Python's json) or the first value of a repeated key, and RFC
8259 (section 4) only says that names SHOULD be unique: a reference must not guess which value the
client meant. NaN, Infinity and numbers beyond a double are refused too (1e999 and 1 followed by
999 zeros alike): none is a JSON number the contract takes.

Two readings, one verdict. jiter (pydantic's own JSON parser, in Rust) reads a body in one pass and
refuses repeated keys and NaN itself; a body it accepts, where no number can exceed a double, is the
document. Any other body is read again by the standard library's parser, which reports every
object's members: it names the repeated key and its pointer, or the number, or lets the validation
say why the body is not JSON; a body it accepts is then read by pydantic's own JSON reader
(`read_checked`), every number in it now one that reads as validating the text would read it. The fast reading never
accepts what the slow one refuses (tests/contract/test_native_reading.py checks both on the same
bodies, and that their documents validate as pydantic validates the text). Audit batches, which
pydantic reads from the text in any case, take the slow reading's check alone: it keeps none of the
values it reads, where jiter's document of a 2 MB batch is 15 MB of objects.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

import jiter
import pydantic_core

from app.contract.problems import FieldError, ProblemError, pointer


class _DuplicateKeyError(Exception):
    pass


class _NotAJsonNumberError(Exception):
    pass


NOT_A_NUMBER = (
    "NaN and Infinity are not JSON numbers (RFC 8259, section 6), and numbers beyond the range of a double"
    " are refused (a limit RFC 8259 allows)"
)


# Python's parser reads NaN and Infinity, 1e999 as infinity, and 1 followed by 400 zeros as an
# integer: none is a JSON number the contract takes (a double's range is its range, whether the
# number is written with an exponent or not).
def _refuse_constant(name: str) -> float:
    raise _NotAJsonNumberError(name)


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise _NotAJsonNumberError(text)
    return number


_DOUBLE_DIGITS = 308  # a whole number written in at most 308 characters is below a double's maximum (1.8e308)


def _finite_integer(text: str) -> int:
    if len(text) > _DOUBLE_DIGITS and math.isinf(float(text)):
        raise _NotAJsonNumberError(text)
    return int(text)


class _Members(dict[str, Any]):
    """A JSON object that remembers the first key it was given twice."""

    repeated: str | None = None


def _unique_members(pairs: list[tuple[str, Any]]) -> int:
    """Only checks: the values parsed are not kept (a number builds nothing; 15 % faster than a
    dict); the number of members, the root object's the parser's result."""
    if len(pairs) > 1 and len(dict(pairs)) != len(pairs):
        raise _DuplicateKeyError
    return len(pairs)


def _remembering_members(pairs: list[tuple[str, Any]]) -> _Members:
    members, seen = _Members(pairs), set()
    for key, _ in pairs:
        if key in seen:
            members.repeated = key
            break
        seen.add(key)
    return members


def _dict_of_unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise _DuplicateKeyError
    return members


NOT_READ: Final = object()

# jiter reads 1e999 or 400 digits as infinity where the contract refuses the number. Such a number
# has a positive exponent or at least 309 digits before its point: a body with either goes the slow
# way (digits shown as 0, so that three searches in C find them; a false alarm only costs time).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789E", b"000000000e")
_DOUBLE_DIGITS_MAX = b"0" * 309


def _may_exceed_a_double(text: bytes) -> bool:
    digits = text.translate(_DIGITS_AS_ZERO)
    return b"0e0" in digits or b"0e+" in digits or _DOUBLE_DIGITS_MAX in digits


def read_unique(text: bytes) -> Any:
    """The JSON document when the fast reading settles it: every key unique inside its object, no
    NaN or Infinity, no number beyond a double. NOT_READ otherwise: the slow reading says why.

    cache_mode="keys": values (a patient's postal code) do not outlive the request in jiter's cache."""
    if _may_exceed_a_double(text):
        return NOT_READ
    try:
        return _jiter_reading(text)
    except ValueError:
        return NOT_READ


def read_checked(text: bytes) -> Any:
    """The document of a text `refuse_duplicate_keys` accepted, read by pydantic's own JSON reader
    (no number in it is beyond a double, so each reads as validating the text would read it);
    NOT_READ when that reader cannot read it (a lone surrogate, nesting deeper than it goes):
    validating the text then says why."""
    try:
        return pydantic_core.from_json(text, allow_inf_nan=False, cache_strings="keys")
    except ValueError:
        return NOT_READ


def _jiter_reading(text: bytes) -> Any:
    return jiter.from_json(text, allow_inf_nan=False, catch_duplicate_keys=True, cache_mode="keys")


def loads_unique(text: bytes) -> Any:
    """A line of JSON read as the API reads a body: a repeated key, NaN, Infinity or a number beyond
    a double is a ProblemError, and so is a lone surrogate (which the standard library reads and no
    UTF-8 text can hold); text that is not JSON raises json.JSONDecodeError."""
    document = read_unique(text)
    if document is not NOT_READ:
        return document
    document = _standard_reading(text)
    if _holds_a_lone_surrogate(document):
        raise ProblemError("malformed-json", "Invalid JSON: a lone surrogate (\\ud800 to \\udfff) is no character")
    return document


def _holds_a_lone_surrogate(document: Any) -> bool:
    try:
        json.dumps(document, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


def _standard_reading(text: bytes) -> Any:
    try:
        return json.loads(
            text,
            object_pairs_hook=_dict_of_unique_members,
            parse_constant=_refuse_constant,
            parse_float=_finite,
            parse_int=_finite_integer,
        )
    except _NotAJsonNumberError:
        raise ProblemError("malformed-json", NOT_A_NUMBER) from None
    except _DuplicateKeyError:
        refuse_duplicate_keys(text)  # names the key, unless the text turns out not to be JSON
        json.loads(text)  # not JSON after all: raises what makes it so
        raise AssertionError("a repeated key the second reading did not find") from None


def refuse_duplicate_keys(body: bytes) -> int:
    """A 400 naming the first key repeated inside one object (with its pointer), if any; otherwise
    the number of members of the body's root object (0 when the body is not JSON)."""
    try:
        root = json.loads(
            body,
            object_pairs_hook=_unique_members,
            parse_constant=_refuse_constant,
            parse_float=_finite,
            parse_int=_finite_integer,
        )
    except _NotAJsonNumberError:
        raise ProblemError("malformed-json", NOT_A_NUMBER) from None
    except _DuplicateKeyError:
        try:
            document = json.loads(body, object_pairs_hook=_remembering_members)
        except (ValueError, RecursionError):  # a key repeated before the text stops being JSON
            return 0  # not JSON: the validation says why
        where, key = _first_repeated(document)
        where, key = shortened(where), shortened(key)  # a 2 MB key must not make a 4 MB answer
        detail = f"the key {key!r} appears more than once in this object"
        raise ProblemError(
            "duplicate-key", f"{detail}: {where or '/'}", [FieldError(where, detail)], error_count=1
        ) from None
    except (ValueError, RecursionError):
        return 0  # not JSON: the validation says why
    return root if _AN_OBJECT.match(body) else 0  # a body that is only a number is no count


_AN_OBJECT = re.compile(rb"[ \t\n\r]*\{")  # JSON's whitespace, then an object


SHOWN_CHARACTERS = 256


def shortened(text: str) -> str:
    """A text of the request as an answer quotes it: its first SHOWN_CHARACTERS characters."""
    return text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + "…"


def _first_repeated(document: Any) -> tuple[str, str]:
    """The pointer of the first repeated key, in document order, and the key."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, _Members) and value.repeated is not None:
            return where + pointer(value.repeated), value.repeated
        if isinstance(value, dict | list):
            children = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend(reversed([(where + pointer(name), child) for name, child in children]))
    return "", ""
