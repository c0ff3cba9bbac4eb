"""Validation holding a bounded number of errors at once, whatever the document holds.

pydantic builds every error of a document before it answers, about 0.5 KB each, and has no setting
to stop at a number of errors (pydantic/pydantic issue 8242, open). A 2 MB body can hold 260,000
mistakes: validating one whole took a process 171 MB above its size, where an answer lists the first
MAX_FIELD_ERRORS and counts the rest. So a body over BOUNDED_FROM is validated in parts, each by
pydantic, and the parts' errors are put back in the order pydantic gives for the whole document
(an object's fields in the order of its TypedDict, then its unknown members in the body's order,
as pydantic-core's src/validators/typed_dict.rs validates them; a list's items in order):

- an object with more unknown members than `keep` (MAX_FIELD_ERRORS) is validated with its fields
  and its first `keep` unknown members: each member left out would be one more 'unknown field'
  error, after those kept, so it is counted and could never be listed;
- a list of objects longer than `slice_size` (the physicians, a scenario's proposals) is validated
  a slice at a time: the document with the first slice, then each other slice alone. When anything
  is wrong, the document is validated again with one wrong item after its first slice: that item's
  one error shows where the other slices' errors go.

Where pydantic validates such objects and lists is read from the TypedDicts themselves (`Shape`).
tests/contract/test_bounded_validation.py checks, with parts of one or two items, that every answer
is the one the whole validation gives, to the byte.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import NoneType, UnionType
from typing import Annotated, Any, NotRequired, Required, TypeVar, Union, cast, get_args, get_origin, get_type_hints

import annotated_types
from pydantic import BeforeValidator, PlainValidator, TypeAdapter, ValidationError, WrapValidator
from pydantic.fields import FieldInfo
from pydantic_core import CoreConfig, SchemaValidator
from typing_extensions import is_typeddict

from app.contract.limits import MAX_FIELD_ERRORS
from app.contract.problems import (
    FieldError,
    ProblemError,
    first_error_details,
    from_validation_error,
    invalid_fields,
    pointer,
    worded,
)

BOUNDED_FROM = 64 * 1024  # bytes: a smaller body holds at most about 20,000 errors (10 MB)
SLICE = 64  # items: about 300 errors at most each once their objects are trimmed: 20,000 a slice

Path = tuple[str | int, ...]
Request = TypeVar("Request")
_MARKER = 0  # the wrong item: not an object, so exactly one error ("a valid dictionary")


@dataclass(frozen=True)
class Shape:
    """An object of known fields, as pydantic validates it: its fields, and those of its fields
    that hold such objects or lists of them. `trims`: unknown members are refused (each is an
    error), so that those past the first few can be counted instead of validated."""

    fields: frozenset[str]
    objects: Mapping[str, Shape]
    lists: Mapping[str, Items]
    trims: bool


@dataclass(frozen=True)
class Items:
    shape: Shape
    max_length: int | None
    slices: TypeAdapter[Any]  # a list of the items, without the list's bounds


_SHAPES: dict[TypeAdapter[Any], Shape] = {}  # by adapter: its TypedDict's
# by adapter: its validators with every list failing fast, of Python objects and of JSON text
_FAILING_FAST: dict[TypeAdapter[Any], tuple[SchemaValidator, SchemaValidator]] = {}


def request_adapter(typed_dict: type[Request]) -> TypeAdapter[Request]:
    """The adapter of a request's TypedDict, whose documents `validated` can validate in parts
    (what it needs built now, at import)."""
    adapter = TypeAdapter(typed_dict)
    _SHAPES[adapter] = shape_of(cast(type, typed_dict))
    _FAILING_FAST[adapter] = (
        failing_fast_validator(adapter.core_schema, CoreConfig()),
        failing_fast_validator(adapter.core_schema, CoreConfig(cache_strings="keys")),
    )
    return adapter


@functools.cache
def shape_of(typed_dict: type) -> Shape:
    objects: dict[str, Shape] = {}
    lists: dict[str, Items] = {}
    hints = get_type_hints(typed_dict, include_extras=True)
    for name, annotation in hints.items():
        inner, metadata = _unwrapped(annotation)
        if is_typeddict(inner):
            objects[name] = shape_of(inner)
        elif get_origin(inner) is list:
            item = get_args(inner)[0]
            item_type, _ = _unwrapped(item)
            if is_typeddict(item_type):
                slices: TypeAdapter[Any] = TypeAdapter(list[item])  # type: ignore[valid-type]
                lists[name] = Items(shape_of(item_type), _max_length(metadata), slices)
    config = getattr(typed_dict, "__pydantic_config__", {})
    return Shape(frozenset(hints), objects, lists, trims=config.get("extra") == "forbid")


def _unwrapped(annotation: Any) -> tuple[Any, list[Any]]:
    """The type validated under NotRequired, Annotated and `| None`, and the Annotated metadata; None
    where a validator may change the value before pydantic sees its members."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin in (NotRequired, Required):
            annotation = get_args(annotation)[0]
        elif origin is Annotated:
            annotation, *extra = get_args(annotation)
            if any(isinstance(m, BeforeValidator | WrapValidator | PlainValidator) for m in extra):
                return None, []
            metadata.extend(extra)
        elif origin in (Union, UnionType):
            types = [t for t in get_args(annotation) if t is not NoneType]
            if len(types) != 1:
                return None, []
            annotation = types[0]
        else:
            return annotation, metadata


