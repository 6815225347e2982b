"""Training (numpy/scipy, built on the engine; the engine never imports this package).

    dataset     read and validate reference data (any ase.io source)
    frameset    structures prepared for one descriptor, as flat arrays
    cache       the HDF5 cache of a FrameSet, keyed by data and descriptor
    loss        loss, exact gradient, predictions and RMSEs
    preprocess  reference energies and input scaling
    optimizers  L-BFGS, Adam and the Kalman filter with exact, resumable state
    config      the TOML training configuration
    trainer     the loop: split, epochs, early stopping, checkpoints, resume
    ensemble    K members, one ensemble file
    replicas    replicas of a reference on its per-atom energies
    init        a starting configuration read off the data
    run         ase_nnp.train: one potential or an ensemble
"""
from .frameset import FrameSet
from .loss import LossWeights, errors, loss_and_gradient, predict
from .optimizers import LBFGS, Adam, KalmanFilter, ParameterVector, adam, kalman, lbfgs
from .preprocess import fit_energy_offsets, fit_scaling

__all__ = ["FrameSet", "LossWeights", "errors", "loss_and_gradient", "predict", "LBFGS", "Adam",
           "KalmanFilter", "ParameterVector", "adam", "kalman", "lbfgs", "fit_energy_offsets",
           "fit_scaling"]
