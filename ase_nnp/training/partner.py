r"""An ensemble of networks with a linear partner, mixed with a weight chosen on held-out data.

``[ensemble] partner = "quadratic"`` (or ``"linear"``) trains, on the same structures,

* the networks of the ensemble (:mod:`ase_nnp.training.ensemble`), and
* a SNAP model — quadratic (Wood and Thompson, J. Chem. Phys. 148, 241721 (2018)) or
  linear (Thompson et al., J. Comput. Phys. 285, 316 (2015)) in the bispectrum of
  2J_max = ``partner_twojmax`` at the networks' cutoff — fitted in one weighted
  least-squares solve of the same loss (:mod:`ase_nnp.training.linear`),

and writes the ensemble with the SNAP model as its partner (:class:`ase_nnp.Ensemble`):
every member predicts M^(k) = (1 - w) E^(k) + w E_P. The two kinds of model err in
different ways — the networks follow the forces closely and can drift on structures
unlike their training set; the linear model is smoother and stiffer — so their mixture
is better than either where their errors are not fully correlated: a committee of two
model classes instead of K copies of one.

The weight is chosen where neither model was fitted: a fraction ``holdout_fraction`` of
the training structures (drawn with ``split_seed``) is held out of every fit. With the
residuals r_N = N - y of the networks' mean and r_P = P - y of the partner on those
structures, the mixture's residual is r_N + w (r_P - r_N), and the loss of the run
(:mod:`ase_nnp.training.loss`: λ_E · mean (ΔE/N)² + λ_F · mean ΔF² + λ_S · mean Δσ²,
each term over the held-out structures that have it) is a quadratic in w with minimum

    w* = - Σ_t c_t r_N,t d_t / Σ_t c_t d_t²,      d = r_P - r_N,

(c_t the term's weight over its count), clipped to [0, 1]. w = 0 keeps the networks
alone, w = 1 the partner alone. The same held-out structures then calibrate the mixture's
uncertainty (:mod:`ase_nnp.calibration`: the members' active sets from the fitted
structures, the map from spread and extrapolation grade to the error on the held-out
ones), so the written model reports error bars. Last, the partner mixed into the written
model is a second solve on *every* training structure: with w chosen there is nothing
left for the held-out structures to decide, and a linear model only gains from them (on
the mlearn Mo set its test forces went from 0.241 to 0.225 eV/Å). The calibration was
fitted with the partner that had not seen them, so on those structures the bars are, if
anything, wide. Both solves run one after the other in the partner's process while the
members train.

Cost: the partner's solve runs in a process of its own beside the members; for the
mlearn data it takes 1-3 min on one core (the bispectrum and its derivatives of every
training atom, then a QR reduction).
"""

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import time

import numpy as np

from ..calibration import calibrate, select_active_set
from ..committee import Ensemble
from ..exceptions import ConfigError, DatasetError
from ..potential import Potential
from .config import TrainingConfig, family_of
from .dataset import read
from .ensemble import _limit_threads, _portable, derived_paths, train_ensemble
from .trainer import Trainer, _fmt, _tee


#: fewest held-out structures that calibrate the uncertainty (half fit the map, half the
#: conformal scores)
MIN_CALIBRATION_STRUCTURES = 10


@dataclass
class Mixing:
    """The chosen weight and the held-out errors (RMSE: energy meV/atom, forces eV/Å,
    stress eV/Å³; NaN where the held-out structures lack the property) of the networks'
    mean, the partner and the mixture."""
    weight: float
    n_structures: int
    networks: dict
    partner: dict
    mixture: dict


def split_holdout(n, fraction, seed):
    """(held-out, kept) structure indices: ⌈fraction · n⌉ drawn with ``seed``, at least
    one and at most n - 2 (the networks need a training and a validation structure)."""
    if n < 3:
        raise ConfigError(f"[ensemble] partner needs at least 3 training structures (one held "
                          f"out to choose the mixing weight); the data has {n}")
    n_hold = min(max(int(np.ceil(fraction * n)), 1), n - 2)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:n_hold]), np.sort(order[n_hold:])


def partner_config(cfg, frames, name="partner", validation=(), ridge=None):
    """The partner's configuration: the run's shared keys (cutoff, elements, loss, data
    units, test files) with the bispectrum of ``partner_twojmax``, ``kind = partner``, all
    of ``frames`` fitted (no validation split, no cache), ridge ``ridge`` (default the
    run's ``partner_ridge``; ``"auto"`` chooses it on the structures ``validation``) and
    its own files beside the model (``<model stem>.<name>.nnp``)."""
    values = {k: v for k, v in cfg.changed().items()
              if family_of(k) in (None, "bispectrum") and k not in _NOT_FOR_PARTNER}
    values.update(train=list(frames), family="bispectrum", twojmax=cfg.partner_twojmax,
                  kind=cfg.partner, validation_fraction=0.0, cache="", log_file="",
                  ridge=cfg.partner_ridge if ridge is None else ridge,
                  **derived_paths(cfg.model, name))
    if len(validation):
        values["validation"] = list(validation)
    return TrainingConfig(values, base_dir=cfg.base_dir)


