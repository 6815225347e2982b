r"""Bispectrum (SNAP) descriptors of Thompson et al., J. Comput. Phys. 285, 316 (2015).

The neighbour density of atom i is mapped onto the 3-sphere: a neighbour at D_ij
(length r < R_ij = rcutfac (R_i + R_j), ``radelem`` R) becomes the rotation by the
angle θ_0 = rfac0 π (r - rmin0) / (R_ij - rmin0) about D_ij, and the density is
expanded in the Wigner matrices U^j of that rotation (Bartók et al., Phys. Rev. Lett.
104, 136403 (2010)):

    u^j_{mm'} = Σ_{neighbours} f_c(r) w_j U^j_{mm'}(θ_0, θ, φ)  (+ δ_{mm'} for the atom itself),
    B_{j1 j2 j} = Σ_{m m'} (u^j_{m m'})* Z^{j1 j2}_{j, m m'},
    Z^{j1 j2}_{j, m m'} = Σ C^{j m}_{j1 m1 j2 m2} C^{j m'}_{j1 m1' j2 m2'} u^{j1}_{m1 m1'} u^{j2}_{m2 m2'}

(labels doubled as in :mod:`ase_nnp.descriptors.wigner`, which gives the index
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

Derivatives
-----------
B is cubic in the densities u. Its change with one neighbour's displacement D_p goes
through u^j alone, ∂u^j/∂D_p = w_p (f_c' U^j D̂_p + f_c ∂U^j/∂D_p), and by the symmetry
of the coupling the three places where u enters collapse onto Z:

    ∂B_{j1 j2 j}/∂D_p = 2 Re[ Σ ∂u^{j}* Z^{j1 j2}_j + (j+1)/(j1+1) Σ ∂u^{j1}* Z^{j j2}_{j1}
                             + (j+1)/(j2+1) Σ ∂u^{j2}* Z^{j j1}_{j2} ]

(the sums over the rows 2 mb <= j, the middle row of an even j counted half; without
the factors with ``bnormflag``). That is the Jacobian and, with δu = Σ_p ∂u/∂D_p · V_p
in place of ∂u, the Jacobian–vector product. The vector–Jacobian product for weights
β_k = ∂E/∂B_k folds the weights into one adjoint density per element first,

    Y^j  +=  β_{j1 j2 j} Z^{j1 j2}_j,  Y^{j1}  +=  β (j+1)/(j1+1) Z^{j j2}_{j1},
    Y^{j2}  +=  β (j+1)/(j2+1) Z^{j j1}_{j2}           (every component, each place),
    g_p = 2 Re Σ ∂u^j* · Y^j,

(per element channel with ``chemflag``: the place of the neighbour's element), so that
its cost per neighbour is one pass over u: linear in the number of neighbours.
"""

from math import pi
from typing import NamedTuple

import numpy as np
from numba import njit

from ..elements import ATOMIC_NUMBERS, normalize_elements
from ..errors import DescriptorSpecError
from ..settings import Setting, number
from .base import (AtomPieces, PairDescriptor, check_shapes, per_element_values,
                   register_atom_pieces, register_family)
from .wigner import Tables, component_labels, n_components, tables

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
                                    bzero, *_products(self.n_linear if f["quadraticflag"] else 0))
        return self._plan_cache



def _products(n):
    """(k, l) of the quadratic product columns in LAMMPS' order: k outer, l = k .. n-1."""
    k, l = np.triu_indices(n)
    return k.astype(np.int64), l.astype(np.int64)


class Params(NamedTuple):
    """LAMMPS' parameters and switches, the number of element channels, of linear
    components and of all columns, the self weight and the isolated atom's B⁰_j."""
    rcutfac: float
    rfac0: float
    rmin0: float
    radelem: np.ndarray
    wj: np.ndarray
    switch: int
    bzero_flag: int
    quadratic: int
    chem: int
    bnorm: int
    wselfall: int
    n_ch: int
    n_lin: int
    n_feat: int
    wself: float
    bzero: np.ndarray
    quad_k: np.ndarray      # the linear columns (k, l) of each product column, k <= l
    quad_l: np.ndarray


