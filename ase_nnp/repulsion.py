r"""Short-range repulsion: the ZBL screened-nuclear potential, switched off before the data.

A network trained on near-equilibrium structures is saturated where it never saw
data: two atoms pushed 0.5 Å apart may cost nothing at all. This pair term puts
the physical price on collapse and stays out of the way everywhere else.

Energy
------
The universal screened-nuclear potential of Ziegler, Biersack and Littmark
(*The Stopping and Range of Ions in Solids*, Pergamon, 1985), for the element
pair (a, b) with atomic numbers Z_a, Z_b:

    φ_ZBL(r) = (Z_a Z_b e² / 4πε₀) (1/r) Σ_k c_k exp(-d_k r / a_s),
    a_s = 0.46850 Å / (Z_a^0.23 + Z_b^0.23),
    c = (0.02817, 0.28022, 0.50986, 0.18175),  d = (0.20162, 0.40290, 0.94229, 3.19980),

with e²/4πε₀ = 14.399645 eV Å. It is switched off between an inner distance
r_1 and an outer distance r_c exactly as LAMMPS' ``pair_style zbl`` does (the
switching of ``lj/gromacs``), so that an exported potential runs unchanged in
LAMMPS as ``pair_style hybrid/overlay hdnnp ... zbl r_1 r_c``:

    φ(r) = φ_ZBL(r) + C + [r > r_1] t³ (A/3 + B t/4),   t = r - r_1,   r < r_c,
    φ(r) = 0                                                           r ≥ r_c,
    A = (-3φ'_c + t_c φ''_c)/t_c²,  B = (2φ'_c - t_c φ''_c)/t_c³,
    C = -φ_c + t_c φ'_c/2 - t_c² φ''_c/12,      t_c = r_c - r_1,

φ_c, φ'_c, φ''_c being φ_ZBL and its derivatives at r_c: φ, φ' and φ'' vanish at
r_c. The outer distance of each element pair is chosen at or below the smallest
distance of that pair in the training data, so the term is exactly zero on every
training structure and the networks learn on top of it (a fixed baseline).

Forces and stress
-----------------
Over the full neighbour list (every pair p = (i, j, S) appears in both
directions), E = ½ Σ_p φ(r_p), so the pair gradient is

    g_p = ∂E/∂D_p = ½ φ'(r_p) D_p / r_p,

which enters forces and (per-atom) stresses exactly like the network's pair
gradients (:mod:`ase_nnp.potential`). The per-atom energy E_i = ½ Σ_{p: i_p = i} φ(r_p)
gives each atom half of each of its pairs, as LAMMPS tallies it.
"""

import math

import numpy as np
from numba import njit

from .elements import ATOMIC_NUMBERS
from .exceptions import ModelFileError

#: e²/(4πε₀) in eV Å (LAMMPS metal units: qqr2e · qelectron²)
COULOMB = 14.399645
ZBL_C = np.array([0.02817, 0.28022, 0.50986, 0.18175])
ZBL_D = np.array([0.20162, 0.40290, 0.94229, 3.19980])
ZBL_A0 = 0.46850
ZBL_P = 0.23


def zbl(r, z1, z2):
    """Unswitched φ_ZBL and its first two derivatives at distances r (Å) -> eV, eV/Å, eV/Å²."""
    r = np.asarray(r, dtype=np.float64)
    k = (z1 ** ZBL_P + z2 ** ZBL_P) / ZBL_A0
    zz = COULOMB * z1 * z2
    e = [ZBL_C[q] * np.exp(-ZBL_D[q] * k * r) for q in range(4)]
    s = sum(e)
    s1 = sum(-ZBL_D[q] * k * e[q] for q in range(4))
    s2 = sum((ZBL_D[q] * k) ** 2 * e[q] for q in range(4))
    return zz * s / r, zz * (s1 - s / r) / r, zz * (s2 - 2.0 * s1 / r + 2.0 * s / (r * r)) / r


