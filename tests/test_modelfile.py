"""The .nnp file: bit-for-bit round trip, atomic writes, and a clear error for each bad file."""
import os

import h5py
import numpy as np
import pytest

from ase_nnp import ModelFileError, NNPCalculator, load
from conftest import random_atoms, random_cell, sensitive_potential


@pytest.fixture
def pot_and_atoms():
    rng = np.random.default_rng(0)
    atoms = random_atoms(rng, 12, ["Si", "O", "C"], random_cell(rng, 5, 7, 0.2), True, 1.5)
    pot = sensitive_potential(["Si", "O", "C"], [atoms], activation="softplus")
    pot.networks["O"].activations[0] = "logistic"
    pot.networks["C"].activations[1] = "shifted_softplus"
    return pot, atoms


def test_roundtrip_bit_for_bit(tmp_path, pot_and_atoms):
    pot, atoms = pot_and_atoms
    path = tmp_path / "model.nnp"
    pot.save(path, note="test")
    pot2 = load(path)
    assert pot2.metadata["note"] == "test"
    assert pot2.descriptor.to_arrays().keys() == pot.descriptor.to_arrays().keys()
    for key, arr in pot.descriptor.to_arrays().items():
        np.testing.assert_array_equal(arr, pot2.descriptor.to_arrays()[key])
    a1, a2 = atoms.copy(), atoms.copy()
    a1.calc, a2.calc = NNPCalculator(pot), NNPCalculator(str(path))
    assert a1.get_potential_energy() == a2.get_potential_energy()
    assert np.array_equal(a1.get_forces(), a2.get_forces())
    assert np.array_equal(a1.get_stress(), a2.get_stress())
    assert np.array_equal(a1.get_potential_energies(), a2.get_potential_energies())
    with h5py.File(path) as f:
        assert f.attrs["format"] == "ase-nnp" and f.attrs["format_version"] == 1
        assert f.attrs["energy_unit"] == "eV" and "created" in f.attrs
        assert f["scaling/Si/min"].shape == (pot.descriptor.n_features("Si"),)


def test_atomic_write_keeps_old_file_on_failure(tmp_path, pot_and_atoms):
    pot, _ = pot_and_atoms
    path = tmp_path / "model.nnp"
    pot.save(path)
    before = path.read_bytes()
    pot.networks["Si"].activations[0] = object()   # unwritable: the write must fail
    with pytest.raises(Exception):
        pot.save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.nnp"]   # no temporary left behind


def _corrupt(tmp_path, pot, edit):
    path = tmp_path / "bad.nnp"
    pot.save(path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def test_not_hdf5(tmp_path):
    path = tmp_path / "x.nnp"
    path.write_text("input.nn from n2p2, not a model file\n")
    with pytest.raises(ModelFileError, match="not a readable HDF5"):
        load(path)


def test_truncated(tmp_path, pot_and_atoms):
    path = tmp_path / "t.nnp"
    pot_and_atoms[0].save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load(path)


def test_foreign_hdf5(tmp_path):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(3)
    with pytest.raises(ModelFileError, match="not an ase-nnp model"):
        load(path)


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        load("/nonexistent/model.nnp")


@pytest.mark.parametrize("edit,match", [
    (lambda f: f.attrs.__setitem__("format_version", 99), "newer"),
    (lambda f: f.attrs.__setitem__("format_version", 0), "unknown format version"),
    (lambda f: f.__delitem__("networks/O/W1"), "missing '/networks/O/W1'"),
    (lambda f: f.__delitem__("descriptor/eta"), "missing '/descriptor/eta'"),
    (lambda f: (f.__delitem__("scaling/Si/max"), f.create_dataset("scaling/Si/max", data=np.ones(2))),
     "shape"),
    (lambda f: f["networks/C/W0"].__setitem__((0, 0), np.nan), "NaN"),
    (lambda f: f["networks/Si/b1"].__setitem__(0, np.inf), "NaN or infinite"),
    (lambda f: (f.__delitem__("networks/Si/W1"), f.create_dataset("networks/Si/W1", data=np.ones((3, 3)))),
     "network of Si"),
    (lambda f: f["descriptor/cutoff_type"].__setitem__(0, 42), "cutoff type"),
    (lambda f: f["descriptor/center"].__setitem__(0, 92), "atomic number 92"),
    (lambda f: f["networks/O"].attrs.__setitem__("activations", ["tanh", "relu6", "identity"]),
     "activation"),
])
def test_invalid_content(tmp_path, pot_and_atoms, edit, match):
    path = _corrupt(tmp_path, pot_and_atoms[0], edit)
    with pytest.raises(ModelFileError, match=match):
        load(path)


def test_saved_file_has_the_usual_permissions(tmp_path, pot_and_atoms):
    import os
    import stat
    pot, _ = pot_and_atoms
    path = tmp_path / "p.nnp"
    old = os.umask(0o022)
    try:
        pot.save(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
