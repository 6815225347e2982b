"""Polynomial symmetry functions with compact support (n2p2 types 20-25; Bircher,
Singraber and Dellago, Mach. Learn.: Sci. Technol. 2, 035026 (2021)): the specification
(:mod:`.spec`), its per-atom kernels (:mod:`.kernels`) and the compact windows
(:mod:`.compact`)."""
from .spec import PolynomialFunction, PolynomialSymmetryFunctions

__all__ = ["PolynomialFunction", "PolynomialSymmetryFunctions"]
