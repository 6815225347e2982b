"""A descriptor family defined here, outside the package, goes through the whole house.

``GaussianRadial`` (radial Gaussians per neighbour element, written in numpy) is
registered, trained from its own config keys, saved, loaded and checked against finite
differences; it runs the generic forward → networks → backward path, never another
family's fused kernel.
"""

import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.stress import voigt_6_to_full_3x3_stress

from ase_nnp import NNPCalculator, Potential
from ase_nnp.descriptors import FAMILIES, PairDescriptor, register_family
from ase_nnp.descriptors.base import BACKWARD, FORWARD, JACOBIAN, JVP
from ase_nnp.elements import ATOMIC_NUMBERS, normalize_elements
from ase_nnp.engine import has_fused_kernel
from ase_nnp.exceptions import ConfigError, DescriptorSpecError, ModelFileError
from ase_nnp.settings import Setting, number
from ase_nnp.training.config import TrainingConfig, schema

from conftest import numerical_forces, numerical_stress, random_atoms, random_cell


class GaussianRadial(PairDescriptor):
    r"""G[i, k·n_el + e] = Σ_{j: e_j = e} exp(-η_k (r_ij - r_k)²) f_c(r_ij),
    f_c(r) = (cos(π r / r_c) + 1) / 2."""

    kind = "test_gaussian_radial"
    ARRAY_TYPES = {"cutoff": np.float64, "eta": np.float64, "rs": np.float64}
    CONFIG_KEYS = {"gauss_n": Setting(3, int, "test family: Gaussians per element", number(1))}

    def __init__(self, elements, cutoff, eta, rs):
        self.elements = normalize_elements(elements)
        self.cutoff = float(cutoff)
        self.eta = np.asarray(eta, dtype=float)
        self.rs = np.asarray(rs, dtype=float)
        if self.eta.shape != self.rs.shape or not len(self.eta):
            raise DescriptorSpecError("eta and rs need the same, non-zero length")

    @classmethod
    def from_config(cls, elements, settings):
        n, rc = settings["gauss_n"], settings["cutoff"]
        rs = np.linspace(1.0, rc - 1.0, n)
        return cls(elements, rc, np.full(n, 2.0), rs)

    def __len__(self):
        return len(self.eta) * len(self.elements) ** 2

    def n_features(self, element=None):
        return len(self.eta) * len(self.elements)

    @property
    def n_features_max(self):
        return self.n_features()

    def feature_labels(self, element=None):
        return [f"gauss[{e}] eta={a:g} rs={b:g}" for e in self.elements
                for a, b in zip(self.eta, self.rs)]

    def to_arrays(self):
        return {"elements": np.array([ATOMIC_NUMBERS[e] for e in self.elements]),
                "cutoff": np.array([self.cutoff]), "eta": self.eta, "rs": self.rs}

    @classmethod
    def from_arrays(cls, a):
        return cls([int(z) for z in a["elements"]], float(a["cutoff"][0]), a["eta"], a["rs"])

    def kernel(self, mode, nl, launch, W, V, G, g, J):
        r = nl.r[:, None]
        fc = 0.5 * (np.cos(np.pi * r / self.cutoff) + 1.0)
        dfc = -0.5 * np.pi / self.cutoff * np.sin(np.pi * r / self.cutoff)
        x = r - self.rs
        e = np.exp(-self.eta * x * x)
        T, dT = e * fc, e * (dfc - 2.0 * self.eta * x * fc)           # (n_pairs, n)
        n = len(self.eta)
        col = launch.species[nl.j][:, None] * n + np.arange(n)        # (n_pairs, n)
        u = nl.D / nl.r[:, None]
        rows = np.broadcast_to(nl.i[:, None], col.shape)
        if mode == FORWARD:
            np.add.at(G, (rows, col), T)
        elif mode == BACKWARD:
            g += (W[rows, col] * dT).sum(axis=1)[:, None] * u
        elif mode == JVP:
            np.add.at(G, (rows, col), dT * np.einsum("pd,pd->p", u, V)[:, None])
        elif mode == JACOBIAN:
            J[np.arange(len(col))[:, None], col] += dT[:, :, None] * u[:, None, :]


@pytest.fixture
def family():
    register_family(GaussianRadial)
    yield GaussianRadial
    FAMILIES.pop(GaussianRadial.kind)


