"""Name lookup shared by activations, losses, initializers, regularizers, optimizers and
metrics: one ``get(identifier)`` per concept, with a close-match suggestion on typos."""

from __future__ import annotations

import difflib
import inspect


def lookup(kind: str, table: dict, identifier, argument: str | None = None):
    """``table[identifier]`` for a string; a callable is returned as it is.

    Raises ValueError naming the argument, the unknown name, the closest known names and
    the full list.
    """
    if callable(identifier) and not isinstance(identifier, str):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(f"{argument or kind} must be a name (str) or a callable; "
                        f"got {type(identifier).__name__}")
    key = identifier.lower()
    if key in table:
        return table[key]
    close = difflib.get_close_matches(key, table, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"{argument or kind}: unknown {kind} {identifier!r}.{hint} "
                     f"Known: {', '.join(sorted(table))}.")


def name_of(table: dict, value) -> str | None:
    """The first name under which ``value`` is registered, or None."""
    for name, registered in table.items():
        if registered is value:
            return name
    return None


def constructor_repr(obj, config: dict) -> str:
    """``Name(arg=value, ...)`` with the config entries that differ from the constructor's
    defaults: code that builds the same object."""
    defaults = {name: p.default for name, p in
                inspect.signature(type(obj).__init__).parameters.items()}
    def default(value):  # a config stores tuples as lists (JSON)
        return list(value) if isinstance(value, tuple) else value

    args = [f"{k}={v!r}" for k, v in config.items()
            if default(defaults.get(k, inspect.Parameter.empty)) != default(v)]
    return f"{type(obj).__name__}({', '.join(args)})"
