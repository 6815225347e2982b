"""Descriptors: pure numpy/Numba, no ASE import (``compute`` duck-types Atoms).

Each family is a subpackage (``symmetry_functions``, ``spherical_bessel``, ``bispectrum``,
``polynomial_symmetry_functions``)
holding its specification (``spec``), its per-atom kernels (``kernels``) and the helpers
that serve it alone. Every family registers itself (:func:`~ase_nnp.descriptors.base.register_family`;
the contract is in :mod:`ase_nnp.descriptors.base`) and shares one interface
(``forward``, ``backward``, ``jvp``, ``jacobian``, ``compute``, ``n_features``,
``feature_labels``, ``to_arrays`` / ``from_arrays``). Built in: Behler's symmetry
functions, the spherical-Bessel descriptors of Kocer et al., the SNAP bispectrum
of Thompson et al. and the polynomial symmetry functions of Bircher et al.
"""
from .base import FAMILIES, PairDescriptor, descriptor_from_arrays, family, register_family
# the registration order (the order of FAMILIES, which lists name): symmetry functions first
from .symmetry_functions import (CUTOFF_CODES, SymmetryFunction, SymmetryFunctions,  # isort: skip
                                 angular_grid, radial_grid)
from .spherical_bessel import SphericalBessel  # isort: skip
from .bispectrum import Bispectrum  # isort: skip
from .polynomial_symmetry_functions import PolynomialSymmetryFunctions  # isort: skip

#: the registered descriptor classes by the ``kind`` stored in model and cache files
DESCRIPTOR_KINDS = FAMILIES

__all__ = ["SymmetryFunction", "SymmetryFunctions", "SphericalBessel", "Bispectrum",
           "PolynomialSymmetryFunctions", "CUTOFF_CODES",
           "DESCRIPTOR_KINDS", "FAMILIES", "PairDescriptor", "descriptor_from_arrays", "family",
           "register_family", "radial_grid", "angular_grid"]
