"""The training loop: data → split → preprocessing → epochs → best model.

    from ase_nnp import train
    result = train("data.extxyz", model="my.nnp", cutoff=5.0, hidden_layers=[20, 20])

or ``ase-nnp train config.toml [--resume]``; the keys are those of
:mod:`ase_nnp.training.config`.

Per epoch (one L-BFGS iteration, one Adam pass over the training set, or one
Kalman-filter pass of energy and force updates) the
loop records the training loss and the RMSEs of energy (meV/atom), forces
(eV/Å) and stress (GPa) on the training and validation sets, appends them to
the learning-curve CSV, and writes the model atomically whenever the
validation loss improves. It stops at ``max_epochs``, after ``patience``
epochs without improvement, at ``time_limit``, or when L-BFGS converges.
With ``gdf = true`` the training atoms' force weights are multiplied by their
GDF weights before fitting (:mod:`ase_nnp.training.gdf_weighting`); the model
file's training summary keeps the GDF settings and, per element, c and the
weight range.

Checkpoints hold everything the loop needs to continue exactly (parameters,
optimiser state including its random generator, best model so far, early
stopping counter, learning curve), together with the data key and the
settings; ``resume`` refuses a checkpoint made with other data or settings.
A resumed run gives bit for bit the parameters of an uninterrupted one. Ctrl-C
(or SIGTERM, as batch systems send) writes the checkpoint of the last completed
epoch before stopping.
"""

import json
import os
import time
from dataclasses import dataclass, field

import numpy as np
from ase import units

from ..analysis.species import composition_counts, rank_warning
from ..atomic import atomic_path
from ..exceptions import CheckpointError, ConfigError, DescriptorSpecError
from ..potential import Potential
from . import gdf_weighting
from .baseline import min_pair_distances, subtract_baseline
from .cache import cache_key, load_or_build
from .config import BEFORE_THE_KEY, RESUMABLE_CHANGES, TrainingConfig, memory_limit_bytes
from .dataset import (DatasetError, apply_group_weights, check_elements, check_weights, read,
                      summarize)
from .loss import LossWeights, Residuals, loss_and_gradient
from .mapping_monitor import MappingMonitor
from .optimizers import OPTIMIZERS, Adam, KalmanFilter, LBFGS, ParameterVector, objective_for
from .preprocess import degenerate_columns, fit_energy_offsets, fit_scaling
from .warm_start import warm_start
from . import linear
from ..descriptors import family
from ..descriptors.symmetry_functions.presets import PRESETS
from ..elements import symbol
from ..repulsion import ZBLRepulsion
from .dataset import frames

CHECKPOINT_FORMAT = "ase-nnp-checkpoint"
CHECKPOINT_VERSION = 1
COLUMNS = ("epoch", "seconds", "train_loss", "train_energy_meV_atom", "train_forces_eV_A",
           "train_stress_GPa", "val_loss", "val_energy_meV_atom", "val_forces_eV_A",
           "val_stress_GPa")
#: the patience above which a Kalman run is told that early stopping will hardly act:
#: its epochs are few and long (n2p2's recommended run is 10 epochs; the shipped Si
#: potential 24), unlike L-BFGS iterations, for which the default of 100 is meant
KALMAN_PATIENCE = 10
#: with ``test_every``: the test RMSEs, after COLUMNS (NaN in the epochs between)
TEST_COLUMNS = ("test_energy_meV_atom", "test_forces_eV_A", "test_stress_GPa")


@dataclass
class TrainingResult:
    potential: Potential
    epochs: int                  # epochs completed (including resumed ones)
    best_epoch: int
    stopped_because: str
    train_errors: dict
    validation_errors: dict
    test_errors: dict = field(default_factory=dict)
    history: np.ndarray = None   # learning curve, columns ``columns``
    interrupted: bool = False
    columns: tuple = COLUMNS     # COLUMNS, TEST_COLUMNS with test_every, the [monitor] columns