def _max_length(metadata: list[Any]) -> int | None:
    constraints = [c for m in metadata for c in (m.metadata if isinstance(m, FieldInfo) else [m])]
    lengths = [c.max_length for c in constraints if isinstance(c, annotated_types.MaxLen)]
    return min(lengths) if lengths else None


@dataclass
class _Parts:
    """A document cut for validation: what was left out of its objects, and its lists' other slices."""

    dropped: int = 0
    # per list cut: where it is, the size of its first slice (validated in the document), the items
    # after it, and what they are
    slices: list[tuple[Path, int, list[Any], Items]] = field(default_factory=list)


@dataclass(frozen=True)
class Reading:
    """How a document is validated: as Python objects, or, when `text` is given, by pydantic from
    JSON text (the whole body, or its parts written as JSON again); `json_wording`: errors worded as
    pydantic words them for JSON ("a valid array", not "a valid list")."""

    text: bytes | None = None
    json_wording: bool = True

    @property
    def rewords(self) -> bool:
        """Errors of Python objects to word as for JSON (pydantic reading JSON words them itself)."""
        return self.json_wording and self.text is None

    def validate(self, adapter: TypeAdapter[Any], value: Any) -> Any:
        if self.text is None:
            return adapter.validate_python(value)
        return text_validator(adapter).validate_json(json.dumps(value))

    def validate_failing_fast(self, adapter: TypeAdapter[Any], document: Any) -> Any:
        """As `validate_whole`, but a list stops at its first wrong item: its errors are few, and
        thrown away (the parts then say them all)."""
        python, text = _FAILING_FAST[adapter]
        if self.text is None:
            return python.validate_python(document)
        return text.validate_json(self.text)

    def validate_whole(self, adapter: TypeAdapter[Any], document: Any) -> Any:
        if self.text is None:
            return adapter.validate_python(document)
        return text_validator(adapter).validate_json(self.text)


NATIVE = Reading()  # a body read by jiter or the standard library, validated as its objects
AS_OBJECTS = Reading(json_wording=False)  # an audited session: its errors worded as for Python objects


