"""One registry helper for every kind of named plugin contribution.

Envs, reward functions, advantage estimators and policy backends are all
"a name → a thing, registered by someone".  :class:`Registry` holds one such
mapping with the same rules for all four:

* every entry records its **owner** (the plugin that registered it, or
  :data:`BUILTIN` for vzgym's own);
* **built-ins are registered first and are never shadowed**: a later
  registration of a taken name is refused with :class:`RegistryCollision`,
  which the caller records against the plugin that caused it (the first
  registration keeps the name, so the outcome does not depend on who loads last);
* registering the same object under the same name again is a no-op, so each
  entry exists **once** whoever repeats it;
* looking up an unknown name raises :class:`UnknownNameError` with a
  **"did you mean"** hint (:func:`did_you_mean`) and the known names.

This module imports nothing from vzgym: the callers run the plugin hooks and
record failures (:func:`vzgym.plugins.manager.fill_registry`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: The owner recorded for vzgym's own entries.
BUILTIN = "vzgym (built-in)"


def did_you_mean(name: object, choices: Iterable[str], n: int = 3) -> str:
    """``" Did you mean 'a' or 'b'?"`` for the choices close to ``name``, else ``""``."""
    close = difflib.get_close_matches(str(name), list(choices), n=n, cutoff=0.5)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


class UnknownNameError(KeyError, ValueError):
    """A name nobody registered (a ``KeyError`` and a ``ValueError``, message shown plainly)."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


class RegistryCollision(ValueError):
    """A second registration of a taken name (raised for the registration that came later)."""


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered thing: its name, the value, who registered it and whether it is built in."""

    name: str
    value: T
    owner: str
    builtin: bool = False


class Registry(Generic[T]):
    """Name → :class:`Entry` with owners, first-come names and "did you mean" lookups.

    Args:
        kind: what the entries are, for messages (``"env"``, ``"advantage estimator"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def add(self, name: str, value: T, owner: str = BUILTIN, *, builtin: bool = False) -> Entry[T]:
        """Register ``value`` as ``name`` for ``owner``; return its entry.

        Raises:
            ValueError: ``name`` is not a non-empty string.
            RegistryCollision: ``name`` is taken by another object (or another owner).
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")
        taken = self._entries.get(name)
        if taken is not None:
            if taken.value is value and taken.owner == owner:
                return taken  # the same registration again: one entry
            by = "vzgym itself (built-in)" if taken.builtin else f"plugin {taken.owner!r}"
            raise RegistryCollision(
                f"{self.kind} {name!r} is already registered by {by}; "
                f"{owner!r} cannot replace it (choose another name)"
            )
        entry = Entry(name, value, owner, builtin)
        self._entries[name] = entry
        return entry

    def entry(self, name: str) -> Entry[T]:
        """The entry of ``name``; :class:`UnknownNameError` with "did you mean" if none."""
        if name in self._entries:
            return self._entries[name]
        raise UnknownNameError(self.unknown_message(name))

    def get(self, name: str) -> T:
        """The value registered as ``name`` (see :meth:`entry`)."""
        return self.entry(name).value

    def unknown_message(self, name: object, shown: str | None = None) -> str:
        """``Unknown <kind> 'x'. Did you mean ...? Known: a, b.`` (``shown``: the name as typed)."""
        known = ", ".join(self.names()) or "none"
        hint = did_you_mean(name, self._entries)
        return f"Unknown {self.kind} {shown or repr(name)}.{hint} Known: {known}."

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        """All entries, sorted by name."""
        return [self._entries[k] for k in self.names()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