#: What the kernels read: the fields of :class:`~ase_nnp.descriptors.wigner.Tables`
#: and of :class:`Params` in one flat NamedTuple (Numba's parallel loops take no nested
#: tuples).
Plan = NamedTuple("Plan", list(Tables.__annotations__.items())
                  + list(Params.__annotations__.items()))


class Scratch(NamedTuple):
    """One worker's arrays for the atom in hand; P = the most pairs of any atom."""
    pair: np.ndarray     # (P,) the pair in each slot (pairs inside their cutoff)
    ch: np.ndarray       # (P,) the neighbour's density channel
    sf: np.ndarray       # (P,) w_j f_c(r)
    dsf: np.ndarray      # (P,) w_j f_c'(r)
    ur: np.ndarray       # (P, u_max) U^j of each neighbour, real part
    ui: np.ndarray       # (P, u_max) imaginary part
    dur: np.ndarray      # (3, u_max) ∂u/∂D of one neighbour (real)
    dui: np.ndarray      # (3, u_max)
    utr: np.ndarray      # (n_ch, u_max) the densities u
    uti: np.ndarray
    zr: np.ndarray       # (n_ch², z_max) Z
    zi: np.ndarray
    yr: np.ndarray       # (n_ch, u_max) the adjoint densities Y (or δu in jvp)
    yi: np.ndarray
    b: np.ndarray        # (n_lin,) the linear components
    beta: np.ndarray     # (n_lin,) ∂E/∂B of the linear components
    db: np.ndarray       # (n_lin, 3) ∂B/∂D of one pair (jvp: column 0)


@njit(cache=True)
def make_scratch(max_pairs, plan, records):
    """One worker's :class:`Scratch` (the same with or without ``records``)."""
    t = plan
    P = max(max_pairs, 1)
    nc = plan.n_ch
    return Scratch(np.empty(P, dtype=np.int64), np.empty(P, dtype=np.int64), np.empty(P),
                   np.empty(P), np.empty((P, t.u_max)), np.empty((P, t.u_max)),
                   np.empty((3, t.u_max)), np.empty((3, t.u_max)),
                   np.empty((nc, t.u_max)), np.empty((nc, t.u_max)),
                   np.empty((nc * nc, t.z_j.shape[0])), np.empty((nc * nc, t.z_j.shape[0])),
                   np.empty((nc, t.u_max)), np.empty((nc, t.u_max)),
                   np.empty(plan.n_lin), np.empty(plan.n_lin), np.empty((plan.n_lin, 3)))


@njit(cache=True)
def _theta_scale(plan, rcut):
    return plan.rfac0 * pi / (rcut - plan.rmin0)


