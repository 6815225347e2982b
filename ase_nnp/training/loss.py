r"""The training loss over energies, forces and stresses, and its exact gradient.

The loss is a sum of terms (Watanabe et al., J. Phys.: Energy 3, 012003 (2021),
Eq. 3 form: a weighted sum of mean squared errors), each a :class:`LossTerm`
with its factor λ. With w_f the weight of structure f (``FrameSet.weight``:
``atoms.info["weight"]`` times its group factor), w_a the force weight of atom a
(``FrameSet.force_weight``) and N_f the atoms of f; frames without forces or
stress are masked out of those terms, never filled with zeros:

    L = λ_E  Σ_f w_f (E_f - E_f^ref)² / N_f²            / Σ_f w_f
      + λ_F  Σ_f w_f Σ_a w_a |F_a - F_a^ref|² / (3 N_f)  / Σ_{f with forces} w_f
      + λ_S  Σ_f w_f Σ_ab (σ_ab - σ_ab^ref)² / 9         / Σ_{f with stress} w_f
      + λ_A  Σ_i w_f(i) (E_i - E_i^ref)²                 / Σ_{i of frames with per-atom energies} w_f(i)

With every weight 1 these are the plain means over the structures (atoms) that
have each reference, and a structure of weight 2 counts exactly as two copies of it.

Gradient with respect to the network parameters θ of element e
---------------------------------------------------------------
Each term adds its part of the adjoints c_i = ∂L/∂E_i (energy and per-atom
energy terms), δF_a = ∂L/∂F_a (force term) and δσ_f = ∂L/∂σ_f (stress term),
see :class:`Adjoints`. With pair gradients g_p = ∂E/∂D_p (forces and stress
are linear in g, see :mod:`ase_nnp.potential`):

    Σ_a δF_a·F_a + Σ_ab δσ_ab σ_ab = Σ_p g_p · V_p,
    V_p = δF_{i_p} - δF_{j_p} + (δσᵀ D_p) / V .

Since g_p = Σ_f (∂E_i/∂G_if) ∂G_if/∂D_p, Σ_p g_p·V_p = Σ_i ∇_x y(x_i)·d_i with
d_i = k ⊙ u_i and u = J V the descriptor's jvp (k the input scaling factors).
So

    ∂L/∂θ = ∂/∂θ [ Σ_i c_i y(x_i) + Σ_i ∇_x y(x_i)·d_i ],

exactly the quantity :meth:`ase_nnp.network.Network.parameter_gradient`
returns. V and u are formed once, from the sum of all terms' adjoints.

All structures of a :class:`~ase_nnp.training.frameset.FrameSet` are evaluated
together: one network pass per element over all its atoms, two contractions
with the stored Jacobian J (backward and jvp) and per-frame sums by
``bincount``; no triplet loop and no Python loop over structures.

Reported errors (``errors``) are the usual pooled, unweighted RMSEs of
:func:`ase_nnp.analysis.metrics.compare`: energy per atom over frames
(meV/atom), force components over all atoms with forces (eV/Å), stress
components over frames with stress (GPa), per-atom energies (meV).
"""

from dataclasses import dataclass

import numpy as np

from ..analysis.metrics import compare
from ..threads import threads_for


@dataclass
class LossWeights:
    """The factors λ of the four standard terms (see the module docstring) and the L2
    strength ``weight_decay`` that the gradient optimisers add to the objective
    (:mod:`ase_nnp.training.regularization`; not a term of the loss itself, so validation
    losses stay comparable)."""
    energy: float = 1.0
    forces: float = 1.0
    stress: float = 1.0
    atomic_energies: float = 0.0
    weight_decay: float = 0.0

    def terms(self):
        """The loss terms these factors define, in the order of the module docstring."""
        return [EnergyTerm(self.energy), ForceTerm(self.forces), StressTerm(self.stress),
                AtomicEnergyTerm(self.atomic_energies)]


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
    forces, stress, energies = {}, {}, {}
    if pred.forces is not None and fs.has_forces.any():
        mask = fs.has_forces[fs.frame]
        forces = dict(forces=pred.forces[mask], forces_ref=fs.forces[mask],
                      force_frame=fs.frame[mask])
    if pred.stress is not None and fs.has_stress.any():
        stress = dict(stress=pred.stress[fs.has_stress], stress_ref=fs.stress[fs.has_stress],
                      stress_frame=np.flatnonzero(fs.has_stress))
    if fs.has_energies.any():
        mask = fs.has_energies[fs.frame]
        energies = dict(energies=pred.energies[mask], energies_ref=fs.energies[mask],
                        energies_frame=fs.frame[mask])
    return compare(fs.n_atoms_per_frame, pred.energy, fs.energy, **forces, **stress,
                   **energies).rmse()


