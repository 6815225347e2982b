r"""Calibrated error bars: from raw uncertainty signals to the expected error.

A committee's spread ranks errors but is not their size (docs/uncertainty.md), and the
extrapolation grade γ (:mod:`ase_nnp.extrapolation_grade`) is a number without units. A
:class:`Calibration`, fitted on held-out labelled structures (:func:`ase_nnp.calibrate`),
maps them to a standard deviation σ of the error, per quantity q:

    log σ_q = a_q + b_q · log s_q + c_q · log(1 + log γ̂),   γ̂ = max(γ, 1)

* energy per atom: s = ``energy_std`` / N (the committee's spread of the total over the
  atoms), γ̂ from the largest γ_i of the structure (one extrapolating atom spoils the
  total); the same map turns an atom's ``energies_std`` and γ_i into the σ of its energy;
* force components: s = ``forces_std`` / √3 (``forces_std`` is the norm of the spread
  vector, so a per-component spread when the three are alike), γ̂ from γ^F_a, the
  largest γ of the atom and its neighbours (the energies the force is a derivative of,
  :mod:`ase_nnp.extrapolation_grade`);
* stress components (Voigt): s = ``stress_std`` of the component, γ̂ from the largest γ.

The grade enters only where an atom extrapolates (γ > 1; the factor is 1 + ln γ there
and 1 inside the active set's hull), so in-domain the map is that of the committee
alone, and beyond it σ grows with the logarithm of the extrapolation. s is floored at
``FLOOR`` (an atom on a symmetry site has s = 0). A signal the model does not have takes
no part (b = 0 without a committee, c = 0 without an active set).

Two forms:

* "scale" (the default): b = 1 and c fixed (``grade_exponent``, 1 by default), only a
  fitted: σ = e^a · s · (1 + ln γ̂)^c, without a committee σ = e^a (1 + ln γ̂)^c. In-domain
  validation data hardly ever have γ > 1, so they cannot determine c; it is a prior,
  and docs/uncertainty.md shows what it does out of domain. The study there also chose
  b = 1: a free b fitted on bulk data (0.3 for the energy) extrapolated 30–200× too small
  to the slabs and the liquid.
* "log-affine": a, b ∈ [0, 3] and c ∈ [0, 3] all fitted (a power law of each signal).

Both are fitted by the Gaussian negative log-likelihood of the errors e_i,

    NLL = Σ_i [ log σ_i + e_i² / (2 σ_i²) ] + const,

convex in (a, b, c) because log σ is linear in them; "scale" has the closed form
a = ½ log mean(e_i² / σ̃_i²), σ̃_i the map with a = 0.

Split-conformal intervals (Vovk, Gammerman and Shafer, "Algorithmic Learning in a Random
World", Springer (2005); Lei et al., J. Am. Stat. Assoc. 113, 1094 (2018)): on a second,
disjoint part of the calibration data the normalised scores r_j = |e_j| / σ_j of the force
components are kept sorted. For a coverage 1 − α the half-width is q · σ with

    q = r_(k),   k = ⌈(n + 1)(1 − α)⌉   (the k-th smallest of n scores; ∞ when k > n),

and for a test component exchangeable with the n calibration components

    P(|e| ≤ q σ) ≥ 1 − α        (and < 1 − α + 1/(n + 1) without ties).

The guarantee is finite-sample and needs no Gaussian assumption, only exchangeability:
it holds in-distribution (structures like the calibration ones); force components of one
structure are correlated, so it holds for a component drawn at random from such
structures, not separately in each structure, and nothing is promised out of domain.
"""

from dataclasses import dataclass
import json
import math

import numpy as np

QUANTITIES = ("energy", "forces", "stress")
SIGNALS = ("committee", "grade")
FORMS = ("scale", "log-affine")
#: smallest spread (eV/atom, eV/Å, eV/Å³) and grade entering a logarithm
FLOOR = 1e-8
#: bounds of b and c in the log-affine form
BOUNDS = (0.0, 3.0)


@dataclass
class CalibratedSpreads:
    """What a :class:`Calibration` makes of one evaluation: σ of the total energy (eV), of
    each atom's energy (eV), of each atom's force as the norm over its components
    (``forces_std`` = √3 · ``forces_component_std``, eV/Å, the convention of the raw
    spread), of each force component (eV/Å) and of each stress component (3 × 3, eV/Å³,
    periodic cells only)."""
    energy_std: float
    energies_std: np.ndarray
    forces_std: np.ndarray = None
    forces_component_std: np.ndarray = None
    stress_std: np.ndarray = None


