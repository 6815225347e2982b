"""A replica ensemble: per-atom uncertainty for a potential you already have.

Members of an ordinary ensemble are trained on total energies, and the partition of a
total energy into atomic energies is not unique: two members may agree on every total
and still disagree on atomic energies inside the training domain, which blurs a
per-atom σ. The replica ensemble (Jeong et al., J. Phys. Chem. Lett. 11, 6090 (2020))
removes that freedom: M networks of different widths are trained on the *atomic*
energies E_i of one reference potential (and its totals and forces) over the training
structures, so they agree wherever the reference was trained and drift apart outside.

    ase-nnp replicas reference.nnp config.toml --members 4

writes an ensemble file (``[output] model`` of the config) whose predictions are the
reference's and whose spreads (``energies_std``, ``forces_std`` …) are the replicas'.
Member m has the config's hidden layers scaled by ``WIDTHS[m % len(WIDTHS)]``, the
config's seeds plus m, and the ``atomic_energies_weight`` of the config (1 when the
config leaves it at 0).
"""

import os

import numpy as np

from ..calculator import single_point
from ..committee import Ensemble
from ..potential import Potential
from .config import TrainingConfig
from .dataset import read
from .trainer import Trainer

#: width factors of the replicas' hidden layers, member after member
WIDTHS = (1.0, 0.75, 1.25, 0.5, 1.5)


def label(reference, refs):
    """Copies of the structures with the reference's energy, forces, stress (periodic)
    and per-atom energies as their labels."""
    return [single_point(reference, r.atoms, energies=True) for r in refs]


def train_replicas(reference, cfg, members=4, log=print):
    """Train ``members`` replicas of ``reference`` (a Potential or path) on the training
    structures of ``cfg`` (a TrainingConfig, TOML path or dict); write and return the
    replica :class:`~ase_nnp.Ensemble` (module docstring)."""
    log = log or (lambda *a, **k: None)
    if not isinstance(reference, Potential):
        reference = Potential.load(reference)
    if isinstance(cfg, (str, os.PathLike)):
        cfg = TrainingConfig.from_toml(cfg)
    elif isinstance(cfg, dict):
        cfg = TrainingConfig(cfg)
    if members < 1:
        raise ValueError(f"a replica ensemble needs at least one member, got {members}")
    data = label(reference, read(cfg.train, cfg.index, cfg.units, cfg.stress_order))
    log(f"labelled {len(data)} structures with the reference's energies, forces and "
        "per-atom energies")
    given = {k: v for k, v in cfg.changed().items() if k not in (
        "train", "validation", "test", "ensemble_size", "bootstrap")}
    stem = cfg.model[:-4] if cfg.model.endswith(".nnp") else cfg.model
    replicas = []
    for m in range(members):
        width = WIDTHS[m % len(WIDTHS)]
        hidden = [max(2, int(round(h * width))) for h in cfg.hidden_layers]
        base = f"{stem}.replica{m}"
        values = dict(given, train=data, hidden_layers=hidden,
                      split_seed=cfg.split_seed + m, init_seed=cfg.init_seed + m,
                      atomic_energies_weight=cfg.atomic_energies_weight or 1.0,
                      model=base + ".nnp", checkpoint=base + ".checkpoint.h5",
                      learning_curve=base + ".curve.csv")
        log(f"replica {m + 1}/{members}: hidden layers {hidden}")
        trainer = Trainer(TrainingConfig(values, base_dir=cfg.base_dir),
                          descriptor=reference.descriptor, log=log)
        result = trainer.run()
        replicas.append(result.potential)
    ensemble = Ensemble(replicas, reference=reference,
                        metadata={"replicas": {"members": members, "widths": [
                            WIDTHS[m % len(WIDTHS)] for m in range(members)]}})
    ensemble.save(cfg.model)
    spread = [float(np.mean(ensemble.evaluate(a.positions, a.numbers, a.cell[:],
                                              a.pbc, forces=False).energies_std))
              for a in data[:20]]
    log(f"replica ensemble of {members} written to {cfg.model}; mean per-atom energy spread "
        f"on the first {len(spread)} training structures: {1000 * np.mean(spread):.3f} meV")
    return ensemble
