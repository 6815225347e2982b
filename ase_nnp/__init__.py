"""ase-nnp: Behler-Parrinello neural network potentials for ASE.

    from ase_nnp import NNPCalculator
    atoms.calc = NNPCalculator("si.nnp")

    from ase_nnp import train                 # the trainer (imported on first use)
    train("data.extxyz", model="my.nnp")
"""

from .exceptions import (CheckpointError, ConfigError, DatasetError, DescriptorSpecError,
                         ExtrapolationError, ExtrapolationWarning, InteropError, ModelFileError,
                         NNPError, StructureError, UncertaintyExceeded, UnitsError,
                         UncalibratedWarning, UnknownElementError, WorkerError)
from .potential import Potential
from .committee import Ensemble, load
from .calculator import NNPCalculator
from .monitor import UncertaintyMonitor
from .calibration import calibrate, select_active_set
from .version import __version__

__all__ = ["NNPCalculator", "Potential", "Ensemble", "load", "train", "Trainer", "ModelFileError",
           "UnknownElementError", "StructureError", "DescriptorSpecError", "ConfigError",
           "CheckpointError", "InteropError", "UnitsError", "DatasetError", "NNPError",
           "ExtrapolationError", "ExtrapolationWarning", "UncertaintyExceeded",
           "UncertaintyMonitor", "WorkerError", "UncalibratedWarning", "calibrate",
           "select_active_set", "__version__"]


def __getattr__(name):
    # the calculator never loads the training package; ``train`` loads it on demand
    if name == "train":
        from .training.run import train
        return train
    if name == "Trainer":
        from .training.trainer import Trainer
        return Trainer
    raise AttributeError(f"module 'ase_nnp' has no attribute {name!r}")