def failing_fast_validator(core_schema: Any, config: CoreConfig) -> SchemaValidator:
    """A validator of `core_schema` with every list stopping at its first wrong item: the same
    schema otherwise, so the same value for a valid document. pydantic-core would reuse each
    complete model's own validator for its nested schema (a 'prebuilt' one, without fail_fast): the
    models are marked incomplete while this one is built. Call it at start-up only, before any
    thread: no other validator may be built meanwhile (pydantic's model_rebuild, which does the
    same, takes a lock of its own)."""
    schema = copy.deepcopy(core_schema)
    models: set[type] = set()
    _lists_failing_fast(schema, models)
    complete = {model: bool(model.__dict__.get("__pydantic_complete__")) for model in models}
    for model in models:
        model.__pydantic_complete__ = False  # type: ignore[attr-defined]
    try:
        return SchemaValidator(schema, config)
    finally:
        for model, was in complete.items():
            model.__pydantic_complete__ = was  # type: ignore[attr-defined]


def _lists_failing_fast(schema: Any, models: set[type]) -> None:
    """Sets fail_fast on every list of the schema, in place, and collects its models."""
    if isinstance(schema, dict):
        if schema.get("type") == "list":
            schema["fail_fast"] = True
        elif schema.get("type") in ("model", "dataclass"):
            models.add(schema["cls"])
        for value in schema.values():
            _lists_failing_fast(value, models)
    elif isinstance(schema, list):
        for value in schema:
            _lists_failing_fast(value, models)


@functools.cache
def text_validator(adapter: TypeAdapter[Any]) -> SchemaValidator:
    """The adapter's validator, reading JSON text without keeping its strings: by default pydantic
    keeps every string it reads in a process-wide cache, a patient's postal code among them; the
    field names may stay there, no value of a request may. (TypeAdapter takes no such setting for
    a TypedDict.)"""
    return SchemaValidator(adapter.core_schema, CoreConfig(cache_strings="keys"))


def may_need_parts(adapter: TypeAdapter[Any], root_members: int) -> bool:
    """Whether a big document may have parts to cut, knowing only how many members its root has: the
    objects of an audit batch's sessions are not the batch's to cut (each is validated later)."""
    shape = _SHAPES[adapter]
    return bool(shape.objects or shape.lists) or (shape.trims and root_members > len(shape.fields) + MAX_FIELD_ERRORS)


def validated(
    adapter: TypeAdapter[Any],
    document: Any,
    reading: Reading = NATIVE,
    *,
    listed: int = MAX_FIELD_ERRORS,
    keep: int = MAX_FIELD_ERRORS,
    slice_size: int = SLICE,
) -> Any:
    """The document validated by `adapter` (of a TypedDict), in parts; or a ProblemError listing
    the first `listed` errors and counting them all, worded as `from_validation_error` words them."""
    try:
        return _validated_in_parts(adapter, document, reading, listed, keep, slice_size)
    except _WholeError as whole:
        raise from_validation_error(whole.error, reading.rewords) from None
    except _PartNotJsonError:
        try:
            text_validator(adapter).validate_json(reading.text or b"")
        except ValidationError as error:
            raise from_validation_error(error) from None
        raise AssertionError("a part was not JSON, the whole text was") from None  # pragma: no cover


def _validated_in_parts(
    adapter: TypeAdapter[Any], document: Any, reading: Reading, listed: int, keep: int, slice_size: int
) -> Any:
    parts = _Parts()
    envelope = _cut(document, _SHAPES[adapter], (), parts, keep, slice_size)
    if envelope is document:  # nothing cut: validated whole, as always
        try:
            return reading.validate_whole(adapter, document)
        except ValidationError as error:
            raise _WholeError(error) from None
    if not parts.dropped:
        # Only lists cut: a valid document is validated whole, at the speed of one call, with every
        # list stopping at its first wrong item; a wrong document then goes in parts.
        with contextlib.suppress(ValidationError):
            return reading.validate_failing_fast(adapter, document)
    try:
        value = reading.validate(adapter, envelope)
    except ValidationError as error:
        if not parts.slices:
            raise _refusal(error, reading, parts, [], listed) from None
        value = _INVALID
    outcomes: list[list[Any] | _SliceErrors] = []
    wanted = {path: listed for path, _, _, _ in parts.slices}  # errors still to list, per list
    for path, start, items, part in _each_slice(parts):
        outcome = _slice_outcome(reading, items, path, start, part, wanted[path])
        if isinstance(outcome, _SliceErrors):
            wanted[path] -= len(outcome.details)
        outcomes.append(outcome)
    if value is not _INVALID and all(isinstance(outcome, list) for outcome in outcomes):
        _put_back(value, parts, outcomes)
        return value
    try:
        reading.validate(adapter, _with_markers(envelope, parts))
    except ValidationError as error:
        raise _refusal(error, reading, parts, outcomes, listed) from None
    raise AssertionError("a marker was accepted as an item")  # pragma: no cover