class Adjoints:
    """What the terms add up: c = ∂L/∂E_i (n_atoms,), forces = ∂L/∂F_a (n_atoms, 3),
    stress = ∂L/∂σ_f (n_frames, 3, 3)."""

    def __init__(self, fs):
        self.c = np.zeros(fs.n_atoms)
        self.forces = np.zeros((fs.n_atoms, 3))
        self.stress = np.zeros((fs.n_frames, 3, 3))
        self.geometric = False          # True once a term has added to forces or stress


class LossTerm:
    """One term λ · MSE of the loss. A subclass names itself (``name``: its key in
    ``parts``), the prediction it needs (``needs``: "forces", "stress" or None) and
    implements :meth:`mse`; it never reads or changes another term."""
    name = ""
    needs = None

    def __init__(self, weight):
        self.weight = float(weight)

    def available(self, fs):
        """Whether some structure of ``fs`` has this term's reference."""
        return True

    def active(self, fs):
        """Whether the term contributes to the loss (λ > 0 and a reference)."""
        return self.weight > 0 and self.available(fs)

    def mse(self, fs, pred, adj):
        """The weighted mean squared error; when ``adj`` is given, also add λ · its
        derivative to ``adj``."""
        raise NotImplementedError


def _weighted_mean(sq, w):
    """Σ w sq / Σ w (0 when Σ w = 0) and 2 w / Σ w, the factor of the residual in
    its derivative."""
    total = float(np.sum(w))
    if total <= 0:
        return 0.0, np.zeros_like(w)
    return float(np.sum(w * sq) / total), 2.0 * w / total


class EnergyTerm(LossTerm):
    r"""Energy per atom: Σ_f w_f (E_f - E_f^ref)² / N_f² / Σ_f w_f.
    Adjoint: c_i += λ 2 w_f (E_f - E_f^ref) / N_f² / Σ w for the atoms i of f."""
    name = "energy"

    def mse(self, fs, pred, adj):
        N = fs.n_atoms_per_frame
        dE = (pred.energy - fs.energy) / N
        value, k = _weighted_mean(dE * dE, fs.weight)
        if adj is not None:
            adj.c += (self.weight * k * dE / N)[fs.frame]
        return value


class ForceTerm(LossTerm):
    r"""Force components: Σ_f w_f Σ_a w_a |F_a - F_a^ref|² / (3 N_f) / Σ_{f with forces} w_f.
    Adjoint: δF_a += λ 2 w_f w_a (F_a - F_a^ref) / (3 N_f) / Σ w."""
    name = "forces"
    needs = "forces"

    def available(self, fs):
        return bool(fs.has_forces.any())

    def mse(self, fs, pred, adj):
        mask = fs.has_forces[fs.frame][:, None]
        diff = np.where(mask, pred.forces - fs.forces, 0.0)
        per_frame = np.bincount(fs.frame, fs.force_weight * np.sum(diff * diff, axis=1),
                                minlength=fs.n_frames) / (3.0 * fs.n_atoms_per_frame)
        value, k = _weighted_mean(per_frame, np.where(fs.has_forces, fs.weight, 0.0))
        if adj is not None:
            scale = self.weight * k / (3.0 * fs.n_atoms_per_frame)
            adj.forces += scale[fs.frame][:, None] * fs.force_weight[:, None] * diff
            adj.geometric = True
        return value


class StressTerm(LossTerm):
    r"""Stress components: Σ_f w_f Σ_ab (σ_ab - σ_ab^ref)² / 9 / Σ_{f with stress} w_f.
    Adjoint: δσ_f += λ 2 w_f (σ_f - σ_f^ref) / 9 / Σ w."""
    name = "stress"
    needs = "stress"

    def available(self, fs):
        return bool(fs.has_stress.any())

    def mse(self, fs, pred, adj):
        diff = np.where(fs.has_stress[:, None, None], pred.stress - fs.stress, 0.0)
        value, k = _weighted_mean(np.sum(diff * diff, axis=(1, 2)) / 9.0,
                                  np.where(fs.has_stress, fs.weight, 0.0))
        if adj is not None:
            adj.stress += (self.weight * k / 9.0)[:, None, None] * diff
            adj.geometric = True
        return value


