r"""Do the stress labels belong to the energies? A check of their order, sign and units.

A structure's stress is the strain derivative of its energy, σ = (1/V) ∂E/∂ε (ASE's sign:
tensile positive). Files from other codes carry the six components in their own order
(VASP's OUTCAR: xx yy zz xy yz zx; ASE's Voigt order: xx yy zz yz xz xy), sign (VASP's
"in kB" line is positive under compression) and units (kbar, GPa, eV/Å³), and a converter
that gets one of them wrong produces labels that read without complaint and then pull a
fit away from its own energies. (In the DFT set of Zuo et al., J. Phys. Chem. A 124, 731
(2020), as converted for this project, the Mo labels have yz and xz exchanged while the Si
and Li ones do not: docs/real-data.md.)

The check fits a model that knows nothing of the stress labels — a linear SNAP
(Thompson et al., J. Comput. Phys. 285, 316 (2015); 2J_max = 6 at the run's cutoff) on
the energies and forces of up to ``MAX_STRUCTURES`` structures, in one least-squares solve
(:mod:`ase_nnp.training.linear`) — and compares its stress, the exact strain derivative
of its energy, with the labels, component by component:

* **order**: the Pearson correlation r_ij between label component i and model component
  j over the structures, separately for the three shear components and for the three
  deviatoric diagonal ones (σ_ii minus the structure's mean pressure, so that the shared
  pressure does not correlate every pair); among the 3! orderings of each group the one
  with the largest Σ_i r_i,π(i) is taken. A reordering is *reported* only when every
  component it moves matches its new place clearly (r ≥ ``R_MATCH``) and not its own
  (r ≤ ``R_OWN``): a noisy or nearly hydrostatic data set leaves the order as read;
  (|r| is compared, so a flipped sign does not hide an exchange);
* **sign and units**: after that ordering, the least-squares factor s of labels ≈ s ×
  model over the components the model predicts (|r| ≥ ``R_MATCH``), on the same deviatoric
  and shear values: the pressure itself is left out, because data at one or a few volumes
  fix the energy–volume slope only loosely, and a basis-set (Pulay) pressure in the labels
  is no reason to distrust them. s near −1 is a sign flip; s near 10 or 0.1 (kbar against
  GPa), 160 or 1/160 (GPa against eV/Å³) a unit error; anything outside [``SCALE_LOW``,
  ``SCALE_HIGH``] is reported as labels that do not follow the energies.

The check needs structures with energy, forces and stress that vary (at least
``MIN_STRUCTURES``), and a model that predicts at least one component (|r| ≥ ``R_MATCH``);
otherwise it says why and decides nothing. ``ase-nnp init`` runs it
and writes what it finds into the configuration (``[data] stress_order``, or a stress
weight of 0 with the reason), with the numbers as comments.
"""

from itertools import permutations
from typing import NamedTuple

import numpy as np

#: ASE's Voigt order of the six stress components
VOIGT = ("xx", "yy", "zz", "yz", "xz", "xy")
#: other spellings of the off-diagonal components
_ALIASES = {"zy": "yz", "zx": "xz", "yx": "xy"}
#: the most structures the check's model is fitted on (evenly spaced over the data)
MAX_STRUCTURES = 120
#: the fewest structures with energy, forces and stress that the check decides on
MIN_STRUCTURES = 8
#: a moved component must correlate at least this well with its new place ...
R_MATCH = 0.8
#: ... and at most this well with the place it was read in
R_OWN = 0.5
#: labels ≈ s × model with s outside this range do not follow the energies (unit errors
#: are factors of 10, 160 or more; a small or narrow data set gives a rough model)
SCALE_LOW, SCALE_HIGH = 0.25, 4.0
#: the check's model: linear SNAP of this 2J_max
TWOJMAX = 6


