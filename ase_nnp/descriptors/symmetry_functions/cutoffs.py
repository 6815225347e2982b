"""Cutoff functions f_c(r) with an inner cutoff, in n2p2's conventions.

With the inner cutoff r_ci = alpha * r_c (0 <= alpha < 1) and

    x = (r - r_ci) / (r_c - r_ci),

every function is 1 for r <= r_ci (except the tanh family, see below), 0 for
r >= r_c, and in between:

    code name   f(x)                                        df/dx
    0    hard   1                                           0
    1    cos    (cos(pi x) + 1) / 2                         -pi sin(pi x) / 2
    2    tanhu  tanh^3(1 - r/r_c)                 (in r)    see below
    3    tanh   coth^3(1) tanh^3(1 - r/r_c)       (in r)    see below
    4    exp    exp(1 - 1/(1 - x^2))                        -2x f / (1 - x^2)^2
    5    poly1  (2x - 3) x^2 + 1                            6x(x - 1)
    6    poly2  ((15 - 6x) x - 10) x^3 + 1                  -30 x^2 (x - 1)^2
    7    poly3  (x(x(20x - 70) + 84) - 35) x^4 + 1          140 x^3 (x - 1)^3
    8    poly4  (x(x((315 - 70x) x - 540) + 420) - 126) x^5 + 1   -630 x^4 (x - 1)^4

and df/dr = df/dx / (r_c - r_ci). The tanh family is defined in r directly and,
as in n2p2, ignores alpha: with t = tanh(1 - r/r_c),
d tanh^3(1 - r/r_c)/dr = -3 t^2 (1 - t^2) / r_c.

The numeric codes are n2p2's ``cutoff_type`` values, so model files exchange
with n2p2/RuNNer without a table.
"""

import math

from numba import njit

CUTOFF_CODES = {
    "hard": 0, "cos": 1, "tanhu": 2, "tanh": 3, "exp": 4,
    "poly1": 5, "poly2": 6, "poly3": 7, "poly4": 8,
}
CUTOFF_NAMES = {v: k for k, v in CUTOFF_CODES.items()}

_COTH3_1 = (math.cosh(1.0) / math.sinh(1.0)) ** 3


def cutoff_code(name_or_code):
    """Return the n2p2 code for a cutoff name (or validate a code)."""
    if isinstance(name_or_code, str):
        try:
            return CUTOFF_CODES[name_or_code]
        except KeyError:
            raise ValueError(f"unknown cutoff function {name_or_code!r}; "
                             f"choose one of {sorted(CUTOFF_CODES)}") from None
    code = int(name_or_code)
    if code not in CUTOFF_NAMES:
        raise ValueError(f"unknown cutoff type {code}; valid n2p2 codes are 0-8")
    return code


@njit(cache=True, inline="always", error_model="numpy")
def core(kind, x):
    """(f(x), df/dx) of the shapes of the table above for 0 <= x < 1: exp (code 4) and
    poly1-poly4 (5-8). They fall from f(0) = 1 to f(1) = 0 with f'(0) = f'(1) = 0 (the
    polynomials of order n with their first n derivatives zero at both ends); n2p2 calls
    them core functions and builds its cutoffs and its compact polynomial functions
    (:mod:`ase_nnp.descriptors.polynomial_symmetry_functions.compact`) from them."""
    if kind == 4:
        d = 1.0 - x * x
        f = math.exp(1.0 - 1.0 / d)
        return f, -2.0 * x * f / (d * d)
    xm = x - 1.0
    if kind == 5:
        return (2.0 * x - 3.0) * x * x + 1.0, 6.0 * x * xm
    x2 = x * x
    if kind == 6:
        return ((15.0 - 6.0 * x) * x - 10.0) * x2 * x + 1.0, -30.0 * x2 * xm * xm
    if kind == 7:
        return ((x * (x * (20.0 * x - 70.0) + 84.0) - 35.0) * x2 * x2 + 1.0,
                140.0 * x2 * x * xm * xm * xm)
    # kind == 8
    xm2 = xm * xm
    return ((x * (x * ((315.0 - 70.0 * x) * x - 540.0) + 420.0) - 126.0) * x2 * x2 * x + 1.0,
            -630.0 * x2 * x2 * xm2 * xm2)


@njit(cache=True, inline="always", error_model="numpy")
def cutoff(kind, r, rc, alpha):
    """(f_c(r), df_c/dr) for cutoff code ``kind``; see the module docstring."""
    if r >= rc:
        return 0.0, 0.0
    if kind == 2 or kind == 3:
        t = math.tanh(1.0 - r / rc)
        f = t * t * t
        df = -3.0 * t * t * (1.0 - t * t) / rc
        if kind == 3:
            return _COTH3_1 * f, _COTH3_1 * df
        return f, df
    rci = alpha * rc
    if r <= rci or kind == 0:
        return 1.0, 0.0
    inv_w = 1.0 / (rc - rci)
    x = (r - rci) * inv_w
    if kind == 1:
        return 0.5 * (math.cos(math.pi * x) + 1.0), -0.5 * math.pi * math.sin(math.pi * x) * inv_w
    f, df = core(kind, x)
    return f, df * inv_w