_INVALID: Any = object()


class _WholeError(Exception):
    def __init__(self, error: ValidationError) -> None:
        self.error = error


def _cut(value: Any, shape: Shape, path: Path, parts: _Parts, keep: int, slice_size: int | None) -> Any:
    """`value`, found where pydantic validates an object of `shape`, as the part to validate.
    `slice_size` None: no list cut (inside a list's items, where none of the contract's objects has
    a list)."""
    if type(value) is not dict:
        return value
    cut = value
    if shape.trims and len(value) > len(shape.fields) + keep:
        cut = trimmed(value, shape.fields, keep)
        parts.dropped += len(value) - len(cut)
        cut = cut if len(cut) < len(value) else value
    for name, member_shape in shape.objects.items():
        if name in cut and type(cut[name]) is dict:
            member = _cut(cut[name], member_shape, (*path, name), parts, keep, slice_size)
            if member is not cut[name]:
                cut = cut if cut is not value else dict(value)
                cut[name] = member
    for name, items in shape.lists.items():
        given = cut.get(name)
        if type(given) is not list or (items.max_length is not None and len(given) > items.max_length):
            continue  # not validated item by item
        listed = _cut_items(given, items.shape, (*path, name), parts, keep)
        if slice_size is not None and len(listed) > slice_size:
            parts.slices.append(((*path, name), slice_size, listed[slice_size:], items))
            listed = listed[:slice_size]
        if listed is not given:
            cut = cut if cut is not value else dict(value)
            cut[name] = listed
    return cut


def trimmed_within(value: Any, typed_dict: type, keep: int = MAX_FIELD_ERRORS) -> tuple[Any, int]:
    """`value`, found where pydantic validates `typed_dict`, with each of its objects' unknown
    members past the first `keep` left out (a copy where any is), and how many were left out."""
    parts = _Parts()
    return _cut(value, shape_of(typed_dict), (), parts, keep, None), parts.dropped


def trimmed(value: dict[str, Any], fields: Collection[str], keep: int) -> dict[str, Any]:
    """The object with its fields and its first `keep` unknown members, in the body's order."""
    kept: dict[str, Any] = {}
    unknown = 0
    for name, member in value.items():
        if name in fields:
            kept[name] = member
        elif unknown < keep:
            kept[name] = member
            unknown += 1
    return kept


def _cut_items(items: list[Any], shape: Shape, path: Path, parts: _Parts, keep: int) -> list[Any]:
    if not _may_trim(items, shape, keep):
        return items
    return [_cut(item, shape, (*path, index), parts, keep, None) for index, item in enumerate(items)]


def _may_trim(values: list[Any], shape: Shape, keep: int) -> bool:
    """Whether any of these objects, or of theirs, has too many members: checked a member at a time
    over all of them, a column (10,000 physicians: under a millisecond), not object by object."""
    try:
        return _may_trim_objects(values, shape, keep)
    except (TypeError, AttributeError):  # not all objects: the objects alone
        return _may_trim_objects([v for v in values if type(v) is dict], shape, keep)


def _may_trim_objects(objects: list[Any], shape: Shape, keep: int) -> bool:
    """`_may_trim` for values taken for objects: a text or a list among them is only a false alarm
    (then every item is looked at), a number or null raises TypeError, a text AttributeError."""
    if not objects:
        return False
    if shape.trims and max(map(len, objects)) > len(shape.fields) + keep:
        return True
    nested = [([o.get(name) for o in objects], member) for name, member in shape.objects.items()]
    nested += [
        ([i for o in objects if type(lst := o.get(name)) is list for i in lst], items.shape)
        for name, items in shape.lists.items()
    ]
    return any(_may_trim(column, member, keep) for column, member in nested)


