"""Descriptors: pure numpy/Numba, no ASE import (``compute`` duck-types Atoms)."""
from .acsf import SymmetryFunctions
from .cutoffs import CUTOFF_CODES
from .grids import angular_grid, radial_grid

__all__ = ["SymmetryFunctions", "CUTOFF_CODES", "radial_grid", "angular_grid"]
