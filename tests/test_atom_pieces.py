r"""A fourth descriptor family, written here in Numba, runs through the fused kernel.

``RadialSums`` registers only its per-atom pieces (:mod:`ase_nnp.descriptors.base`):

    G_ik = Σ_j exp(-η_k r_ij²) f_c(r_ij),   f_c(r) = (cos(π r / r_c) + 1) / 2,
    ∂G_ik/∂D_ij = T_k'(r_ij) D_ij / r_ij,   T_k'(r) = exp(-η_k r²) (f_c'(r) - 2 η_k r f_c(r)).

Neither ``ase_nnp/engine.py`` nor any other kernel source names it: the engine's fused
kernel (descriptor → network → backward per atom, one Jacobian for an ensemble) and the
descriptor's four modes are compiled for its plan type. Forces and stress are held to
central finite differences, the fused numbers to the three-step path, and the plan's type
is kept out of Numba's cache index (its class lives in this test module).
"""

import math
import os
from typing import NamedTuple

import numpy as np
import pytest
from ase.stress import voigt_6_to_full_3x3_stress
from numba import njit, typeof

from ase_nnp import Ensemble, NNPCalculator, engine
from ase_nnp.descriptors import FAMILIES, PairDescriptor, register_family
from ase_nnp.descriptors.base import ATOM_PIECES, AtomPieces, register_atom_pieces
from ase_nnp.elements import ATOMIC_NUMBERS, normalize_elements
from ase_nnp.neighbors import build

from conftest import numerical_forces, numerical_stress, random_atoms, random_cell, \
    sensitive_potential

pytestmark = pytest.mark.filterwarnings("ignore:.*extrapolating")


class RadialPlan(NamedTuple):
    eta: np.ndarray
    rc: float


@njit
def _scratch(max_pairs, plan, records):
    return np.empty((max_pairs, plan.eta.shape[0]))       # T_k'(r) of every pair


@njit
def _values(i, first, jn, D, r, species, plan, scr, Gi, records):
    p0 = first[i]
    for p in range(p0, first[i + 1]):
        x = r[p]
        if x >= plan.rc:
            scr[p - p0, :] = 0.0
            continue
        fc = 0.5 * (math.cos(math.pi * x / plan.rc) + 1.0)
        dfc = -0.5 * math.pi / plan.rc * math.sin(math.pi * x / plan.rc)
        for k in range(plan.eta.shape[0]):
            e = math.exp(-plan.eta[k] * x * x)
            Gi[k] += e * fc
            if records:
                scr[p - p0, k] = e * (dfc - 2.0 * plan.eta[k] * x * fc)
    return first[i + 1] - p0


@njit
def _vjp(i, first, jn, D, r, species, plan, scr, state, w, g):
    p0 = first[i]
    for q in range(state):
        s = 0.0
        for k in range(plan.eta.shape[0]):
            s += w[k] * scr[q, k]
        for d in range(3):
            g[p0 + q, d] += s * D[p0 + q, d] / r[p0 + q]


@njit
def _jvp(i, first, jn, D, r, species, plan, scr, state, V, dGi):
    p0 = first[i]
    for q in range(state):
        uv = 0.0
        for d in range(3):
            uv += D[p0 + q, d] * V[p0 + q, d] / r[p0 + q]
        for k in range(plan.eta.shape[0]):
            dGi[k] += scr[q, k] * uv


@njit
def _jacobian(i, first, jn, D, r, species, plan, scr, state, J, j0):
    p0 = first[i]
    for q in range(state):
        for k in range(plan.eta.shape[0]):
            for d in range(3):
                J[p0 + q - j0, k, d] += scr[q, k] * D[p0 + q, d] / r[p0 + q]


class RadialSums(PairDescriptor):
    """G_ik = Σ_j exp(-η_k r_ij²) f_c(r_ij), the same columns for every element."""

    kind = "test_radial_sums"
    ARRAY_TYPES = {"cutoff": np.float64, "eta": np.float64}
    CONFIG_KEYS = {}

    def __init__(self, elements, cutoff, eta):
        self.elements = normalize_elements(elements)
        self.cutoff = float(cutoff)
        self.eta = np.asarray(eta, dtype=float)

    @classmethod
    def from_config(cls, elements, settings):
        return cls(elements, settings["cutoff"], [0.1, 0.5, 1.0])

    def n_features(self, element=None):
        return len(self.eta)

    def feature_labels(self, element=None):
        return [f"radial eta={a:g}" for a in self.eta]

    def to_arrays(self):
        return {"elements": np.array([ATOMIC_NUMBERS[e] for e in self.elements]),
                "cutoff": np.array([self.cutoff]), "eta": self.eta}

    @classmethod
    def from_arrays(cls, a):
        return cls([int(z) for z in a["elements"]], float(a["cutoff"][0]), a["eta"])

    def plan(self):
        return RadialPlan(self.eta, self.cutoff)


