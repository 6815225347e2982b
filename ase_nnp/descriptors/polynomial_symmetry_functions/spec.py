r"""Polynomial symmetry functions with compact support (n2p2 types 20-25).

Bircher, Singraber and Dellago, "Improved description of atomic environments using
low-cost polynomial functions with compact support", Mach. Learn.: Sci. Technol. 2,
035026 (2021), as n2p2 v2.3.0 defines them. With the compact window
C(x; x_l, x_r) of :mod:`.compact` (core function by the n2p2 *subtype* ``p1``-``p4``,
``p1a``-``p4a`` or ``e``), for a central atom i of element c::

    type 20  radial               Σ_{j, e_j = e1}  C(r_ij; r_l, r_c)
    type 21  narrow angular       Σ_{j<k, {e_j, e_k} = {e1, e2}}
                                      C(r_ij) C(r_ik) C(r_jk) C(θ_ijk; θ_l, θ_r)
    type 22  wide angular         as 21 without C(r_jk)
    type 23  weighted radial      Σ_j Z_j C(r_ij; r_l, r_c)
    type 24  weighted narrow      Σ_{j<k} Z_j Z_k C(r_ij) C(r_ik) C(r_jk) C(θ_ijk)
    type 25  weighted wide        as 24 without C(r_jk)

with the radial windows on (r_l, r_c) (r_l may be negative: r_l = -r_c centres the window
on the atom, a cutoff function of radius r_c), θ_ijk in [0°, 180°] and the angle window
on (θ_l, θ_r) in degrees, Z the atomic number. The radial windows of the angular types use
the subtype's asymmetric variant if it has one; the angle window always the symmetric core
of the same order (as n2p2). Collinear triplets (θ_ijk = 0° or 180°, to rounding:
:data:`.kernels.COLLINEAR`) contribute nothing, as in n2p2.
Angle windows must lie in [0°, 180°] unless centred on 0° or 180° (e.g. -90..90 or
90..270), which also keeps them within 360°.

Column order, as for :class:`~ase_nnp.descriptors.SymmetryFunctions`: per central element,
the functions in the order they were added; an expanding ``add_*`` call adds one function
per neighbour element (radial) or unordered pair e1 <= e2 (angular) in element order.

The kernels and the derivatives: :mod:`.kernels`.
"""

import math
from typing import NamedTuple

import numpy as np

from ...elements import ATOMIC_NUMBERS, normalize_elements
from ...exceptions import DescriptorSpecError
from ...settings import Setting, choices, number
from ..base import PairDescriptor, check_shapes, register_atom_pieces, register_family
from ..symmetry_functions import SymmetryFunctions
from .compact import SUBTYPE_OF, SUBTYPES, subtype_code
from .kernels import (ANGULAR_TYPES, NARROW, PIECES, RADIAL, W_NARROW, W_RADIAL, W_WIDE, WIDE,
                      WEIGHTED_TYPES, build_plan)

TYPES = (RADIAL, NARROW, WIDE, W_RADIAL, W_NARROW, W_WIDE)
_ANGULAR_KIND = {("narrow", False): NARROW, ("wide", False): WIDE,
                 ("narrow", True): W_NARROW, ("wide", True): W_WIDE}


class PolynomialFunction(NamedTuple):
    """One function: n2p2 ``type`` (20-25), element indices of the centre and the
    neighbours (-1 where the type has none: neighbor2 of type 20, both of the weighted
    types; neighbor1 <= neighbor2 for 21 and 22), the radial window r_l, r_c (Å), the
    angle window in degrees (0, 0 for the radial types), and the core: ``kind`` (a code
    of ``symmetry_functions.cutoffs``) and ``asymmetric`` (0 or 1)."""
    type: int
    center: int
    neighbor1: int
    neighbor2: int
    rl: float
    rc: float
    angle_left: float
    angle_right: float
    kind: int
    asymmetric: int

    @property
    def subtype(self):
        """n2p2's subtype string (p1-p4, p1a-p4a, e)."""
        return SUBTYPE_OF[(self.kind, self.asymmetric)]