#: keys of the run that the partner's solve does not take
_NOT_FOR_PARTNER = {"preset", "family", "kind", "ridge", "ensemble_size", "workers",
                    "bootstrap", "partner", "partner_twojmax", "partner_ridge",
                    "holdout_fraction", "validation",
                    "init_model", "init_member", "gdf", "invariant_points", "repulsion"}


def _fit_partner(values, base_dir):
    """Worker: the partner's solve; the potential travels back through its model file."""
    cfg = TrainingConfig(dict(values, progress=False), base_dir=base_dir)
    result = Trainer(cfg, log=None).run()
    return cfg.model, result.validation_errors or result.train_errors


def _fit_partners(holdout_values, all_values, base_dir):
    """Worker: the partner without the held-out structures (its ridge chosen on them when
    ``partner_ridge = "auto"``), then the partner on every structure with that ridge.
    Returns ((path, errors), (path, errors), ridge)."""
    first = _fit_partner(holdout_values, base_dir)
    ridge = Potential.load(first[0]).metadata["training"]["ridge"]
    return first, _fit_partner(dict(all_values, ridge=ridge), base_dir), ridge


def _residuals(model, frames):
    """Per-term residual arrays (prediction - reference) of ``model`` on ``frames``:
    energy per atom, force components, stress components (the nine of the tensor, as the
    loss counts them; those the references have)."""
    out = {"energy": [], "forces": [], "stress": []}
    for ref in frames:
        atoms = ref.atoms
        ev = model.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
        out["energy"].append([(ev.energy - ref.energy) / len(atoms)])
        if ref.forces is not None:
            out["forces"].append((ev.forces - ref.forces).ravel())
        if ref.stress is not None and ev.stress is not None:
            out["stress"].append((ev.stress - ref.stress).ravel())
    return {k: np.concatenate(v) for k, v in out.items() if v}


def _rmse(r):
    return {k: float(np.sqrt(np.mean(v ** 2))) * (1000 if k == "energy" else 1)
            for k, v in r.items()}


def choose_weight(r_networks, r_partner, loss_weights):
    """w* of the module docstring from two dicts of residual arrays (same keys, same
    order) and the loss weights {term: λ}; clipped to [0, 1]."""
    num = den = 0.0
    for term, rn in r_networks.items():
        lam = loss_weights.get(term, 0.0)
        if lam <= 0 or not len(rn):
            continue
        d = r_partner[term] - rn
        num += lam * np.dot(rn, d) / len(rn)
        den += lam * np.dot(d, d) / len(rn)
    if den <= 0:
        return 0.0
    return float(np.clip(-num / den, 0.0, 1.0))


def _calibrate(ensemble, training, held, log):
    """The uncertainty of the mixture, fitted where nothing was trained: the members'
    active sets from the training structures, then the calibration of the spread and the
    extrapolation grade on the held-out ones (:mod:`ase_nnp.calibration`), so that the
    written model reports error bars, not raw spreads. Too few held-out structures for
    a calibration leave the raw spreads, with a line in the log."""
    if len(held) < MIN_CALIBRATION_STRUCTURES:
        log(f"uncertainty: not calibrated ({len(held)} held-out structures, fewer than "
            f"{MIN_CALIBRATION_STRUCTURES}); the model reports the members' raw spreads — "
            "calibrate it with `ase-nnp calibrate` on held-out data")
        return
    t = time.perf_counter()
    select_active_set(ensemble, training)
    try:
        cal = calibrate(ensemble, held)
    except (DatasetError, ValueError) as err:
        log(f"uncertainty: not calibrated ({err}); the model reports the members' raw spreads")
        return
    stats = cal.metadata.get("statistics", {})
    units = {"energy": (1000, "meV/atom"), "forces": (1, "eV/Å"), "stress": (1, "eV/Å³")}
    log(f"uncertainty: active sets from {len(training)} training structures, calibration on "
        f"{len(held)} held-out ones ({time.perf_counter() - t:.1f} s); the errors it was fitted "
        "to (RMSE): " + ", ".join(f"{q} {v['rmse'] * units[q][0]:.4g} {units[q][1]} "
                                  f"({v['values']} values)" for q, v in stats.items()))


