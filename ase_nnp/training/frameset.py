r"""Reference structures prepared for one descriptor, as concatenated flat arrays.

Positions never change during training, so each structure's neighbour list,
descriptor values G and sparse Jacobian J[p] = ∂G_{i_p}/∂D_p (pairs of each
centre only) are computed once. A ``FrameSet`` keeps all structures of a
data set end to end, so that the loss runs a handful of large array operations
instead of a Python loop over structures:

* per frame f:  ``atom_start[f]:atom_start[f+1]`` its atoms,
  ``pair_start[f]:pair_start[f+1]`` its pairs, energy, volume (0 without full
  periodicity), stress (3, 3), the masks ``has_forces``, ``has_stress``,
  ``has_energies`` and ``weight`` w_f (the structure's weight in the loss and the
  preprocessing, default 1);
* per atom:  species, G (n_features_max columns), reference forces and
  per-atom energies (zeros where the frame has none; always read through the
  masks), ``force_weight`` w_a (the factor of the atom's squared force error,
  default 1) and ``frame`` (its frame index);
* per pair:  i, j (global atom indices), D (Å), J, ``frame``.

Pairs stay grouped by their centre atom i, frame after frame, so
``pair_first`` (n_atoms + 1) delimits each atom's pairs.

Per-atom force weights are the hook for density-based weighting (GDF, see
:mod:`ase_nnp.analysis.gdf`): they come from ``atoms.arrays["force_weight"]``
when the data has them, and :meth:`FrameSet.set_force_weights` replaces them
after the descriptors are known (the loss in :mod:`ase_nnp.training.loss` reads
``force_weight`` at every evaluation).

Both contractions with J are small Numba kernels (parallel over centre atoms).
J takes n_pairs · n_features · 24 bytes: about 10 kB per Si atom at a 4.5 Å
cutoff with 26 functions, 29 kB at 6.5 Å.

Derivatives that scale
----------------------
Above a memory budget (``jacobian_limit`` bytes of J; the trainer's ``[data]
memory_limit``) J is not stored. The same two contractions are then the descriptor's
own ``backward`` and ``jvp`` kernels, run over all pairs at once as one neighbour list
(the pairs are grouped by centre atom already): the same numbers (to rounding), at the
cost of recomputing the descriptor's per-atom work on every evaluation, and with only
the pairs kept (i, j, D and r: 48 bytes per pair instead of 24 n_features more). The
linear fit builds its force and stress rows block by block from ``jacobian_rows``,
stored or computed for that block.
"""

import numba
import numpy as np

from ..descriptors.base import backward_from_jacobian
from ..elements import element_indices
from ..neighbors import NeighborList, build

_PER_FRAME = ("energy", "volume", "stress", "has_forces", "has_stress", "has_energies",
              "weight")
_PER_ATOM = ("species", "G", "forces", "energies", "force_weight")
_PER_PAIR = ("i", "j", "D", "J")