def _emt_structures(rng, n):
    out = []
    for _ in range(n):
        cell = random_cell(rng, 5.0, 7.0, 0.2)
        atoms = random_atoms(rng, 8, ["Cu", "Al"], cell, True, min_dist=2.2)
        atoms.calc = EMT()
        atoms.get_potential_energy()
        out.append(atoms)
    return out


def test_a_family_from_outside_trains_saves_loads_and_has_exact_forces(family, tmp_path, rng):
    from ase_nnp import train
    model = tmp_path / "g.nnp"
    result = train(_emt_structures(rng, 6), family=family.kind, gauss_n=4, cutoff=4.5,
                   hidden_layers=[6], max_epochs=4, validation_fraction=0.0,
                   model=str(model), cache="", progress=False, log=None)
    assert result.epochs == 4 and isinstance(result.potential.descriptor, family)
    pot = Potential.load(str(model))
    assert isinstance(pot.descriptor, family) and pot.descriptor.n_features() == 8
    np.testing.assert_array_equal(pot.descriptor.rs, result.potential.descriptor.rs)
    assert not has_fused_kernel(pot.descriptor)

    atoms = random_atoms(rng, 6, ["Cu", "Al"], random_cell(rng, 4.5, 5.0, 0.3), True,
                         min_dist=2.3)      # triclinic, smaller than twice the cutoff
    atoms.calc = NNPCalculator(pot)
    F = atoms.get_forces()
    assert np.abs(F).max() > 1e-3
    assert np.abs(F - numerical_forces(atoms)).max() < 1e-7
    s = voigt_6_to_full_3x3_stress(atoms.get_stress())
    assert np.abs(s).max() > 1e-4
    assert np.abs(s - numerical_stress(atoms)).max() < 1e-7
    e_only = pot.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc,
                          forces=False, stress=False)
    assert e_only.energy == pytest.approx(atoms.get_potential_energy(), abs=1e-12)
    # the Jacobian mode agrees with backward: a shared descriptor pass gives the same forces
    st = pot.prepare(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    shared = pot.descriptor.evaluate_pass(st.nl, st.species, jacobian=True)
    np.testing.assert_allclose(pot.evaluate_structure(st, descriptors=shared).forces, F,
                               rtol=0, atol=1e-12)


def test_family_keys_join_the_config(family):
    assert schema()["descriptor"]["gauss_n"][0] == 3
    with pytest.raises(ConfigError, match="belongs to family 'test_gaussian_radial'"):
        TrainingConfig({"train": ["x.extxyz"], "gauss_n": 2})
    with pytest.raises(ConfigError, match="gauss_n = 0 is not allowed"):
        TrainingConfig({"train": ["x.extxyz"], "family": family.kind, "gauss_n": 0})


def test_registry_refuses_clashes_and_incomplete_families(family, tmp_path):
    class Clash(GaussianRadial):
        kind = "test_clash"
        CONFIG_KEYS = {"cutoff": Setting(1.0, float, "clashes with [descriptor] cutoff")}
    register_family(Clash)
    try:
        with pytest.raises(ConfigError, match="'cutoff', which \\[descriptor\\] already has"):
            schema()
    finally:
        FAMILIES.pop("test_clash")
    with pytest.raises(ValueError, match="already registered"):
        register_family(type("Other", (GaussianRadial,), {}))
    with pytest.raises(TypeError, match="lacks kernel"):
        register_family(type("NoKernel", (PairDescriptor,), {
            k: getattr(GaussianRadial, k) for k in ("kind", "ARRAY_TYPES", "CONFIG_KEYS",
                                                    "from_config", "to_arrays", "from_arrays",
                                                    "n_features", "feature_labels", "__len__")}))
    # a model file of a family this ase-nnp does not know is refused by name
    pot = Potential(["Cu", "Al"], GaussianRadial(["Cu", "Al"], 4.0, [1.0], [2.0]),
                    hidden_layers=(3,), seed=0)
    pot.save(str(tmp_path / "x.nnp"))
    FAMILIES.pop(family.kind)
    try:
        with pytest.raises(ModelFileError, match="unknown descriptor kind 'test_gaussian_radial'"):
            Potential.load(str(tmp_path / "x.nnp"))
    finally:
        register_family(family)
