r"""Input scaling of descriptor values, in n2p2's modes.

Every mode is the affine map  x = s_min + k (G - G_0)  per feature:

    mode           n2p2 keyword                      k                          G_0
    none           (none)                            1 (and s_min = 0)          0
    scale          scale_symmetry_functions          (s_max-s_min)/(G_max-G_min)  G_min
    center         center_symmetry_functions         1 (and s_min = 0)          <G>
    scale_center   scale + center                    (s_max-s_min)/(G_max-G_min)  <G>
    sigma          scale_symmetry_functions_sigma    (s_max-s_min)/σ_G          <G>

A feature that never varied in the statistics (G_max = G_min or σ = 0) gets
k = 0: it carries no information the network could have learned from.

The statistics (min, max, mean, sigma over the training atoms of an element)
are kept in the model file whatever the mode, so that a later extrapolation
check can compare new descriptor values with the range seen in training.
"""

import numpy as np

MODES = ("none", "scale", "center", "scale_center", "sigma")


class Scaling:
    def __init__(self, mode, gmin, gmax, gmean, gsigma, smin=0.0, smax=1.0):
        if mode not in MODES:
            raise ValueError(f"unknown scaling mode {mode!r}; choose one of {MODES}")
        self.mode = mode
        self.gmin, self.gmax, self.gmean, self.gsigma = (
            np.asarray(a, dtype=np.float64).copy() for a in (gmin, gmax, gmean, gsigma))
        n = self.gmin.shape
        if not (self.gmax.shape == self.gmean.shape == self.gsigma.shape == n) or len(n) != 1:
            raise ValueError("scaling statistics must be 1-D arrays of equal length")
        self.smin = float(smin)
        self.smax = float(smax)
        self._affine()

    @classmethod
    def identity(cls, n_features):
        z = np.zeros(n_features)
        return cls("none", z, z, z, z)

    @classmethod
    def from_data(cls, G, mode="scale_center", smin=-1.0, smax=1.0):
        """Statistics over rows of G (atoms of one element)."""
        G = np.asarray(G, dtype=np.float64)
        if len(G) == 0:
            raise ValueError("scaling statistics need at least one atom")
        return cls(mode, G.min(0), G.max(0), G.mean(0), G.std(0), smin, smax)

    def _affine(self):
        span = self.gmax - self.gmin
        width = self.smax - self.smin
        with np.errstate(divide="ignore", invalid="ignore"):
            by_range = np.where(span > 0, width / np.where(span > 0, span, 1.0), 0.0)
            by_sigma = np.where(self.gsigma > 0, width / np.where(self.gsigma > 0, self.gsigma, 1.0), 0.0)
        n = len(self.gmin)
        self.factor, self.shift, self.offset = {
            "none": (np.ones(n), np.zeros(n), 0.0),
            "scale": (by_range, self.gmin, self.smin),
            "center": (np.ones(n), self.gmean, 0.0),
            "scale_center": (by_range, self.gmean, self.smin),
            "sigma": (by_sigma, self.gmean, self.smin),
        }[self.mode]

    @property
    def n_features(self):
        return len(self.gmin)

    def apply(self, G):
        """Scaled network inputs x; dx/dG = ``factor`` (diagonal)."""
        return self.offset + self.factor * (G - self.shift)
