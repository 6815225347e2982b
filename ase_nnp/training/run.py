"""``ase_nnp.train``: one potential, or an ensemble when ``ensemble_size`` > 1."""

from .config import TrainingConfig
from .ensemble import train_ensemble
from .trainer import Trainer


def train(train, resume=False, descriptor=None, log=print, **keys):
    """Train a potential from files or ``ase.Atoms`` lists; keys as in
    :mod:`ase_nnp.training.config` (``model=``, ``cutoff=``, ``method=`` …).
    ``descriptor`` (a SymmetryFunctions or SphericalBessel) replaces the [descriptor] keys.
    Returns a :class:`TrainingResult`; the best model is also written to ``model``."""
    if isinstance(train, (list, tuple)) and train and hasattr(train[0], "positions"):
        keys["train"] = list(train)
    else:
        keys["train"] = train
    cfg = TrainingConfig(keys)
    if cfg.ensemble_size > 1:
        return train_ensemble(cfg, resume=resume, descriptor=descriptor, log=log)
    return Trainer(cfg, descriptor=descriptor, log=log).run(resume=resume)
