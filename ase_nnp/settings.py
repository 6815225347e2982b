"""One configuration key: its default, type, meaning and the values it allows.

A descriptor family declares its own keys with :class:`Setting` (see
:mod:`ase_nnp.descriptors.base`); the training configuration
(:mod:`ase_nnp.training.config`) adds them to its ``[descriptor]`` section and
checks every value against them. ``allowed`` (for a scalar) and ``items`` (for
each item of a list) are ``(test, what is allowed)`` pairs, built with
:func:`number` and :func:`choices`.
"""

from typing import Any, NamedTuple, Optional


class Setting(NamedTuple):
    default: Any
    type: type            # float, int, str, bool or list
    meaning: str
    allowed: Optional[tuple] = None     # (test(value) -> bool, text) for a scalar
    items: Optional[tuple] = None       # (test(item) -> bool, text) for each list item


def choices(*names):
    """The rule 'one of names'."""
    return (lambda v: v in names, "one of " + ", ".join(repr(n) for n in names))


def number(lo=None, hi=None, lo_open=False, hi_open=False):
    """The rule lo <= v <= hi (strict where ``*_open``; None: unbounded)."""
    def ok(v):
        if lo is not None and (v < lo or (lo_open and v == lo)):
            return False
        return not (hi is not None and (v > hi or (hi_open and v == hi)))
    text = []
    if lo is not None:
        text.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        text.append(f"{'<' if hi_open else '<='} {hi:g}")
    return ok, "a number " + " and ".join(text)
