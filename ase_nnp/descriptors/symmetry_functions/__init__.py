"""Atom-centred symmetry functions (Behler) in n2p2's conventions: the specification
(:mod:`.spec`), its per-atom kernels (:mod:`.kernels`), the n2p2 cutoff functions
(:mod:`.cutoffs`), the Imbalzano grids of parameters (:mod:`.grids`) and published sets
(:mod:`.presets`)."""
from .cutoffs import CUTOFF_CODES
from .grids import angular_grid, radial_grid
from .spec import SymmetryFunction, SymmetryFunctions

__all__ = ["SymmetryFunction", "SymmetryFunctions", "CUTOFF_CODES", "angular_grid",
           "radial_grid"]
