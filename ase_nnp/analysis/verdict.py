r"""A verdict on the atomic-energy mapping: sound or ad hoc, with the reason.

The invariant points of :mod:`ase_nnp.analysis.mapping` measure the mapping error
ΔE_k = E_at^NN − E_ref/N at point k. How large may it be in a sound fit?

The fit is judged on total energies: ε, the validation RMSE of the energy per atom, is
the RMS of (1/N) Σ_i e_i over structures of N atoms, e_i the error of atom i's energy.
If the atomic errors of a structure were independent, each of RMS s, the error per atom
would be s/√N, so a fit with validation RMSE ε has atomic errors of at most

    s = ε √N̄           (N̄: the mean number of atoms per training structure)

without any cancellation between the atoms of a structure. Larger atomic errors need
errors that cancel inside every training structure — offsets between environments, or
between species, that no training total sees: the "ad hoc" mapping of Yoo, Lee, Jeong,
Watanabe and Han (Phys. Rev. Materials 3, 093802 (2019)). An invariant point is a
structure whose atomic energy is known, so its error is an atomic error:

    z_k = ΔE_k / (ε √N̄),        Z = √( (1/n) Σ_{k ∈ used} z_k² ),

over the ``used`` points: those within the training data (a point far from every
training atom is extrapolation, not mapping — their Fig. S3 criterion, :func:`learnable`).
**Z > 3 (the threshold) is the verdict "ad hoc"**: the atomic energies at the points the
data cover are off by more than three times the most that uncorrelated atomic errors
allow. With no used point the verdict is "undecided".

The ensemble's spread σ_k is reported beside it but is not in the statistic: the members
may agree on an offset (σ small, ad hoc all the same) or disagree because the data leave
the atomic energy free (σ large: the same failure, seen) — neither makes a large error
sound. The 3× rule of the first mapping study (ΔE against ε alone) ignores the √N̄: it
flags sound fits of 64-atom cells, whose atomic errors may be 8 ε.
"""

from typing import NamedTuple

import numpy as np

#: Z above this: ad hoc (module docstring)
THRESHOLD = 3.0


class Verdict(NamedTuple):
    """``z`` per point (NaN for points not used), ``statistic`` Z, ``threshold``,
    ``used`` (bool mask), ``verdict`` ("ad hoc", "sound" or "undecided"), ``reason``
    (one sentence with the numbers) and ``scale`` ε √N̄ (eV/atom)."""
    z: np.ndarray
    statistic: float
    threshold: float
    used: np.ndarray
    verdict: str
    reason: str
    scale: float


def mapping_verdict(errors, validation_rmse, atoms_per_structure, used=None, std=None,
                    threshold=THRESHOLD, labels=None):
    """The :class:`Verdict` of invariant-point errors ``errors`` (eV/atom) for a fit with
    validation energy RMSE ``validation_rmse`` ε (eV/atom) on structures of
    ``atoms_per_structure`` N̄ atoms on average. ``used``: mask of the points to judge
    (default all; none: "undecided"); ``std``: the ensemble's σ per point (eV/atom; only
    reported); ``labels``: point names for the reason. ValueError when ε or N̄ is not a
    positive number or the arrays do not match."""
    e = np.asarray(errors, dtype=np.float64).reshape(-1)
    if not (np.isfinite(validation_rmse) and validation_rmse > 0):
        raise ValueError(f"validation_rmse = {validation_rmse!r}: the verdict needs the "
                         "validation RMSE of the energy per atom (eV/atom, > 0); read it from "
                         "the training log or the model file's training summary")
    if not (np.isfinite(atoms_per_structure) and atoms_per_structure >= 1):
        raise ValueError(f"atoms_per_structure = {atoms_per_structure!r}: give the mean "
                         "number of atoms per training structure (>= 1)")
    mask = np.ones(len(e), bool) if used is None else np.asarray(used, bool).reshape(-1)
    s = None if std is None else np.asarray(std, dtype=np.float64).reshape(-1)
    if mask.shape != e.shape or (s is not None and s.shape != e.shape):
        raise ValueError(f"{len(e)} errors, {len(mask)} mask entries"
                         + ("" if s is None else f" and {len(s)} spreads")
                         + ": give one of each per invariant point")
    scale = float(validation_rmse * np.sqrt(atoms_per_structure))
    if not mask.any():
        return Verdict(np.full(len(e), np.nan), np.nan, threshold, mask, "undecided",
                       "no invariant point lies within the training data: their errors "
                       "measure extrapolation, not the mapping; add invariant points near "
                       "the data (other strains, other crystals)", scale)
    if not np.all(np.isfinite(e[mask])):
        raise ValueError("the errors of the used points must be finite")
    z = np.full(len(e), np.nan)
    z[mask] = e[mask] / scale
    Z = float(np.sqrt(np.mean(z[mask] ** 2)))
    n = int(mask.sum())
    worst = int(np.nanargmax(np.abs(z)))
    name = labels[worst] if labels is not None else f"point {worst}"
    what = (f"over {n} invariant point{'s' if n > 1 else ''} within the data the atomic-energy "
            f"error is {Z:.2f} times ε √N̄ = {1000 * validation_rmse:.2f} meV/atom × "
            f"√{atoms_per_structure:.4g} = {1000 * scale:.1f} meV/atom, the most uncorrelated "
            f"atomic errors allow (worst: {name}, ΔE {1000 * e[worst]:.1f} meV/atom"
            + (f", ensemble σ {1000 * s[worst]:.1f}" if s is not None else "") + ")")
    if Z > threshold:
        return Verdict(z, Z, threshold, mask, "ad hoc",
                       f"{what} > {threshold:g}: errors this large cancel inside the training "
                       "structures — an offset between environments (or species) that the "
                       "training totals leave free", scale)
    return Verdict(z, Z, threshold, mask, "sound",
                   f"{what} <= {threshold:g}: within what the validation RMSE allows", scale)


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


def atoms_per_structure(potential):
    """N̄, the mean number of atoms per training structure, from a model's training summary
    ("1679 structures, 78049 atoms …"; an ensemble's first member that has one); NaN when
    the file has none."""
    import re
    for meta in [getattr(potential, "metadata", {})] + [
            getattr(m, "metadata", {}) for m in getattr(potential, "members", [])]:
        text = str(((meta or {}).get("training", {}) or {}).get("data", ""))
        m = re.match(r"\s*(\d+) structures, (\d+) atoms", text)
        if m and int(m.group(1)) > 0:
            return int(m.group(2)) / int(m.group(1))
    return np.nan

