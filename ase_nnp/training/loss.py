r"""The training loss over energies, forces and stresses, and its exact gradient.

For frames f with N_f atoms (paper 004, Eq. 3 form: a weighted sum of mean
squared errors; frames without forces or stress are masked out of those terms,
never filled with zeros):

    L = w_E  <(E_f - E_f^ref)² / N_f²>_f
      + w_F  <Σ_a |F_a - F_a^ref|² / (3 N_f)>_{f with forces}
      + w_S  <Σ_ab (σ_ab - σ_ab^ref)² / 9>_{f with stress}

Gradient with respect to the network parameters θ of element e
---------------------------------------------------------------
With the adjoints c_f = ∂L/∂E_f (the same for every atom of f),
δF_a = ∂L/∂F_a and δσ = ∂L/∂σ, and pair gradients g_p = ∂E/∂D_p (forces and
stress are linear in g, see :mod:`ase_nnp.potential`):

    Σ_a δF_a·F_a + Σ_ab δσ_ab σ_ab = Σ_p g_p · V_p,
    V_p = δF_{i_p} - δF_{j_p} + (δσᵀ D_p) / V .

Since g_p = Σ_f (∂E_i/∂G_if) ∂G_if/∂D_p, Σ_p g_p·V_p = Σ_i ∇_x y(x_i)·d_i with
d_i = k ⊙ u_i and u = J V the descriptor's jvp (k the input scaling factors).
So

    ∂L/∂θ = ∂/∂θ [ Σ_i c_{f(i)} y(x_i) + Σ_i ∇_x y(x_i)·d_i ],

exactly the quantity :meth:`ase_nnp.network.Network.parameter_gradient`
returns.

Positions do not change during training, so each frame computes its descriptor
values G and the sparse Jacobian J[p] = ∂G_i/∂D_p (pairs of each centre only,
``SymmetryFunctions.jacobian``) once; every later evaluation is then two
contractions with J (backward and jvp) and the networks, with no triplet loop.
J takes n_pairs · n_features · 24 bytes (about 29 kB per Si atom for the
26-function set at 6.5 Å).
"""

from dataclasses import dataclass

import numpy as np

from ..neighbors import build
from ..potential import atomic_stresses_from_pair_gradients, forces_from_pair_gradients


@dataclass
class LossWeights:
    energy: float = 1.0
    forces: float = 1.0
    stress: float = 1.0


@dataclass
class Frame:
    """One reference structure prepared for a given potential's descriptor."""
    nl: object
    species: np.ndarray
    volume: float               # 0 when not periodic in all directions
    energy: float
    forces: np.ndarray = None   # (n, 3) or None
    stress: np.ndarray = None   # (3, 3) or None
    G: np.ndarray = None        # (n, n_features_max) descriptor values
    J: np.ndarray = None        # (n_pairs, n_features_max, 3) ∂G_i/∂D_p

    @classmethod
    def from_arrays(cls, potential, positions, numbers, cell, pbc, energy, forces=None,
                    stress=None):
        pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
        cell = np.asarray(cell, dtype=np.float64).reshape(3, 3)
        nl = build(positions, cell, pbc, potential.cutoff)
        volume = abs(np.linalg.det(cell)) if pbc.all() else 0.0
        if stress is not None and not volume:
            raise ValueError("a stress reference needs periodicity in all three directions")
        species = potential.species_indices(numbers)
        sf = potential.descriptor
        return cls(nl, species, volume, float(energy),
                   None if forces is None else np.asarray(forces, dtype=np.float64),
                   None if stress is None else np.asarray(stress, dtype=np.float64).reshape(3, 3),
                   sf.forward(nl, species), sf.jacobian(nl, species))

    def backward(self, dE_dG):
        """g_p = Σ_f dE/dG_{i_p f} J[p, f]."""
        return np.einsum("pf,pfd->pd", dE_dG[self.nl.i], self.J)

    def jvp(self, V):
        """δG_i = Σ_{p of i} J[p] · V_p."""
        per_pair = np.einsum("pfd,pd->pf", self.J, V)
        out = np.zeros((self.n_atoms, self.J.shape[1]))
        starts = self.nl.first[:-1]
        has_pairs = np.diff(self.nl.first) > 0
        if has_pairs.any():
            out[has_pairs] = np.add.reduceat(per_pair, starts[has_pairs], axis=0)
        return out

    @property
    def n_atoms(self):
        return len(self.species)


def _predict(potential, frame):
    """Scaled inputs per element, E, F, σ and what the gradient needs."""
    inputs = potential.network_inputs(frame.G, frame.species)
    E_i, dEdG = potential.atomic_energies_and_gradients(frame.G, frame.species, inputs)
    g = frame.backward(dEdG)
    F = forces_from_pair_gradients(frame.nl, g, frame.n_atoms)
    sigma = (atomic_stresses_from_pair_gradients(frame.nl, g, frame.n_atoms, frame.volume)
             .sum(axis=0) if frame.volume else None)
    return inputs, float(E_i.sum()), F, sigma


def loss_and_gradient(potential, frames, weights=LossWeights()):
    """(L, {element: ∂L/∂θ_e as a flat vector in ``Network.parameters`` order}, parts).

    ``parts`` holds the three mean squared errors (energy per atom, force
    component, stress component) over the frames that have each reference.
    """
    n_e = len(frames)
    n_f = sum(f.forces is not None for f in frames)
    n_s = sum(f.stress is not None for f in frames)
    grads = {e: np.zeros(potential.networks[e].n_parameters) for e in potential.elements}
    parts = {"energy": 0.0, "forces": 0.0, "stress": 0.0}
    for frame in frames:
        N = frame.n_atoms
        inputs, E, F, sigma = _predict(potential, frame)
        dE = (E - frame.energy) / N
        parts["energy"] += dE * dE / n_e
        c = weights.energy * 2.0 * dE / N / n_e
        V = np.zeros((frame.nl.n_pairs, 3))
        moved = False
        if frame.forces is not None:
            diff = F - frame.forces
            parts["forces"] += np.sum(diff * diff) / (3 * N) / n_f
            dF = weights.forces * 2.0 * diff / (3 * N) / n_f
            V += dF[frame.nl.i] - dF[frame.nl.j]
            moved = True
        if frame.stress is not None:
            diff = sigma - frame.stress
            parts["stress"] += np.sum(diff * diff) / 9 / n_s
            dS = weights.stress * 2.0 * diff / 9 / n_s
            V += frame.nl.D @ dS / frame.volume
            moved = True
        u = frame.jvp(V) if moved else None
        for e, (idx, x) in inputs.items():
            nf = x.shape[1]
            d = u[idx, :nf] * potential.scalings[e].factor if moved else None
            grads[e] += potential.networks[e].parameter_gradient(x, np.full(len(idx), c), d)
    loss = (weights.energy * parts["energy"] + weights.forces * parts["forces"]
            + weights.stress * parts["stress"])
    return loss, grads, parts
