"""The checks a JSON value from a file goes through before anything is built from it: a
small schema language (a type, None, a :class:`Schema`, a tuple of alternatives, ``[item
schema]``, ``{key: schema}`` with optional keys ending in "?", or a :class:`MapOf`) and
:func:`check`, which names the field and what it expected.  Model files check their
manifests with it, and each layer declares the schema of its own constructor's arguments
(:meth:`nnlearn.layers.Layer.config_schema`)."""

from __future__ import annotations

import re

__all__ = ["Schema", "MapOf", "integer", "one_of", "check", "describe", "NUMBER", "SIZE",
           "COUNT", "IDENTIFIED", "INITIALIZER", "ANY", "short_repr"]


class Schema:
    """A check of one JSON value: ``test(value)`` and what it expects, in words."""

    def __init__(self, description: str, test):
        self.description, self.test = description, test


def integer(low=None, high=None, description="an integer") -> Schema:
    """An integer (not a bool) in [low, high] (either bound may be None)."""
    return Schema(description, lambda v: isinstance(v, int) and not isinstance(v, bool)
                   and (low is None or v >= low) and (high is None or v <= high))


def one_of(values) -> Schema:
    """One of the strings ``values``."""
    return Schema(" or ".join(map(repr, values)), lambda v: isinstance(v, str) and v in values)


class MapOf:
    """A JSON object whose keys match ``pattern`` and whose values follow ``schema``."""

    def __init__(self, pattern: str, schema):
        self.pattern, self.schema = re.compile(pattern), schema


NUMBER = Schema("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
SIZE = integer(1, description="a positive integer")
COUNT = integer(0, description="a non-negative integer")
IDENTIFIED = {"class_name": str, "config": dict}   # {"class_name": ..., "config": {...}}
INITIALIZER = (str, IDENTIFIED)                    # a name, or a class name and its config
ANY = Schema("a JSON value", lambda v: True)


def describe(schema) -> str:
    """What ``schema`` expects, in words (for error messages)."""
    if isinstance(schema, Schema):
        return schema.description
    if isinstance(schema, tuple):
        return " or ".join(describe(s) for s in schema)
    if isinstance(schema, list):
        return "a list"
    if isinstance(schema, (dict, MapOf)) or schema is dict:
        return "an object"
    return {None: "null", str: "a string", int: "an integer", bool: "true or false",
            list: "a list"}.get(schema, str(schema))


def _matches(value, schema) -> bool:
    if schema is None:
        return value is None
    if schema is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(schema, type):
        return isinstance(value, schema)
    if isinstance(schema, Schema):
        return schema.test(value)
    if isinstance(schema, tuple):
        return any(_matches(value, s) for s in schema)
    if isinstance(schema, list):
        return isinstance(value, list)
    return isinstance(value, dict)  # dict schemas and _MapOf: the keys are checked next


def check(value, schema, field: str, where: str) -> None:
    """Raise ValueError naming ``where`` and ``field`` when ``value`` does not follow
    ``schema`` (a type, None, a Schema, a tuple of alternatives, [item schema],
    {key: schema} with optional keys ending in "?", or a MapOf)."""
    if isinstance(schema, tuple):  # alternatives: the one whose kind matches decides
        for alternative in schema:
            if _matches(value, alternative):
                return check(value, alternative, field, where)
    if not _matches(value, schema):
        raise ValueError(f"{where}: {field} must be {describe(schema)}; got "
                         f"{short_repr(value)}")
    if isinstance(schema, list):
        for i, item in enumerate(value):
            check(item, schema[0], f"{field}[{i}]", where)
    elif isinstance(schema, MapOf):
        for key, item in value.items():
            if not schema.pattern.fullmatch(key):
                raise ValueError(f"{where}: {field} has an unexpected key {key[:100]!r} "
                             f"(expected keys like {schema.pattern.pattern!r})")
            check(item, schema.schema, f"{field}.{key}", where)
    elif isinstance(schema, dict):
        keys = {k.rstrip("?"): k.endswith("?") for k in schema}
        unknown = [k for k in value if k not in keys]
        if unknown:
            raise ValueError(f"{where}: {field or 'the manifest'} has an unexpected key "
                             f"{unknown[0][:100]!r} (expected {', '.join(keys)})")
        for key, optional in keys.items():
            if key in value:
                check(value[key], schema[key + "?" if optional else key],
                       f"{field}.{key}" if field else key, where)
            elif not optional:
                raise ValueError(f"{where}: {field + ' ' if field else ''}misses the key "
                                 f"{key!r}")


def short_repr(value) -> str:
    """``value`` shortened for an error message (a JSON object or list by its kind)."""
    if isinstance(value, (dict, list)):
        return f"a JSON {'object' if isinstance(value, dict) else 'list'}"
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge int"
    return text if len(text) <= 60 else text[:57] + "..."
