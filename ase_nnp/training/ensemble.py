"""Training an ensemble: K members, one descriptor, one model file.

``[ensemble] ensemble_size = K`` (``ase_nnp.train(..., ensemble_size=K)``) trains K
potentials one after another with the settings of the run, member k with

* ``split_seed + k`` (its own train/validation split) and ``init_seed + k`` (its own
  initial weights),
* its own reference energies and input scaling (fitted to its own training set),
* with ``init_model`` (a warm start), member ``init_member + k`` of that file,
* with ``bootstrap = true``: its training structures drawn with replacement from its
  split (a structure drawn n times has weight n, the same as n copies of it),

as in the five-network estimate of Yoo et al. (Phys. Rev. Materials 3, 093802 (2019),
supplement). All members share the descriptor specification and its cache. Member k
keeps its own files next to the model (``<model>.member<k>.nnp``, ``.checkpoint.h5``,
``.curve.csv``); ``ensemble.json`` beside them records the finished members, so
``--resume`` skips those and resumes the one that was interrupted exactly as a single
run would. At the end the members are written as one ensemble file (``model``,
:class:`ase_nnp.Ensemble`) and a table of every member's errors is logged.
"""

import json
import os
from dataclasses import dataclass, field

from ..atomic import atomic_path
from ..committee import Ensemble
from ..potential import Potential
from .config import TrainingConfig
from .trainer import Trainer, _fmt


@dataclass
class EnsembleTrainingResult:
    ensemble: Ensemble
    members: list = field(default_factory=list)   # TrainingResult per member trained now
    interrupted: bool = False


def _member_paths(model, k):
    stem = model[:-4] if model.endswith(".nnp") else model
    base = f"{stem}.member{k}"
    return {"model": base + ".nnp", "checkpoint": base + ".checkpoint.h5",
            "learning_curve": base + ".curve.csv"}


def _state_path(model):
    stem = model[:-4] if model.endswith(".nnp") else model
    return stem + ".ensemble.json"


def _read_state(path, fingerprint):
    if not os.path.exists(path):
        return {}
    with open(path) as fh:
        state = json.load(fh)
    return state.get("finished", {}) if state.get("settings") == fingerprint else {}


def _write_state(path, fingerprint, finished):
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        json.dump({"settings": fingerprint, "finished": finished}, fh, indent=1)


def train_ensemble(cfg, resume=False, descriptor=None, log=print):
    """Train ``cfg.ensemble_size`` members (module docstring) and write the ensemble."""
    log = log or (lambda *a, **k: None)
    K = cfg.ensemble_size
    fingerprint = cfg.fingerprint()
    state_path = _state_path(cfg.model)
    finished = _read_state(state_path, fingerprint) if resume else {}
    members, results, interrupted = [], [], False
    for k in range(K):
        paths = _member_paths(cfg.model, k)
        if str(k) in finished and os.path.exists(paths["model"]):
            log(f"member {k + 1}/{K}: finished earlier ({paths['model']})")
            members.append(Potential.load(paths["model"]))
            continue
        values = cfg.changed()
        values.update(split_seed=cfg.split_seed + k, init_seed=cfg.init_seed + k,
                      init_member=cfg.init_member + k,
                      ensemble_size=1, **paths)
        member_cfg = TrainingConfig(values, base_dir=cfg.base_dir)
        log(f"member {k + 1}/{K}: split_seed {member_cfg.split_seed}, init_seed "
            f"{member_cfg.init_seed}{', bootstrap' if cfg.bootstrap else ''}")
        trainer = Trainer(member_cfg, descriptor=descriptor, log=log,
                          bootstrap_seed=(cfg.split_seed + k) if cfg.bootstrap else None)
        result = trainer.run(resume=resume and os.path.exists(paths["checkpoint"]))
        results.append(result)
        descriptor = trainer.descriptor             # the next members reuse it (and its plan)
        if result.interrupted:
            interrupted = True
            log(f"interrupted in member {k + 1}/{K}; continue with --resume")
            break
        members.append(result.potential)
        finished[str(k)] = {"validation": result.validation_errors, "train": result.train_errors,
                            "test": result.test_errors, "best_epoch": result.best_epoch}
        _write_state(state_path, fingerprint, finished)
    if interrupted:
        return EnsembleTrainingResult(None, results, True)
    ensemble = Ensemble(members, metadata={"training": {"ensemble_size": K,
                                                        "bootstrap": cfg.bootstrap,
                                                        "members": finished,
                                                        "settings": fingerprint}})
    ensemble.save(cfg.model)
    log(f"ensemble of {K} written to {cfg.model}")
    log("  member  errors of its best epoch (validation; training without validation)")
    for k in range(K):
        errs = finished[str(k)]
        shown = errs["validation"] or errs["train"]
        log(f"  {k:6d}  {_fmt(shown)}" + (f" | test {_fmt(errs['test'])}" if errs["test"]
                                          else ""))
    return EnsembleTrainingResult(ensemble, results, False)