class AtomicEnergyTerm(LossTerm):
    r"""Per-atom energies: Σ_i w_f(i) (E_i - E_i^ref)² / Σ_{i with a reference} w_f(i).
    Adjoint: c_i += λ 2 w_f(i) (E_i - E_i^ref) / Σ w."""
    name = "atomic_energies"

    def available(self, fs):
        return bool(fs.has_energies.any())

    def mse(self, fs, pred, adj):
        mask = fs.has_energies[fs.frame]
        diff = np.where(mask, pred.energies - fs.energies, 0.0)
        value, k = _weighted_mean(diff * diff, np.where(mask, fs.weight[fs.frame], 0.0))
        if adj is not None:
            adj.c += self.weight * k * diff
        return value


def loss_and_gradient(potential, fs, weights=LossWeights(), gradient=True):
    """(L, {element: ∂L/∂θ_e as a flat vector in ``Network.parameters`` order}, parts).

    ``weights``: a :class:`LossWeights` or a list of :class:`LossTerm`. ``parts``
    holds each term's weighted mean squared error (for the standard terms: energy
    per atom, force component, stress component, per-atom energy; 0 where no
    structure has the reference) by name, and ``parts["rmse"]`` the pooled RMSEs
    of :func:`errors`. With ``gradient=False`` the gradient is None.
    """
    terms = weights.terms() if isinstance(weights, LossWeights) else list(weights)
    used = {t.needs for t in terms if t.active(fs)}
    keep = {}
    pred = predict(potential, fs, forces="forces" in used or not gradient,
                   stress="stress" in used or not gradient, _keep=keep)
    adj = Adjoints(fs) if gradient else None
    parts, loss = {}, 0.0
    for t in terms:
        parts[t.name] = 0.0
        if not t.available(fs) or (t.needs and getattr(pred, t.needs) is None):
            continue
        parts[t.name] = t.mse(fs, pred, adj if t.weight > 0 else None)
        loss += t.weight * parts[t.name]
    parts["rmse"] = errors(fs, pred)
    if not gradient:
        return float(loss), None, parts
    u = None
    if adj.geometric:
        volume = np.where(fs.volume > 0, fs.volume, np.inf)
        u = fs.jvp(fs.pair_adjoint(adj.forces, adj.stress / volume[:, None, None]))
    grads = {e: np.zeros(potential.networks[e].n_parameters) for e in potential.elements}
    for e, (idx, x) in keep["inputs"].items():
        d = u[idx, :x.shape[1]] * potential.scalings[e].factor if u is not None else None
        grads[e] = potential.networks[e].parameter_gradient(x, adj.c[idx], d)
    return float(loss), grads, parts


#: Voigt order of the stress residuals (ASE's): xx, yy, zz, yz, xz, xy
VOIGT = np.array([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)])
#: √ of how often the loss's nine-component sum counts each Voigt component
STRESS_MULTIPLICITY = np.sqrt(np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0]))


