r"""Systematic parameter grids for symmetry functions (Imbalzano et al. 2018, Gastegger et al. 2018).

Radial, after Imbalzano et al. (J. Chem. Phys. 148, 241730 (2018)), with n
intervals and cutoff r_c:

* ``centered``: r_s = 0 and η_m = (n^(m/n) / r_c)² for m = 0..n  (n + 1 functions)
* ``shifted``: the points x_m = r_c n^(-(n-m)/n), m = 0..n, run geometrically
  from r_c/n to r_c; function m = 0..n-1 sits at r_s = x_m with
  η_m = 1 / (x_{m+1} - x_m)²  (n functions; with ``r_low`` > 0 those centred
  below r_low, where data rarely has neighbours, are left out). Gaussians are narrow near the
  central atom and widen outward, as the paper's Fig. 2 shows; the printed
  Eq. 10 pairs the indices the other way round, which would make them narrow
  at r_c, so we follow the figure and the text.

Angular, after Gastegger et al. (J. Chem. Phys. 148, 241709 (2018)), n points
from r_low to r_c - 0.5 Å with Δr = (r_c - 0.5 - r_low) / (n - 1):

* ``centered``: r_s = 0 and η_i = 1 / (2 (r_low + i Δr)²), i = 0..n-1
* ``shifted``: r_s,i = r_low + i Δr and η = 1 / (2 Δr²)
"""

import numpy as np

from ...exceptions import DescriptorSpecError


def radial_grid(n, cutoff, kind="centered", r_low=0.0):
    """List of (eta, rs) for Imbalzano's radial grid (see module docstring); ``r_low``
    leaves out the shifted functions centred below it (the centered grid ignores it)."""
    n = int(n)
    if n < 1:
        raise DescriptorSpecError(f"radial grid needs n >= 1 intervals, got {n}")
    rc = float(cutoff)
    if kind == "centered":
        return [((n ** (m / n) / rc) ** 2, 0.0) for m in range(n + 1)]
    if kind == "shifted":
        if n < 2:
            raise DescriptorSpecError("a shifted radial grid needs n >= 2")
        x = rc * n ** (-(n - np.arange(n + 1)) / n)
        kept = [(1.0 / (x[m + 1] - x[m]) ** 2, float(x[m])) for m in range(n) if x[m] >= r_low]
        if not kept:
            raise DescriptorSpecError(f"r_low = {r_low} leaves none of the {n} shifted radial "
                                      f"functions (the outermost is centred at {x[n - 1]:.3g} "
                                      "Å); lower it")
        return kept
    raise DescriptorSpecError(f"radial grid kind must be 'centered' or 'shifted', got {kind!r}")


def angular_grid(n, r_low, cutoff, kind="centered"):
    """List of (eta, rs) for Gastegger's angular grid (see module docstring)."""
    n = int(n)
    r_high = float(cutoff) - 0.5
    if n < 2:
        raise DescriptorSpecError(f"angular grid needs n >= 2 points, got {n}")
    if not 0 < r_low < r_high:
        raise DescriptorSpecError(
            f"angular grid needs 0 < r_low < cutoff - 0.5 = {r_high}, got r_low={r_low}")
    dr = (r_high - r_low) / (n - 1)
    points = r_low + dr * np.arange(n)
    if kind == "centered":
        return [(1.0 / (2.0 * p * p), 0.0) for p in points]
    if kind == "shifted":
        return [(1.0 / (2.0 * dr * dr), float(p)) for p in points]
    raise DescriptorSpecError(f"angular grid kind must be 'centered' or 'shifted', got {kind!r}")
