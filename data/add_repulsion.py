"""Give the shipped data/si.nnp its ZBL repulsion exactly as ``ase-nnp train data/si.toml`` does.

The trainer (``[repulsion] repulsion = "zbl"``, ``repulsion_outer = 0``) switches ZBL off at
the smallest Si-Si distance of the training data and subtracts it from the references
before fitting. Switched off there, it is exactly zero on every training structure, so the
references the networks are fitted to, and hence the fitted networks, are the same with
and without it. This script takes the networks of data/si.nnp as they are, checks that
zero baseline on every training and test structure (it refuses otherwise), and adds the
repulsion and the training range of distances with the trainer's own functions:

    python data/add_repulsion.py            # rewrites data/si.nnp in place
"""
import os
import sys

import numpy as np

from ase_nnp import Potential, load
from ase_nnp.repulsion import ZBLRepulsion
from ase_nnp.training.baseline import min_pair_distances, subtract_baseline
from ase_nnp.training.config import TrainingConfig
from ase_nnp.training.dataset import read

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    cfg = TrainingConfig.from_toml(os.path.join(HERE, "si.toml"))
    pot = load(os.path.join(HERE, "si.nnp"))
    refs = read(cfg.train, cfg.index)
    md = min_pair_distances(refs, pot.elements, pot.cutoff)
    outer = md if cfg.repulsion_outer == 0 else np.full_like(md, cfg.repulsion_outer)
    rep = ZBLRepulsion.below(pot.elements, outer, cfg.repulsion_inner_fraction)
    for refs_ in (refs, read(cfg.test, cfg.index)):
        if any(a is not b for a, b in zip(refs_, subtract_baseline(refs_, rep, pot.elements))):
            sys.exit("the repulsion is not zero on every structure: retrain instead "
                     "(ase-nnp train data/si.toml)")
    meta = dict(pot.metadata)
    training = dict(meta.get("training", {}))
    settings = dict(training.get("settings", {}))
    settings.update(repulsion=cfg.repulsion, repulsion_outer=cfg.repulsion_outer,
                    repulsion_inner_fraction=cfg.repulsion_inner_fraction)
    training["settings"] = settings
    meta["training"] = training
    out = Potential(pot.elements, pot.descriptor, networks=pot.networks, scalings=pot.scalings,
                    energy_offsets=pot.energy_offsets, metadata=meta, repulsion=rep,
                    min_distances=md)
    out.save(os.path.join(HERE, "si.nnp"))
    print(f"data/si.nnp: {rep!r}; smallest training distances {md.tolist()} Å; "
          f"zero on all {len(refs)} training structures")


if __name__ == "__main__":
    main()