class FrameSet:
    """See the module docstring. Build with :meth:`from_references` or
    :meth:`from_arrays`; take parts with :meth:`subset`. ``descriptor``: the one the
    arrays were computed with (needed when J is not stored)."""

    def __init__(self, arrays, descriptor=None):
        self.J = None
        self.descriptor = descriptor
        self._nl = None
        for k, v in arrays.items():
            setattr(self, k, v)
        self.n_frames = len(self.energy)
        self.n_atoms_per_frame = np.diff(self.atom_start)
        if "weight" not in arrays:
            self.weight = np.ones(self.n_frames)
        if "force_weight" not in arrays:
            self.force_weight = np.ones(len(self.species))
        self.frame = np.repeat(np.arange(self.n_frames), self.n_atoms_per_frame)
        counts = np.bincount(self.i, minlength=len(self.species))
        self.pair_first = np.concatenate([[0], np.cumsum(counts)])

    # ----------------------------------------------------------- building
    @classmethod
    def from_arrays(cls, descriptor, structures, jacobian_limit=None):
        """``structures``: iterable of dicts with positions, numbers, cell, pbc,
        energy and optional forces, stress (3x3, ASE sign), energies, weight (a
        number, default 1) and force_weight (per atom, default 1). ``jacobian_limit``:
        the most bytes of J to store (None: no limit); above it J is dropped and
        recomputed when needed (module docstring)."""
        parts = {k: [] for k in _PER_FRAME + _PER_ATOM + _PER_PAIR}
        atom_start, pair_start = [0], [0]
        nf = descriptor.n_features_max
        store_j = True
        j_bytes = 0
        for s in structures:
            pbc = np.broadcast_to(np.asarray(s["pbc"], dtype=bool), (3,))
            cell = np.asarray(s["cell"], dtype=np.float64).reshape(3, 3)
            n = len(s["numbers"])
            species = element_indices(s["numbers"], descriptor.elements, "descriptor")
            nl = build(np.asarray(s["positions"], dtype=np.float64), cell, pbc, descriptor.cutoff)
            volume = abs(np.linalg.det(cell)) if pbc.all() else 0.0
            stress, forces, energies = s.get("stress"), s.get("forces"), s.get("energies")
            if stress is not None and not volume:
                raise ValueError("a stress reference needs periodicity in all three directions")
            parts["energy"].append(float(s["energy"]))
            parts["volume"].append(volume)
            parts["has_forces"].append(forces is not None)
            parts["has_stress"].append(stress is not None)
            parts["has_energies"].append(energies is not None)
            parts["weight"].append(float(s.get("weight", 1.0)))
            force_weight = s.get("force_weight")
            parts["force_weight"].append(np.ones(n) if force_weight is None
                                         else np.asarray(force_weight, dtype=np.float64).reshape(n))
            parts["stress"].append(np.zeros((3, 3)) if stress is None
                                   else np.asarray(stress, dtype=np.float64).reshape(3, 3))
            parts["species"].append(species)
            G = np.zeros((n, nf))
            G[:, :] = descriptor.forward(nl, species)
            parts["G"].append(G)
            parts["forces"].append(np.zeros((n, 3)) if forces is None
                                   else np.asarray(forces, dtype=np.float64).reshape(n, 3))
            parts["energies"].append(np.zeros(n) if energies is None
                                     else np.asarray(energies, dtype=np.float64).reshape(n))
            parts["i"].append(nl.i.astype(np.int64) + atom_start[-1])
            parts["j"].append(nl.j.astype(np.int64) + atom_start[-1])
            parts["D"].append(nl.D)
            j_bytes += nl.n_pairs * nf * 24
            if store_j and jacobian_limit is not None and j_bytes > jacobian_limit:
                store_j = False
                parts["J"] = []                      # what was computed goes
            if store_j:
                parts["J"].append(descriptor.jacobian(nl, species))
            atom_start.append(atom_start[-1] + n)
            pair_start.append(pair_start[-1] + nl.n_pairs)
        if len(atom_start) == 1:
            raise ValueError("no structures given")
        if not store_j:
            del parts["J"]
        arrays = {k: np.concatenate(v) if k in _PER_ATOM + _PER_PAIR else np.array(v)
                  for k, v in parts.items()}
        arrays["D"] = arrays["D"].reshape(-1, 3)
        if store_j:
            arrays["J"] = arrays["J"].reshape(-1, nf, 3)
        arrays["atom_start"] = np.array(atom_start, dtype=np.int64)
        arrays["pair_start"] = np.array(pair_start, dtype=np.int64)
        return cls(arrays, descriptor)

    @classmethod
    def from_references(cls, descriptor, refs, jacobian_limit=None):
        """From :class:`ase_nnp.training.dataset.Reference` objects."""
        return cls.from_arrays(descriptor, jacobian_limit=jacobian_limit, structures=(
            {"positions": r.atoms.positions, "numbers": r.atoms.numbers, "cell": r.atoms.cell[:],
             "pbc": r.atoms.pbc, "energy": r.energy, "forces": r.forces, "stress": r.stress,
             "energies": r.energies, "weight": r.weight, "force_weight": r.force_weight}
            for r in refs))

    # ----------------------------------------------------------- using
    def arrays(self):
        """The stored arrays (what :mod:`ase_nnp.training.cache` writes; no J when it is
        not stored)."""
        return {k: getattr(self, k) for k in _PER_FRAME + _PER_ATOM + _PER_PAIR
                + ("atom_start", "pair_start") if getattr(self, k) is not None}

    @property
    def stores_jacobian(self):
        return self.J is not None

    def stored_bytes(self):
        """Bytes of the arrays kept (J included when stored)."""
        return sum(a.nbytes for a in self.arrays().values())

    def subset(self, frames):
        """A new FrameSet of the given frame indices (in that order)."""
        frames = np.asarray(frames, dtype=np.int64)
        atoms = _ranges(self.atom_start, frames)
        pairs = _ranges(self.pair_start, frames)
        n_at = self.n_atoms_per_frame[frames]
        n_pa = np.diff(self.pair_start)[frames]
        new_atom_start = np.concatenate([[0], np.cumsum(n_at)])
        new_pair_start = np.concatenate([[0], np.cumsum(n_pa)])
        # atom index shift per pair: new start - old start of its frame
        shift = np.repeat(new_atom_start[:-1] - self.atom_start[frames], n_pa)
        out = {k: getattr(self, k)[frames] for k in _PER_FRAME}
        out.update({k: getattr(self, k)[atoms] for k in _PER_ATOM})
        out.update({k: getattr(self, k)[pairs] for k in _PER_PAIR
                    if getattr(self, k) is not None})
        out["i"] = out["i"] + shift
        out["j"] = out["j"] + shift
        out["atom_start"] = new_atom_start
        out["pair_start"] = new_pair_start
        return FrameSet(out, self.descriptor)

    def set_force_weights(self, force_weight):
        """Replace the per-atom force weights w_a ((n_atoms,), finite, >= 0), e.g. by
        GDF weights of :mod:`ase_nnp.analysis.gdf`; the loss uses them from its next
        evaluation. Set them on the set that is trained on (a subset has its own copy)."""
        w = np.array(force_weight, dtype=np.float64)
        if w.shape != (self.n_atoms,):
            raise ValueError(f"force weights need one value per atom, shape ({self.n_atoms},); "
                             f"got shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("force weights must be finite numbers >= 0; got "
                             f"{w[~(np.isfinite(w) & (w >= 0))][:3].tolist()} among them")
        self.force_weight = w

    @property
    def n_atoms(self):
        return len(self.species)

    @property
    def n_pairs(self):
        return len(self.i)

    def __len__(self):
        return self.n_frames

    def __repr__(self):
        j = (f"{self.J.nbytes / 2**20:.0f} MiB of dG/dD" if self.J is not None else
             "dG/dD recomputed, not stored")
        return (f"FrameSet({self.n_frames} structures, {self.n_atoms} atoms, {self.n_pairs} pairs, "
                f"{self.G.shape[1]} features, {j})")

    # ----------------------------------------------------------- linear maps
    def _descriptor(self):
        if self.descriptor is None:
            raise ValueError("this FrameSet stores no dG/dD and knows no descriptor to "
                             "recompute it; build it with FrameSet.from_arrays(descriptor, ...)")
        return self.descriptor

    def neighbor_list(self):
        """All pairs as one :class:`~ase_nnp.neighbors.NeighborList` over the atoms of
        every frame (global indices; built once)."""
        if self._nl is None:
            self._nl = self._pairs(0, self.n_atoms)
        return self._nl

    def _pairs(self, a0, a1):
        """The pairs of atoms a0 .. a1-1 (whole frames) as a NeighborList, atoms counted
        from a0."""
        p0, p1 = self.pair_first[a0], self.pair_first[a1]
        D = self.D[p0:p1]
        return NeighborList(self.i[p0:p1] - a0, self.j[p0:p1] - a0, D,
                            np.sqrt(np.einsum("pc,pc->p", D, D)), np.zeros((0, 3), np.int32),
                            self.pair_first[a0:a1 + 1] - p0, float(self._descriptor().cutoff))

    def backward(self, dE_dG):
        """g_p = Σ_f dE/dG_{i_p f} J[p, f]  (∂E/∂D_p)."""
        if self.J is None:
            return self._descriptor().backward(self.neighbor_list(), self.species,
                                               np.ascontiguousarray(dE_dG))
        return backward_from_jacobian(self.pair_first, dE_dG, self.J)

    def jvp(self, V):
        """δG_i = Σ_{p of i} J[p] · V_p  (the adjoint of ``backward``)."""
        if self.J is None:
            return self._descriptor().jvp(self.neighbor_list(), self.species, V)
        out = np.empty((self.n_atoms, self.J.shape[1]))
        _jvp(self.pair_first, self.J, np.ascontiguousarray(V), out)
        return out

    def jacobian_rows(self, frames):
        """J of the pairs of the contiguous frames ``frames`` (stored, or computed for
        them now)."""
        p0, p1 = self.pair_start[frames[0]], self.pair_start[frames[-1] + 1]
        if self.J is not None:
            return self.J[p0:p1]
        a0, a1 = self.atom_start[frames[0]], self.atom_start[frames[-1] + 1]
        return self._descriptor().jacobian(self._pairs(a0, a1), self.species[a0:a1])

    def forces_and_stresses(self, g):
        """F_a = Σ_{p: i_p = a} g_p - Σ_{p: j_p = a} g_p and, per frame,
        σ_f = (1/V_f) Σ_{p in f} D_p ⊗ g_p ((n_frames, 3, 3); zero where V_f = 0)."""
        F = np.empty((self.n_atoms, 3))
        S = np.empty((self.n_frames, 3, 3))
        _forces_stresses(self.atom_start, self.pair_start, self.i, self.j, self.D,
                         np.ascontiguousarray(g), self.volume, F, S)
        return F, S

    def pair_adjoint(self, dF, dS):
        """V_p = dF_{i_p} - dF_{j_p} + dS_{f(p)}ᵀ D_p: the pair vectors' adjoint when
        dF = ∂L/∂F (n_atoms, 3) and dS = ∂L/∂σ / V (n_frames, 3, 3)."""
        V = np.empty((self.n_pairs, 3))
        _pair_adjoint(self.pair_start, self.i, self.j, self.D, np.ascontiguousarray(dF),
                      np.ascontiguousarray(dS), V)
        return V


