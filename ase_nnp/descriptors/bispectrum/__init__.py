"""The SNAP bispectrum (Thompson et al. 2015) as LAMMPS computes it: the specification
(:mod:`.spec`), its per-atom kernels (:mod:`.kernels`) and the index tables and
Clebsch–Gordan coefficients (:mod:`.wigner`)."""
from .spec import Bispectrum

__all__ = ["Bispectrum"]
