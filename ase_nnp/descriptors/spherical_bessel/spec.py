r"""Spherical-Bessel descriptors (Kocer, Mason and Erturk, J. Chem. Phys. 150, 154102 (2019)).

The neighbour density of atom i, ρ_i(r) = Σ_j w_j δ(r - D_ij), is expanded on
the ball of radius r_c in the orthonormal radial basis g_nl
(:mod:`.radial`) times real spherical harmonics
(:mod:`.harmonics`)::

    c^k_nlm = Σ_{j in channel k} w_j g_nl(r_ij) Y_lm(D_ij / r_ij),
    p^{ab}_nl = Σ_{m=-l}^{l} c^a_nlm c^b_nlm .

The power spectrum p is invariant under rotations (real and complex harmonics
give the same sums), permutations and translations; it needs no cutoff
function, since g_nl, g_nl' and g_nl'' vanish at r_c.

Index ranges (the paper fixes only the count (n_max+1)(l_max+1)): for every
l = 0 .. l_max the radial functions are n = 0 .. n_max, each g_nl built by
Gram–Schmidt from f_0l .. f_nl of the *same* l (the radial basis needs the roots
u_0l .. u_{n_max+1,l}). So every (n, l) pair appears once: **(n_max+1)(l_max+1)
values per channel pair** — 16 for n_max = l_max = 3 and 25 for 4, as in the
paper's Table I.

Several elements, two ways (``mode``):

* ``"channels"`` (default): one density per neighbour element, c^a for a = 1 .. n_el,
  w_j = 1, and the cross spectra p^{ab} for every a <= b:
  n_el(n_el+1)/2 · (n_max+1)(l_max+1) values. Complete for the element
  composition; grows quadratically with the number of elements.
* ``"weighted"``: the paper's single density with an element weight w_j
  (``weights``, default the atomic number): (n_max+1)(l_max+1) values for any
  number of elements; elements are told apart only through their weights.

For one element both modes with unit weight are the paper's p_nl.

The kernels and the derivatives: :mod:`.kernels`.
"""

import numpy as np

from ...elements import ATOMIC_NUMBERS, normalize_elements
from ...exceptions import DescriptorSpecError
from ...settings import Setting, choices, number
from ..base import (PairDescriptor, check_shapes, per_element_values, register_atom_pieces,
                    register_family)
from .harmonics import harmonic_constants
from .kernels import PIECES, Plan
from .radial import radial_table

MODES = {"channels": 0, "weighted": 1}