def _each_slice(parts: _Parts) -> list[tuple[Path, int, Items, list[Any]]]:
    """Every other slice of every list cut, with where it starts."""
    each = []
    for path, first, rest, items in parts.slices:
        for start in range(0, len(rest), first):
            each.append((path, first + start, items, rest[start : start + first]))
    return each


@dataclass(frozen=True)
class _SliceErrors:
    details: list[Mapping[str, Any]]
    count: int


def _slice_outcome(
    reading: Reading, items: Items, path: Path, start: int, part: list[Any], listed: int
) -> list[Any] | _SliceErrors:
    try:
        validated_part: list[Any] = reading.validate(items.slices, part)
    except ValidationError as error:
        details = first_error_details(error, max(listed, 1))
        if details[0]["type"] == "json_invalid":
            raise _PartNotJsonError from None
        return _SliceErrors(
            [{**d, "loc": (*path, start + d["loc"][0], *d["loc"][1:])} for d in details[:listed]], error.error_count()
        )
    return validated_part


def _put_back(value: Any, parts: _Parts, slices: list[Any]) -> None:
    outcomes = iter(slices)
    for path, first, rest, _ in parts.slices:
        target = value
        for name in path[:-1]:
            target = target[name]
        for _ in range(0, len(rest), first):
            target[path[-1]].extend(next(outcomes))


def _refusal(
    error: ValidationError,
    reading: Reading,
    parts: _Parts,
    outcomes: list[list[Any] | _SliceErrors],
    listed: int,
) -> ProblemError:
    """The errors of the parts in the whole's order: the envelope's (`error`), with each list's
    other slices' at the place of its marker, and the members left out counted."""
    details = first_error_details(error, listed + len(parts.slices))
    if details[0]["type"] == "json_invalid":
        raise _PartNotJsonError
    per_list = _errors_per_list(parts, outcomes, listed)
    markers = {(*path, first): index for index, (path, first, _, _) in enumerate(parts.slices)}
    merged: list[Mapping[str, Any]] = []
    for detail in details:
        at = markers.get(tuple(detail["loc"]))
        merged.extend(per_list[at][0] if at is not None else [detail])
    count = error.error_count() - len(parts.slices) + sum(c for _, c in per_list) + parts.dropped
    fields = [FieldError(pointer(*d["loc"]), worded(d, reading.rewords)) for d in merged[:listed]]
    return invalid_fields(f"{count} invalid field(s)", fields, count)


def _with_markers(envelope: Any, parts: _Parts) -> Any:
    """The envelope with a wrong item after the first slice of each list cut (copies, not changes)."""
    marked = dict(envelope)
    for path, _, _, _ in parts.slices:
        target = marked
        for name in path[:-1]:
            target[name] = dict(target[name])
            target = target[name]
        target[path[-1]] = [*target[path[-1]], _MARKER]
    return marked


def _errors_per_list(
    parts: _Parts, outcomes: list[list[Any] | _SliceErrors], listed: int
) -> list[tuple[list[Mapping[str, Any]], int]]:
    """Per list cut: the first `listed` errors of its other slices, and their number."""
    remaining = iter(outcomes)
    per_list = []
    for _, first, rest, _ in parts.slices:
        details: list[Mapping[str, Any]] = []
        count = 0
        for _ in range(0, len(rest), first):
            outcome = next(remaining)
            if isinstance(outcome, _SliceErrors):
                details.extend(outcome.details[: listed - len(details)])
                count += outcome.count
        per_list.append((details, count))
    return per_list


class _PartNotJsonError(Exception):
    """A part pydantic cannot read as JSON (nested deeper than it reads): neither could it the whole
    text, which is refused before any validation, with the whole text's one error."""
