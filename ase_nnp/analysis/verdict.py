r"""A verdict on the atomic-energy mapping: sound or ad hoc, with the reason.

The invariant points of :mod:`ase_nnp.analysis.mapping` measure the mapping error
ΔE_k = E_at^NN − E_ref/N at point k. How large may it be? Two things bound the error a
sound fit makes there:

* ε, the fit's own error floor: the validation RMSE of the energy per atom;
* σ_k, the ensemble's spread of E_at^NN at the point: how much potentials trained on
  the same data (other initial weights, bootstrap resamples) disagree there, i.e. how far
  the data leave the atomic energy free at that point.

A mapping that the data fix, learned as well as the fit allows, has errors of that size.
Ad hoc mapping (Yoo, Lee, Jeong, Watanabe and Han, Phys. Rev. Materials 3, 093802 (2019))
is an offset that every member learns alike — the cancelling offsets that leave every
training total unchanged are the same for all members when the same training data
steer them — so it is large against both. The statistic is

    z_k = ΔE_k / √(σ_k² + ε²),        Z = √( (1/n) Σ_{k ∈ used} z_k² ),

over the ``used`` points (those within the training data where that is known: a point
far from every training atom is extrapolation, not mapping — their Fig. S3 criterion in
:func:`learnable`). If the members' spread and the floor described the error, z_k would
be of order one and Z² ≈ χ²_n / n (its 99.7 % point is 9 for n = 1 and falls with n);
**Z > 3 (the threshold) is the verdict "ad hoc"**: the invariant points are off by more
than three times what the model's own uncertainty explains.

Without an ensemble σ_k = 0 and Z is the error in units of the validation RMSE: true
ad hoc mappings still give Z ≫ 3, but so do sound ones (the per-atom error of a sound
fit is several times its total-energy RMSE), so the verdict is then "undecided" and says
to train an ensemble.
"""

from typing import NamedTuple

import numpy as np

#: Z above this: ad hoc (module docstring)
THRESHOLD = 3.0


class Verdict(NamedTuple):
    """``z`` per point (NaN for points not used), ``statistic`` Z, ``threshold``,
    ``used`` (bool mask), ``verdict`` ("ad hoc", "sound" or "undecided") and ``reason``
    (one sentence with the numbers)."""
    z: np.ndarray
    statistic: float
    threshold: float
    used: np.ndarray
    verdict: str
    reason: str


def mapping_verdict(errors, std, validation_rmse, used=None, threshold=THRESHOLD):
    """The :class:`Verdict` of invariant-point errors ``errors`` (eV/atom), the ensemble's
    ``std`` σ_k (eV/atom; None for a single potential) and the validation energy RMSE
    ``validation_rmse`` ε (eV/atom). ``used``: mask of the points to judge (default all).
    ValueError when ε is not a positive number, the arrays do not match, or no point is
    used."""
    e = np.asarray(errors, dtype=np.float64).reshape(-1)
    if not (np.isfinite(validation_rmse) and validation_rmse > 0):
        raise ValueError(f"validation_rmse = {validation_rmse!r}: the verdict needs the "
                         "validation RMSE of the energy per atom (eV/atom, > 0); read it from "
                         "the training log or the model file's training summary")
    s = np.zeros_like(e) if std is None else np.asarray(std, dtype=np.float64).reshape(-1)
    mask = np.ones(len(e), bool) if used is None else np.asarray(used, bool).reshape(-1)
    if s.shape != e.shape or mask.shape != e.shape:
        raise ValueError(f"{len(e)} errors, {len(s)} spreads and {len(mask)} mask entries: "
                         "give one of each per invariant point")
    if not mask.any():
        return Verdict(np.full(len(e), np.nan), np.nan, threshold, mask, "undecided",
                       "no invariant point lies within the training data: their errors "
                       "measure extrapolation, not the mapping; add invariant points near "
                       "the data (other strains, other crystals)")
    if not (np.all(np.isfinite(e[mask])) and np.all(np.isfinite(s[mask]))):
        raise ValueError("the errors and spreads of the used points must be finite")
    z = np.full(len(e), np.nan)
    z[mask] = e[mask] / np.sqrt(s[mask] ** 2 + validation_rmse ** 2)
    Z = float(np.sqrt(np.mean(z[mask] ** 2)))
    n = int(mask.sum())
    worst = int(np.nanargmax(np.abs(z)))
    what = (f"over {n} invariant point{'s' if n > 1 else ''}, the error is {Z:.2f} times what "
            f"the ensemble spread and the validation RMSE ({1000 * validation_rmse:.2f} "
            f"meV/atom) explain (RMS of z = ΔE/√(σ² + ε²); worst point {worst}: ΔE "
            f"{1000 * e[worst]:.1f} meV/atom, σ {1000 * s[worst]:.1f} meV/atom)")
    if std is None:
        return Verdict(z, Z, threshold, mask, "undecided",
                       f"{what}; without an ensemble there is no σ, and a sound mapping's "
                       "per-atom error is itself several validation RMSEs: train an ensemble "
                       "(ensemble_size >= 3) for a verdict")
    if Z > threshold:
        return Verdict(z, Z, threshold, mask, "ad hoc",
                       f"{what} > {threshold:g}: the members agree on an atomic energy the "
                       "reference does not have — an offset the training totals leave free")
    return Verdict(z, Z, threshold, mask, "sound",
                   f"{what} <= {threshold:g}: the invariant-point errors are within the "
                   "model's own uncertainty")


def learnable(point_distances, within_distances, percentile=99.0):
    """Mask of the invariant points no farther from the training atoms (in the scaled
    descriptor space) than ``percentile`` % of the training atoms are from their own
    nearest neighbour (Yoo et al.'s Fig. S3 criterion): ``point_distances`` one per
    point, ``within_distances`` one per training atom (:mod:`ase_nnp.analysis.distance`)."""
    within = np.asarray(within_distances, dtype=np.float64)
    if within.size == 0:
        raise ValueError("no within-set distances: the training set needs two atoms or more")
    return np.asarray(point_distances, dtype=np.float64) <= np.percentile(within, percentile)


def validation_rmse(potential):
    """The validation RMSE of the energy per atom (eV/atom) stored in a model's training
    summary: the mean over an ensemble's members; NaN when the file has none."""
    meta = getattr(potential, "metadata", {}) or {}
    training = meta.get("training", {}) or {}
    values = []
    if "members" in training:
        for errs in training["members"].values():
            shown = errs.get("validation") or errs.get("train") or {}
            if "energy" in shown:
                values.append(shown["energy"])
    elif "validation_rmse" in training and "energy" in training["validation_rmse"]:
        values.append(training["validation_rmse"]["energy"])
    if not values and hasattr(potential, "members"):
        values = [validation_rmse(m) * 1000 for m in potential.members]
        values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) / 1000 if values else np.nan