@register_family
class SphericalBessel(PairDescriptor):
    """Spherical-Bessel power spectrum of Kocer, Mason and Erturk, J. Chem. Phys. 150, 154102 (2019).

    Parameters
    ----------
    elements : list of str
        Chemical symbols; their order is the element (and channel) order.
    cutoff : float
        r_c in Å.
    n_max, l_max : int
        Radial and angular resolution: n = 0 .. n_max, l = 0 .. l_max.
    mode : "channels" or "weighted"
        Several elements as per-element channels or as one weighted density
        (module docstring).
    weights : dict or sequence, optional
        ``mode="weighted"``: the weight of each element (default: atomic number).

    Column order: for each channel pair (a, b), a <= b in element order, n
    (outer) and l (inner): column = pair · (n_max+1)(l_max+1) + n (l_max+1) + l.
    Every central element has the same columns.
    """

    kind = "spherical_bessel"
    #: the arrays of ``to_arrays`` (besides "elements") and their types
    ARRAY_TYPES = {"cutoff": np.float64, "n_max": np.int64, "l_max": np.int64,
                   "mode": np.int64, "weights": np.float64}
    #: keys of the training configuration's [descriptor] section
    CONFIG_KEYS = {
        "n_max": Setting(4, int, "spherical_bessel: radial functions n = 0 .. n_max",
                         number(0, 20)),
        "l_max": Setting(4, int, "spherical_bessel: angular momenta l = 0 .. l_max",
                         number(0, 20)),
        "bessel_mode": Setting("channels", str, "spherical_bessel with several elements: "
                               "'channels' (one density per element, all element-pair "
                               "spectra) or 'weighted' (one density, atomic-number weights)",
                               choices(*MODES)),
    }

    @classmethod
    def from_config(cls, elements, settings):
        """From the configuration keys (``cutoff`` and :attr:`CONFIG_KEYS`)."""
        return cls(elements, settings["cutoff"], n_max=settings["n_max"],
                   l_max=settings["l_max"], mode=settings["bessel_mode"])

    def __init__(self, elements, cutoff, n_max=4, l_max=4, mode="channels", weights=None):
        self.elements = normalize_elements(elements)
        cutoff = float(cutoff)
        if not (np.isfinite(cutoff) and cutoff > 0):
            raise DescriptorSpecError(f"cutoff must be positive, got {cutoff}")
        for name, value in (("n_max", n_max), ("l_max", l_max)):
            if int(value) != value or not 0 <= value <= 20:
                raise DescriptorSpecError(f"{name} must be an integer from 0 to 20, got {value}")
        if mode not in MODES:
            raise DescriptorSpecError(f"mode must be 'channels' or 'weighted', got {mode!r}")
        self.cutoff = cutoff
        self.n_max = int(n_max)
        self.l_max = int(l_max)
        self.mode = mode
        nel = len(self.elements)
        if mode == "channels":
            if weights is not None:
                raise DescriptorSpecError("weights are used only with mode='weighted'")
            w = np.ones(nel)
        elif weights is None:
            w = np.array([float(ATOMIC_NUMBERS[e]) for e in self.elements])
        else:
            w = per_element_values("weights", weights, self.elements)
        self.weights = w
        self._plan_cache = None

    # -------------------------------------------------------------- queries
    @property
    def n_channels(self):
        return len(self.elements) if self.mode == "channels" else 1

    def _channel_pairs(self):
        k = self.n_channels
        return [(a, b) for a in range(k) for b in range(a, k)]

    def n_features(self, element=None):
        if element is not None and normalize_elements([element])[0] not in self.elements:
            raise DescriptorSpecError(f"{element!r} is not among this descriptor's elements "
                                      f"{self.elements}")
        return len(self._channel_pairs()) * (self.n_max + 1) * (self.l_max + 1)

    def feature_labels(self, element=None):
        """One label per column, e.g. ``p[Si,Si] n=0 l=2``."""
        names = self.elements if self.mode == "channels" else ["w"]
        return [f"p[{names[a]},{names[b]}] n={n} l={l} rc={self.cutoff:g}"
                for a, b in self._channel_pairs()
                for n in range(self.n_max + 1) for l in range(self.l_max + 1)]

    def __repr__(self):
        return (f"SphericalBessel(elements={self.elements}, cutoff={self.cutoff:g}, "
                f"n_max={self.n_max}, l_max={self.l_max}, mode={self.mode!r}, "
                f"n_features={self.n_features()})")

    # ------------------------------------------------------- serialisation
    def to_arrays(self):
        """The specification as named arrays; inverse ``from_arrays``."""
        return {
            "elements": np.array([ATOMIC_NUMBERS[e] for e in self.elements]),
            "cutoff": np.array([self.cutoff]),
            "n_max": np.array([self.n_max]),
            "l_max": np.array([self.l_max]),
            "mode": np.array([MODES[self.mode]]),
            "weights": self.weights.copy(),
        }

    @classmethod
    def from_arrays(cls, a):
        elements = normalize_elements([int(z) for z in a["elements"]])
        check_shapes(a, {"cutoff": (1,), "n_max": (1,), "l_max": (1,), "mode": (1,),
                         "weights": (len(elements),)})
        names = {v: k for k, v in MODES.items()}
        code = int(a["mode"][0])
        if code not in names:
            raise DescriptorSpecError(f"unknown spherical-Bessel mode code {code}; known: {names}")
        mode = names[code]
        return cls(elements, float(a["cutoff"][0]), int(a["n_max"][0]), int(a["l_max"][0]),
                   mode, weights=list(a["weights"]) if mode == "weighted" else None)

    # ------------------------------------------------------------- kernels
    def plan(self):
        """The compiled kernels' inputs (:class:`Plan`), built once."""
        if self._plan_cache is None:
            inv_h, coef = radial_table(self.cutoff, self.n_max, self.l_max)
            F, A, B = harmonic_constants(self.l_max)
            pairs = self._channel_pairs()
            nel = len(self.elements)
            channel = (np.arange(nel) if self.mode == "channels"
                       else np.zeros(nel)).astype(np.int64)
            self._plan_cache = Plan(inv_h, coef, F, A, B, channel,
                                self.weights.astype(np.float64), self.n_channels,
                                np.array([a for a, _ in pairs], dtype=np.int64),
                                np.array([b for _, b in pairs], dtype=np.int64),
                                self.l_max + 1, self.n_max + 1)
        return self._plan_cache


register_atom_pieces(SphericalBessel.kind, PIECES)
