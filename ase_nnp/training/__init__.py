"""Training: loss, gradients, preprocessing and optimisers (numpy/scipy), built on the engine.

The engine never imports this package. The training loop, data reading and the
command line are still to come (issue 3); these are the parts they build on.
"""
from .loss import Frame, LossWeights, loss_and_gradient
from .optimizers import ParameterVector, adam, lbfgs
from .preprocess import fit_energy_offsets, fit_scaling

__all__ = ["Frame", "LossWeights", "loss_and_gradient", "ParameterVector", "adam", "lbfgs",
           "fit_energy_offsets", "fit_scaling"]
