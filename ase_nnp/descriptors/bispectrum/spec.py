r"""Bispectrum (SNAP) descriptors of Thompson et al., J. Comput. Phys. 285, 316 (2015).

The neighbour density of atom i is mapped onto the 3-sphere: a neighbour at D_ij
(length r < R_ij = rcutfac (R_i + R_j), ``radelem`` R) becomes the rotation by the
angle θ_0 = rfac0 π (r - rmin0) / (R_ij - rmin0) about D_ij, and the density is
expanded in the Wigner matrices U^j of that rotation (Bartók et al., Phys. Rev. Lett.
104, 136403 (2010)):

    u^j_{mm'} = Σ_{neighbours} f_c(r) w_j U^j_{mm'}(θ_0, θ, φ)  (+ δ_{mm'} for the atom itself),
    B_{j1 j2 j} = Σ_{m m'} (u^j_{m m'})* Z^{j1 j2}_{j, m m'},
    Z^{j1 j2}_{j, m m'} = Σ C^{j m}_{j1 m1 j2 m2} C^{j m'}_{j1 m1' j2 m2'} u^{j1}_{m1 m1'} u^{j2}_{m2 m2'}

(labels doubled as in :mod:`.wigner`, which gives the index
ranges, the components' order and the Clebsch–Gordan coefficients C). U^j is built from
the Cayley–Klein parameters of the rotation, a = (z_0 - i z)/r_0, b = (y - i x)/r_0 with
z_0 = r cot θ_0, r_0² = r² + z_0², by the recursion of VMK §4.8.2,

    U^j_{ma mb} = sqrt((j-ma)/(j-mb)) a* U^{j-1}_{ma mb} - sqrt(ma/(j-mb)) b* U^{j-1}_{ma-1, mb}

for the rows 2 mb <= j, and the others by the symmetry U^j_{j-ma, j-mb} = (-1)^{ma-mb}
(U^j_{ma mb})*. f_c(r) = ½ (cos(π (r - rmin0)/(R_ij - rmin0)) + 1) (``switchflag=1``,
else 1) and w_j is the neighbour's element weight (``wj``). With ``bzeroflag`` the value
of an isolated atom, B⁰_j = (j + 1) (1 with ``bnormflag``), is subtracted, so that an
atom without neighbours has B = 0.

These are LAMMPS' definitions and parameter names (``compute sna/atom``); the same
numbers in the same column order, checked against LAMMPS itself in the tests.

Elements
--------
Without ``chemflag`` one density holds every neighbour (element j weighted by w_j):
the components above, one row per atom for every central element (which enters only
through R_i). With ``chemflag=1`` (Cusentino et al., J. Phys. Chem. A 124, 5456
(2020)) every neighbour element e has its own density u^{(e)} and the components are
B^{(e1 e2 e3)} = Σ (u^{j,(e3)})* Z^{(e1 e2)}, n_el³ times as many, ordered by the
triple (e1 outer, e3 inner) and then by component; ``bnormflag`` divides Z by j + 1, and
``wselfallflag`` adds the self term to every element's density instead of only to the
central atom's own. ``quadraticflag`` appends the products ½ B_k² and B_k B_l (l > k),
in LAMMPS' order (k outer): a linear model on them is quadratic SNAP.

The kernels and the derivatives: :mod:`.kernels`.
"""

import numpy as np

from ...elements import ATOMIC_NUMBERS, normalize_elements
from ...exceptions import DescriptorSpecError
from ...settings import Setting, number
from ..base import (PairDescriptor, check_shapes, per_element_values, register_atom_pieces,
                    register_family)
from .kernels import PIECES, Plan, quadratic_products
from .wigner import component_labels, n_components, tables