def build_descriptor(cfg, elements):
    """The descriptor of the [descriptor] section: a preset, or the registered family
    ``cfg.family`` built from its own keys (:mod:`ase_nnp.descriptors.base`)."""
    if cfg.preset:
        preset_elements, build = PRESETS[cfg.preset]
        if list(elements) != preset_elements:
            raise DatasetError(f"preset {cfg.preset!r} is for {', '.join(preset_elements)} "
                               f"only; the data has {elements}")
        return build()
    cls = family(cfg.family)
    settings = {k: cfg.values[k] for k in ("cutoff", *cls.CONFIG_KEYS)}
    if cfg.kind == "quadratic":
        if "quadraticflag" not in settings:
            raise ConfigError(f"[model] kind = 'quadratic' needs family = 'bispectrum' (its "
                              f"quadraticflag); family is {cfg.family!r}")
        settings["quadraticflag"] = 1
    try:
        return cls.from_config(elements, settings)
    except DescriptorSpecError as err:
        raise ConfigError(f"[descriptor] {err}") from None


def _fmt(errs):
    parts = [f"E {errs['energy']:.3f} meV/atom"]
    if "forces" in errs:
        parts.append(f"F {errs['forces']:.4f} eV/Å")
    if "stress" in errs:
        parts.append(f"σ {errs['stress']:.4f} GPa")
    return ", ".join(parts)