def train_with_partner(cfg, resume=False, descriptor=None, log=print):
    """Hold out, fit the partner (its own process) while the members train, choose the
    weight on the held-out structures, write the mixed ensemble (module docstring).
    Returns the ensemble's :class:`~ase_nnp.training.ensemble.EnsembleTrainingResult`
    with ``mixing`` (a :class:`Mixing`) set."""
    log = _tee(log or (lambda *a, **k: None), cfg.log_file)
    if cfg.kind != "network":
        raise ConfigError(f"[ensemble] partner = {cfg.partner!r} is mixed into networks; "
                          f"[model] kind = {cfg.kind!r} is itself a linear model: set partner "
                          "= 'none' or kind = 'network'")
    refs = read(cfg.train, cfg.index, cfg.units, cfg.stress_order)
    held, kept = split_holdout(len(refs), cfg.holdout_fraction, cfg.split_seed)
    frames = [r.atoms for r in refs]
    held_refs = [refs[i] for i in held]
    kept_frames = [frames[i] for i in kept]
    log(f"partner: {len(held)} of {len(refs)} training structures held out to choose the "
        f"mixing weight; the networks and a {cfg.partner} SNAP (2J_max = "
        f"{cfg.partner_twojmax}) are fitted on the other {len(kept)}")
    pcfg = partner_config(cfg, kept_frames, "partner_holdout",
                          validation=[frames[i] for i in held])
    # its ridge is the one the first solve settles on (_fit_partners); 0 until then
    final_cfg = partner_config(cfg, frames, "partner", ridge=0.0)
    members_cfg = TrainingConfig(dict(cfg.changed(), train=kept_frames, partner="none"),
                                 base_dir=cfg.base_dir)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_limit_threads,
                             initargs=(1,)) as pool:
        # both solves in one process, one after the other, while the members train
        future = pool.submit(_fit_partners, _portable(pcfg.values),
                             _portable(final_cfg.values), pcfg.base_dir)
        result = train_ensemble(members_cfg, resume=resume, descriptor=descriptor, log=log,
                                save=False)
        if result.interrupted:
            future.cancel()
            return result
        (path, errs), (path_all, errs_all), ridge = future.result()
    partner = Potential.load(path)
    chosen = " chosen on the held-out structures" if cfg.partner_ridge == "auto" else ""
    log(f"partner: {cfg.partner} SNAP fitted without the held-out structures ({path}; "
        f"ridge {ridge:g}{chosen}); validation errors {_fmt(errs)}")
    networks = result.ensemble
    r_n, r_p = _residuals(networks, held_refs), _residuals(partner, held_refs)
    w = choose_weight(r_n, r_p, {"energy": cfg.energy_weight, "forces": cfg.forces_weight,
                                 "stress": cfg.stress_weight})
    r_m = {k: (1 - w) * r_n[k] + w * r_p[k] for k in r_n}
    mixing = Mixing(w, len(held), _rmse(r_n), _rmse(r_p), _rmse(r_m))
    log(f"mixing weight of the partner w = {w:.3f}, chosen on {len(held)} held-out structures "
        "(RMSE energy meV/atom, forces eV/Å, stress eV/Å³):")
    for label, e in (("networks", mixing.networks), ("partner", mixing.partner),
                     ("mixture", mixing.mixture)):
        log(f"  {label:9s} " + "  ".join(f"{k} {v:.4g}" for k, v in e.items()))
    metadata = dict(networks.metadata)
    metadata["training"] = dict(metadata.get("training", {}), partner=cfg.partner,
                                partner_twojmax=cfg.partner_twojmax, partner_ridge=ridge,
                                holdout=[int(i) for i in held],
                                mixing={"weight": w, "networks": mixing.networks,
                                        "partner": mixing.partner, "mixture": mixing.mixture})
    ensemble = Ensemble(networks.members, metadata=metadata, partner=partner,
                        partner_weight=w)
    _calibrate(ensemble, kept_frames, [frames[i] for i in held], log)
    # the held-out structures have chosen w and fitted the error bars; the partner, a
    # linear solve with nothing left to choose, is the one fitted on every structure
    ensemble = Ensemble(networks.members, metadata=metadata,
                        partner=Potential.load(path_all), partner_weight=w,
                        calibration=ensemble.calibration)
    log(f"partner: the {cfg.partner} SNAP refitted on all {len(frames)} structures "
        f"({path_all}; training errors {_fmt(errs_all)}) is the one mixed in")
    ensemble.save(cfg.model)
    log(f"ensemble of {len(ensemble)} with its {cfg.partner} partner written to {cfg.model}")
    result.ensemble = ensemble
    result.mixing = mixing
    return result
