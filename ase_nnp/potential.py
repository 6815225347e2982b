r"""A Behler–Parrinello potential: elements + descriptor + networks + scaling + offsets.

Energy
------
    E = Σ_i E_i,   E_i = NN_{e_i}(x_i) + E^0_{e_i},   x_i = s_min + k ⊙ (G_i - G_0)

Forces and stress from pair gradients
-------------------------------------
Everything depends on the positions only through the pair vectors
D_p = r_j - r_i + S_p·cell of the neighbour list (p = (i, j, S)). With the
vector–Jacobian product of the descriptor,

    g_p = ∂E/∂D_p = Σ_f (∂E_i/∂G_if) ∂G_if/∂D_p     (only E_i depends on pairs of i),

and ∂D_p/∂r_j = +1, ∂D_p/∂r_i = -1:

    F_a = -∂E/∂r_a = Σ_{p: i_p = a} g_p - Σ_{p: j_p = a} g_p .

Under a homogeneous strain ε every pair vector becomes (1 + ε) D_p, so

    σ_ab = (1/V) ∂E/∂ε_ab = (1/V) Σ_p D_p,a g_p,b       (ASE's sign),

symmetric by rotational invariance. Assigning each pair to its central atom
i_p gives per-atom stresses σ_i = (1/V) Σ_{p: i_p = i} D_p ⊗ g_p, the strain
derivative of E_i itself; they sum to σ. Several images of the same atom are
just more pairs, so cells smaller than the cutoff need no special case.

Short-range repulsion and the training range
--------------------------------------------
An optional pair term (``repulsion``, :mod:`ase_nnp.repulsion`) adds its own
E_i and g_p to the network's before forces and stresses are assembled, so the
formulas above hold for the sum. ``min_distances[a, b]`` (Å) is the smallest
distance of each element pair in the training data; a pair closer than that is
outside what the networks have seen, and :meth:`Potential.evaluate` warns with
an :class:`~ase_nnp.exceptions.ExtrapolationWarning` naming the atoms.

Sharing a structure
-------------------
``evaluate`` is :meth:`Potential.prepare` (checks and the neighbour list, a
:class:`Structure`) followed by :meth:`Potential.evaluate_structure`, the one-member
case of :func:`ase_nnp.evaluation.evaluate_members` (the pass, the force and stress
gathers, and the :class:`~ase_nnp.evaluation.Evaluation` it returns). Potentials with
the same descriptor (an ensemble) can share one Structure, and one descriptor pass
(G and J = ∂G/∂D, :class:`~ase_nnp.descriptors.base.DescriptorPass`): each member's
g_p = Σ_f (∂E_i/∂G_if) J[p, f] is then a contraction, with no triplet loop.
"""

import warnings

from typing import NamedTuple

import numpy as np

from .elements import element_indices, normalize_elements
from .exceptions import ExtrapolationWarning, StructureError
from .evaluation import evaluate_members, members_pass
from .neighbors import MIN_DISTANCE, NeighborList, build
from .network import Network
from .scaling import Scaling
from .threads import threads_for
from .engine import training_range
from .modelfile import read, write

#: most atoms per Å³ a fully periodic cell may hold (diamond: 0.18, the densest solids
#: ~0.3); a denser cell is a unit or size mistake, and every atom would have thousands of
#: neighbours and millions of triplets
MAX_DENSITY = 2.0


class Structure(NamedTuple):
    """An atomic configuration ready for evaluation (:meth:`Potential.prepare`): its
    neighbour list, element indices, volume (Å³; 0 unless periodic in all three
    directions) and shortest pair distance (Å)."""
    nl: NeighborList
    species: np.ndarray
    volume: float
    r_min: float