def conformal_quantile(scores, coverage):
    """q = r_(k), k = ⌈(n + 1) · coverage⌉, of sorted ``scores`` (module docstring);
    ∞ when k > n (too few scores for that coverage)."""
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must lie strictly between 0 and 1, got {coverage!r}")
    n = len(scores)
    k = math.ceil((n + 1) * coverage - 1e-12)
    return math.inf if k > n else float(scores[k - 1])


def grade_term(gamma):
    """log(1 + log γ̂), γ̂ = max(γ, 1): 0 inside the active set's hull."""
    return np.log1p(np.log(np.maximum(gamma, 1.0)))


def design(s, gamma, signals):
    """The columns (1, log s, log(1 + log γ̂)) of the map for the signals present."""
    cols = [np.ones(len(s) if s is not None else len(gamma))]
    if "committee" in signals:
        cols.append(np.log(np.maximum(s, FLOOR)))
    if "grade" in signals:
        cols.append(grade_term(gamma))
    return np.stack(cols, axis=1)


def fit_map(errors, s, gamma, signals, form="scale", grade_exponent=1.0):
    """(a, b, c) of log σ = a + b log s + c log(1 + log γ̂) by the Gaussian NLL of
    ``errors`` (module docstring); s or gamma None where the signal is absent;
    ``grade_exponent``: c of the "scale" form."""
    from scipy.optimize import minimize
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    e2 = np.asarray(errors, dtype=np.float64) ** 2
    if not len(e2):
        raise ValueError("no labelled values to calibrate on")
    if not np.all(np.isfinite(e2)):
        raise ValueError("the errors contain NaN or infinite values (a broken label?)")
    if not (np.isfinite(grade_exponent) and grade_exponent >= 0):
        raise ValueError(f"grade_exponent must be a non-negative number, got {grade_exponent!r}")
    Z = design(s, gamma, signals)
    if form == "scale":
        b = 1.0 if "committee" in signals else 0.0
        c = float(grade_exponent) if "grade" in signals else 0.0
        coef = ([b] if "committee" in signals else []) + ([c] if "grade" in signals else [])
        u = Z[:, 1:] @ np.array(coef)
        return (0.5 * math.log(max(np.mean(e2 * np.exp(-2 * u)), FLOOR ** 2)), b, c)

    def nll(theta):
        u = Z @ theta
        w = e2 * np.exp(-2.0 * u)
        return (u.sum() + 0.5 * w.sum()) / len(u), (Z.T @ (1.0 - w)) / len(u)

    theta0 = np.zeros(Z.shape[1])
    theta0[0] = 0.5 * math.log(max(e2.mean(), FLOOR ** 2))
    if "committee" in signals:
        theta0[1] = 1.0
        theta0[0] = 0.5 * math.log(max((e2 / np.maximum(s, FLOOR) ** 2).mean(), FLOOR ** 2))
    bounds = [(None, None)] + [BOUNDS] * (Z.shape[1] - 1)
    res = minimize(nll, theta0, jac=True, method="L-BFGS-B", bounds=bounds)
    theta = list(res.x)
    b = theta[1] if "committee" in signals else 0.0
    c = theta[-1] if "grade" in signals else 0.0
    return (float(theta[0]), float(b), float(c))


