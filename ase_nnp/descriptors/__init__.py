"""Descriptors: pure numpy/Numba, no ASE import (``compute`` duck-types Atoms).

Every family registers itself (:func:`~ase_nnp.descriptors.base.register_family`;
the contract is in :mod:`ase_nnp.descriptors.base`) and shares one interface
(``forward``, ``backward``, ``jvp``, ``jacobian``, ``compute``, ``n_features``,
``feature_labels``, ``to_arrays`` / ``from_arrays``). Built in: Behler's symmetry
functions, the spherical-Bessel descriptors of Kocer et al. and the SNAP bispectrum
of Thompson et al.
"""
from .acsf import SymmetryFunction, SymmetryFunctions
from .base import FAMILIES, PairDescriptor, descriptor_from_arrays, family, register_family
from .bessel import SphericalBessel
from .bispectrum import Bispectrum
from .cutoffs import CUTOFF_CODES
from .grids import angular_grid, radial_grid

#: the registered descriptor classes by the ``kind`` stored in model and cache files
DESCRIPTOR_KINDS = FAMILIES

__all__ = ["SymmetryFunction", "SymmetryFunctions", "SphericalBessel", "Bispectrum", "CUTOFF_CODES",
           "DESCRIPTOR_KINDS", "FAMILIES", "PairDescriptor", "descriptor_from_arrays", "family",
           "register_family", "radial_grid", "angular_grid"]