class Residuals:
    r"""Single residuals of FrameSet ``fs`` and their exact parameter gradients: the
    observations of an extended Kalman filter
    (:class:`ase_nnp.training.optimizers.KalmanFilter`).

    Residuals are prediction minus reference: r_f = (E_f - E_f^ref) / N_f for the energy
    of structure f, r_ac = F_ac - F_ac^ref for force component c of atom a, and
    r_fk = σ_fk - σ_fk^ref for the stress of f in Voigt component k (xx, yy, zz, yz, xz,
    xy). Each has a Jacobian row ∂r/∂θ, flat over all element networks in
    :class:`~ase_nnp.training.optimizers.ParameterVector` order, from
    ``Network.parameter_gradient`` with the adjoints of L = r (module docstring):
    c_i = 1/N_f on the atoms of f, d = 0 for an energy; c = 0 and d from the jvp of the
    unit adjoint δF = e_ac for a force component, nonzero only on the atoms within the
    cutoff of a, so that its network pass runs over those atoms only; c = 0 and d from the
    jvp of δσ = e_ab / V_f for a stress component ab (σ = V⁻¹ Σ_p D_p ⊗ g_p, so
    V_p = δσᵀ D_p), over all atoms of f.

    ``energy_scale`` (per structure) √(λ_E w_f), ``force_scale`` (per atom)
    √(λ_F w_f w_a) (0 without forces) and ``stress_scale`` (per structure) √(λ_S w_f)
    (0 without stress; ``STRESS_MULTIPLICITY`` adds √2 for the off-diagonal pairs,
    which the loss counts twice among its nine) are the factors that make the sum of
    squared scaled residuals the loss's terms with counts in place of means;
    ``weights`` must be a :class:`LossWeights`.
    """

    def __init__(self, potential, fs, weights=LossWeights()):
        self.potential, self.fs, self.weights = potential, fs, weights
        self.energy_scale = np.sqrt(max(weights.energy, 0.0) * fs.weight)
        with_forces = fs.has_forces[fs.frame]
        self.force_scale = np.where(with_forces, np.sqrt(
            max(weights.forces, 0.0) * fs.weight[fs.frame] * fs.force_weight), 0.0)
        self.stress_scale = np.where(fs.has_stress, np.sqrt(
            max(weights.stress, 0.0) * fs.weight), 0.0)

    def null_rms(self):
        r"""The data's own scale of each term: √ of the term's weighted MSE for the model
        with no networks (energies from the composition fit alone, forces and stress 0),

            s_E = √( Σ_f w_f (ΔE⁰_f / N_f)² / Σ_f w_f ),
            ΔE⁰_f = E_f^ref - Σ_e n_fe E⁰_e,  E⁰ = argmin Σ_f w_f (E_f^ref - Σ_e n_fe E⁰_e)²,
            s_F = √( Σ_f w_f Σ_a w_a |F_a^ref|² / (3 N_f) / Σ_{f with forces} w_f ),
            s_S = √( Σ_f w_f Σ_ab (σ_ab^ref)² / 9 / Σ_{f with stress} w_f ),

        as a dict ``{"energy", "forces", "stress"}`` (0 where no structure of weight > 0
        has the reference). The spreads n2p2's ``normalize_data_set`` divides by (its σ of
        the energy per atom and of the force components, here with the loss's weights and
        per-element reference energies in place of one mean)."""
        if getattr(self, "_null_rms", None) is not None:
            return dict(self._null_rms)
        fs = self.fs
        A = np.zeros((fs.n_frames, len(self.potential.elements)))
        np.add.at(A, (fs.frame, fs.species), 1.0)
        root = np.sqrt(fs.weight)
        e0, *_ = np.linalg.lstsq(A * root[:, None], fs.energy * root, rcond=None)
        de = (fs.energy - A @ e0) / fs.n_atoms_per_frame
        out = {"energy": _weighted_mean(de * de, fs.weight)[0]}
        mask = fs.has_forces[fs.frame][:, None]
        sq = np.where(mask, fs.forces, 0.0) ** 2
        per_frame = np.bincount(fs.frame, fs.force_weight * np.sum(sq, axis=1),
                                minlength=fs.n_frames) / (3.0 * fs.n_atoms_per_frame)
        out["forces"] = _weighted_mean(per_frame, np.where(fs.has_forces, fs.weight, 0.0))[0]
        s = np.where(fs.has_stress[:, None, None], fs.stress, 0.0)
        out["stress"] = _weighted_mean(np.sum(s * s, axis=(1, 2)) / 9.0,
                                       np.where(fs.has_stress, fs.weight, 0.0))[0]
        self._null_rms = {k: float(np.sqrt(v)) for k, v in out.items()}
        return dict(self._null_rms)

    def energy_candidates(self):
        """The structures whose energy residual counts (scale > 0)."""
        return np.flatnonzero(self.energy_scale > 0)

    def force_candidates(self):
        """The force components 3 a + c (global atom a) whose residual counts."""
        return np.flatnonzero(np.repeat(self.force_scale > 0, 3))

    def stress_candidates(self):
        """The structures whose stress residuals count (scale > 0)."""
        return np.flatnonzero(self.stress_scale > 0)

    def all(self, forces=True, stress=False):
        """Every structure's energy residual (n_frames,), every force component's
        (3 n_atoms,; None without ``forces``) and every structure's stress error, the RMS
        over the nine components of σ - σ^ref as the loss counts them (n_frames,; None
        without ``stress``), from one pass over the whole set."""
        fs = self.fs
        pred = predict(self.potential, fs, forces=forces, stress=stress)
        energy = (pred.energy - fs.energy) / fs.n_atoms_per_frame
        stress_rms = None
        if stress:
            d = (pred.stress - fs.stress).reshape(-1, 9)
            stress_rms = np.sqrt(np.mean(d * d, axis=1))
        return (energy, (pred.forces - fs.forces).ravel() if forces else None, stress_rms)

    def structure(self, f):
        """The residuals and rows of structure f at the networks' current parameters."""
        return StructureResiduals(self.potential, self.fs, int(f))


