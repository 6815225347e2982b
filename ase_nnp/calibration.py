r"""Fitting a model's uncertainty on labelled structures: the active set and the calibration.

    import ase_nnp
    model = ase_nnp.load("ensemble.nnp")
    ase_nnp.select_active_set(model, "train.extxyz")     # γ from the training structures
    ase_nnp.calibrate(model, "validation.extxyz")        # held-out, in-domain structures
    model.save("ensemble.nnp")

or ``ase-nnp calibrate ensemble.nnp validation.extxyz --training train.extxyz``.

:func:`select_active_set` evaluates every training structure, collects each member's
last-hidden-layer features per element and keeps the MaxVol active set
(:mod:`ase_nnp.extrapolation_grade`) on the member: its evaluations then carry the
extrapolation grade γ per atom.

:func:`calibrate` evaluates the labelled structures and fits the map from the raw signals
(committee spread s, grade γ) to the σ of the error (:mod:`ase_nnp.uncertainty`):

* the structures are split at random (``seed``) into a fitting part and, with
  ``conformal_fraction`` > 0, a disjoint conformal part;
* on the fitting part, per quantity, the (a, b, c) of log σ = a + b log s
  + c log(1 + log γ̂) by the Gaussian NLL of the errors: ΔE/N per structure (energy), ΔF_a,x per force
  component, Δσ_ab per Voigt stress component (structures with a stress label and full
  periodicity; no stress map when fewer than 2 have one);
* on the conformal part, the sorted scores |ΔF_a,x| / σ_a,x of the force components
  (split-conformal intervals with the finite-sample guarantee).

The structures must be *held out* from training (errors on the training data are smaller
than on new data, and the bars would be too narrow) and should be like those the model
will meet: the map is fitted there, and its guarantee holds only there.
"""

import os
import warnings

import numpy as np

from .committee import Ensemble, load
from .exceptions import DatasetError, ExtrapolationWarning
from .evaluation import members_pass
from .extrapolation_grade import ActiveSet
from .uncertainty import Calibration, fit_map, FORMS

#: fewest structures with a stress label for a stress map
MIN_STRESS_STRUCTURES = 2


def _frames(frames, what):
    if isinstance(frames, (str, os.PathLike)):
        from ase.io import read
        frames = read(os.fspath(frames), ":")
    frames = list(frames)
    if not frames:
        raise DatasetError(f"no structures given for the {what}")
    return frames


def _model(model):
    return load(model) if isinstance(model, (str, os.PathLike)) else model


def select_active_set(model, frames, tol=1e-3):
    """Give every member of ``model`` (a Potential or Ensemble, changed in place and
    returned) the active set of its last-hidden-layer features over the atoms of
    ``frames`` (Atoms or a file, the training structures), per element."""
    model = _model(model)
    frames = _frames(frames, "active set")
    members = model.members
    per_member = [{e: [] for e in members[0].elements} for _ in members]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        for atoms in frames:
            st = members[0].prepare(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
            H = members_pass(members, st.nl, st.species, gradients=False,
                             features=True).features
            for k, m in enumerate(members):
                for j, e in enumerate(m.elements):
                    idx = np.flatnonzero(st.species == j)
                    per_member[k][e].append(H[k, idx, :m.networks[e].layer_sizes[-2]])
    for k, m in enumerate(members):
        feats = {e: np.concatenate(rows) for e, rows in per_member[k].items() if rows}
        missing = [e for e in m.elements if e not in feats or not len(feats[e])]
        if missing:
            raise DatasetError(f"the structures hold no atom of {missing}; an active set "
                               "needs training atoms of every element")
        try:
            m.active_set = ActiveSet.select(feats, tol=tol)
        except ValueError as err:
            raise DatasetError(f"active set of member {k}: {err}") from None
    return model


def _label(atoms, name, index):
    try:
        return getattr(atoms, f"get_{name}")()
    except Exception:
        raise DatasetError(f"structure {index} has no reference {name.replace('_', ' ')}; "
                           "calibration needs labelled structures (energy and forces, "
                           "e.g. an extxyz file written from a reference calculator)") \
            from None


def collect(model, frames):
    """Per structure the raw signals and the errors of ``model`` (a list of dicts: n,
    dE (per atom), sE (energy_std / N), g (γ per atom or None), gF (γ^F per atom or None),
    dF (n, 3), sF (n,), dS (6,) / sS (6,) or None)."""
    from ase.stress import full_3x3_to_voigt_6_stress
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        for index, atoms in enumerate(frames):
            e_ref = _label(atoms, "potential_energy", index)
            f_ref = _label(atoms, "forces", index)
            periodic = bool(np.all(atoms.pbc))
            ev = model.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc,
                                forces=True, stress=periodic)
            n = len(atoms)
            row = dict(n=n, dE=(ev.energy - e_ref) / n,
                       sE=None if ev.energy_std is None else ev.energy_std / n,
                       g=ev.extrapolation_grade, gF=ev.forces_grade, dF=ev.forces - f_ref,
                       sF=ev.forces_std,
                       dS=None, sS=None)
            stress_ref = None
            if periodic and atoms.calc is not None and "stress" in atoms.calc.results:
                stress_ref = np.asarray(atoms.calc.results["stress"], dtype=np.float64)
                if stress_ref.shape == (3, 3):
                    stress_ref = full_3x3_to_voigt_6_stress(stress_ref)
            if stress_ref is not None and ev.stress is not None:
                row["dS"] = full_3x3_to_voigt_6_stress(ev.stress) - stress_ref
                if ev.stress_std is not None:
                    row["sS"] = full_3x3_to_voigt_6_stress(ev.stress_std)
            rows.append(row)
    return rows


