r"""Atom-centred symmetry functions (Behler) in n2p2's conventions.

For a central atom i of element c, with pair vectors D_ij (from the neighbour
list), r_ij = |D_ij| and cos θ_ijk = D_ij·D_ik / (r_ij r_ik):

radial, n2p2 type 2, neighbour element e1::

    G = Σ_{j, e_j = e1}  exp(-η (r_ij - r_s)²) f_c(r_ij)

narrow angular, n2p2 type 3 (dscribe's G4), neighbour elements {e1, e2}::

    G = 2^(1-ζ) Σ_{j<k, {e_j, e_k} = {e1, e2}} (1 + λ cos θ_ijk)^ζ
        exp(-η[(r_ij - r_s)² + (r_ik - r_s)² + (r_jk - r_s)²]) f_c(r_ij) f_c(r_ik) f_c(r_jk)

wide angular, n2p2 type 9 (dscribe's G5): as type 3 without the r_jk
Gaussian and without f_c(r_jk).

The sum j<k runs over unordered pairs of neighbours (periodic images are
distinct neighbours). λ = ±1, ζ >= 1; integer ζ is raised by repeated
multiplication.

The kernels and the derivatives: :mod:`.kernels`.
"""

import math
from typing import NamedTuple

import numpy as np

from ...elements import ATOMIC_NUMBERS, normalize_elements
from ...exceptions import DescriptorSpecError, UnknownElementError
from ...settings import Setting, choices, number
from ..base import PairDescriptor, check_shapes, register_atom_pieces, register_family
from . import grids
from .cutoffs import CUTOFF_NAMES, cutoff_code
from .kernels import NARROW, PIECES, RADIAL, WIDE, build_plan

_KIND_NAMES = {"narrow": NARROW, "wide": WIDE}


class SymmetryFunction(NamedTuple):
    """One function: n2p2 ``type`` (2, 3 or 9), element indices of the centre and the
    neighbours (``neighbor2`` = -1 for radial functions; neighbor1 <= neighbor2 for angular
    ones), η (Å⁻²), r_s (Å), ζ, λ, cutoff radius (Å), cutoff type code and inner α."""
    type: int
    center: int
    neighbor1: int
    neighbor2: int
    eta: float
    rs: float
    zeta: float
    lambda_: float
    cutoff: float
    cutoff_type: int
    alpha: float