def parse_stress_order(text):
    """The six component names of ``text`` ("xx yy zz xz yz xy", commas allowed, "zx" for
    "xz" etc.) as a tuple in ASE's spelling; ValueError naming the problem otherwise.
    Diagonal names must stay among the first three places, the shear ones among the last
    three (mixing them is no ordering any code writes)."""
    names = tuple(_ALIASES.get(n, n) for n in str(text).lower().replace(",", " ").split())
    if sorted(names) != sorted(VOIGT):
        raise ValueError(f"stress_order {text!r} must name each of xx yy zz yz xz xy once "
                         f"(the order in which the files hold them); got {list(names)}")
    if set(names[:3]) != {"xx", "yy", "zz"}:
        raise ValueError(f"stress_order {text!r}: the first three must be the diagonal "
                         "xx yy zz (in some order) and the last three the shear components")
    return names


def reorder(stress, order):
    """The 3 × 3 stress whose six Voigt values, as read (ASE's order), are in fact the
    components ``order`` (a :func:`parse_stress_order` tuple): value k goes to ``order[k]``."""
    from ase.stress import full_3x3_to_voigt_6_stress, voigt_6_to_full_3x3_stress
    read = full_3x3_to_voigt_6_stress(np.asarray(stress, dtype=np.float64))
    true = np.empty(6)
    for k, name in enumerate(order):
        true[VOIGT.index(name)] = read[k]
    return voigt_6_to_full_3x3_stress(true)


class StressCheck(NamedTuple):
    """What :func:`check_stress_labels` found. ``order``: the reading of the six values
    that matches the model (ASE's Voigt order when nothing moves); ``correlation``: r_ij
    (6 × 6, label component i as read against model component j; diagonal block on the
    deviatoric parts); ``scale``: s of labels ≈ s × model after ``order`` (module
    docstring); ``rmse``: the
    RMS difference of labels and model stresses after ``order``, eV/Å³; ``n_structures``:
    how many structures the comparison used; ``reason``: why nothing was decided ("" when
    the check ran)."""
    order: tuple
    correlation: np.ndarray
    scale: float
    rmse: float
    n_structures: int
    reason: str = ""

    @property
    def decided(self):
        return not self.reason

    @property
    def reordered(self):
        return self.decided and self.order != VOIGT

    @property
    def consistent_scale(self):
        return self.decided and SCALE_LOW <= self.scale <= SCALE_HIGH

    def summary(self):
        """One line: what was found, with the numbers."""
        if not self.decided:
            return f"stress labels not checked: {self.reason}"
        r = self.correlation
        moved = [(k, VOIGT.index(n)) for k, n in enumerate(self.order) if n != VOIGT[k]]
        text = (f"stress labels against a linear SNAP of the energies and forces "
                f"({self.n_structures} structures): ")
        if moved:
            text += ("components " + ", ".join(
                f"read as {VOIGT[k]} match the model's {VOIGT[j]} (r = {r[k, j]:.2f}; "
                f"{r[k, k]:.2f} with its own)" for k, j in moved) + "; ")
        else:
            own = np.diag(r)
            text += f"order as read (r = {own.min():.2f}-{own.max():.2f}); "
        return text + f"labels = {self.scale:.3g} × the model's stress"


def _deviatoric(s):
    """(n, 6) Voigt stresses with each structure's mean diagonal taken off the diagonal."""
    d = s[:, :3] - s[:, :3].mean(1, keepdims=True)
    return np.concatenate([d, s[:, 3:]], axis=1)


def _correlations(labels, model):
    """r_ij of module docstring: (6, 6) with NaN outside the two blocks and where a
    component does not vary."""
    L, M = _deviatoric(labels), _deviatoric(model)
    r = np.full((6, 6), np.nan)
    for block in (range(3), range(3, 6)):
        for i in block:
            for j in block:
                a, b = L[:, i] - L[:, i].mean(), M[:, j] - M[:, j].mean()
                den = np.sqrt((a @ a) * (b @ b))
                if den > 0:
                    r[i, j] = float(a @ b / den)
    return r


def _best_order(r):
    """The ordering of module docstring from r (names as read -> the component they are)."""
    order = list(VOIGT)
    for block in ((0, 1, 2), (3, 4, 5)):
        sub = np.abs(np.nan_to_num(r[np.ix_(block, block)], nan=0.0))
        best = max(permutations(range(3)), key=lambda p: sum(sub[i, p[i]] for i in range(3)))
        moved = [i for i in range(3) if best[i] != i]
        if moved and all(sub[i, best[i]] >= R_MATCH and sub[i, i] <= R_OWN for i in moved):
            for i in range(3):
                order[block[i]] = VOIGT[block[best[i]]]
    return tuple(order)