def check_window(rl, rc, angle_left=None, angle_right=None):
    """DescriptorSpecError naming the problem when (r_l, r_c) or the angle window
    (degrees) is not one n2p2 accepts."""
    if not (math.isfinite(rl) and math.isfinite(rc)):
        raise DescriptorSpecError(f"r_l and r_c must be finite, got {rl}, {rc}")
    if rc <= 0.0:
        raise DescriptorSpecError(f"r_c must be positive, got {rc}")
    if rl >= rc:
        raise DescriptorSpecError(f"the radial window needs r_l < r_c, got r_l = {rl}, "
                                  f"r_c = {rc}")
    if angle_left is None:
        return
    left, right = angle_left, angle_right
    if not (math.isfinite(left) and math.isfinite(right)) or left >= right:
        raise DescriptorSpecError(f"the angle window needs left < right (degrees), got "
                                  f"{left}, {right}")
    centre = (left + right) / 2.0
    if (left < 0.0 and centre != 0.0) or (right > 180.0 and centre != 180.0):
        raise DescriptorSpecError(
            f"angle window {left}..{right}: a window reaching beyond [0, 180] degrees must "
            "be centred on 0 or 180 (e.g. -90..90, 90..270)")


@register_family
class PolynomialSymmetryFunctions(PairDescriptor):
    """Polynomial symmetry functions with compact support (module docstring).

    Parameters
    ----------
    elements, cutoff
        As for :class:`~ase_nnp.descriptors.SymmetryFunctions` (``cutoff``: the default
        r_c of the functions added later).
    subtype : str
        Default n2p2 subtype (core function): p1-p4, p1a-p4a (asymmetric radial windows)
        or e.

    ``add_radial``, ``add_angular``, ``add_weighted_radial`` and ``add_weighted_angular``
    add types 20, 21/22, 23 and 24/25; ``rl`` defaults to -r_c (a window centred on the
    atom, falling to 0 at r_c).
    """

    kind = "polynomial_symmetry_functions"
    ARRAY_TYPES = {"type": np.int64, "center": np.int64, "neighbor1": np.int64,
                   "neighbor2": np.int64, "rl": np.float64, "rc": np.float64,
                   "angle_left": np.float64, "angle_right": np.float64,
                   "core": np.int64, "asymmetric": np.int64}
    CONFIG_KEYS = {
        "poly_subtype": Setting("p2", str, "polynomial_symmetry_functions: n2p2 subtype of "
                                "the compact windows (p1-p4, p1a-p4a asymmetric, e)",
                                choices(*SUBTYPES)),
        "poly_radial_n": Setting(8, int, "polynomial_symmetry_functions: radial windows per "
                                 "element pair, centred at m r_c/n (m = 0..n-1) with "
                                 "half-width r_c/n", number(1)),
        "poly_angular_n": Setting(4, int, "polynomial_symmetry_functions: angle windows per "
                                  "element triple, centred at k 180/(n-1) degrees (k = "
                                  "0..n-1) with half-width 180/(n-1)", number(2)),
        "poly_angular_kind": Setting("wide", str, "polynomial_symmetry_functions: 'wide' "
                                     "(type 22) or 'narrow' (type 21, with C(r_jk))",
                                     choices("wide", "narrow")),
    }

    @classmethod
    def from_config(cls, elements, settings):
        """Shifted radial windows and angle windows on a grid (:attr:`CONFIG_KEYS`), the
        angular functions with the radial window (-r_c, r_c)."""
        rc = float(settings["cutoff"])
        psf = cls(elements, rc, subtype=settings["poly_subtype"])
        n = settings["poly_radial_n"]
        step = rc / n
        for m in range(n):
            psf.add_radial(rl=(m - 1) * step, rc=(m + 1) * step)
        k_n = settings["poly_angular_n"]
        half = 180.0 / (k_n - 1)
        for k in range(k_n):
            psf.add_angular(k * half - half, k * half + half, kind=settings["poly_angular_kind"])
        return psf

    def __init__(self, elements, cutoff, subtype="p2"):
        self.elements = normalize_elements(elements)
        self.default_cutoff = float(cutoff)
        check_window(-self.default_cutoff, self.default_cutoff)
        self.default_subtype = subtype
        subtype_code(subtype)
        self._rows = []
        self._plan_cache = None

    # ------------------------------------------------------------------ spec
    # element lookup and expansion as in the Gaussian symmetry functions
    _element_index = SymmetryFunctions._element_index
    _expand = SymmetryFunctions._expand

    def add_function(self, type_, center, n1=-1, n2=-1, rl=None, rc=None, angle_left=0.0,
                     angle_right=0.0, subtype=None):
        """Add one function by element indices (:class:`PolynomialFunction`); ``rc``
        and ``subtype`` default to the set's defaults, ``rl`` to -rc."""
        type_ = int(type_)
        if type_ not in TYPES:
            raise DescriptorSpecError(f"polynomial symmetry function type {type_} is not one "
                                      f"of n2p2's {TYPES}")
        rc = self.default_cutoff if rc is None else float(rc)
        rl = -rc if rl is None else float(rl)
        kind, asym = subtype_code(self.default_subtype if subtype is None else subtype)
        angular = type_ in ANGULAR_TYPES
        if angular:
            check_window(rl, rc, float(angle_left), float(angle_right))
        else:
            check_window(rl, rc)
            angle_left = angle_right = 0.0
        if type_ in WEIGHTED_TYPES:
            n1 = n2 = -1
        elif type_ == RADIAL:
            n2 = -1
            if not 0 <= n1 < len(self.elements):
                raise DescriptorSpecError(f"type 20 needs a neighbour element, got index {n1}")
        else:
            if not (0 <= n1 < len(self.elements) and 0 <= n2 < len(self.elements)):
                raise DescriptorSpecError(f"type {type_} needs two neighbour elements")
            n1, n2 = min(n1, n2), max(n1, n2)
        row = PolynomialFunction(type_, int(center), int(n1), int(n2), rl, rc,
                                 float(angle_left), float(angle_right), kind, asym)
        if row in self._rows:
            raise DescriptorSpecError(f"duplicate polynomial symmetry function "
                                      f"{self._label(row)}")
        self._rows.append(row)
        self._plan_cache = None

    def add_radial(self, rl=None, rc=None, center=None, neighbor=None, subtype=None):
        """Type 20, one per (centre, neighbour) element pair or for those given."""
        for c in self._expand(center, "center"):
            for e in self._expand(neighbor, "neighbor"):
                self.add_function(RADIAL, c, e, -1, rl, rc, subtype=subtype)
        return self

    def add_angular(self, angle_left, angle_right, rl=None, rc=None, kind="wide",
                    center=None, neighbors=None, subtype=None):
        """Types 21 (``kind="narrow"``) or 22 (``"wide"``), one per centre and unordered
        neighbour pair e1 <= e2, or for ``center`` / ``neighbors=(e1, e2)``."""
        type_ = self._angular_type(kind, False)
        if neighbors is None:
            nel = len(self.elements)
            pairs = [(a, b) for a in range(nel) for b in range(a, nel)]
        else:
            pairs = [(self._element_index(neighbors[0], "neighbor"),
                      self._element_index(neighbors[1], "neighbor"))]
        for c in self._expand(center, "center"):
            for a, b in pairs:
                self.add_function(type_, c, a, b, rl, rc, angle_left, angle_right, subtype)
        return self

    def add_weighted_radial(self, rl=None, rc=None, center=None, subtype=None):
        """Type 23 (every neighbour weighted by its atomic number), one per centre."""
        for c in self._expand(center, "center"):
            self.add_function(W_RADIAL, c, -1, -1, rl, rc, subtype=subtype)
        return self

    def add_weighted_angular(self, angle_left, angle_right, rl=None, rc=None, kind="wide",
                             center=None, subtype=None):
        """Types 24 (narrow) or 25 (wide), neighbours weighted by Z_j Z_k."""
        type_ = self._angular_type(kind, True)
        for c in self._expand(center, "center"):
            self.add_function(type_, c, -1, -1, rl, rc, angle_left, angle_right, subtype)
        return self

    @staticmethod
    def _angular_type(kind, weighted):
        if kind not in ("narrow", "wide"):
            raise DescriptorSpecError(f"angular kind must be 'narrow' or 'wide', got {kind!r}")
        return _ANGULAR_KIND[(kind, weighted)]

    # -------------------------------------------------------------- queries
    @property
    def cutoff(self):
        """The largest r_c of any function (the neighbour-list radius)."""
        return max((row.rc for row in self._rows), default=self.default_cutoff)

    def functions(self, element=None):
        """The :class:`PolynomialFunction` of every column of ``element``, in column
        order; all functions in add order without one."""
        if element is None:
            return list(self._rows)
        c = self._element_index(element, "center")
        return [row for row in self._rows if row.center == c]

    def n_features(self, element):
        return len(self.functions(element))

    @property
    def n_features_max(self):
        return max((self.n_features(e) for e in self.elements), default=0)

    def _label(self, row):
        el = self.elements
        nb = ("*" if row.neighbor1 < 0 else el[row.neighbor1]
              + ("" if row.neighbor2 < 0 else "," + el[row.neighbor2]))
        if row.type in WEIGHTED_TYPES:
            nb = "Z" if row.type == W_RADIAL else "Z,Z"
        angle = (f" angle={row.angle_left:g}..{row.angle_right:g}"
                 if row.type in ANGULAR_TYPES else "")
        return f"G{row.type}[{el[row.center]}<-{nb}] r={row.rl:g}..{row.rc:g}{angle} {row.subtype}"

    # labels, length and repr as in the Gaussian symmetry functions
    feature_labels = SymmetryFunctions.feature_labels
    __len__ = SymmetryFunctions.__len__
    __repr__ = SymmetryFunctions.__repr__

    # ------------------------------------------------------- serialisation
    def to_arrays(self):
        """The specification as named arrays, one entry per function in add order;
        elements as atomic numbers (0 where a function has no such neighbour)."""
        z = np.array([ATOMIC_NUMBERS[e] for e in self.elements], dtype=np.int64)
        rows = self._rows

        def elem(name):
            idx = np.array([getattr(r, name) for r in rows], dtype=np.int64)
            return np.where(idx >= 0, z[np.maximum(idx, 0)], 0) if rows else idx

        col = lambda name, dt: np.array([getattr(r, name) for r in rows], dtype=dt)  # noqa: E731
        return {"elements": z, "type": col("type", np.int64), "center": elem("center"),
                "neighbor1": elem("neighbor1"), "neighbor2": elem("neighbor2"),
                "rl": col("rl", np.float64), "rc": col("rc", np.float64),
                "angle_left": col("angle_left", np.float64),
                "angle_right": col("angle_right", np.float64),
                "core": col("kind", np.int64), "asymmetric": col("asymmetric", np.int64)}

    @classmethod
    def from_arrays(cls, a):
        elements = normalize_elements([int(z) for z in a["elements"]])
        n = len(a["type"])
        check_shapes(a, dict.fromkeys(cls.ARRAY_TYPES, (n,)))      # one entry per function
        psf = cls(elements, float(max(a["rc"])) if n else 1.0)
        zi = {ATOMIC_NUMBERS[e]: k for k, e in enumerate(elements)}
        zi[0] = -1
        for k in range(n):
            code = (int(a["core"][k]), int(a["asymmetric"][k]))
            if code not in SUBTYPE_OF:
                raise DescriptorSpecError(f"function {k}: core {code[0]} with asymmetric "
                                          f"{code[1]} is not an n2p2 subtype")
            try:
                c, n1, n2 = (zi[int(a[key][k])] for key in ("center", "neighbor1",
                                                            "neighbor2"))
            except KeyError as err:
                raise DescriptorSpecError(f"function {k} refers to atomic number "
                                          f"{err.args[0]}, which is not among the elements "
                                          f"{elements}") from None
            psf.add_function(int(a["type"][k]), c, n1, n2, float(a["rl"][k]), float(a["rc"][k]),
                             float(a["angle_left"][k]), float(a["angle_right"][k]),
                             SUBTYPE_OF[code])
        return psf

    # ------------------------------------------------------------- kernels
    def plan(self):
        """The compiled kernels' inputs (:class:`.kernels.Plan`), built once."""
        if self._plan_cache is None:
            self._plan_cache = build_plan(self._rows, [ATOMIC_NUMBERS[e] for e in self.elements])
        return self._plan_cache


register_atom_pieces(PolynomialSymmetryFunctions.kind, PIECES)
