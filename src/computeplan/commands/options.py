"""Typed option groups: each option is defined once, for Python, JSON/HTTP and the CLI.

An option group is a frozen dataclass whose fields are options made with :func:`opt`: the field
name is the option's one name (Python keyword, JSON/HTTP field, CLI flag with dashes), its type
and default are the field's, and the metadata holds the help text, the CLI's help panel, choices
and old CLI spellings kept as hidden aliases. A set of groups (e.g.
:class:`computeplan.commands.plan.PlanOptions`) is built from flat keyword arguments
(:meth:`OptionSet.from_flat`), which is what the CLI, the web API and Python callers pass; the
shells derive their parameters from :meth:`OptionSet.options`. Adding an option means adding a
field (and its help text) to a group, and using it where the group is turned into core objects.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import operator
import re
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..defaults import MIN_EXPONENT
from ..errors import InputError


def opt(help: str, default: Any = None, *, aliases: tuple[str, ...] = (),
        choices: tuple[str, ...] | None = None, bounds: str | None = None) -> Any:
    """A dataclass field that is an option. ``help`` may mark other options' names as
    ``{{name}}`` (:func:`computeplan.vocabulary.render`); ``aliases`` are old CLI spellings
    (names with underscores) accepted but not shown; ``choices`` the valid strings; ``bounds``
    the valid numbers as the error message says them (``"> 0"``, ``">= 1"``, ``"in (0, 1]"``,
    ``"a whole number >= 1"``): checked by :meth:`OptionSet.from_flat` and published in the web
    API's schema (:func:`bounds_schema`). Functions that take plain keyword arguments declare
    theirs with :func:`bounded`."""
    if bounds is not None:
        bounds_schema(bounds)  # a malformed spec fails at import
    return field(default=default, metadata={"help": help, "aliases": aliases,
                                            "choices": choices, "bounds": bounds})


_BOUND = re.compile(r"^(a whole number )?(?:(>=|>) (\S+)|in ([(\[])(\S+), (\S+)([)\]]))$")


def bounds_schema(spec: str) -> dict[str, float]:
    """JSON-schema keywords of a ``bounds`` spec: ``"in (0, 1]"`` ->
    ``{"exclusiveMinimum": 0, "maximum": 1}``, ``">= 1"`` -> ``{"minimum": 1}``,
    ``"a whole number >= 1"`` -> ``{"minimum": 1, "multipleOf": 1}``."""
    return dict(_limits(spec))


@functools.cache
def _limits(spec: str) -> tuple[tuple[str, float], ...]:
    """The keywords of ``spec`` (:func:`bounds_schema`), parsed once."""
    m = _BOUND.match(spec)
    if m is None:
        raise ValueError(f"bounds {spec!r}: expected '> A', '>= A' or 'in (A, B]' (any "
                         "brackets), optionally after 'a whole number '")
    whole, op, lo, left, lo2, hi, right = m.groups()
    if op:
        out = {"exclusiveMinimum" if op == ">" else "minimum": float(lo)}
    else:
        out = {"exclusiveMinimum" if left == "(" else "minimum": float(lo2),
               "exclusiveMaximum" if right == ")" else "maximum": float(hi)}
    return tuple((out | ({"multipleOf": 1.0} if whole else {})).items())


#: For each JSON-schema keyword, whether a number (or each number of an array) breaks it.
_BREAKS = {"minimum": operator.lt, "exclusiveMinimum": operator.le, "maximum": operator.gt,
           "exclusiveMaximum": operator.ge, "multipleOf": lambda x, m: x % m != 0}


def check_bounds(name: str, value: Any, spec: str) -> None:
    """Raise :class:`InputError` ``"<option> must be <spec>; got <value>"`` unless every number
    of ``value`` is finite and within ``spec``."""
    limits = _limits(spec)
    if type(value) in (int, float) and math.isfinite(value) and not any(
            _BREAKS[key](value, limit) for key, limit in limits):
        return  # a plain number within range: no arrays needed
    import numpy as np

    from .._validate import _first_bad, finite
    from ..vocabulary import option

    name = option(name)  # as the running shell spells it
    arr = finite(name, value)
    bad = np.zeros(arr.shape, dtype=bool)
    for key, limit in limits:
        bad |= _BREAKS[key](arr, limit)
    if bad.any():
        raise InputError(f"{name} must be {spec}; got {_first_bad(arr, bad)}")


def bounded(**specs: str):
    """Declare the ranges of a function's keyword arguments (``name="> 0"``, the specs of
    :func:`opt`): each argument given (not None) is checked on every call
    (:func:`check_bounds`), and the web API publishes them in its schema (the function's
    ``bounds``)."""
    for spec in specs.values():
        _limits(spec)  # a malformed spec fails at import

    def decorate(fn):
        @functools.wraps(fn)
        def checked(*args, **kwargs):
            for name in specs.keys() & kwargs.keys():
                if kwargs[name] is not None:
                    check_bounds(name, kwargs[name], specs[name])
            return fn(*args, **kwargs)

        checked.bounds = dict(specs)
        return checked

    return decorate


#: The law coefficients' range (Hoffmann et al. 2022, eq. 2: every coefficient of
#: E + A/N^alpha + B/D^beta is positive; Muennighoff et al. 2023's R*_D, R*_N too; the exponents
#: above the fitter's boundary, :data:`computeplan._lawdata.MIN_EXPONENT`), for every command
#: that takes them.
LAW_BOUNDS = (dict.fromkeys(("E", "A", "B", "rd_star", "rn_star"), "> 0")
              | dict.fromkeys(("alpha", "beta"), f"> {MIN_EXPONENT:g}"))


@dataclass(frozen=True)
class Option:
    """One option as the shells see it."""

    name: str
    type: Any
    default: Any
    help: str
    group: str
    panel: str
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] | None = None
    bounds: str | None = None


class OptionGroup:
    """Base of option groups (frozen dataclasses of :func:`opt` fields). ``PANEL`` names the
    group in help (the CLI's help panel)."""

    PANEL: ClassVar[str] = "Options"

    @classmethod
    def options(cls, group: str = "") -> list[Option]:
        return list(_group_options(cls, group))

    def given(self) -> dict[str, Any]:
        """The options that were set (not None)."""
        return {name: value for name in _field_names(type(self))
                if (value := getattr(self, name)) is not None}


class OptionSet:
    """Base of a frozen dataclass whose fields are option groups (one per kind of input)."""

    @classmethod
    def groups(cls) -> dict[str, type[OptionGroup]]:
        return dict(_set_groups(cls))

    @classmethod
    def options(cls) -> list[Option]:
        """Every option of every group, in order; names are unique across the groups."""
        return list(_set_options(cls))

    @classmethod
    def from_flat(cls, **flat: Any):
        """The groups from flat keyword arguments (option name -> value); an unknown name is an
        :class:`InputError` naming it."""
        where = _set_where(cls)
        unknown = sorted(flat.keys() - where.keys())
        if unknown:
            raise InputError(f"unknown option {unknown[0]!r}; the options are: "
                             + ", ".join(where))
        bounds = _set_bounds(cls)
        for name in bounds.keys() & flat.keys():
            if flat[name] is not None:
                check_bounds(name, flat[name], bounds[name])
        groups = _set_groups(cls)
        parts: dict[str, dict[str, Any]] = {g: {} for g in groups}
        for name, value in flat.items():
            parts[where[name]][name] = value
        return cls(**{g: tp(**part) if part else _default(tp)
                      for (g, tp), part in zip(groups.items(), parts.values(), strict=True)})

    def flat(self) -> dict[str, Any]:
        """Every option name -> value (None where not set)."""
        return {name: getattr(group, name) for group in
                (getattr(self, g) for g in _set_groups(type(self)))
                for name in _field_names(type(group))}

    def given(self) -> dict[str, Any]:
        """The options that were set (not None)."""
        return {k: v for k, v in self.flat().items() if v is not None}

    def replace(self, **flat: Any):
        """A copy with some options changed (flat names)."""
        return type(self).from_flat(**(self.flat() | flat))


# The options of a class are fixed when it is defined: worked out once (typing.get_type_hints
# evaluates every annotation, which took most of a web plan request's time).
@functools.cache
def _group_options(cls: type[OptionGroup], group: str) -> tuple[Option, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(Option(f.name, hints[f.name], f.default, f.metadata["help"], group, cls.PANEL,
                        f.metadata["aliases"], f.metadata["choices"], f.metadata["bounds"])
                 for f in dataclasses.fields(cls))


@functools.cache
def _default(cls: type[OptionGroup]) -> OptionGroup:
    """The group with every option at its default (frozen, so one instance serves)."""
    return cls()


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@functools.cache
def _set_groups(cls: type[OptionSet]) -> dict[str, type[OptionGroup]]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


@functools.cache
def _set_options(cls: type[OptionSet]) -> tuple[Option, ...]:
    out = [o for name, group in _set_groups(cls).items() for o in group.options(name)]
    names = [o.name for o in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise TypeError(f"{cls.__name__}: options named twice: {sorted(dup)}")
    return tuple(out)


@functools.cache
def _set_where(cls: type[OptionSet]) -> dict[str, str]:
    return {o.name: o.group for o in _set_options(cls)}


@functools.cache
def _set_bounds(cls: type[OptionSet]) -> dict[str, str]:
    return {o.name: o.bounds for o in _set_options(cls) if o.bounds}