class Trainer:
    """One training run (see the module docstring). ``config``: a
    :class:`TrainingConfig`, a TOML path, or a dict of keys."""

    def __init__(self, config, descriptor=None, log=print, bootstrap_seed=None):
        if isinstance(config, (str, os.PathLike)):
            config = TrainingConfig.from_toml(config)
        elif isinstance(config, dict):
            config = TrainingConfig(config)
        self.cfg = config
        self.bootstrap_seed = bootstrap_seed      # an ensemble member's resampling
        self.log = _tee(log or (lambda *a, **k: None), config.log_file)
        self.descriptor = descriptor
        self.weights = LossWeights(config.energy_weight, config.forces_weight,
                                   config.stress_weight, config.atomic_energies_weight,
                                   config.weight_decay)

    # ------------------------------------------------------------ setup
    def prepare(self):
        cfg = self.cfg
        if cfg.test_every and not cfg.test:
            raise ConfigError(f"[data] test_every = {cfg.test_every} evaluates the test files, "
                              "but [data] test names none; add test files or set test_every "
                              "= 0")
        refs = read(cfg.train, cfg.index, cfg.units, cfg.stress_order)
        n_train_refs = len(refs)
        if cfg.validation:
            refs = refs + read(cfg.validation, cfg.index, cfg.units, cfg.stress_order)
        elements = self._elements(refs)
        check_elements(refs, elements)
        refs = apply_group_weights(refs, cfg.group_weights)
        check_weights(refs, self.weights)
        if self.descriptor is None:
            self.descriptor = build_descriptor(cfg, elements)
        elif list(self.descriptor.elements) != elements:
            raise DatasetError(f"the descriptor covers {self.descriptor.elements}, the "
                               f"settings/data need {elements}")
        self.log(f"data: {summarize(refs)}")
        self.summary = summarize(refs)
        self.min_distances = min_pair_distances(refs, elements, self.descriptor.cutoff)
        self.repulsion = self._repulsion(elements)
        if self.repulsion is not None:
            refs = subtract_baseline(refs, self.repulsion, elements)
        t = time.perf_counter()
        self.data_key = cache_key(self.descriptor, refs)
        self.jacobian_limit = memory_limit_bytes(cfg)
        fs_all, how = load_or_build(cfg.cache or None, self.descriptor, refs, self.log,
                                    key=self.data_key, jacobian_limit=self.jacobian_limit)
        size = (f" ({os.path.getsize(cfg.cache) / 2**20:.1f} MiB)"
                if cfg.cache and os.path.exists(cfg.cache) else "")
        self.log(f"descriptors: {fs_all} ({how} in {time.perf_counter() - t:.1f} s"
                 f"{', cache ' + cfg.cache + size if cfg.cache else ''})")
        if not fs_all.stores_jacobian:
            need = fs_all.n_pairs * fs_all.G.shape[1] * 24
            self.log(f"dG/dD would take {need / 2**30:.2f} GiB, over memory_limit = "
                     f"{cfg.memory_limit!r} ({self.jacobian_limit / 2**30:.2f} GiB): it is "
                     "recomputed by the descriptor's kernels at every evaluation "
                     f"({fs_all.stored_bytes() / max(fs_all.n_atoms, 1) / 1e3:.1f} kB per atom "
                     "stored)")
        if cfg.validation:
            train_idx = np.arange(n_train_refs)
            val_idx = np.arange(n_train_refs, len(refs))
        else:
            order = np.random.default_rng(cfg.split_seed).permutation(n_train_refs)
            n_val = int(round(cfg.validation_fraction * n_train_refs))
            if cfg.validation_fraction > 0 and n_train_refs > 1:
                n_val = min(max(n_val, 1), n_train_refs - 1)
            val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        self.train_set = fs_all.subset(train_idx)
        if self.bootstrap_seed is not None:
            # drawing with replacement: a structure drawn n times counts n times (weight n)
            draws = np.random.default_rng(self.bootstrap_seed).integers(len(train_idx),
                                                                        size=len(train_idx))
            counts = np.bincount(draws, minlength=len(train_idx))
            keep = np.flatnonzero(counts)
            self.train_set = fs_all.subset(train_idx[keep])
            self.train_set.weight = self.train_set.weight * counts[keep]
            self.log(f"bootstrap: {len(keep)} distinct structures of {len(train_idx)} drawn")
        self.val_set = fs_all.subset(val_idx) if len(val_idx) else None
        self.log(f"split: {len(train_idx)} training, {len(val_idx)} validation structures")
        offsets = rank_warning(composition_counts(self.train_set.frame, self.train_set.species,
                                                  len(elements)), elements)
        if offsets:
            self.log(offsets)
        self.gdf = None
        if cfg.gdf:
            self.gdf = gdf_weighting.apply(self.train_set, self.descriptor, elements, cfg,
                                           train_idx, self.data_key, self.log)
        linear = cfg.kind != "network"
        pot = Potential(elements, self.descriptor,
                        hidden_layers=() if linear else tuple(cfg.hidden_layers),
                        activation="identity" if linear else cfg.activation,
                        seed=cfg.init_seed, repulsion=self.repulsion,
                        min_distances=self.min_distances)
        fit_energy_offsets(pot, self.train_set)
        # a linear model's coefficients are those of G itself (scaling "none"; the
        # statistics stay for the extrapolation check)
        fit_scaling(pot, self.train_set, mode="none" if linear else cfg.scaling)
        for e, k, label, lo, hi in degenerate_columns(pot):
            self.log(f"warning: descriptor column {k} of {e} ({label}) spans only {lo:.3g} … "
                     f"{hi:.3g} over the training atoms: it carries no information, and its "
                     "scaling would blow up any structure outside the data; leave it out (e.g. "
                     "radial_r_low for a shifted radial grid) or use functions where the data "
                     "has neighbours")
        if cfg.init_model:
            if linear:
                raise ConfigError(f"[network] init_model is for networks; [model] kind = "
                                  f"{cfg.kind!r} is fitted in one solve and needs no start")
            k = warm_start(pot, cfg.init_model, cfg.init_member)
            self.log(f"warm start: the networks of {cfg.init_model}"
                     f"{f' (member {k})' if k or cfg.init_member else ''}, re-expressed in "
                     "this run's scaling and reference energies")
        self.potential = pot
        self.pv = ParameterVector(pot)
        self.monitor = MappingMonitor(cfg, pot, self.log)
        self.test_columns = TEST_COLUMNS if cfg.test_every else ()
        self.columns = COLUMNS + self.test_columns + self.monitor.columns
        self._test_set = None

    def _repulsion(self, elements):
        """The ZBL baseline of the settings (None without one); logs where it switches off."""
        cfg = self.cfg
        if cfg.repulsion == "none":
            return None
        md = self.min_distances
        if cfg.repulsion_outer > 0:
            outer = np.full_like(md, cfg.repulsion_outer)
        else:
            if np.all(np.isnan(md)):
                raise ConfigError("[repulsion] repulsion_outer = 0 takes the smallest distance "
                                  "of each element pair in the training data, but no two atoms "
                                  "there lie within the cutoff; set repulsion_outer (Å)")
            outer = np.where(np.isnan(md), np.nanmin(md), md)
        rep = ZBLRepulsion.below(elements, outer, cfg.repulsion_inner_fraction)
        pairs = ", ".join(f"{elements[a]}-{elements[b]} {rep.inner[a, b]:.3f}-{rep.outer[a, b]:.3f} Å"
                          for a in range(len(elements)) for b in range(a, len(elements)))
        self.log(f"repulsion: ZBL switched off over {pairs}")
        return rep

    def _elements(self, refs):
        if self.cfg.elements:
            return list(self.cfg.elements)
        if self.descriptor is not None:
            return list(self.descriptor.elements)
        zs = sorted({int(z) for r in refs for z in r.atoms.numbers})
        return [symbol(z) for z in zs]

    def _objective(self):
        """The training objective; it remembers the loss parts of the last
        full-batch evaluation, so an L-BFGS epoch needs no extra pass for its RMSEs."""
        self._last = {}

        def remember(theta, parts):
            self._last = {"theta": theta.tobytes(), "parts": parts}
        return objective_for(self.potential, self.train_set, self.weights, remember)[1]

    def _evaluate(self, fs, theta):
        if fs is None:
            return np.nan, {}
        self.pv.set(theta)
        loss, _, parts = loss_and_gradient(self.potential, fs, self.weights, gradient=False)
        return loss, parts["rmse"]

    # ------------------------------------------------------------ state
    def _new_state(self):
        cfg = self.cfg
        theta = self.pv.get()
        if cfg.method == "lbfgs":
            opt = LBFGS(cfg.memory)
        elif cfg.method == "kalman":
            opt = self._kalman(len(theta))
        else:
            opt = Adam(len(theta), cfg.learning_rate, cfg.lr_decay, cfg.batch_size,
                       cfg.init_seed)
        return {"epoch": 0, "theta": theta, "optimizer": opt, "best_loss": np.inf,
                "best_theta": theta.copy(), "best_epoch": -1, "bad_epochs": 0, "elapsed": 0.0,
                "history": []}

    def _kalman(self, n_parameters):
        """The Kalman filter of the [optimizer] keys; logs its plan per epoch."""
        cfg = self.cfg
        opt = KalmanFilter(n_parameters, cfg.kalman_type, cfg.kalman_epsilon, cfg.kalman_q0,
                           cfg.kalman_qtau, cfg.kalman_qmin, cfg.kalman_eta, cfg.kalman_etatau,
                           cfg.kalman_etamax, cfg.kalman_lambda_short, cfg.kalman_nue_short,
                           cfg.short_energy_fraction, cfg.short_force_fraction,
                           cfg.kalman_force_group, cfg.selection_mode,
                           cfg.short_energy_error_threshold, cfg.short_force_error_threshold,
                           cfg.rmse_threshold_trials, cfg.init_seed,
                           stress_fraction=cfg.short_stress_fraction,
                           normalization=cfg.kalman_normalization,
                           force_energy_ratio=cfg.force_energy_ratio)
        residuals = Residuals(self.potential, self.train_set, self.weights)
        plan = opt.plan(residuals)
        (e_cand, f_cand, s_cand), (n_e, n_f, n_s) = plan.candidates, plan.counts
        if n_e + n_f + n_s == 0:
            raise ConfigError(
                f"[optimizer] short_energy_fraction = {cfg.short_energy_fraction:g} of "
                f"{len(e_cand)} energies, short_force_fraction = "
                f"{cfg.short_force_fraction:g} of {len(f_cand)} force components (groups of "
                f"{cfg.kalman_force_group}) and short_stress_fraction = "
                f"{cfg.short_stress_fraction:g} of {len(s_cand)} stresses give no Kalman "
                "update per epoch")
        self.log(f"Kalman filter ({cfg.kalman_type}, {cfg.selection_mode} selection): per "
                 f"epoch {n_e} energy, {n_f} force ({cfg.kalman_force_group} "
                 f"component{'s' if cfg.kalman_force_group > 1 else ''} each) and {n_s} "
                 f"stress updates; P is {n_parameters}² ({opt.P.nbytes / 2**20:.0f} MiB)")
        if cfg.kalman_normalization != "none":
            rms = residuals.null_rms()
            self.log(f"  residuals normalised ({cfg.kalman_normalization}) by the data's "
                     f"spread: energy {1e3 * rms['energy']:.3g} meV/atom, forces "
                     f"{rms['forces']:.3g} eV/Å, stress {rms['stress'] / units.GPa:.3g} GPa")
        if cfg.patience > KALMAN_PATIENCE:
            self.log(f"  note: patience = {cfg.patience} epochs; a Kalman epoch is "
                     f"{n_e + n_f + n_s} updates and a run learns in tens of epochs, so "
                     f"early stopping after {cfg.patience} epochs without improvement "
                     f"rarely stops it before max_epochs or time_limit; patience = "
                     f"{KALMAN_PATIENCE} stops a run soon after its best epoch")
        if n_s == 0 and self.weights.stress > 0 and self.train_set.has_stress.any():
            self.log("  note: with short_stress_fraction = 0 the Kalman filter updates from "
                     "energies and forces only; the stress term enters the reported loss "
                     "only")
        return opt

    def _write_checkpoint(self, snap):
        import h5py
        with atomic_path(self.cfg.checkpoint, suffix=".h5.tmp") as tmp:
            with h5py.File(tmp, "w") as f:
                f.attrs["format"] = CHECKPOINT_FORMAT
                f.attrs["version"] = CHECKPOINT_VERSION
                f.attrs["settings"] = self.cfg.to_json()
                f.attrs["data_key"] = self.data_key
                f.attrs["optimizer"] = snap["optimizer_name"]
                for k in ("epoch", "best_loss", "best_epoch", "bad_epochs", "elapsed"):
                    f.attrs[k] = snap[k]
                f["theta"] = snap["theta"]
                f["best_theta"] = snap["best_theta"]
                f["history"] = np.array(snap["history"], dtype=np.float64).reshape(-1, len(self.columns))
                g = f.create_group("optimizer_state")
                for k, v in snap["optimizer_state"].items():
                    g[k] = v

    def _read_checkpoint(self):
        import h5py
        path = self.cfg.checkpoint
        if not os.path.exists(path):
            raise CheckpointError(f"{path}: no checkpoint to resume from; start without --resume")
        try:
            with h5py.File(path, "r") as f:
                if f.attrs.get("format") != CHECKPOINT_FORMAT:
                    raise CheckpointError(f"{path} is not an ase-nnp checkpoint")
                if int(f.attrs["version"]) != CHECKPOINT_VERSION:
                    raise CheckpointError(f"{path}: checkpoint version {f.attrs['version']} is "
                                          f"not {CHECKPOINT_VERSION}; start a new run")
                if f.attrs["data_key"] != self.data_key:
                    raise CheckpointError(f"{path} was made with other training data or "
                                          "another descriptor; start a new run without --resume")
                saved = json.loads(f.attrs["settings"])
                now = self.cfg.fingerprint()
                # a key added to the schema after the checkpoint was written had its default then
                then = {**TrainingConfig.defaults(),
                        **(BEFORE_THE_KEY if saved.get("method") == "kalman" else {})}
                saved = {**{k: v for k, v in then.items() if k in now}, **saved}
                changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
                if changed:
                    raise CheckpointError(
                        f"{path} was made with other settings ({', '.join(changed)}); only "
                        f"{', '.join(sorted(RESUMABLE_CHANGES))} may change on --resume")
                name = f.attrs["optimizer"]
                opt = OPTIMIZERS[name].from_state({k: v[()] for k, v in f["optimizer_state"].items()})
                state = {k: f.attrs[k].item() for k in ("epoch", "best_loss", "best_epoch",
                                                        "bad_epochs", "elapsed")}
                state.update(theta=f["theta"][()], best_theta=f["best_theta"][()],
                             history=[tuple(r) for r in f["history"][()]], optimizer=opt)
                return state
        except (OSError, KeyError) as err:
            raise CheckpointError(f"{path}: unreadable checkpoint ({err}); start a new run") from None

    def _snapshot(self, st):
        return {"optimizer_name": st["optimizer"].name,
                "optimizer_state": {k: np.copy(v) for k, v in st["optimizer"].state().items()},
                "theta": st["theta"].copy(), "best_theta": st["best_theta"].copy(),
                "epoch": st["epoch"], "best_loss": st["best_loss"], "best_epoch": st["best_epoch"],
                "bad_epochs": st["bad_epochs"], "elapsed": st["elapsed"],
                "history": list(st["history"])}

    def _monitor_row(self, theta, epoch):
        if not self.monitor.columns:
            return ()
        self.pv.set(theta)
        return self.monitor.row(self.potential, epoch)

    def _write_curve(self, history):
        with atomic_path(self.cfg.learning_curve) as tmp, open(tmp, "w") as fh:
            fh.write(",".join(self.columns) + "\n")
            for row in history:
                fh.write(f"{int(row[0])}," + ",".join(f"{x:.8g}" for x in row[1:]) + "\n")

    def _save_model(self, theta, st, val_errors, **extra):
        self.pv.set(theta)
        self.potential.save(self.cfg.model, training={
            "epoch": int(st["epoch"]), **extra, "validation_rmse": val_errors,
            "elapsed_minutes": round(st["elapsed"] / 60.0, 2),
            "settings": self.cfg.fingerprint(), "data": str(self.summary),
            **({"gdf": self.gdf} if self.gdf else {})})

    # ------------------------------------------------------------ loop
    def run(self, resume=False):
        cfg = self.cfg
        if not hasattr(self, "potential"):
            self.prepare()
        if cfg.kind != "network":
            return self._run_linear()
        st = self._read_checkpoint() if resume else self._new_state()
        if resume:
            self.log(f"resuming {cfg.checkpoint} after epoch {st['epoch']} "
                     f"(best epoch {st['best_epoch']})")
        objective = self._objective()
        snap = self._snapshot(st)
        bar = _progress(cfg.progress, cfg.max_epochs, st["epoch"], cfg.time_limit,
                        st["elapsed"])
        reason, interrupted = "max_epochs", False
        theta = st["theta"]
        t_start = time.perf_counter() - st["elapsed"]
        restore = _terminate_as_interrupt()
        try:
            while st["epoch"] < cfg.max_epochs:
                epoch = st["epoch"]
                opt = st["optimizer"]
                theta, train_loss = opt.epoch(theta, objective, len(self.train_set), epoch)
                if self._last.get("theta") == theta.tobytes():
                    train_errors = self._last["parts"]["rmse"]
                else:
                    train_loss, train_errors = self._evaluate(self.train_set, theta)
                val_loss, val_errors = self._evaluate(self.val_set, theta)
                st["epoch"] = epoch + 1
                st["theta"] = theta
                st["elapsed"] = time.perf_counter() - t_start
                test_row = ()
                if self.test_columns:
                    t_test = time.perf_counter()
                    test_row = (self._test_row(self._test_errors(theta))
                                if (epoch + 1) % cfg.test_every == 0 else (np.nan,) * 3)
                    t_start += time.perf_counter() - t_test    # not training time
                watch = val_loss if self.val_set is not None else train_loss
                st["history"].append((epoch + 1, st["elapsed"], train_loss,
                                      train_errors.get("energy", np.nan),
                                      train_errors.get("forces", np.nan),
                                      train_errors.get("stress", np.nan), val_loss,
                                      val_errors.get("energy", np.nan),
                                      val_errors.get("forces", np.nan),
                                      val_errors.get("stress", np.nan))
                                     + test_row + self._monitor_row(theta, epoch + 1))
                if watch < st["best_loss"]:
                    st.update(best_loss=watch, best_theta=theta.copy(), best_epoch=epoch + 1,
                              bad_epochs=0)
                    self._save_model(theta, st, val_errors or train_errors)
                else:
                    st["bad_epochs"] += 1
                snap = self._snapshot(st)
                self._write_curve(st["history"])
                bar.update(epoch + 1, train_errors, val_errors, st["elapsed"])
                if opt.converged:
                    reason = "converged"
                elif cfg.patience and st["bad_epochs"] >= cfg.patience:
                    reason = "early stopping"
                elif cfg.time_limit and st["elapsed"] > 60.0 * cfg.time_limit:
                    reason = "time limit"
                elif cfg.checkpoint_every and (epoch + 1) % cfg.checkpoint_every == 0:
                    self._write_checkpoint(snap)
                    continue
                else:
                    continue
                break
        except KeyboardInterrupt:
            interrupted, reason = True, "interrupted"
            self.log(f"\ninterrupted: saving the checkpoint after epoch {snap['epoch']} to "
                     f"{cfg.checkpoint}; continue with --resume")
        finally:
            bar.close()
            restore()
        self._write_checkpoint(snap)
        self._write_curve(snap["history"])
        best = snap["best_theta"]
        _, train_errors = self._evaluate(self.train_set, best)
        _, val_errors = self._evaluate(self.val_set, best)
        test_errors = self._test_errors(best) if not interrupted else {}
        self.pv.set(best)                    # the potential returned is the best model
        if snap["best_epoch"] >= 1:
            self.log(f"stopped ({reason}) after {snap['epoch']} epochs; best epoch "
                     f"{snap['best_epoch']} written to {cfg.model}")
        else:
            self.log(f"stopped ({reason}) after {snap['epoch']} epochs; no epoch gave a finite "
                     f"loss, so no model was written to {cfg.model}")
        self._log_errors(train_errors, val_errors, test_errors)
        return TrainingResult(self.potential, snap["epoch"], snap["best_epoch"], reason,
                              train_errors, val_errors, test_errors,
                              np.array(snap["history"]).reshape(-1, len(self.columns)),
                              interrupted, self.columns)


    def _log_errors(self, train_errors, val_errors, test_errors):
        """The closing RMSE lines of a run (validation and test when there are any)."""
        self.log(f"  train      {_fmt(train_errors)}")
        if val_errors:
            self.log(f"  validation {_fmt(val_errors)}")
        if test_errors:
            self.log(f"  test       {_fmt(test_errors)}")

    def _test_errors(self, theta):
        """The RMSEs on the [data] test files with parameters theta ({} without any); the
        files are read and their descriptors computed once."""
        if not self.cfg.test:
            return {}
        if self._test_set is None:
            from .dataset import frames
            test_refs = read(self.cfg.test, self.cfg.index, self.cfg.units)
            check_elements(test_refs, self.potential.elements)
            if self.repulsion is not None:
                test_refs = subtract_baseline(test_refs, self.repulsion,
                                              self.potential.elements)
            self._test_set = frames(self.descriptor, test_refs, self.jacobian_limit)
        return self._evaluate(self._test_set, theta)[1]

    @staticmethod
    def _test_row(errors):
        """The TEST_COLUMNS values of test RMSEs (NaN for a quantity the files lack)."""
        return tuple(errors.get(k, np.nan) for k in ("energy", "forces", "stress"))

    def _run_linear(self):
        """[model] kind = 'linear' or 'quadratic': one weighted least-squares solve of
        the loss (:mod:`ase_nnp.training.linear`), then the usual errors, model file,
        learning curve (one row) and summary."""
        cfg = self.cfg
        t = time.perf_counter()
        if cfg.ridge == "auto" and self.val_set is None:
            raise ConfigError('[model] ridge = "auto" chooses ρ on the validation structures, '
                              "but this run has none: set [data] validation_fraction > 0 or "
                              "validation files, or give ridge a number")
        sol = linear.fit(self.potential, self.train_set, self.weights, ridge=cfg.ridge,
                         validation=self.val_set)
        elapsed = time.perf_counter() - t
        theta = self.pv.get()
        train_loss, train_errors = self._evaluate(self.train_set, theta)
        val_loss, val_errors = self._evaluate(self.val_set, theta)
        test_errors = self._test_errors(theta)
        self.log(f"{cfg.kind} model: {sol.n_columns} coefficients from {sol.n_rows} rows in "
                 f"{elapsed:.1f} s (rank {sol.rank}, condition {sol.condition:.3g}"
                 f"{f', ridge {sol.ridge:g}' if sol.ridge else ''})")
        if sol.ridge_scan:
            self.log("  ridge chosen on the validation structures (ρ: validation loss): "
                     + ", ".join(f"{rho:g}: {loss:.4g}" for rho, loss in sol.ridge_scan))
        if sol.rank < sol.n_columns:
            self.log(f"  note: {sol.n_columns - sol.rank} direction(s) of the coefficients are "
                     "not fixed by the data (dependent or constant columns); they got the "
                     "minimum-norm value")
        history = [(1, elapsed, train_loss, train_errors.get("energy", np.nan),
                    train_errors.get("forces", np.nan), train_errors.get("stress", np.nan),
                    val_loss, val_errors.get("energy", np.nan), val_errors.get("forces", np.nan),
                    val_errors.get("stress", np.nan))
                   + (self._test_row(test_errors) if self.test_columns else ())
                   + self._monitor_row(theta, 1)]
        self._save_model(theta, {"epoch": 1, "elapsed": elapsed}, val_errors or train_errors,
                         model=cfg.kind, rank=sol.rank, condition=sol.condition,
                         ridge=sol.ridge)
        self._write_curve(history)
        self.log(f"solved; {cfg.kind} model written to {cfg.model}")
        self._log_errors(train_errors, val_errors, test_errors)
        return TrainingResult(self.potential, 1, 1, "solved", train_errors, val_errors,
                              test_errors, np.array(history).reshape(-1, len(self.columns)),
                              False, self.columns)