def signals_of(model):
    """The signals a model offers: the committee spread (two or more members) and the
    grade (every member has an active set)."""
    out = []
    if len(model.members) > 1:
        out.append("committee")
    if all(getattr(m, "active_set", None) is not None for m in model.members):
        out.append("grade")
    return out


def arrays(rows, quantity, signals):
    """(errors, s, γ̂) over ``rows`` for one quantity (module docstring); s / γ̂ None where
    the signal is not used."""
    use_s, use_g = "committee" in signals, "grade" in signals
    if quantity == "energy":
        e = np.array([r["dE"] for r in rows])
        s = np.array([r["sE"] for r in rows]) if use_s else None
        g = np.array([np.max(r["g"]) for r in rows]) if use_g else None
    elif quantity == "forces":
        e = np.concatenate([r["dF"].ravel() for r in rows])
        s = np.concatenate([np.repeat(r["sF"] / np.sqrt(3.0), 3) for r in rows]) \
            if use_s else None
        g = np.concatenate([np.repeat(r["gF"], 3) for r in rows]) if use_g else None
    else:
        rows = [r for r in rows if r["dS"] is not None and (r["sS"] is not None or not use_s)]
        if not rows:
            return np.zeros(0), None, None
        e = np.concatenate([r["dS"] for r in rows])
        s = np.concatenate([r["sS"] for r in rows]) if use_s else None
        g = np.concatenate([np.full(6, np.max(r["g"])) for r in rows]) if use_g else None
    return e, s, g


def calibrate(model, frames, form="scale", signals=None, conformal_fraction=0.5, seed=0,
              training=None, grade_exponent=1.0):
    """Fit the :class:`~ase_nnp.uncertainty.Calibration` of ``model`` (a Potential,
    Ensemble or path) on the labelled, held-out ``frames`` (Atoms or a file; module
    docstring), attach it to the model and return it. ``training``: training structures
    to select the active set from first (:func:`select_active_set`); ``signals``: a
    subset of the model's (:func:`signals_of`, all by default); ``form``: "scale" (the
    default) or "log-affine", ``grade_exponent`` the fixed c of "scale"
    (:mod:`ase_nnp.uncertainty`)."""
    model = _model(model)
    if training is not None:
        select_active_set(model, training)
    frames = _frames(frames, "calibration")
    offered = signals_of(model)
    signals = offered if signals is None else list(signals)
    if not signals:
        raise ValueError("the model offers no uncertainty signal: a single potential needs "
                         "an active set (training=... or ase_nnp.select_active_set) to be "
                         "calibrated")
    missing = set(signals) - set(offered)
    if missing:
        raise ValueError(f"the model lacks the signal(s) {sorted(missing)}; it offers "
                         f"{offered} (a committee needs an ensemble, the grade an active set)")
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if not 0.0 <= conformal_fraction < 1.0:
        raise ValueError(f"conformal_fraction must lie in [0, 1), got {conformal_fraction!r}")
    # the raw signals, without a calibration in the way
    previous = model.calibration
    model.calibration = None
    try:
        rows = collect(model, frames)
    finally:
        model.calibration = previous
    order = np.random.default_rng(seed).permutation(len(rows))
    n_conf = int(round(conformal_fraction * len(rows)))
    if conformal_fraction > 0 and (n_conf < 1 or n_conf >= len(rows)):
        raise DatasetError(f"{len(rows)} structures cannot be split into a fitting and a "
                           f"conformal part at conformal_fraction = {conformal_fraction}; "
                           "give more structures or conformal_fraction=0")
    fit_rows = [rows[i] for i in order[n_conf:]]
    conf_rows = [rows[i] for i in order[:n_conf]]
    maps, stats = {}, {}
    for q in ("energy", "forces", "stress"):
        e, s, g = arrays(fit_rows, q, signals)
        n_struct = len(fit_rows) if q != "stress" else len(e) // 6
        if q == "stress" and n_struct < MIN_STRESS_STRUCTURES:
            continue
        maps[q] = fit_map(e, s, g, signals, form, grade_exponent)
        stats[q] = {"values": int(len(e)), "structures": int(n_struct),
                    "rmse": float(np.sqrt(np.mean(e ** 2)))}
    cal = Calibration(maps, signals, form, metadata={
        "structures": len(rows), "fitted_on": len(fit_rows), "conformal_on": len(conf_rows),
        "seed": seed, "grade_exponent": grade_exponent, "statistics": stats})
    if conf_rows:
        e, s, g = arrays(conf_rows, "forces", signals)
        cal.scores = np.sort(np.abs(e) / cal.sigma("forces", s, g))
    if isinstance(model, Ensemble):
        model.set_calibration(cal)
    else:
        cal.check(model)
        model.calibration = cal
    return cal
