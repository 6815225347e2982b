"""Spherical-Bessel descriptors (Kocer, Mason and Erturk 2019): the specification
(:mod:`.spec`), its per-atom kernels (:mod:`.kernels`), the radial basis (:mod:`.radial`)
and the real spherical harmonics (:mod:`.harmonics`)."""
from .spec import SphericalBessel

__all__ = ["SphericalBessel"]