# Both contractions run per centre atom (its pairs are contiguous), in parallel.
@numba.njit(parallel=True, cache=True, fastmath=False)
def _jvp(pair_first, J, V, out):
    nf = J.shape[1]
    for a in numba.prange(len(pair_first) - 1):
        for f in range(nf):
            out[a, f] = 0.0
        for p in range(pair_first[a], pair_first[a + 1]):
            v0, v1, v2 = V[p, 0], V[p, 1], V[p, 2]
            for f in range(nf):
                out[a, f] += J[p, f, 0] * v0 + J[p, f, 1] * v1 + J[p, f, 2] * v2


@numba.njit(parallel=True, cache=True)
def _forces_stresses(atom_start, pair_start, i, j, D, g, volume, F, S):
    for f in numba.prange(len(pair_start) - 1):
        for a in range(atom_start[f], atom_start[f + 1]):
            F[a, 0] = F[a, 1] = F[a, 2] = 0.0
        s = np.zeros((3, 3))
        for p in range(pair_start[f], pair_start[f + 1]):
            for d in range(3):
                F[i[p], d] += g[p, d]
                F[j[p], d] -= g[p, d]
                for e in range(3):
                    s[d, e] += D[p, d] * g[p, e]
        inv = 1.0 / volume[f] if volume[f] > 0 else 0.0
        for d in range(3):
            for e in range(3):
                S[f, d, e] = s[d, e] * inv


@numba.njit(parallel=True, cache=True)
def _pair_adjoint(pair_start, i, j, D, dF, dS, V):
    for f in numba.prange(len(pair_start) - 1):
        for p in range(pair_start[f], pair_start[f + 1]):
            for e in range(3):
                V[p, e] = (dF[i[p], e] - dF[j[p], e] + D[p, 0] * dS[f, 0, e]
                           + D[p, 1] * dS[f, 1, e] + D[p, 2] * dS[f, 2, e])


def _ranges(start, frames):
    """Concatenated index ranges start[f]:start[f+1] for f in frames."""
    lengths = start[frames + 1] - start[frames]
    if not lengths.sum():
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(start[frames] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(lengths.sum()) + offsets