@register_family
class SymmetryFunctions(PairDescriptor):
    """A set of atom-centred symmetry functions for a list of elements.

    Parameters
    ----------
    elements : list of str
        Chemical symbols; their order is the element index order.
    cutoff : float
        Default cutoff radius r_c in Å for the functions added later.
    cutoff_function : str
        Default cutoff type: hard, cos, tanhu, tanh, exp, poly1, poly2, poly3, poly4.
    alpha : float
        Default inner cutoff as a fraction of r_c (0 <= alpha < 1).

    Column order: for each central element, functions appear in the order
    they were added; an ``add_*`` call that expands over elements adds one
    function per neighbour element (radial) or per unordered neighbour pair
    e1 <= e2 in element order (angular). ``feature_labels(element)`` names
    every column. ``compute`` returns one row per atom with
    ``n_features_max`` columns; columns past ``n_features(element)`` are 0.
    """

    kind = "symmetry_functions"
    #: the arrays of ``to_arrays`` (besides "elements") and their types, one entry per function
    ARRAY_TYPES = {"type": np.int64, "center": np.int64, "neighbor1": np.int64,
                   "neighbor2": np.int64, "cutoff_type": np.int64, "eta": np.float64,
                   "rs": np.float64, "zeta": np.float64, "lambda": np.float64,
                   "cutoff": np.float64, "alpha": np.float64}
    #: keys of the training configuration's [descriptor] section
    CONFIG_KEYS = {
        "cutoff_function": Setting("cos", str, "hard, cos, tanhu, tanh, exp, poly1, poly2, "
                                   "poly3, poly4", choices(*CUTOFF_NAMES.values())),
        "cutoff_alpha": Setting(0.0, float, "inner cutoff fraction α of the n2p2 cutoff "
                                "functions", number(0, 1, hi_open=True)),
        "radial_grid": Setting("shifted", str, "Imbalzano radial grid: 'shifted' or "
                               "'centered'", choices("shifted", "centered")),
        "radial_n": Setting(8, int, "radial grid intervals n (shifted: n functions, centered: "
                            "n + 1) per element pair", number(1)),
        "radial_r_low": Setting(0.0, float, "shifted radial grid: leave out the functions "
                                "centred below this distance (Å), where the data has no "
                                "neighbours and their values, a few times 1e-100, would be "
                                "scaled up enormously (0: keep all)", number(0)),
        "angular_grid": Setting("centered", str, "Gastegger angular grid: 'centered' or "
                                "'shifted'", choices("centered", "shifted")),
        "angular_n": Setting(3, int, "angular grid points per element triple", number(2)),
        "angular_r_low": Setting(1.5, float, "innermost angular grid point (Å)",
                                 number(0, lo_open=True)),
        "angular_kind": Setting("narrow", str, "'narrow' (G3, n2p2 type 3) or 'wide' (G9, "
                                "type 9)", choices(*_KIND_NAMES)),
        "zetas": Setting([1, 2, 4], list, "angular exponents ζ",
                         items=(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
                                and math.isfinite(v) and v >= 1, "numbers >= 1")),
        "lambdas": Setting([-1, 1], list, "angular λ values (±1)",
                           items=(lambda v: not isinstance(v, bool) and v in (-1, 1),
                                  "-1 or 1")),
    }

    @classmethod
    def from_config(cls, elements, settings):
        """Radial and angular grids from the configuration keys (``cutoff`` and
        :attr:`CONFIG_KEYS`)."""
        sf = cls(elements, cutoff=settings["cutoff"],
                 cutoff_function=settings["cutoff_function"], alpha=settings["cutoff_alpha"])
        try:
            sf.add_radial_grid(settings["radial_n"], settings["radial_grid"],
                               r_low=settings["radial_r_low"])
        except DescriptorSpecError as err:
            raise DescriptorSpecError(f"radial_r_low: {err}") from None
        sf.add_angular_grid(settings["angular_n"], settings["angular_r_low"],
                            zetas=tuple(settings["zetas"]), lambdas=tuple(settings["lambdas"]),
                            kind=settings["angular_grid"], angular=settings["angular_kind"])
        return sf

    def __init__(self, elements, cutoff, cutoff_function="cos", alpha=0.0):
        self.elements = normalize_elements(elements)
        self.default_cutoff = float(cutoff)
        self.default_cutoff_type = cutoff_code(cutoff_function)
        self.default_alpha = float(alpha)
        self._check_cutoff(self.default_cutoff, self.default_cutoff_type, self.default_alpha)
        self._rows = []     # SymmetryFunction, in add order
        self._plan_cache = None

    # ------------------------------------------------------------------ spec
    @staticmethod
    def _check_cutoff(rc, ctype, alpha):
        if not (np.isfinite(rc) and rc > 0):
            raise DescriptorSpecError(f"cutoff must be positive, got {rc}")
        if not 0.0 <= alpha < 1.0:
            raise DescriptorSpecError(f"alpha (inner cutoff fraction) must be in [0, 1), got {alpha}")

    def _element_index(self, e, role):
        if e is None:
            return None
        if isinstance(e, (int, np.integer)):
            e = normalize_elements([e])[0]
        if e not in self.elements:
            raise UnknownElementError(
                f"{role} element {e!r} is not among this descriptor's elements {self.elements}")
        return self.elements.index(e)

    def add_function(self, kind, center, n1, n2, eta, rs=0.0, zeta=0.0, lam=0.0, rc=None,
                     ctype=None, alpha=None):
        """Add one function by element indices (see :class:`SymmetryFunction`); ``rc``,
        ``ctype`` (name or code) and ``alpha`` default to the set's defaults. The ``add_*``
        methods below expand over elements and call this."""
        rc = self.default_cutoff if rc is None else float(rc)
        ctype = self.default_cutoff_type if ctype is None else cutoff_code(ctype)
        alpha = self.default_alpha if alpha is None else float(alpha)
        self._check_cutoff(rc, ctype, alpha)
        if not (np.isfinite(eta) and eta >= 0):
            raise DescriptorSpecError(f"eta must be >= 0, got {eta}")
        if not (np.isfinite(rs) and rs >= 0):
            raise DescriptorSpecError(f"rs must be >= 0, got {rs}")
        if kind != RADIAL:
            if lam not in (-1.0, 1.0):
                raise DescriptorSpecError(f"lambda must be -1 or +1, got {lam}")
            if not (np.isfinite(zeta) and zeta >= 1):
                raise DescriptorSpecError(f"zeta must be >= 1, got {zeta}")
            if n1 > n2:
                n1, n2 = n2, n1
        row = SymmetryFunction(int(kind), int(center), int(n1), int(n2), float(eta), float(rs),
                               float(zeta), float(lam), rc, ctype, alpha)
        if row in self._rows:
            raise DescriptorSpecError(f"duplicate symmetry function {self._label(row)}")
        self._rows.append(row)
        self._plan_cache = None

    def add_radial(self, eta, rs=0.0, center=None, neighbor=None, cutoff=None,
                   cutoff_function=None, alpha=None):
        """Add radial functions (type 2): one per (central, neighbour) element
        pair, or only for the ``center``/``neighbor`` given."""
        cs = self._expand(center, "center")
        ns = self._expand(neighbor, "neighbor")
        for c in cs:
            for e in ns:
                self.add_function(RADIAL, c, e, -1, eta, rs, 0.0, 0.0, cutoff, cutoff_function, alpha)
        return self

    def add_angular(self, eta, zeta, lambda_, kind="narrow", rs=0.0, center=None,
                    neighbors=None, cutoff=None, cutoff_function=None, alpha=None):
        """Add angular functions (kind "narrow" = type 3, "wide" = type 9): one
        per central element and unordered neighbour pair e1 <= e2, or only for
        the ``center`` / ``neighbors=(e1, e2)`` given."""
        if kind not in _KIND_NAMES:
            raise DescriptorSpecError(f"angular kind must be 'narrow' or 'wide', got {kind!r}")
        cs = self._expand(center, "center")
        if neighbors is None:
            nel = len(self.elements)
            pairs = [(a, b) for a in range(nel) for b in range(a, nel)]
        else:
            e1, e2 = neighbors
            pairs = [(self._element_index(e1, "neighbor"), self._element_index(e2, "neighbor"))]
        for c in cs:
            for a, b in pairs:
                self.add_function(_KIND_NAMES[kind], c, a, b, eta, rs, zeta, float(lambda_),
                          cutoff, cutoff_function, alpha)
        return self

    def add_radial_grid(self, n, kind="centered", center=None, neighbor=None, cutoff=None,
                        cutoff_function=None, alpha=None, r_low=0.0):
        """Radial functions on Imbalzano et al.'s grid (J. Chem. Phys. 148, 241730 (2018));
        see :mod:`.grids`."""
        rc = self.default_cutoff if cutoff is None else cutoff
        for eta, rs in grids.radial_grid(n, rc, kind, r_low):
            self.add_radial(eta, rs, center, neighbor, cutoff, cutoff_function, alpha)
        return self

    def add_angular_grid(self, n, r_low, zetas=(1, 2, 4), lambdas=(-1, 1), kind="centered",
                         angular="narrow", center=None, neighbors=None, cutoff=None,
                         cutoff_function=None, alpha=None):
        """Angular functions on Gastegger et al.'s grid (J. Chem. Phys. 148, 241709 (2018))
        for every ζ in ``zetas`` and λ in ``lambdas``."""
        rc = self.default_cutoff if cutoff is None else cutoff
        for eta, rs in grids.angular_grid(n, r_low, rc, kind):
            for zeta in zetas:
                for lam in lambdas:
                    self.add_angular(eta, zeta, lam, angular, rs, center, neighbors,
                                     cutoff, cutoff_function, alpha)
        return self

    def _expand(self, e, role):
        idx = self._element_index(e, role)
        return range(len(self.elements)) if idx is None else [idx]

    # -------------------------------------------------------------- queries
    @property
    def cutoff(self):
        """The largest cutoff radius of any function (the neighbour-list radius)."""
        return max((row.cutoff for row in self._rows), default=self.default_cutoff)

    def _rows_of(self, c):
        return [row for row in self._rows if row.center == c]

    def functions(self, element=None):
        """The :class:`SymmetryFunction` of every column of ``element`` (symbol or
        atomic number), in column order; all functions in add order without one."""
        if element is None:
            return list(self._rows)
        return self._rows_of(self._element_index(element, "center"))

    def n_features(self, element):
        return len(self._rows_of(self._element_index(element, "center")))

    @property
    def n_features_max(self):
        return max(len(self._rows_of(c)) for c in range(len(self.elements)))

    def _label(self, row):
        kind, c, n1, n2, eta, rs, zeta, lam, rc, ctype, alpha = row
        el = self.elements
        head = f"G{kind}[{el[c]}<-{el[n1]}" + (f",{el[n2]}" if kind != RADIAL else "") + "]"
        extra = f" zeta={zeta:g} lambda={lam:+g}" if kind != RADIAL else ""
        return (f"{head} eta={eta:g} rs={rs:g}{extra} rc={rc:g} "
                f"cutoff={CUTOFF_NAMES[ctype]} alpha={alpha:g}")

    def feature_labels(self, element):
        """Human-readable description of every column for ``element``."""
        return [self._label(row) for row in self.functions(element)]

    def __len__(self):
        return len(self._rows)

    def __repr__(self):
        counts = {e: self.n_features(e) for e in self.elements}
        return f"{type(self).__name__}(elements={self.elements}, n_features={counts})"

    # ------------------------------------------------------- serialisation
    def to_arrays(self):
        """The full specification as named arrays (one entry per function, in
        add order); atomic numbers identify elements. Inverse: ``from_arrays``."""
        rows = self._rows
        z = np.array([ATOMIC_NUMBERS[e] for e in self.elements])
        col = lambda name, dt: np.array([getattr(row, name) for row in rows], dtype=dt)  # noqa: E731
        n2 = col("neighbor2", np.int64)
        return {
            "elements": z,
            "type": col("type", np.int64),
            "center": z[col("center", np.int64)] if rows else np.zeros(0, np.int64),
            "neighbor1": z[col("neighbor1", np.int64)] if rows else np.zeros(0, np.int64),
            "neighbor2": np.where(n2 >= 0, z[np.maximum(n2, 0)], 0) if rows else n2,
            "eta": col("eta", float), "rs": col("rs", float), "zeta": col("zeta", float),
            "lambda": col("lambda_", float), "cutoff": col("cutoff", float),
            "cutoff_type": col("cutoff_type", np.int64), "alpha": col("alpha", float),
        }

    @classmethod
    def from_arrays(cls, a):
        elements = normalize_elements([int(z) for z in a["elements"]])
        n = len(a["type"])
        check_shapes(a, dict.fromkeys(cls.ARRAY_TYPES, (n,)))      # one entry per function
        rc0 = float(a["cutoff"][0]) if n else 1.0
        sf = cls(elements, rc0)
        zi = {ATOMIC_NUMBERS[e]: k for k, e in enumerate(elements)}
        for k in range(n):
            kind = int(a["type"][k])
            if kind not in (RADIAL, NARROW, WIDE):
                raise DescriptorSpecError(f"unknown symmetry function type {kind}")
            try:
                c, n1 = zi[int(a["center"][k])], zi[int(a["neighbor1"][k])]
                n2 = zi[int(a["neighbor2"][k])] if kind != RADIAL else -1
            except KeyError as err:
                raise DescriptorSpecError(
                    f"function {k} refers to atomic number {err.args[0]}, "
                    f"which is not among the elements {elements}") from None
            sf.add_function(kind, c, n1, n2, float(a["eta"][k]), float(a["rs"][k]), float(a["zeta"][k]),
                    float(a["lambda"][k]), float(a["cutoff"][k]), int(a["cutoff_type"][k]),
                    float(a["alpha"][k]))
        return sf

    # ------------------------------------------------------------- kernels
    def plan(self):
        """The compiled kernels' inputs (:class:`Plan`), built once per specification."""
        if self._plan_cache is None:
            self._plan_cache = build_plan(self._rows, len(self.elements),
                                          [ATOMIC_NUMBERS[e] for e in self.elements])
        return self._plan_cache


register_atom_pieces(SymmetryFunctions.kind, PIECES)
