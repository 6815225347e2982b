"""``ase_nnp.train``: one potential, an ensemble when ``ensemble_size`` > 1, with a partner
when ``partner`` is set."""

from .config import TrainingConfig
from .ensemble import train_ensemble
from .partner import train_with_partner
from .trainer import Trainer


def run(cfg, resume=False, descriptor=None, log=print):
    """Train what the configuration asks for: one potential, an ensemble
    (``ensemble_size`` > 1) or an ensemble with a partner (``partner``)."""
    if cfg.partner != "none":
        return train_with_partner(cfg, resume=resume, descriptor=descriptor, log=log)
    if cfg.ensemble_size > 1:
        return train_ensemble(cfg, resume=resume, descriptor=descriptor, log=log)
    return Trainer(cfg, descriptor=descriptor, log=log).run(resume=resume)


def train(train, resume=False, descriptor=None, log=print, **keys):
    """Train a potential from files or ``ase.Atoms`` lists; keys as in
    :mod:`ase_nnp.training.config` (``model=``, ``cutoff=``, ``method=`` …).
    ``descriptor`` (a SymmetryFunctions or SphericalBessel) replaces the [descriptor] keys.
    Returns a :class:`TrainingResult`; the best model is also written to ``model``."""
    if isinstance(train, (list, tuple)) and train and hasattr(train[0], "positions"):
        keys["train"] = list(train)
    else:
        keys["train"] = train
    return run(TrainingConfig(keys), resume=resume, descriptor=descriptor, log=log)