@njit(cache=True)
def _u_of_pair(x, y, z, r, rscale, plan, ur, ui):
    """U^j of one neighbour at (x, y, z), |.| = r, into the rows ur, ui (recursion of
    the module docstring)."""
    t = plan
    z0 = r / np.tan((r - plan.rmin0) * rscale)
    r0inv = 1.0 / np.sqrt(r * r + z0 * z0)
    ar = r0inv * z0
    ai = -r0inv * z
    br = r0inv * y
    bi = -r0inv * x
    root = t.root
    ur[0] = 1.0
    ui[0] = 0.0
    for j in range(1, t.twojmax + 1):
        jju = t.u_block[j]
        jjup = t.u_block[j - 1]
        for mb in range(j // 2 + 1):
            ur[jju] = 0.0
            ui[jju] = 0.0
            for ma in range(j):
                c = root[j - ma, j - mb]
                pr = ur[jjup]
                pim = ui[jjup]
                ur[jju] += c * (ar * pr + ai * pim)
                ui[jju] += c * (ar * pim - ai * pr)
                c = root[ma + 1, j - mb]
                ur[jju + 1] = -c * (br * pr + bi * pim)
                ui[jju + 1] = -c * (br * pim - bi * pr)
                jju += 1
                jjup += 1
            jju += 1
        _mirror(ur, ui, t.u_block[j], j)


@njit(cache=True)
def _mirror(ur, ui, base, j):
    """Rows mb > j/2 of block j from U_{j-ma, j-mb} = (-1)^{ma-mb} U*_{ma mb}."""
    jju = base
    jjup = base + (j + 1) * (j + 1) - 1
    for mb in range(j // 2 + 1):
        sign = 1.0 if mb % 2 == 0 else -1.0
        for ma in range(j + 1):
            ur[jjup] = sign * ur[jju]
            ui[jjup] = -sign * ui[jju]
            sign = -sign
            jju += 1
            jjup -= 1


@njit(cache=True)
def _du_of_pair(x, y, z, r, rscale, sf, dsf, ur, ui, plan, dur, dui):
    """∂u/∂D of one neighbour, w f_c' U D̂ + w f_c ∂U/∂D (U in ur, ui), into dur, dui."""
    t = plan
    root = t.root
    rinv = 1.0 / r
    ux = x * rinv
    uy = y * rinv
    uz = z * rinv
    th = (r - plan.rmin0) * rscale
    cs = np.cos(th)
    sn = np.sin(th)
    z0 = r * cs / sn
    dz0dr = z0 / r - (r * rscale) * (r * r + z0 * z0) / (r * r)
    r0inv = 1.0 / np.sqrt(r * r + z0 * z0)
    ar = z0 * r0inv
    ai = -z * r0inv
    br = y * r0inv
    bi = -x * r0inv
    dr0 = -r0inv * r0inv * r0inv * (r + z0 * dz0dr)
    u = (ux, uy, uz)
    # ∂a/∂D and ∂b/∂D, real and imaginary parts, for D = (x, y, z)
    g = dz0dr * r0inv + z0 * dr0
    dar = (g * ux, g * uy, g * uz)
    dai = (-z * dr0 * ux, -z * dr0 * uy, -z * dr0 * uz - r0inv)
    dbr = (y * dr0 * ux, y * dr0 * uy + r0inv, y * dr0 * uz)
    dbi = (-x * dr0 * ux - r0inv, -x * dr0 * uy, -x * dr0 * uz)
    for k in range(3):
        dur[k, 0] = 0.0
        dui[k, 0] = 0.0
    for j in range(1, t.twojmax + 1):
        jju = t.u_block[j]
        jjup = t.u_block[j - 1]
        for mb in range(j // 2 + 1):
            for k in range(3):
                dur[k, jju] = 0.0
                dui[k, jju] = 0.0
            for ma in range(j):
                pr = ur[jjup]
                pim = ui[jjup]
                c = root[j - ma, j - mb]
                c2 = root[ma + 1, j - mb]
                for k in range(3):
                    qr = dur[k, jjup]
                    qi = dui[k, jjup]
                    dur[k, jju] += c * (dar[k] * pr + dai[k] * pim + ar * qr + ai * qi)
                    dui[k, jju] += c * (dar[k] * pim - dai[k] * pr + ar * qi - ai * qr)
                    dur[k, jju + 1] = -c2 * (dbr[k] * pr + dbi[k] * pim + br * qr + bi * qi)
                    dui[k, jju + 1] = -c2 * (dbr[k] * pim - dbi[k] * pr + br * qi - bi * qr)
                jju += 1
                jjup += 1
            jju += 1
        for k in range(3):
            _mirror(dur[k], dui[k], t.u_block[j], j)
    for jju in range(t.u_max):
        a = dsf * ur[jju]
        b = dsf * ui[jju]
        for k in range(3):
            dur[k, jju] = a * u[k] + sf * dur[k, jju]
            dui[k, jju] = b * u[k] + sf * dui[k, jju]


@njit(cache=True)
def _switch(plan, r, rcut):
    """(f_c, f_c') of the cosine switch, or (1, 0) without it."""
    if plan.switch == 0 or r <= plan.rmin0:
        return 1.0, 0.0
    k = pi / (rcut - plan.rmin0)
    return 0.5 * (np.cos((r - plan.rmin0) * k) + 1.0), -0.5 * np.sin((r - plan.rmin0) * k) * k


@njit(cache=True)
def atom_densities(i, first, jn, D, r, species, plan, scr):
    """The neighbours of atom i inside their cutoffs (slots), their U^j, the densities u
    and Z. Returns the number of slots."""
    t = plan
    ti = species[i]
    n = 0
    for p in range(first[i], first[i + 1]):
        tj = species[jn[p]]
        rc = plan.rcutfac * (plan.radelem[ti] + plan.radelem[tj])
        rr = r[p]
        if rr >= rc or rr * rr <= 1e-20:
            continue
        scr.pair[n] = p
        scr.ch[n] = tj if plan.chem else 0
        fc, dfc = _switch(plan, rr, rc)
        w = plan.wj[tj]
        scr.sf[n] = w * fc
        scr.dsf[n] = w * dfc
        _u_of_pair(D[p, 0], D[p, 1], D[p, 2], rr, _theta_scale(plan, rc), plan, scr.ur[n],
                   scr.ui[n])
        n += 1
    utr, uti = scr.utr, scr.uti
    utr[:] = 0.0
    uti[:] = 0.0
    self_ch = ti if plan.chem else 0
    for e in range(plan.n_ch):
        if e == self_ch or plan.wselfall:
            for j in range(t.twojmax + 1):
                for ma in range(j + 1):
                    utr[e, t.u_block[j] + (j + 1) * ma + ma] = plan.wself
    for s in range(n):
        e = scr.ch[s]
        f = scr.sf[s]
        for jju in range(t.u_max):
            utr[e, jju] += f * scr.ur[s, jju]
            uti[e, jju] += f * scr.ui[s, jju]
    _zlist(plan, utr, uti, scr.zr, scr.zi)
    return n


@njit(cache=True)
def _zlist(plan, utr, uti, zr, zi):
    """Z^{(e1 e2) j1 j2}_{j, ma mb} for the rows 2 mb <= j (module docstring)."""
    nc = plan.n_ch
    for e1 in range(nc):
        for e2 in range(nc):
            d = e1 * nc + e2
            _zlist_pair(plan, utr[e1], uti[e1], utr[e2], uti[e2], zr[d], zi[d])


@njit(cache=True)
def _zlist_pair(t, u1r, u1i, u2r, u2i, zr, zi):
    """Z of one pair of densities. Every index is unsigned (Numba then drops the
    negative-index wraparound of each load) and the rows are 1-D: this loop is most of
    the bispectrum's cost (41,889 Clebsch–Gordan products per atom at 2J_max = 8)."""
    cg = t.cg
    one = np.uint64(1)
    for jjz in range(t.z_j.shape[0]):
        j1 = np.uint64(t.z_j1[jjz])
        j2 = np.uint64(t.z_j2[jjz])
        j = t.z_j[jjz]
        na = np.uint64(t.z_na[jjz])
        ma1min = np.uint64(t.z_ma1min[jjz])
        ma2max = np.uint64(t.z_ma2max[jjz])
        cgb = np.uint64(t.cg_block[j1, j2, j])
        mb1min = np.uint64(t.z_mb1min[jjz])
        mb2max = np.uint64(t.z_mb2max[jjz])
        jju1 = np.uint64(t.u_block[j1]) + (j1 + one) * mb1min + ma1min
        jju2 = np.uint64(t.u_block[j2]) + (j2 + one) * mb2max + ma2max
        icgb = cgb + mb1min * (j2 + one) + mb2max
        icga0 = cgb + ma1min * (j2 + one) + ma2max
        sr = 0.0
        si = 0.0
        for ib in range(np.uint64(t.z_nb[jjz])):
            ar = 0.0
            ai = 0.0
            for ia in range(na):
                c = cg[icga0 + ia * j2]
                x1r = u1r[jju1 + ia]
                x1i = u1i[jju1 + ia]
                x2r = u2r[jju2 - ia]
                x2i = u2i[jju2 - ia]
                ar += c * (x1r * x2r - x1i * x2i)
                ai += c * (x1r * x2i + x1i * x2r)
            c = cg[icgb]
            sr += c * ar
            si += c * ai
            jju1 += j1 + one
            jju2 -= j2 + one
            icgb += j2
        if t.bnorm:
            sr /= j + 1
            si /= j + 1
        zr[jjz] = sr
        zi[jjz] = si


@njit(cache=True)
def _half_dot(ar, ai, ra, a0, br, bi, rb, b0, j):
    """Σ Re(a* b) over the rows 2 mb <= j of block j (a = row ra of (ar, ai) from flat
    a0, b = row rb of (br, bi) from b0), the middle element of an even j counted half:
    a full block's sum is twice this. Rows and offsets, not views: a view made in an
    inner loop costs a reference count each."""
    n = ((j + 1) // 2) * (j + 1)
    if j % 2 == 0:
        n += j // 2
    s = 0.0
    for k in range(n):
        s += ar[ra, a0 + k] * br[rb, b0 + k] + ai[ra, a0 + k] * bi[rb, b0 + k]
    if j % 2 == 0:
        s += 0.5 * (ar[ra, a0 + n] * br[rb, b0 + n] + ai[ra, a0 + n] * bi[rb, b0 + n])
    return s


@njit(cache=True)
def _blist(i, species, plan, scr):
    """The linear components B (with the bzero shift) into scr.b."""
    t = plan
    nc = plan.n_ch
    bm = t.b_j.shape[0]
    for e1 in range(nc):
        for e2 in range(nc):
            d = e1 * nc + e2
            for e3 in range(nc):
                tri = d * nc + e3
                for jjb in range(bm):
                    j = t.b_j[jjb]
                    jjz = t.z_block[t.b_j1[jjb], t.b_j2[jjb], j]
                    s = _half_dot(scr.utr, scr.uti, e3, t.u_block[j], scr.zr, scr.zi, d, jjz, j)
                    scr.b[tri * bm + jjb] = 2.0 * s
    if plan.bzero_flag:
        own = species[i] if plan.chem else 0
        for e1 in range(nc):
            for e2 in range(nc):
                for e3 in range(nc):
                    tri = (e1 * nc + e2) * nc + e3
                    if plan.wselfall or (e1 == own and e2 == own and e3 == own):
                        for jjb in range(bm):
                            scr.b[tri * bm + jjb] -= plan.bzero[t.b_j[jjb]]


@njit(cache=True)
def _features(plan, b, out):
    """out = B, then the quadratic products ½ B_k² (k = l) and B_k B_l (k < l)."""
    n = plan.n_lin
    for k in range(n):
        out[k] = b[k]
    for q in range(plan.quad_k.shape[0]):
        k = plan.quad_k[q]
        l = plan.quad_l[q]
        out[n + q] = (0.5 if k == l else 1.0) * b[k] * b[l]


@njit(cache=True)
def _linear_weights(plan, b, W, beta):
    """β_k = ∂(Σ_f W_f G_f)/∂B_k: W of the linear columns plus the chain rule through
    the products (∂(½ B_k²) = B_k ∂B_k, ∂(B_k B_l) = B_l ∂B_k + B_k ∂B_l)."""
    n = plan.n_lin
    for k in range(n):
        beta[k] = W[k]
    for q in range(plan.quad_k.shape[0]):
        k = plan.quad_k[q]
        l = plan.quad_l[q]
        w = W[n + q]
        if k == l:
            beta[k] += w * b[k]
        else:
            beta[k] += w * b[l]
            beta[l] += w * b[k]


@njit(cache=True)
def _place(plan, jjb, e1, e2, e3, q):
    """Where the density u^{(e3)} enters component jjb of the element triple with
    neighbour channel e3 at place q (module docstring): (first U index of its block, the
    Z row (channel pair) and first Z index it pairs with, that block's j, the column of
    the triple, the factor). q = 0: u^j with Z^{j1 j2}_j, column (e1 e2 e3); q = 1: u^{j1}
    with Z^{j j2}_{j1}, column (e3 e2 e1); q = 2: u^{j2} with Z^{j j1}_{j2} of the
    channels (e2, e1), column (e1 e3 e2); the factors (j+1)/(j1+1), (j+1)/(j2+1) (1 with
    bnormflag)."""
    t = plan
    nc = plan.n_ch
    bm = t.b_j.shape[0]
    j1 = t.b_j1[jjb]
    j2 = t.b_j2[jjb]
    j = t.b_j[jjb]
    if q == 0:
        return (t.u_block[j], e1 * nc + e2, t.z_block[j1, j2, j], j,
                ((e1 * nc + e2) * nc + e3) * bm + jjb, 1.0)
    if q == 1:
        return (t.u_block[j1], e1 * nc + e2, t.z_block[j, j2, j1], j1,
                ((e3 * nc + e2) * nc + e1) * bm + jjb,
                1.0 if plan.bnorm else (j + 1) / (j1 + 1.0))
    return (t.u_block[j2], e2 * nc + e1, t.z_block[j, j1, j2], j2,
            ((e1 * nc + e3) * nc + e2) * bm + jjb, 1.0 if plan.bnorm else (j + 1) / (j2 + 1.0))


@njit(cache=True)
def _ylist(plan, beta, scr):
    """The adjoint densities Y (module docstring): each component's weight times the Z
    of each of its three places (:func:`_place`), the terms of :func:`_dbdr` summed over
    components before the pairs (so the pairs need one pass over u each)."""
    t = plan
    nc = plan.n_ch
    yr, yi = scr.yr, scr.yi
    yr[:] = 0.0
    yi[:] = 0.0
    for jjb in range(t.b_j.shape[0]):
        for e1 in range(nc):
            for e2 in range(nc):
                for e3 in range(nc):
                    for q in range(3):
                        u0, d, z0, jq, k, f = _place(plan, jjb, e1, e2, e3, q)
                        _add_half(yr, yi, e3, u0, scr.zr, scr.zi, d, z0, jq, f * beta[k])
    for e in range(nc):                      # the half-sum weights folded in once
        for k in range(t.u_max):
            yr[e, k] *= t.half_w[k]
            yi[e, k] *= t.half_w[k]


@njit(cache=True)
def _add_half(yr, yi, ry, y0, zr, zi, rz, z0, j, w):
    """Row ry of y += w · row rz of z over the rows 2 mb <= j of block j (y from flat
    y0, z from z0)."""
    if w == 0.0:
        return
    for k in range((j // 2 + 1) * (j + 1)):
        yr[ry, y0 + k] += w * zr[rz, z0 + k]
        yi[ry, y0 + k] += w * zi[rz, z0 + k]


@njit(cache=True)
def _dbdr(plan, e3, dur, dui, scr, out):
    """out[k, c] += ∂B_k along the density change (dur, dui)[c] of channel e3 (module
    docstring; the places of :func:`_place`): the Jacobian of one pair (3 columns) or
    the jvp (1 column)."""
    nc = plan.n_ch
    for jjb in range(plan.b_j.shape[0]):
        for e1 in range(nc):
            for e2 in range(nc):
                for q in range(3):
                    u0, d, z0, jq, k, f = _place(plan, jjb, e1, e2, e3, q)
                    for c in range(dur.shape[0]):
                        out[k, c] += 2.0 * f * _half_dot(dur, dui, c, u0, scr.zr, scr.zi, d,
                                                         z0, jq)


@njit(cache=True)
def _pair_du(s, i, species, jn, D, r, plan, scr):
    """∂u/∂D of the neighbour in slot s into scr.dur, scr.dui."""
    p = scr.pair[s]
    rc = plan.rcutfac * (plan.radelem[species[i]] + plan.radelem[species[jn[p]]])
    _du_of_pair(D[p, 0], D[p, 1], D[p, 2], r[p], _theta_scale(plan, rc), scr.sf[s], scr.dsf[s],
                scr.ur[s], scr.ui[s], plan, scr.dur, scr.dui)
    return p


@njit(cache=True)
def atom_values(i, first, jn, D, r, species, plan, scr, Gi, records):
    """The densities and Z of atom i (:func:`atom_densities`), then its columns (B, then
    the products) into Gi, B kept in scr.b; returns the number of neighbours in slots."""
    n = atom_densities(i, first, jn, D, r, species, plan, scr)
    _blist(i, species, plan, scr)
    _features(plan, scr.b, Gi)
    return n


@njit(cache=True)
def atom_vjp(i, first, jn, D, r, species, plan, scr, state, w, g):
    """g_p += Σ_f w_f ∂G_f/∂D_p for the neighbours of atom i (``state`` slots; module
    docstring), after :func:`atom_values` (Z and B in scr)."""
    t = plan
    _linear_weights(plan, scr.b, w, scr.beta)
    _ylist(plan, scr.beta, scr)
    dur, dui, yr, yi = scr.dur, scr.dui, scr.yr, scr.yi
    for s in range(state):
        p = _pair_du(s, i, species, jn, D, r, plan, scr)
        e = scr.ch[s]
        for c in range(3):               # Y carries the half-sum weights (_ylist)
            acc = 0.0
            for k in range(t.u_max):
                acc += dur[c, k] * yr[e, k] + dui[c, k] * yi[e, k]
            g[p, c] += 2.0 * acc


@njit(cache=True)
def _quadratic_rows(plan, b, db, ncol, out):
    """out[f, c] += ∂G_f for every column f from the linear rows db[k, c] (the chain
    rule of :func:`_linear_weights`, forward)."""
    n = plan.n_lin
    for k in range(n):
        for c in range(ncol):
            out[k, c] += db[k, c]
    for q in range(plan.quad_k.shape[0]):
        k = plan.quad_k[q]
        l = plan.quad_l[q]
        for c in range(ncol):
            if k == l:
                out[n + q, c] += b[k] * db[k, c]
            else:
                out[n + q, c] += b[l] * db[k, c] + b[k] * db[l, c]


@njit(cache=True)
def atom_jacobian(i, first, jn, D, r, species, plan, scr, state, J, j0):
    """J[p - j0, f] += ∂G_f/∂D_p for the neighbours of atom i (``state`` slots), after
    :func:`atom_values`: ∂B/∂D per neighbour (:func:`_dbdr`), then the products' chain
    rule."""
    for s in range(state):
        p = _pair_du(s, i, species, jn, D, r, plan, scr)
        scr.db[:] = 0.0
        _dbdr(plan, scr.ch[s], scr.dur, scr.dui, scr, scr.db)
        _quadratic_rows(plan, scr.b, scr.db, 3, J[p - j0])


@njit(cache=True)
def atom_jvp(i, first, jn, D, r, species, plan, scr, state, V, dGi):
    """dGi_f += Σ_p ∂G_f/∂D_p · V_p for atom i, after :func:`atom_values`: δu per
    channel, then δB (:func:`_dbdr`) and the products' chain rule."""
    t = plan
    dr, di = scr.yr, scr.yi          # δu per channel
    dr[:] = 0.0
    di[:] = 0.0
    for s in range(state):
        p = _pair_du(s, i, species, jn, D, r, plan, scr)
        e = scr.ch[s]
        for jju in range(t.u_max):
            dr[e, jju] += (scr.dur[0, jju] * V[p, 0] + scr.dur[1, jju] * V[p, 1]
                           + scr.dur[2, jju] * V[p, 2])
            di[e, jju] += (scr.dui[0, jju] * V[p, 0] + scr.dui[1, jju] * V[p, 1]
                           + scr.dui[2, jju] * V[p, 2])
    db = scr.db
    db[:] = 0.0
    for e in range(plan.n_ch):
        _dbdr(plan, e, dr[e:e + 1], di[e:e + 1], scr, db)
    _quadratic_rows(plan, scr.b, db, 1, dGi.reshape((dGi.shape[0], 1)))


register_atom_pieces(Bispectrum.kind, AtomPieces(
    Plan, make_scratch, atom_values, atom_vjp, atom_jvp, atom_jacobian, cache=True))