def _tee(log, path):
    """``log`` that also appends every line, time-stamped, to the file ``path`` ('' : not)."""
    if not path:
        return log

    def both(*parts, **kwargs):
        log(*parts, **kwargs)
        try:
            with open(path, "a") as fh:
                fh.write(time.strftime("%Y-%m-%d %H:%M:%S ") + " ".join(map(str, parts)) + "\n")
        except OSError:
            pass            # a log file that cannot be written never stops a run
    return both


def _terminate_as_interrupt():
    """SIGTERM (a batch system's stop) is handled like Ctrl-C: checkpoint, then stop.
    Returns the function that puts the previous handler back."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _eta(epoch, elapsed, initial, elapsed_at_start, max_epochs, time_limit):
    """Seconds left and the bound that gives them: ``"epochs"`` or ``"time limit"``.

    The run ends at ``max_epochs`` or at ``time_limit`` minutes of training (0: none),
    whichever comes first (early stopping cannot be foreseen). The epochs bound is the
    epochs left times the mean seconds per epoch of this run so far (epochs ``initial`` to
    ``epoch``, after a resume only those of this session); the time bound is the time limit
    less ``elapsed`` (which a resume carries over). The shorter one is returned, with its
    name; ``(None, "")`` before any epoch of this session has been timed.
    """
    done = epoch - initial
    if done <= 0:
        return None, ""
    by_epochs = (elapsed - elapsed_at_start) / done * max(0, max_epochs - epoch)
    if time_limit and 60.0 * time_limit - elapsed < by_epochs:
        return max(0.0, 60.0 * time_limit - elapsed), "time limit"
    return by_epochs, "epochs"


def _duration(seconds):
    """``"45 s"``, ``"12 min"`` or ``"2.5 h"``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class _progress:
    """tqdm when installed, else one line per epoch; nothing when disabled.

    Both show the time left as the shorter of the epochs bound and the time-limit bound
    (:func:`_eta`) and say which one applies, e.g. ``ETA 3 min (time limit)``; tqdm's own
    estimate, which knows only the epoch count, is left out of its bar.
    """

    def __init__(self, enabled, total, initial, time_limit=0.0, elapsed=0.0):
        self.enabled, self.bar = enabled, None
        self.total, self.initial, self.time_limit = total, initial, time_limit
        self.elapsed_at_start = elapsed
        if enabled:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, initial=initial, unit="epoch", dynamic_ncols=True,
                                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} "
                                           "[{elapsed}{postfix}]")
            except ImportError:
                pass

    def update(self, epoch, train, val, elapsed):
        """Report epoch ``epoch`` (1-based), done after ``elapsed`` s of training in all."""
        if not self.enabled:
            return
        text = f"train {_fmt(train)}" + (f" | val {_fmt(val)}" if val else "")
        left, bound = _eta(epoch, elapsed, self.initial, self.elapsed_at_start, self.total,
                           self.time_limit)
        eta = f"ETA {_duration(left)} ({bound})" if left is not None else ""
        if self.bar is not None:
            self.bar.set_postfix_str(f"{eta}, {text}" if eta else text, refresh=False)
            self.bar.update(1)
        else:
            print(f"epoch {epoch}/{self.total}: {text}" + (f" | {eta}" if eta else ""),
                  flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
