r"""The training loss over energies, forces and stresses, and its exact gradient.

For frames f with N_f atoms (Watanabe et al., J. Phys.: Energy 3, 012003 (2021), Eq. 3 form: a weighted sum of mean
squared errors; frames without forces or stress are masked out of those terms,
never filled with zeros):

    L = w_E  <(E_f - E_f^ref)² / N_f²>_f
      + w_F  <Σ_a |F_a - F_a^ref|² / (3 N_f)>_{f with forces}
      + w_S  <Σ_ab (σ_ab - σ_ab^ref)² / 9>_{f with stress}
      + w_A  <(E_i - E_i^ref)²>_{atoms i of frames with per-atom energies}

Gradient with respect to the network parameters θ of element e
---------------------------------------------------------------
With the adjoints c_i = ∂L/∂E_i (∂L/∂E_f for every atom of f, plus the
per-atom energy term),
δF_a = ∂L/∂F_a and δσ = ∂L/∂σ, and pair gradients g_p = ∂E/∂D_p (forces and
stress are linear in g, see :mod:`ase_nnp.potential`):

    Σ_a δF_a·F_a + Σ_ab δσ_ab σ_ab = Σ_p g_p · V_p,
    V_p = δF_{i_p} - δF_{j_p} + (δσᵀ D_p) / V .

Since g_p = Σ_f (∂E_i/∂G_if) ∂G_if/∂D_p, Σ_p g_p·V_p = Σ_i ∇_x y(x_i)·d_i with
d_i = k ⊙ u_i and u = J V the descriptor's jvp (k the input scaling factors).
So

    ∂L/∂θ = ∂/∂θ [ Σ_i c_i y(x_i) + Σ_i ∇_x y(x_i)·d_i ],

exactly the quantity :meth:`ase_nnp.network.Network.parameter_gradient`
returns.

All structures of a :class:`~ase_nnp.training.frameset.FrameSet` are evaluated
together: one network pass per element over all its atoms, two contractions
with the stored Jacobian J (backward and jvp) and per-frame sums by
``bincount``; no triplet loop and no Python loop over structures.

Reported errors (``errors``) are the usual pooled RMSEs: energy per atom over
frames (meV/atom), force components over all atoms with forces (eV/Å), stress
components over frames with stress (GPa), per-atom energies (meV).
"""

from dataclasses import dataclass

import numpy as np
from ase.units import GPa


@dataclass
class LossWeights:
    energy: float = 1.0
    forces: float = 1.0
    stress: float = 1.0
    atomic_energies: float = 0.0


@dataclass
class Prediction:
    energy: np.ndarray              # (n_frames,)
    energies: np.ndarray            # (n_atoms,)
    forces: np.ndarray = None       # (n_atoms, 3)
    stress: np.ndarray = None       # (n_frames, 3, 3), zero for non-periodic frames


def predict(potential, fs, forces=True, stress=True, _keep=None):
    """Energies, forces and stresses of every structure of FrameSet ``fs``."""
    inputs = potential.network_inputs(fs.G, fs.species)
    E_i, dEdG = potential.atomic_energies_and_gradients(fs.G, fs.species, inputs)
    out = Prediction(np.bincount(fs.frame, E_i, minlength=fs.n_frames), E_i)
    if forces or stress:
        out.forces, out.stress = fs.forces_and_stresses(fs.backward(dEdG))
        if not forces:
            out.forces = None
        if not stress:
            out.stress = None
    if _keep is not None:
        _keep["inputs"] = inputs
    return out


def errors(fs, pred):
    """Pooled RMSEs (see module docstring); a property without reference is absent."""
    out = {"energy": 1000.0 * float(np.sqrt(np.mean(
        ((pred.energy - fs.energy) / fs.n_atoms_per_frame) ** 2)))}
    if pred.forces is not None and fs.has_forces.any():
        mask = fs.has_forces[fs.frame]
        out["forces"] = float(np.sqrt(np.mean((pred.forces[mask] - fs.forces[mask]) ** 2)))
    if pred.stress is not None and fs.has_stress.any():
        d = (pred.stress[fs.has_stress] - fs.stress[fs.has_stress]) / GPa
        out["stress"] = float(np.sqrt(np.mean(d * d)))
    if fs.has_energies.any():
        mask = fs.has_energies[fs.frame]
        out["atomic_energies"] = 1000.0 * float(np.sqrt(np.mean(
            (pred.energies[mask] - fs.energies[mask]) ** 2)))
    return out


def loss_and_gradient(potential, fs, weights=LossWeights(), gradient=True):
    """(L, {element: ∂L/∂θ_e as a flat vector in ``Network.parameters`` order}, parts).

    ``parts`` holds the mean squared errors of the loss terms (energy per atom,
    force component, stress component, per-atom energy) over the frames that
    have each reference, and ``parts["rmse"]`` the pooled RMSEs of
    :func:`errors`. With ``gradient=False`` the gradient is None.
    """
    N = fs.n_atoms_per_frame
    n_e = fs.n_frames
    n_f = int(fs.has_forces.sum())
    n_s = int(fs.has_stress.sum())
    atom_mask_e = fs.has_energies[fs.frame]
    n_a = int(atom_mask_e.sum())
    use_f = weights.forces > 0 and n_f > 0
    use_s = weights.stress > 0 and n_s > 0
    keep = {}
    pred = predict(potential, fs, forces=use_f or not gradient, stress=use_s or not gradient,
                   _keep=keep)
    parts = {"energy": 0.0, "forces": 0.0, "stress": 0.0, "atomic_energies": 0.0}
    dE = (pred.energy - fs.energy) / N
    parts["energy"] = float(np.mean(dE * dE))
    c = (weights.energy * 2.0 * dE / N / n_e)[fs.frame]
    if n_a:
        diff = np.where(atom_mask_e, pred.energies - fs.energies, 0.0)
        parts["atomic_energies"] = float(np.sum(diff * diff) / n_a)
        c = c + weights.atomic_energies * 2.0 * diff / n_a
    dF = np.zeros((fs.n_atoms, 3))
    dS = np.zeros((fs.n_frames, 3, 3))
    if pred.forces is not None and n_f:
        mask = fs.has_forces[fs.frame][:, None]
        diff = np.where(mask, pred.forces - fs.forces, 0.0)
        per_atom_norm = (3.0 * N * n_f)[fs.frame][:, None]
        parts["forces"] = float(np.sum(diff * diff / per_atom_norm))
        dF = weights.forces * 2.0 * diff / per_atom_norm
    if pred.stress is not None and n_s:
        diff = np.where(fs.has_stress[:, None, None], pred.stress - fs.stress, 0.0)
        parts["stress"] = float(np.sum(diff * diff) / 9.0 / n_s)
        volume = np.where(fs.volume > 0, fs.volume, np.inf)
        dS = weights.stress * 2.0 * diff / 9.0 / n_s / volume[:, None, None]
    parts["rmse"] = errors(fs, pred)
    loss = (weights.energy * parts["energy"] + weights.forces * parts["forces"]
            + weights.stress * parts["stress"] + weights.atomic_energies * parts["atomic_energies"])
    if not gradient:
        return float(loss), None, parts
    u = fs.jvp(fs.pair_adjoint(dF, dS)) if (use_f or use_s) else None
    grads = {e: np.zeros(potential.networks[e].n_parameters) for e in potential.elements}
    for e, (idx, x) in keep["inputs"].items():
        d = u[idx, :x.shape[1]] * potential.scalings[e].factor if u is not None else None
        grads[e] = potential.networks[e].parameter_gradient(x, c[idx], d)
    return float(loss), grads, parts