class StructureResiduals:
    """One structure's residuals and Jacobian rows (see :class:`Residuals`); the
    prediction is made once, at the parameters the networks have when it is built."""

    def __init__(self, potential, fs, f):
        self.potential, self.first_atom = potential, int(fs.atom_start[f])
        self.fs = sub = fs.subset([f])
        self._threads = threads_for
        self.inputs = potential.network_inputs(sub.G, sub.species)
        with threads_for(sub.n_atoms):
            E_i, self._dEdG = potential.atomic_energies_and_gradients(sub.G, sub.species,
                                                                      self.inputs)
        self.n_atoms = sub.n_atoms
        self.energy = float((E_i.sum() - sub.energy[0]) / self.n_atoms)
        self._forces = self._stress = None

    def _forces_and_stress(self):
        with self._threads(self.n_atoms):
            F, S = self.fs.forces_and_stresses(self.fs.backward(self._dEdG))
        self._forces = (F - self.fs.forces).ravel()
        self._stress = S[0] - self.fs.stress[0]

    @property
    def forces(self):
        """F - F^ref of the structure's components, flat (3 N,)."""
        if self._forces is None:
            self._forces_and_stress()
        return self._forces

    @property
    def stress(self):
        """σ - σ^ref in Voigt order (xx, yy, zz, yz, xz, xy), (6,)."""
        if self._stress is None:
            self._forces_and_stress()
        return self._stress[VOIGT[:, 0], VOIGT[:, 1]]

    @property
    def stress_rms(self):
        """The RMS over the nine components of σ - σ^ref (as ``Residuals.all``)."""
        if self._stress is None:
            self._forces_and_stress()
        return float(np.sqrt(np.mean(self._stress ** 2)))

    def force(self, component):
        """The residual of global force component 3 a + c."""
        return float(self.forces[component - 3 * self.first_atom])

    def _row(self, c, d):
        pot = self.potential
        rows = []
        for e in pot.elements:
            net = pot.networks[e]
            if e not in self.inputs:
                rows.append(np.zeros(net.n_parameters))
                continue
            idx, x = self.inputs[e]
            if d is None:
                rows.append(net.parameter_gradient(x, c[idx]))
                continue
            de = d[idx, :x.shape[1]] * pot.scalings[e].factor
            keep = np.flatnonzero(np.any(de != 0.0, axis=1))
            rows.append(net.parameter_gradient(x[keep], np.zeros(len(keep)), de[keep])
                        if len(keep) else np.zeros(net.n_parameters))
        return np.concatenate(rows)

    def energy_row(self):
        """∂((E - E^ref)/N)/∂θ."""
        return self._row(np.full(self.n_atoms, 1.0 / self.n_atoms), None)

    def force_row(self, component):
        """∂F_ac/∂θ of global force component 3 a + c."""
        local = component - 3 * self.first_atom
        a, c = divmod(local, 3)
        sub = self.fs
        dF = np.zeros((self.n_atoms, 3))
        dF[a, c] = 1.0
        with self._threads(self.n_atoms):
            u = sub.jvp(sub.pair_adjoint(dF, np.zeros((1, 3, 3))))
        return self._row(None, u)

    def stress_rows(self):
        """∂σ_k/∂θ of the six Voigt components k, (6, n_parameters)."""
        sub = self.fs
        volume = float(sub.volume[0])
        rows = []
        for a, b in VOIGT:
            dS = np.zeros((1, 3, 3))
            dS[0, a, b] = 1.0 / volume
            with self._threads(self.n_atoms):
                u = sub.jvp(sub.pair_adjoint(np.zeros((self.n_atoms, 3)), dS))
            rows.append(self._row(None, u))
        return np.array(rows)