#: the 0/1 switches, LAMMPS' names, in their stored order
FLAGS = ("switchflag", "bzeroflag", "quadraticflag", "chemflag", "bnormflag", "wselfallflag")
def _finite(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def _positive(v):
    return _finite(v) and v > 0


def _per_element(name, value, elements, default):
    """A per-element number (dict, sequence, or None: ``default`` for every element)."""
    if value is None:
        return np.full(len(elements), float(default))
    return per_element_values(name, value, elements)


@register_family
class Bispectrum(PairDescriptor):
    """Bispectrum components of SNAP (module docstring), LAMMPS' ``compute sna/atom``.

    Parameters
    ----------
    elements : list of str
        Chemical symbols; their order is LAMMPS' type order.
    twojmax : int
        2 J_max (0 .. 20): the angular resolution.
    rcutfac : float
        Scale of the pair cutoffs R_ij = rcutfac (R_i + R_j) in Å.
    rfac0, rmin0 : float
        θ_0 = rfac0 π (r - rmin0)/(R_ij - rmin0); 0 < rfac0 <= 1, 0 <= rmin0 < R_ij.
    radelem, wj : dict or sequence, optional
        Per-element radius R and neighbour weight w (default 0.5 and 1).
    switchflag, bzeroflag, quadraticflag, chemflag, bnormflag, wselfallflag : int
        LAMMPS' switches (defaults 1, 1, 0, 0, = chemflag, 0).

    Columns: ``component_labels(twojmax)`` order, for each element triple with
    ``chemflag`` (e1 outer), then the quadratic products. Every central element has the
    same columns.
    """

    kind = "bispectrum"
    ARRAY_TYPES = {"twojmax": np.int64, "rcutfac": np.float64, "rfac0": np.float64,
                   "rmin0": np.float64, "radelem": np.float64, "wj": np.float64,
                   "flags": np.int64}
    CONFIG_KEYS = {
        "twojmax": Setting(6, int, "bispectrum: 2 J_max, the angular resolution "
                           "(6: 30 components, 8: 55)", number(0, 20)),
        "rfac0": Setting(0.99363, float, "bispectrum: θ_0 = rfac0 π (r - rmin0)/(R - rmin0)",
                         number(0.0, 1.0, lo_open=True)),
        "rmin0": Setting(0.0, float, "bispectrum: inner distance of θ_0 and the switch (Å)",
                         number(0.0)),
        "radelem": Setting([], list, "bispectrum: per-element radii R (pair cutoff "
                           "rcutfac (R_i + R_j), rcutfac chosen so the largest is `cutoff`); "
                           "[] = 0.5 for every element", items=(_positive, "numbers > 0")),
        "wj": Setting([], list, "bispectrum: per-element neighbour weights; [] = 1 each",
                      items=(_finite, "finite numbers")),
        "switchflag": Setting(1, int, "bispectrum: 1 = cosine switch to 0 at the cutoff",
                              number(0, 1)),
        "bzeroflag": Setting(1, int, "bispectrum: 1 = subtract the isolated atom's value",
                             number(0, 1)),
        "quadraticflag": Setting(0, int, "bispectrum: 1 = append the products B_k B_l "
                                 "(quadratic SNAP)", number(0, 1)),
        "chemflag": Setting(0, int, "bispectrum: 1 = one density per element "
                            "(explicit multi-element SNAP, n_el³ blocks)", number(0, 1)),
    }

    @classmethod
    def from_config(cls, elements, settings):
        """From the configuration keys: rcutfac = cutoff / (2 max R), so that the
        longest pair cutoff is the shared ``cutoff``."""
        elements = normalize_elements(elements)
        radelem = _per_element("radelem", settings["radelem"] or None, elements, 0.5)
        wj = _per_element("wj", settings["wj"] or None, elements, 1.0)
        if np.any(radelem <= 0):
            raise DescriptorSpecError(f"radelem must be positive, got {list(radelem)}")
        rcutfac = float(settings["cutoff"]) / (2.0 * radelem.max())
        return cls(elements, settings["twojmax"], rcutfac, rfac0=settings["rfac0"],
                   rmin0=settings["rmin0"], radelem=radelem, wj=wj,
                   switchflag=settings["switchflag"], bzeroflag=settings["bzeroflag"],
                   quadraticflag=settings["quadraticflag"], chemflag=settings["chemflag"])

    def __init__(self, elements, twojmax=6, rcutfac=4.67637, rfac0=0.99363, rmin0=0.0,
                 radelem=None, wj=None, switchflag=1, bzeroflag=1, quadraticflag=0,
                 chemflag=0, bnormflag=None, wselfallflag=0):
        self.elements = normalize_elements(elements)
        if int(twojmax) != twojmax or not 0 <= twojmax <= 20:
            raise DescriptorSpecError(f"twojmax must be an integer from 0 to 20, got {twojmax}")
        self.twojmax = int(twojmax)
        self.rcutfac = float(rcutfac)
        self.rfac0 = float(rfac0)
        self.rmin0 = float(rmin0)
        if not (np.isfinite(self.rcutfac) and self.rcutfac > 0):
            raise DescriptorSpecError(f"rcutfac must be positive, got {rcutfac}")
        if not 0.0 < self.rfac0 <= 1.0:
            raise DescriptorSpecError(f"rfac0 must lie in (0, 1], got {rfac0}")
        self.radelem = _per_element("radelem", radelem, self.elements, 0.5)
        self.wj = _per_element("wj", wj, self.elements, 1.0)
        if np.any(self.radelem <= 0):
            raise DescriptorSpecError(f"radelem must be positive, got {list(self.radelem)}")
        shortest = 2.0 * self.rcutfac * self.radelem.min()
        if not 0.0 <= self.rmin0 < shortest:
            raise DescriptorSpecError(f"rmin0 must lie in [0, {shortest:g}) (the shortest pair "
                                      f"cutoff rcutfac (R_i + R_j)), got {rmin0}")
        if bnormflag is None:
            bnormflag = chemflag
        values = dict(switchflag=switchflag, bzeroflag=bzeroflag, quadraticflag=quadraticflag,
                      chemflag=chemflag, bnormflag=bnormflag, wselfallflag=wselfallflag)
        for name, v in values.items():
            if v not in (0, 1, True, False):
                raise DescriptorSpecError(f"{name} must be 0 or 1, got {v!r}")
        self.flags = {name: int(values[name]) for name in FLAGS}
        self._plan_cache = None

    # -------------------------------------------------------------- queries
    @property
    def cutoff(self):
        """The longest pair cutoff, 2 rcutfac max R (what the neighbour list needs)."""
        return 2.0 * self.rcutfac * float(self.radelem.max())

    def pair_cutoff(self, a, b):
        """R_ab = rcutfac (R_a + R_b) for element indices (or symbols) a and b."""
        a, b = (self.elements.index(x) if isinstance(x, str) else x for x in (a, b))
        return self.rcutfac * (self.radelem[a] + self.radelem[b])

    @property
    def n_channels(self):
        return len(self.elements) if self.flags["chemflag"] else 1

    @property
    def n_linear(self):
        """Number of bispectrum components (before the quadratic products)."""
        return n_components(self.twojmax) * self.n_channels ** 3

    def n_features(self, element=None):
        if element is not None and normalize_elements([element])[0] not in self.elements:
            raise DescriptorSpecError(f"{element!r} is not among this descriptor's elements "
                                      f"{self.elements}")
        n = self.n_linear
        return n + n * (n + 1) // 2 if self.flags["quadraticflag"] else n

    def feature_labels(self, element=None):
        """One label per column, e.g. ``B[4,2,4]`` or ``B[Si,Si,O][4,2,4]``, and
        ``B0*B3`` (or ``B3^2/2``) for the quadratic products."""
        comps = [f"[{j1},{j2},{j}]" for j1, j2, j in component_labels(self.twojmax)]
        if self.flags["chemflag"]:
            el = self.elements
            lin = [f"B[{a},{b},{c}]{x}" for a in el for b in el for c in el for x in comps]
        else:
            lin = ["B" + x for x in comps]
        n = len(lin)
        quad = []
        if self.flags["quadraticflag"]:
            for k in range(n):
                quad.append(f"B{k}^2/2")
                quad.extend(f"B{k}*B{l}" for l in range(k + 1, n))
        return lin + quad

    def __repr__(self):
        on = [k for k, v in self.flags.items() if v]
        return (f"Bispectrum(elements={self.elements}, twojmax={self.twojmax}, "
                f"rcutfac={self.rcutfac:g}, cutoff={self.cutoff:g}, flags={on}, "
                f"n_features={self.n_features()})")

    # ------------------------------------------------------- serialisation
    def to_arrays(self):
        return {"elements": np.array([ATOMIC_NUMBERS[e] for e in self.elements]),
                "twojmax": np.array([self.twojmax]), "rcutfac": np.array([self.rcutfac]),
                "rfac0": np.array([self.rfac0]), "rmin0": np.array([self.rmin0]),
                "radelem": self.radelem.copy(), "wj": self.wj.copy(),
                "flags": np.array([self.flags[k] for k in FLAGS])}

    @classmethod
    def from_arrays(cls, a):
        elements = normalize_elements([int(z) for z in a["elements"]])
        check_shapes(a, {"twojmax": (1,), "rcutfac": (1,), "rfac0": (1,), "rmin0": (1,),
                         "radelem": (len(elements),), "wj": (len(elements),),
                         "flags": (len(FLAGS),)})
        return cls(elements, int(a["twojmax"][0]), float(a["rcutfac"][0]),
                   rfac0=float(a["rfac0"][0]), rmin0=float(a["rmin0"][0]),
                   radelem=list(a["radelem"]), wj=list(a["wj"]),
                   **{k: int(v) for k, v in zip(FLAGS, a["flags"])})

    # ------------------------------------------------------------- kernels
    def plan(self):
        """The compiled kernels' inputs (:class:`Plan`), built once."""
        if self._plan_cache is None:
            f = self.flags
            t = tables(self.twojmax)
            wself = 1.0
            bzero = np.array([wself ** 3 * (1.0 if f["bnormflag"] else j + 1.0)
                              for j in range(self.twojmax + 1)])
            self._plan_cache = Plan(*t, self.rcutfac, self.rfac0, self.rmin0,
                                    self.radelem.astype(np.float64), self.wj.astype(np.float64),
                                    f["switchflag"], f["bzeroflag"], f["quadraticflag"],
                                    f["chemflag"], f["bnormflag"], f["wselfallflag"],
                                    self.n_channels, self.n_linear, self.n_features(), wself,
                                    bzero, *quadratic_products(self.n_linear if f["quadraticflag"] else 0))
        return self._plan_cache


register_atom_pieces(Bispectrum.kind, PIECES)
