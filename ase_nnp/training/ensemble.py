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

``[ensemble] workers = W`` trains W members at once, each in a process of its own (the
``spawn`` start method, so no Numba or BLAS thread pool is forked) limited to
⌊cores / W⌋ threads. The members are independent, so the ensemble is the same as with one
worker: member k's numbers depend on its seeds only, never on the order in which the
members finish. The descriptor cache is built once, before the workers start, and only
read by them.
"""

import json
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context

from ..atomic import atomic_path
from ..committee import Ensemble
from ..exceptions import WorkerError
from ..potential import Potential
from .config import TrainingConfig, model_stem
from .trainer import Trainer, _fmt


@dataclass
class EnsembleTrainingResult:
    ensemble: Ensemble
    members: list = field(default_factory=list)   # TrainingResult per member trained now
    interrupted: bool = False
    mixing: object = None       # with a partner: its ase_nnp.training.partner.Mixing


def derived_paths(model, name):
    """The model, checkpoint and learning-curve files of a run derived from the one that
    writes ``model`` (an ensemble member, a partner): ``<model stem>.<name>.nnp`` etc."""
    base = f"{model_stem(model)}.{name}"
    return {"model": base + ".nnp", "checkpoint": base + ".checkpoint.h5",
            "learning_curve": base + ".curve.csv"}


def _member_paths(model, k):
    return derived_paths(model, f"member{k}")


def _state_path(model):
    return model_stem(model) + ".ensemble.json"


def _read_state(path, fingerprint):
    if not os.path.exists(path):
        return {}
    with open(path) as fh:
        state = json.load(fh)
    return state.get("finished", {}) if state.get("settings") == fingerprint else {}


def _write_state(path, fingerprint, finished):
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        json.dump({"settings": fingerprint, "finished": finished}, fh, indent=1)


def _member_config(cfg, k):
    """Member k's configuration: the run's keys with its own seeds and file names."""
    values = cfg.changed()
    values.update(split_seed=cfg.split_seed + k, init_seed=cfg.init_seed + k,
                  init_member=cfg.init_member + k, ensemble_size=1, workers=1,
                  **_member_paths(cfg.model, k))
    return TrainingConfig(values, base_dir=cfg.base_dir)


def _train_member(cfg, k, descriptor, log, resume):
    """Train member k of ``cfg`` (one process); returns (TrainingResult, descriptor)."""
    member_cfg = _member_config(cfg, k)
    trainer = Trainer(member_cfg, descriptor=descriptor, log=log,
                      bootstrap_seed=(cfg.split_seed + k) if cfg.bootstrap else None)
    result = trainer.run(resume=resume and os.path.exists(member_cfg.checkpoint))
    return result, trainer.descriptor


def _limit_threads(threads):
    """Worker initializer: Numba's and BLAS' thread pools limited to ``threads``."""
    import numba
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    _limit_threads.keep = threadpool_limits(threads)      # held for the worker's life


def _worker_member(cfg_values, base_dir, k, descriptor, resume):
    """A worker's member: trained with its own log file only and no progress bar (the
    parent logs a line when it finishes); the potential travels back through its model
    file."""
    cfg = TrainingConfig(dict(cfg_values, progress=False), base_dir=base_dir)
    result, _ = _train_member(cfg, k, descriptor, None, resume)
    result.potential = None
    return result


def _finish(cfg, k, result, members, finished, results, log):
    """Record member k's result; True when it was interrupted."""
    results.append(result)
    if result.interrupted:
        log(f"interrupted in member {k + 1}/{cfg.ensemble_size}; continue with --resume")
        return True
    members[k] = (result.potential if result.potential is not None
                  else Potential.load(_member_paths(cfg.model, k)["model"]))
    finished[str(k)] = {"validation": result.validation_errors, "train": result.train_errors,
                        "test": result.test_errors, "best_epoch": result.best_epoch}
    return False


def _portable(values):
    """``values`` with every in-memory ``Atoms`` of the data keys made picklable: its
    calculator (an EMT or any live calculator may hold closures) replaced by a
    SinglePointCalculator of the results it holds, which is what the data reader uses."""
    from ase.calculators.singlepoint import SinglePointCalculator
    out = dict(values)
    for key in ("train", "validation", "test"):
        items = out.get(key)
        if not isinstance(items, list):
            continue
        portable = []
        for item in items:
            if hasattr(item, "positions") and item.calc is not None:
                copy = item.copy()
                copy.calc = SinglePointCalculator(copy, **item.calc.results)
                item = copy
            portable.append(item)
        out[key] = portable
    return out