@pytest.fixture(scope="module")
def family():
    register_family(RadialSums)
    register_atom_pieces(RadialSums.kind, AtomPieces(RadialPlan, _scratch, _values, _vjp, _jvp,
                                                     _jacobian, share_jacobian=True))
    yield RadialSums
    FAMILIES.pop(RadialSums.kind)
    ATOM_PIECES.pop(RadialSums.kind)


def _case(rng, family):
    atoms = random_atoms(rng, 7, ["Cu", "Al"], random_cell(rng, 4.5, 5.5, 0.3), True,
                         min_dist=2.2)
    desc = family(["Cu", "Al"], 4.0, [0.05, 0.3, 1.0])
    members = [sensitive_potential(["Cu", "Al"], [atoms], seed=s, hidden=(5,), descriptor=desc)
               for s in range(2)]
    return atoms, members


def test_the_fourth_family_runs_through_the_fused_kernel(family, rng, monkeypatch):
    atoms, members = _case(rng, family)
    assert engine.has_fused_kernel(members[0].descriptor)
    source = open(os.path.join(os.path.dirname(engine.__file__), "engine.py")).read()
    assert "RadialSums" not in source and family.kind not in source

    atoms.calc = NNPCalculator(members[0])
    F = atoms.get_forces()
    assert np.abs(F).max() > 1e-3
    assert np.abs(F - numerical_forces(atoms)).max() < 1e-7
    s = voigt_6_to_full_3x3_stress(atoms.get_stress())
    assert np.abs(s).max() > 1e-4
    assert np.abs(s - numerical_stress(atoms)).max() < 1e-7

    # the fused numbers are the three-step ones, for one member and for an ensemble
    # (whose members contract one shared per-atom Jacobian)
    args = (atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    fused = [members[0].evaluate(*args), Ensemble(members).evaluate(*args)]
    nl = build(atoms.positions, atoms.cell[:], atoms.pbc, members[0].descriptor.cutoff)
    direct = engine.members_energies_and_pair_gradients(
        members, nl, members[0].species_indices(atoms.numbers))
    np.testing.assert_allclose(direct.E[0], fused[0].energies, rtol=0, atol=1e-12)
    monkeypatch.delitem(ATOM_PIECES, family.kind)
    assert not engine.has_fused_kernel(members[0].descriptor)
    generic = [members[0].evaluate(*args), Ensemble(members).evaluate(*args)]
    for f, g in zip(fused, generic):
        for key in ("energy", "energies", "forces", "stress"):
            a, b = np.asarray(getattr(f, key)), np.asarray(getattr(g, key))
            assert np.abs(a - b).max() <= 1e-12 * max(1.0, np.abs(b).max()), key


def test_the_fourth_family_modes_agree_and_stay_out_of_the_cache(family, rng):
    atoms, members = _case(rng, family)
    desc = members[0].descriptor
    species = desc.species_indices(atoms.numbers)
    nl = build(atoms.positions, atoms.cell[:], atoms.pbc, desc.cutoff)
    J = desc.jacobian(nl, species)
    W = rng.normal(size=(len(atoms), desc.n_features_max))
    V = rng.normal(size=(nl.n_pairs, 3))
    np.testing.assert_allclose(desc.backward(nl, species, W),
                               np.einsum("pf,pfd->pd", W[nl.i], J), atol=1e-12)
    dG = np.zeros_like(W)
    np.add.at(dG, nl.i, np.einsum("pfd,pd->pf", J, V))
    np.testing.assert_allclose(desc.jvp(nl, species, V), dG, atol=1e-12)
    # its plan type never reaches the index of the package's cached kernels, which
    # another process (without this test module) must be able to unpickle
    members[0].evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    plan_type = typeof(desc.plan())
    for kernel in (engine._energy_kernel, engine._energy_block):
        index = kernel._cache._cache_file._load_index()
        assert not any(plan_type in key[0] for key in index)
