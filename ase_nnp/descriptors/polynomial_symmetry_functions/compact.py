r"""Compact functions C(x; x_l, x_r) of n2p2's polynomial symmetry functions.

After Bircher, Singraber and Dellago, "Improved description of atomic environments
using low-cost polynomial functions with compact support", Mach. Learn.: Sci.
Technol. 2, 035026 (2021). A window on the interval (x_l, x_r), with centre
m = (x_l + x_r)/2, half-width w = (x_r - x_l)/2 and y = |x - m| / w::

    C(x) = f(y)          for x_l < x < x_r (0 <= y < 1),
    C(x) = 0             elsewhere,
    dC/dx = sign(x - m) f'(y) / w,

with f a core function of :func:`ase_nnp.descriptors.symmetry_functions.cutoffs.core`
(poly1-poly4: f(y) = 1 - y^2(3 - 2y), ..., the polynomials of order 2n+1 whose first n
derivatives vanish at y = 0 and y = 1; exp: f(y) = exp(1 - 1/(1 - y^2))). So C peaks at 1
in the middle of the window and falls to 0, smoothly, at both ends.

**Asymmetric variant** (n2p2 subtype ``pNa``, radial windows only): the core is taken at
z = (2 - y) y instead of y, f(z) with df/dy = f'(z) (2 - 2y). z rises from 0 to 1 as y does
but with slope 2 at y = 0, so the window's flat top is narrower.

n2p2 names the core by a *subtype* string: ``p1``-``p4`` (polynomials), ``p1a``-``p4a``
(asymmetric polynomials) and ``e`` (exp); :data:`SUBTYPES` maps them to (core code of
:mod:`~ase_nnp.descriptors.symmetry_functions.cutoffs`, asymmetric flag).
"""

from numba import njit

from ...exceptions import DescriptorSpecError
from ..symmetry_functions.cutoffs import core

#: n2p2 subtype -> (core code of symmetry_functions.cutoffs, asymmetric)
SUBTYPES = {"p1": (5, 0), "p2": (6, 0), "p3": (7, 0), "p4": (8, 0),
            "p1a": (5, 1), "p2a": (6, 1), "p3a": (7, 1), "p4a": (8, 1), "e": (4, 0)}
SUBTYPE_OF = {v: k for k, v in SUBTYPES.items()}


def subtype_code(subtype):
    """(core code, asymmetric) of an n2p2 subtype string; DescriptorSpecError naming the
    valid ones otherwise."""
    if subtype not in SUBTYPES:
        raise DescriptorSpecError(f"unknown compact-function subtype {subtype!r}; n2p2's are "
                                  f"{', '.join(SUBTYPES)} (pN: polynomial of order N, a: "
                                  "asymmetric, e: exponential)")
    return SUBTYPES[subtype]


def window(left, right):
    """(centre, 1/half-width) of the window (left, right), as n2p2 computes them."""
    return (right + left) / 2.0, 1.0 / ((right - left) / 2.0)


@njit(cache=True, inline="always", error_model="numpy")
def compact(x, left, right, centre, scale, kind, asymmetric):
    """(C(x), dC/dx) of the window (left, right) with ``centre`` and ``scale`` =
    1/half-width (:func:`window`), core ``kind`` and the asymmetric variant if
    ``asymmetric``; 0 outside the open window (module docstring)."""
    if x <= left or x >= right:
        return 0.0, 0.0
    y = (x - centre) * scale
    s = scale
    if y < 0.0:
        y = -y
        s = -scale
    if y >= 1.0:
        return 0.0, 0.0
    if asymmetric:
        f, df = core(kind, (2.0 - y) * y)
        return f, df * (2.0 - 2.0 * y) * s
    f, df = core(kind, y)
    return f, df * s
