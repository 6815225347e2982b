"""Descriptors: pure numpy/Numba, no ASE import (``compute`` duck-types Atoms).

Two families share one interface (``forward``, ``backward``, ``jvp``,
``jacobian``, ``compute``, ``n_features``, ``feature_labels``, ``to_arrays`` /
``from_arrays``): Behler's symmetry functions and the spherical-Bessel
descriptors of Kocer et al.
"""
from .acsf import SymmetryFunctions
from .bessel import SphericalBessel
from .cutoffs import CUTOFF_CODES
from .grids import angular_grid, radial_grid

#: descriptor classes by the ``kind`` stored in model and cache files
DESCRIPTOR_KINDS = {cls.kind: cls for cls in (SymmetryFunctions, SphericalBessel)}


def descriptor_from_arrays(kind, arrays):
    """Rebuild a descriptor from its stored specification (``to_arrays``)."""
    if kind not in DESCRIPTOR_KINDS:
        raise ValueError(f"unknown descriptor kind {kind!r}; known: {sorted(DESCRIPTOR_KINDS)}")
    return DESCRIPTOR_KINDS[kind].from_arrays(arrays)


__all__ = ["SymmetryFunctions", "SphericalBessel", "CUTOFF_CODES", "DESCRIPTOR_KINDS",
           "descriptor_from_arrays", "radial_grid", "angular_grid"]
