"""The interface both descriptor families share, on top of one compiled ``_kernel`` each.

A descriptor maps the pairs of a neighbour list (``ase_nnp.neighbors``) to one row of
values per atom. Everything a caller needs is here:

* ``forward``  G[i, f]                               values
* ``backward`` g_p = Σ_f W[i_p, f] ∂G[i_p, f]/∂D_p   vector–Jacobian product (forces, stress)
* ``jvp``      δG[i, f] = Σ_p ∂G[i, f]/∂D_p · V_p    Jacobian–vector product (training)
* ``jacobian`` J[p, f] = ∂G[i_p, f]/∂D_p             the sparse Jacobian (training cache)

A subclass provides ``elements``, ``cutoff``, ``n_features_max``, ``__len__`` and
``_kernel(mode, nl, species, max_pairs, n_blocks, W, V, G, g, J)``, which fills the
output arrays of its mode.
"""

import numpy as np
from numba import get_num_threads

from ..elements import element_indices

FORWARD, BACKWARD, JVP, JACOBIAN = 0, 1, 2, 3
#: placeholders for the outputs a kernel mode does not use
NO_G = np.zeros((0, 0))
NO_V = np.zeros((0, 3))
NO_J = np.zeros((0, 0, 3))


class PairDescriptor:
    def species_indices(self, numbers):
        """Element index (0..n_elements-1) of every atom from atomic numbers."""
        return element_indices(numbers, self.elements, "descriptor")

    def _launch(self, nl, species):
        if nl.cutoff < self.cutoff - 1e-12:
            raise ValueError(f"neighbour list cutoff {nl.cutoff} is shorter than the "
                             f"descriptor cutoff {self.cutoff}")
        species = np.ascontiguousarray(species, dtype=np.int64)
        max_pairs = max(int(np.diff(nl.first).max(initial=0)), 1)
        n_blocks = max(1, min(len(species), 4 * get_num_threads()))
        return species, max_pairs, n_blocks

    def _run(self, mode, nl, species, W=NO_G, V=NO_V, G=NO_G, g=NO_V, J=NO_J):
        species, max_pairs, n_blocks = self._launch(nl, species)
        if len(species) and len(self):
            self._kernel(mode, nl, species, max_pairs, n_blocks, W, V, G, g, J)

    def forward(self, nl, species):
        """Descriptor values G, shape (n_atoms, n_features_max)."""
        G = np.zeros((len(species), self.n_features_max))
        self._run(FORWARD, nl, species, G=G)
        return G

    def backward(self, nl, species, dE_dG):
        """g_p = Σ_f dE/dG_{i f} ∂G_{i f}/∂D_p for every pair p = (i, j, S); shape (n_pairs, 3)."""
        W = np.ascontiguousarray(dE_dG, dtype=np.float64)
        if W.shape != (len(species), self.n_features_max):
            raise ValueError(f"dE_dG must have shape {(len(species), self.n_features_max)}, "
                             f"got {W.shape}")
        g = np.zeros((nl.n_pairs, 3))
        self._run(BACKWARD, nl, species, W=W, g=g)
        return g

    def jvp(self, nl, species, V):
        """δG_{i f} = Σ_p ∂G_{i f}/∂D_p · V_p for pair displacements V (n_pairs, 3)."""
        V = np.ascontiguousarray(V, dtype=np.float64)
        if V.shape != (nl.n_pairs, 3):
            raise ValueError(f"V must have shape {(nl.n_pairs, 3)}, got {V.shape}")
        dG = np.zeros((len(species), self.n_features_max))
        self._run(JVP, nl, species, V=V, G=dG)
        return dG

    def jacobian(self, nl, species):
        """J[p, f] = ∂G_{i_p f}/∂D_p for every pair p, shape (n_pairs, n_features_max, 3).

        The sparse form of dG/dD (only the pairs of each centre): backward is
        g_p = Σ_f dE/dG_{i_p f} J[p, f] and jvp is δG_i = Σ_{p of i} J[p]·V_p.
        Worth storing when the same structure is evaluated many times (training);
        its size is n_pairs · n_features · 24 bytes.
        """
        J = np.zeros((nl.n_pairs, self.n_features_max, 3))
        self._run(JACOBIAN, nl, species, J=J)
        return J

    def compute(self, atoms):
        """Descriptor values for an ASE ``Atoms`` (or anything with positions,
        cell, pbc and numbers): one row per atom, documented column order."""
        from ..neighbors import build
        species = self.species_indices(atoms.numbers)
        nl = build(atoms.positions, np.asarray(atoms.cell), atoms.pbc, self.cutoff)
        return self.forward(nl, species)