class ZBLRepulsion:
    """ZBL repulsion for every element pair of a potential (see the module docstring).

    ``inner``, ``outer``: symmetric (n_el, n_el) arrays of r_1 < r_c in Å, in the
    potential's element order.
    """

    kind = "zbl"

    def __init__(self, elements, inner, outer):
        self.elements = list(elements)
        n = len(self.elements)
        self.inner = np.array(inner, dtype=np.float64).reshape(n, n)
        self.outer = np.array(outer, dtype=np.float64).reshape(n, n)
        for name, arr in (("inner", self.inner), ("outer", self.outer)):
            if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
                raise ValueError(f"ZBL {name} distances must be positive and finite, got "
                                 f"{arr.tolist()}")
            if not np.array_equal(arr, arr.T):
                raise ValueError(f"ZBL {name} distances must be symmetric in the elements")
        if np.any(self.inner >= self.outer):
            raise ValueError("every ZBL inner distance must be smaller than its outer distance, "
                             f"got inner {self.inner.tolist()}, outer {self.outer.tolist()}")
        self.z = np.array([ATOMIC_NUMBERS[e] for e in self.elements], dtype=np.float64)
        self._table = self._coefficients()

    @classmethod
    def below(cls, elements, outer, inner_fraction=0.5):
        """ZBL switched off at ``outer`` (a number or an (n_el, n_el) array, Å), starting at
        ``inner_fraction`` × outer."""
        if not 0.0 < inner_fraction < 1.0:
            raise ValueError(f"inner_fraction must lie in (0, 1), got {inner_fraction}")
        n = len(elements)
        outer = np.broadcast_to(np.asarray(outer, dtype=np.float64), (n, n)).copy()
        return cls(elements, inner_fraction * outer, outer)

    def _coefficients(self):
        """Per element pair: k_q = d_q (Z_a^p + Z_b^p)/a0 (q = 0..3), Z_a Z_b e², r_1, r_c,
        A, B, C (module docstring)."""
        n = len(self.elements)
        tab = np.zeros((n, n, 10))
        for a in range(n):
            for b in range(n):
                z1, z2 = self.z[a], self.z[b]
                r1, rc = self.inner[a, b], self.outer[a, b]
                tc = rc - r1
                fc, fcp, fcpp = (float(v) for v in zbl(rc, z1, z2))
                A = (-3.0 * fcp + tc * fcpp) / (tc * tc)
                B = (2.0 * fcp - tc * fcpp) / (tc * tc * tc)
                C = -fc + 0.5 * tc * fcp - tc * tc * fcpp / 12.0
                k = (z1 ** ZBL_P + z2 ** ZBL_P) / ZBL_A0
                tab[a, b, :4] = ZBL_D * k
                tab[a, b, 4:] = (COULOMB * z1 * z2, r1, rc, A, B, C)
        return tab

    def pair_energy(self, r, a, b):
        """φ(r) for element indices a, b (numpy, for curves and tests)."""
        r = np.atleast_1d(np.asarray(r, dtype=np.float64))
        out = np.empty_like(r)
        dout = np.empty_like(r)
        _pair_values(r, self._table[a, b], out, dout)
        return out, dout

    def energies_and_pair_gradients(self, nl, species):
        """(E_i, g_p) over a full neighbour list (module docstring)."""
        E = np.zeros(len(species))
        g = np.zeros((nl.n_pairs, 3))
        _accumulate(nl.i, nl.j, nl.D, nl.r, np.asarray(species, dtype=np.int64),
                    self._table, E, g)
        return E, g

    def to_arrays(self):
        return {"inner": self.inner.copy(), "outer": self.outer.copy()}

    @classmethod
    def from_arrays(cls, elements, arrays, path="<model>"):
        n = len(elements)
        try:
            return cls(elements, np.asarray(arrays["inner"]).reshape(n, n),
                       np.asarray(arrays["outer"]).reshape(n, n))
        except (KeyError, ValueError) as err:
            raise ModelFileError(f"{path}: invalid ZBL repulsion ({err})") from None

    def lammps_styles(self):
        """[(inner, outer, [(a, b), ...])]: one ``zbl inner outer`` sub-style per distinct
        pair of distances (LAMMPS' zbl has one global pair), with its element pairs a <= b."""
        groups = {}
        n = len(self.elements)
        for a in range(n):
            for b in range(a, n):
                key = (float(self.inner[a, b]), float(self.outer[a, b]))
                groups.setdefault(key, []).append((a, b))
        return [(r1, rc, pairs) for (r1, rc), pairs in groups.items()]

    def __repr__(self):
        return (f"ZBLRepulsion(elements={self.elements}, inner={self.inner.tolist()}, "
                f"outer={self.outer.tolist()})")


REPULSION_KINDS = {ZBLRepulsion.kind: ZBLRepulsion}


@njit(cache=True, inline="always", error_model="numpy")
def _phi(r, c):
    """φ(r) and φ'(r) for one pair's coefficient row c (see _coefficients)."""
    rc = c[6]
    if r >= rc:
        return 0.0, 0.0
    s = 0.0
    s1 = 0.0
    for q in range(4):
        e = ZBL_C[q] * math.exp(-c[q] * r)
        s += e
        s1 -= c[q] * e
    zz = c[4]
    inv = 1.0 / r
    e = zz * s * inv + c[9]
    de = zz * (s1 - s * inv) * inv
    r1 = c[5]
    if r > r1:
        t = r - r1
        t2 = t * t
        e += t2 * t * (c[7] / 3.0 + c[8] * t / 4.0)
        de += t2 * (c[7] + c[8] * t)
    return e, de


@njit(cache=True)
def _pair_values(r, c, out, dout):
    for p in range(r.shape[0]):
        out[p], dout[p] = _phi(r[p], c)


@njit(cache=True)
def _accumulate(i, j, D, r, species, table, E, g):
    for p in range(i.shape[0]):
        a = species[i[p]]
        b = species[j[p]]
        if r[p] >= table[a, b, 6]:
            continue
        e, de = _phi(r[p], table[a, b])
        E[i[p]] += 0.5 * e
        f = 0.5 * de / r[p]
        g[p, 0] = f * D[p, 0]
        g[p, 1] = f * D[p, 1]
        g[p, 2] = f * D[p, 2]