def check_stress_labels(refs, cutoff, forces_weight=0.002, max_structures=MAX_STRUCTURES):
    """:class:`StressCheck` of the labels of ``refs`` (:class:`~ase_nnp.training.dataset.
    Reference`) against a linear SNAP of 2J_max = ``TWOJMAX`` at ``cutoff`` Å fitted to
    their energies and forces (loss weights 1 and ``forces_weight``, no stress)."""
    from ase.stress import full_3x3_to_voigt_6_stress
    from ..descriptors.base import family
    from ..elements import symbol
    from ..potential import Potential
    from . import linear
    from .frameset import FrameSet
    from .loss import LossWeights
    from .preprocess import fit_energy_offsets, fit_scaling

    usable = [r for r in refs if r.forces is not None and r.stress is not None and r.weight > 0]
    empty = np.full((6, 6), np.nan)
    if len(usable) < MIN_STRUCTURES:
        return StressCheck(VOIGT, empty, np.nan, np.nan, len(usable),
                           f"{len(usable)} structures have energy, forces and stress "
                           f"(the check needs {MIN_STRUCTURES})")
    pick = np.unique(np.linspace(0, len(usable) - 1, min(max_structures, len(usable)))
                     .round().astype(int))
    usable = [usable[k] for k in pick]
    elements = [symbol(z) for z in sorted({int(z) for r in usable for z in r.atoms.numbers})]
    cls = family("bispectrum")
    settings = {k: s.default for k, s in cls.CONFIG_KEYS.items()}
    settings.update(cutoff=cutoff, twojmax=TWOJMAX)
    descriptor = cls.from_config(elements, settings)
    pot = Potential(elements, descriptor, hidden_layers=(), activation="identity")
    # J is not stored: the solve visits each block of rows once and computes its J there,
    # so storing it would only add memory (unbounded for large cells), not save work
    fs = FrameSet.from_references(descriptor, usable, jacobian_limit=0)
    fit_energy_offsets(pot, fs)
    fit_scaling(pot, fs, mode="none")
    linear.fit(pot, fs, LossWeights(energy=1.0, forces=forces_weight, stress=0.0))
    labels, model = [], []
    for r in usable:
        a = r.atoms
        ev = pot.evaluate(a.positions, a.numbers, a.cell[:], a.pbc)
        labels.append(full_3x3_to_voigt_6_stress(r.stress))
        model.append(full_3x3_to_voigt_6_stress(ev.stress))
    labels, model = np.array(labels), np.array(model)
    if np.ptp(model, axis=0).max() <= 0 or np.ptp(labels, axis=0).max() <= 0:
        return StressCheck(VOIGT, empty, np.nan, np.nan, len(usable),
                           "the stresses do not vary over the structures")
    r = _correlations(labels, model)
    order = _best_order(r)
    idx = [VOIGT.index(n) for n in order]
    true = np.empty_like(labels)
    true[:, idx] = labels
    weights = np.array([1, 1, 1, 2, 2, 2.0])       # a shear component counts twice in σ
    rmse = float(np.sqrt(np.sum(weights * (true - model) ** 2) / (9 * len(true))))
    own = np.abs(np.nan_to_num([r[k, j] for k, j in enumerate(idx)]))
    predicted = np.zeros(6, bool)
    predicted[idx] = own >= R_MATCH
    if not predicted.any():
        return StressCheck(order, r, np.nan, rmse, len(usable),
                           "a linear SNAP of the energies and forces does not predict the "
                           f"stresses well enough to judge them (best |r| {own.max():.2f}, "
                           f"needs {R_MATCH})")
    w = weights * predicted
    T, M = _deviatoric(true), _deviatoric(model)
    scale = float(np.sum(w * T * M) / np.sum(w * M * M))
    return StressCheck(order, r, scale, rmse, len(usable))