class Potential:
    """A high-dimensional neural network potential.

    ``Potential(elements, descriptor, hidden_layers=(30, 30), activation="tanh",
    seed=0)`` makes a random but fully usable potential (Glorot weights, identity
    scaling, zero offsets). ``networks``, ``scalings`` and ``energy_offsets``
    (dicts keyed by element symbol) replace the random parts, as the model file
    reader and the trainer do. ``repulsion`` (e.g. a
    :class:`~ase_nnp.repulsion.ZBLRepulsion`) is added to the networks' energy;
    ``min_distances`` ((n_el, n_el), Å; NaN for a pair never seen) is the
    training range of the interatomic distances (module docstring). ``active_set``
    (an :class:`~ase_nnp.extrapolation_grade.ActiveSet`) gives every evaluation the
    extrapolation grade γ per atom; ``calibration`` (an
    :class:`~ase_nnp.uncertainty.Calibration` using γ) turns it into error bars
    (``Evaluation.calibrated``).
    """

    def __init__(self, elements, descriptor, hidden_layers=(30, 30), activation="tanh",
                 seed=None, networks=None, scalings=None, energy_offsets=None,
                 metadata=None, repulsion=None, min_distances=None, active_set=None,
                 calibration=None):
        self.elements = normalize_elements(elements)
        if list(descriptor.elements) != self.elements:
            raise ValueError(f"descriptor elements {descriptor.elements} differ from the "
                             f"potential's {self.elements}; use the same list in the same order")
        if len(descriptor) == 0:
            raise ValueError("the descriptor has no functions; add some before building a potential")
        for e in self.elements:
            if descriptor.n_features(e) == 0:
                raise ValueError(f"the descriptor has no functions centred on {e}")
        self.descriptor = descriptor
        rng = np.random.default_rng(seed)
        if networks is None:
            networks = {e: Network.random(descriptor.n_features(e), hidden_layers, activation,
                                          rng=rng) for e in self.elements}
        if scalings is None:
            scalings = {e: Scaling.identity(descriptor.n_features(e)) for e in self.elements}
        if energy_offsets is None:
            energy_offsets = {e: 0.0 for e in self.elements}
        for e in self.elements:
            nf = descriptor.n_features(e)
            if networks[e].n_inputs != nf or scalings[e].n_features != nf:
                raise ValueError(f"{e}: network takes {networks[e].n_inputs} inputs, scaling has "
                                 f"{scalings[e].n_features}, descriptor gives {nf}")
        self.networks = dict(networks)
        self.scalings = dict(scalings)
        self.energy_offsets = {e: float(energy_offsets[e]) for e in self.elements}
        self.metadata = dict(metadata or {})
        if repulsion is not None and list(repulsion.elements) != self.elements:
            raise ValueError(f"the repulsion covers {repulsion.elements}, the potential "
                             f"{self.elements}")
        self.repulsion = repulsion
        self.min_distances = None
        if min_distances is not None:
            n = len(self.elements)
            md = np.array(min_distances, dtype=np.float64)
            if md.shape != (n, n) or not np.array_equal(md, md.T, equal_nan=True) \
                    or np.any(np.isinf(md)) or np.any(md[~np.isnan(md)] < 0):
                raise ValueError(f"min_distances must be a symmetric ({n}, {n}) array of "
                                 f"non-negative distances (NaN: pair not seen), got {md.tolist()}")
            self.min_distances = md
        if active_set is not None and set(active_set.rows) != set(self.elements):
            raise ValueError(f"the active set covers {sorted(active_set.rows)}, the "
                             f"potential {self.elements}")
        if active_set is not None:
            for e in self.elements:
                if active_set.widths[e] != self.networks[e].layer_sizes[-2]:
                    raise ValueError(
                        f"the active set of {e} has features of width "
                        f"{active_set.widths[e]}, the network's last hidden layer "
                        f"{self.networks[e].layer_sizes[-2]}; select it again for this "
                        "potential (ase_nnp.select_active_set)")
        self.active_set = active_set
        self.calibration = None
        if calibration is not None:
            calibration.check(self)
            self.calibration = calibration

    @property
    def cutoff(self):
        return self.descriptor.cutoff

    @property
    def members(self):
        """[self]: a potential is the one-member case of
        :func:`~ase_nnp.evaluation.evaluate_members`."""
        return [self]

    def __repr__(self):
        nets = {e: self.networks[e].layer_sizes for e in self.elements}
        return f"Potential(elements={self.elements}, cutoff={self.cutoff}, networks={nets})"

    # ------------------------------------------------------------ evaluate
    def species_indices(self, numbers):
        """Element index of every atom; UnknownElementError lists the known elements."""
        return element_indices(numbers, self.elements, "potential")

    def network_inputs(self, G, species):
        """{element: (atom indices, scaled inputs x = s_min + k ⊙ (G - G_0))}."""
        inputs = {}
        for k, e in enumerate(self.elements):
            idx = np.flatnonzero(species == k)
            if len(idx):
                inputs[e] = (idx, self.scalings[e].apply(G[idx, :self.descriptor.n_features(e)]))
        return inputs

    def atomic_energies(self, G, species):
        """E_i = NN_{e_i}(x_i) + E^0_{e_i} for descriptor rows G (n_atoms, n_features_max):
        the networks' forward pass only."""
        E = np.empty(len(species))
        for e, (idx, x) in self.network_inputs(G, species).items():
            E[idx] = self.networks[e].forward(x) + self.energy_offsets[e]
        return E

    def atomic_energies_and_gradients(self, G, species, inputs=None):
        """E_i and dE_i/dG_i for descriptor rows G (n_atoms, n_features_max);
        ``inputs`` from ``network_inputs`` when the caller already has them."""
        if inputs is None:
            inputs = self.network_inputs(G, species)
        E = np.empty(len(species))
        dEdG = np.zeros_like(G)
        for e, (idx, x) in inputs.items():
            y, dy = self.networks[e].energy_and_input_gradient(x)
            E[idx] = y + self.energy_offsets[e]
            dEdG[idx, :x.shape[1]] = dy * self.scalings[e].factor
        return E, dEdG

    def energies_and_pair_gradients(self, nl, species, fused=True, descriptors=None):
        """(E_i, g_p = ∂E/∂D_p), the repulsion included. By default descriptor, network
        and backward run per atom in one compiled pass (:mod:`ase_nnp.engine`) when the
        descriptor family has a fused kernel; otherwise (or with ``fused=False``) the three
        steps run one after another over all atoms. ``descriptors``: a
        :class:`~ase_nnp.descriptors.base.DescriptorPass` of this structure with its
        Jacobian, shared with other potentials of the same descriptor; g_p is then one
        contraction with J. All give the same numbers
        (:func:`~ase_nnp.evaluation.members_pass` with this potential alone)."""
        res = members_pass([self], nl, species, True, descriptors, fused=fused)
        return res.E[0], res.g[0]

    def outside_training_range(self, G, species):
        """(count, excess) per atom: the number of descriptor columns of G outside the
        training range of the atom's element (n2p2's extrapolation count; columns that
        never varied in training are not counted), and the largest distance outside it
        in units of the column's range."""
        count = np.zeros(len(species), dtype=np.int64)
        excess = np.zeros(len(species))
        for k, e in enumerate(self.elements):
            idx = np.flatnonzero(species == k)
            if not len(idx):
                continue
            lo, hi = training_range(self.scalings[e])
            x = G[idx, :len(lo)]
            with np.errstate(invalid="ignore"):
                over = np.maximum(lo - x, x - hi) / (hi - lo)
            over = np.where(np.isfinite(lo), over, 0.0)
            count[idx] = np.count_nonzero(over > 0, axis=1)
            excess[idx] = np.maximum(over.max(axis=1, initial=0.0), 0.0)
        return count, excess

    def check_training_range(self, nl, species, r_min=None):
        """Warn (ExtrapolationWarning) about the closest pair that is shorter than the
        shortest pair of its elements in the training data; return the number of such
        pairs. ``r_min``: the shortest pair distance, when the caller has it. Costs one
        pass over the pairs only when the closest pair is that short."""
        md = self.min_distances
        if md is None or not nl.n_pairs:
            return 0
        floor = np.nanmin(md) if np.any(~np.isnan(md)) else np.inf
        if (nl.r.min() if r_min is None else r_min) >= floor:
            return 0
        a, b = species[nl.i], species[nl.j]
        limit = md[a, b]
        short = nl.r < np.where(np.isnan(limit), -np.inf, limit)
        n_short = int(np.count_nonzero(short)) // 2     # a full list holds each pair twice
        if n_short:
            p = int(np.flatnonzero(short)[np.argmin(nl.r[short])])
            ea, eb = self.elements[a[p]], self.elements[b[p]]
            warnings.warn(
                f"atoms {nl.i[p]} and {nl.j[p]} ({ea}-{eb}) are {nl.r[p]:.3f} Å apart, closer "
                f"than any {ea}-{eb} pair in the training data ({limit[p]:.3f} Å; {n_short} "
                "such pair(s) in this structure): the potential is extrapolating"
                + ("" if self.repulsion is not None else
                   " and has no short-range repulsion"), ExtrapolationWarning, stacklevel=3)
        return n_short

    def prepare(self, positions, numbers, cell, pbc):
        """The :class:`Structure` of an atomic configuration: checks (density, overlapping
        atoms) and the neighbour list at this potential's cutoff. Potentials with the
        same descriptor cutoff can share it (:meth:`evaluate_structure`)."""
        species = self.species_indices(numbers)
        pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,))
        cell = np.asarray(cell, dtype=np.float64).reshape(3, 3)
        volume = abs(np.linalg.det(cell)) if pbc.all() else 0.0
        if volume > 0 and len(species) > MAX_DENSITY * volume:
            raise StructureError(
                f"{len(species)} atoms in a periodic cell of {volume:.3g} Å³ is "
                f"{len(species) / volume:.3g} atoms/Å³, denser than "
                f"ase_nnp.potential.MAX_DENSITY = {MAX_DENSITY:g} atoms/Å³ (diamond holds "
                "0.18, the densest solids ~0.3): check the cell's size and units (Å)")
        nl = build(positions, cell, pbc, self.cutoff)
        r_min = float(nl.r.min()) if nl.n_pairs else np.inf
        if r_min < MIN_DISTANCE:
            p = int(np.argmin(nl.r))
            raise StructureError(
                f"atoms {nl.i[p]} and {nl.j[p]} overlap (distance {nl.r[p]:.3g} Å < "
                f"{MIN_DISTANCE} Å); remove duplicated atoms or fix the structure")
        return Structure(nl, species, volume, r_min)

    def evaluate_structure(self, structure, forces=True, stress=True, descriptors=None):
        """The :class:`~ase_nnp.evaluation.Evaluation` (spread fields ``None``): energy,
        per-atom energies and (optionally) forces and stresses of a prepared
        :class:`Structure` (stress only when it is fully periodic). ``descriptors``: a
        shared :class:`~ase_nnp.descriptors.base.DescriptorPass` of the same structure
        and descriptor (the Jacobian is needed for forces and stress). Without forces
        and stress no backward pass runs."""
        out = evaluate_members([self], structure, forces, stress, descriptors, spread=False)
        if self.calibration is not None:
            out.calibrated = self.calibration.apply(out)
        return out

    def evaluate(self, positions, numbers, cell, pbc, forces=True, stress=True):
        """Energy, per-atom energies and (optionally) forces and stresses:
        :meth:`prepare` then :meth:`evaluate_structure`. Stress is computed only when
        ``pbc`` is periodic in all three directions."""
        with threads_for(len(numbers)):
            return self.evaluate_structure(self.prepare(positions, numbers, cell, pbc),
                                           forces, stress)

    # ----------------------------------------------------------------- I/O
    def save(self, path, **metadata):
        """Write a ``.nnp`` model file atomically (see :mod:`ase_nnp.modelfile`), with its
        active set and calibration when it has them."""
        write(self, path, metadata)

    @classmethod
    def load(cls, path):
        """Read a ``.nnp`` model file (validated; ModelFileError names what is wrong)."""
        return read(path, cls)