def _workers(cfg, todo):
    """Processes to train with: ``cfg.workers``, at most one per member left, and the
    threads each may use."""
    workers = max(1, min(cfg.workers, len(todo)))
    return workers, max(1, (os.cpu_count() or 1) // workers)


def train_ensemble(cfg, resume=False, descriptor=None, log=print, save=True):
    """Train ``cfg.ensemble_size`` members (module docstring) and write the ensemble
    (``save``; a caller that adds to it writes it itself)."""
    log = log or (lambda *a, **k: None)
    K = cfg.ensemble_size
    fingerprint = cfg.fingerprint()
    state_path = _state_path(cfg.model)
    finished = _read_state(state_path, fingerprint) if resume else {}
    members, results, interrupted = [None] * K, [], False
    todo = []
    for k in range(K):
        paths = _member_paths(cfg.model, k)
        if str(k) in finished and os.path.exists(paths["model"]):
            log(f"member {k + 1}/{K}: finished earlier ({paths['model']})")
            members[k] = Potential.load(paths["model"])
        else:
            todo.append(k)
    workers, threads = _workers(cfg, todo)

    def announce(k):
        log(f"member {k + 1}/{K}: split_seed {cfg.split_seed + k}, init_seed "
            f"{cfg.init_seed + k}{', bootstrap' if cfg.bootstrap else ''}")

    if workers == 1:
        for k in todo:
            announce(k)
            result, descriptor = _train_member(cfg, k, descriptor, log, resume)
            if _finish(cfg, k, result, members, finished, results, log):
                interrupted = True
                break
            _write_state(state_path, fingerprint, finished)
    else:
        if cfg.cache:
            # the cache is built here once, so that the workers only read it
            first = Trainer(_member_config(cfg, todo[0]), descriptor=descriptor, log=log)
            first.prepare()
            descriptor = first.descriptor
        log(f"training {len(todo)} members in {workers} processes of {threads} thread"
            f"{'s' if threads > 1 else ''} each")
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                                 initializer=_limit_threads, initargs=(threads,)) as pool:
            futures, values = {}, _portable(cfg.values)
            for k in todo:
                announce(k)
                futures[k] = pool.submit(_worker_member, values, cfg.base_dir, k,
                                         descriptor, resume)
            for k in todo:                  # in member order: the same file as one worker
                while True:
                    try:
                        result = futures[k].result()
                        break
                    except BrokenProcessPool as exc:
                        raise WorkerError(
                            f"the processes training the members ([ensemble] workers = "
                            f"{workers}) stopped before finishing member {k + 1}. They are "
                            "started with 'spawn', which imports the calling script again: a "
                            "script that calls ase_nnp.train(..., workers > 1) must do so under "
                            "`if __name__ == \"__main__\":`; otherwise set workers = 1 (or the "
                            "machine ran out of memory: fewer workers)") from exc
                    except KeyboardInterrupt:
                        # Ctrl-C reached the workers too: each saves its checkpoint and
                        # returns an interrupted result, which is waited for here
                        interrupted = True
                log(f"member {k + 1}/{K} finished: {_fmt(result.validation_errors or result.train_errors)}")
                interrupted |= _finish(cfg, k, result, members, finished, results, log)
                if not interrupted:
                    _write_state(state_path, fingerprint, finished)
    if interrupted:
        return EnsembleTrainingResult(None, results, True)
    ensemble = Ensemble(members, metadata={"training": {"ensemble_size": K,
                                                        "bootstrap": cfg.bootstrap,
                                                        "members": finished,
                                                        "settings": fingerprint}})
    if save:
        ensemble.save(cfg.model)
        log(f"ensemble of {K} written to {cfg.model}")
    log("  member  errors of its best epoch (validation; training without validation)")
    for k in range(K):
        errs = finished[str(k)]
        shown = errs["validation"] or errs["train"]
        log(f"  {k:6d}  {_fmt(shown)}" + (f" | test {_fmt(errs['test'])}" if errs["test"]
                                          else ""))
    return EnsembleTrainingResult(ensemble, results, False)