class Calibration:
    """The maps {quantity: (a, b, c)} of the module docstring, the signals they use, the
    sorted conformal scores of the force components (or None) and free ``metadata``
    (what it was fitted on, its statistics)."""

    def __init__(self, maps, signals, form="scale", scores=None, metadata=None):
        self.signals = tuple(signals)
        bad = set(self.signals) - set(SIGNALS)
        if bad or not self.signals:
            raise ValueError(f"signals must be a non-empty subset of {SIGNALS}, got "
                             f"{list(signals)}")
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        self.form = form
        self.maps = {}
        for q, abc in maps.items():
            if q not in QUANTITIES:
                raise ValueError(f"unknown quantity {q!r}; calibrated quantities are "
                                 f"{QUANTITIES}")
            abc = np.asarray(abc, dtype=np.float64)
            if abc.shape != (3,) or not np.all(np.isfinite(abc)):
                raise ValueError(f"the map of {q} must be three finite numbers (a, b, c), "
                                 f"got {abc.tolist()}")
            if abc[1] and "committee" not in self.signals or abc[2] and "grade" not in \
                    self.signals:
                raise ValueError(f"the map of {q} uses a signal not in {self.signals}")
            self.maps[q] = abc
        for q in ("energy", "forces"):
            if q not in self.maps:
                raise ValueError(f"a calibration needs the maps of energy and forces; {q} "
                                 "is missing")
        self.scores = None
        if scores is not None:
            scores = np.sort(np.asarray(scores, dtype=np.float64))
            if scores.ndim != 1 or not np.all(np.isfinite(scores)) or np.any(scores < 0):
                raise ValueError("conformal scores must be a 1-d array of finite, "
                                 "non-negative numbers")
            self.scores = scores
        self.metadata = dict(metadata or {})

    def __repr__(self):
        maps = ", ".join(f"{q}: a={m[0]:.3g} b={m[1]:.3g} c={m[2]:.3g}"
                         for q, m in self.maps.items())
        return f"Calibration({self.form}, signals={list(self.signals)}, {maps})"

    def check(self, model):
        """ValueError when the model lacks a signal this calibration uses."""
        if "committee" in self.signals and len(getattr(model, "members", [model])) < 2:
            raise ValueError("this calibration uses the committee spread, but the model is "
                             "a single potential; calibrate it again without the committee")
        if "grade" in self.signals and not all(
                getattr(m, "active_set", None) is not None for m in model.members):
            raise ValueError("this calibration uses the extrapolation grade, but the model "
                             "has no active set; select one (ase_nnp.select_active_set)")

    def sigma(self, quantity, s=None, gamma=None):
        """σ = exp(a + b log s + c log(1 + log γ̂)), elementwise over s and γ (scalars or
        arrays)."""
        a, b, c = self.maps[quantity]
        u = a
        if "committee" in self.signals:
            u = u + b * np.log(np.maximum(s, FLOOR))
        if "grade" in self.signals:
            u = u + c * grade_term(gamma)
        return np.exp(u)

    def quantile(self, coverage):
        """The conformal factor q for ``coverage`` (module docstring)."""
        if self.scores is None:
            raise ValueError("this calibration holds no conformal scores; calibrate with "
                             "conformal_fraction > 0")
        return conformal_quantile(self.scores, coverage)

    def apply(self, ev):
        """The :class:`CalibratedSpreads` of an :class:`~ase_nnp.evaluation.Evaluation`."""
        n = len(ev.energies)
        gamma = ev.extrapolation_grade
        g_max = None if gamma is None else float(np.max(gamma, initial=0.0))
        s_e = None if ev.energy_std is None else ev.energy_std / n
        out = CalibratedSpreads(
            energy_std=float(n * self.sigma("energy", s_e, g_max)),
            energies_std=self.sigma("energy", ev.energies_std, gamma) * np.ones(n))
        if ev.forces is not None:
            s_f = None if ev.forces_std is None else ev.forces_std / math.sqrt(3.0)
            comp = self.sigma("forces", s_f, ev.forces_grade) * np.ones(n)
            out.forces_component_std = comp
            out.forces_std = math.sqrt(3.0) * comp
        if ev.stress is not None and "stress" in self.maps:
            out.stress_std = self.sigma("stress", ev.stress_std, g_max) * np.ones((3, 3))
        return out

    def to_arrays(self):
        """{name: array} and a JSON string of attributes, for the model file."""
        arrays = {q: m for q, m in self.maps.items()}
        if self.scores is not None:
            arrays["forces_scores"] = self.scores
        attrs = {"signals": list(self.signals), "form": self.form,
                 "metadata": json.dumps(self.metadata, default=str)}
        return arrays, attrs

    @classmethod
    def from_arrays(cls, arrays, attrs):
        """The inverse of :meth:`to_arrays` (ValueError naming what is wrong)."""
        try:
            metadata = json.loads(attrs.get("metadata", "{}"))
        except ValueError:
            raise ValueError("the calibration's metadata is not valid JSON") from None
        maps = {q: arrays[q] for q in QUANTITIES if q in arrays}
        return cls(maps, attrs["signals"], attrs.get("form", "scale"),
                   arrays.get("forces_scores"), metadata)
