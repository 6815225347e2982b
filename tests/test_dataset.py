"""Reading and validating reference data: every problem named with its file and index."""
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from ase_nnp.training import LossWeights
from ase_nnp.training.dataset import (DatasetError, check_elements, check_weights, read,
                                      summarize)


def _structure(k, energy=True, forces=True, stress=True, symbol="Si"):
    atoms = bulk(symbol, "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=k)
    res = {}
    if energy:
        res["energy"] = -4.3 * len(atoms) + 0.01 * k
    if forces:
        res["forces"] = np.random.default_rng(k).normal(0, 0.3, (len(atoms), 3))
    if stress:
        res["stress"] = np.full(6, 0.001 * k)
    atoms.calc = SinglePointCalculator(atoms, **res)
    return atoms


def test_reads_files_and_masks_missing_properties(tmp_path):
    write(tmp_path / "a.extxyz", [_structure(0), _structure(1, forces=False)])
    write(tmp_path / "b.traj", [_structure(2, stress=False)])
    refs = read([tmp_path / "a.extxyz", tmp_path / "b.traj"])
    assert len(refs) == 3
    assert refs[1].forces is None and refs[2].stress is None
    assert refs[0].stress.shape == (3, 3)
    s = summarize(refs)
    assert (s.n_frames, s.n_atoms, s.with_forces, s.with_stress) == (3, 24, 2, 2)
    assert "3 structures" in str(s)


def test_missing_energy_names_file_and_index(tmp_path):
    write(tmp_path / "d.extxyz", [_structure(0), _structure(1, energy=False, forces=False,
                                                              stress=False)])
    with pytest.raises(DatasetError, match=r"d\.extxyz\[1\]: no reference energy"):
        read(tmp_path / "d.extxyz")


def test_nan_forces_name_file_and_index():
    atoms = _structure(0)
    atoms.calc.results["forces"][2, 1] = np.nan
    with pytest.raises(DatasetError, match=r"<Atoms>\[0\]: forces contain NaN"):
        read(atoms)


def test_unknown_element_and_unreadable_file(tmp_path):
    refs = read([_structure(0), _structure(1, symbol="C")])
    with pytest.raises(DatasetError, match=r"<Atoms>\[1\]: contains \['C'\]"):
        check_elements(refs, ["Si"])
    (tmp_path / "junk.xyz").write_text("not a structure\n")
    with pytest.raises(DatasetError, match="junk.xyz: ase.io cannot read it"):
        read(tmp_path / "junk.xyz")
    with pytest.raises(DatasetError, match="no such file"):
        read(tmp_path / "missing.extxyz")


def test_dataset_without_forces_needs_zero_force_weight():
    refs = read([_structure(0, forces=False), _structure(1, forces=False)])
    with pytest.raises(DatasetError, match="no forces but the force weight"):
        check_weights(refs, LossWeights(1.0, 1.0, 0.0))
    check_weights(refs, LossWeights(1.0, 0.0, 1.0))


def test_an_ase_db_gives_its_key_value_pairs_as_info(tmp_path):
    # ase.io.read drops a row's key-value pairs; groups and weights stored there count
    from ase.calculators.emt import EMT
    from ase.db import connect
    path = str(tmp_path / "data.db")
    db = connect(path)
    for k, group in enumerate(["bulk", "slab", "bulk"]):
        a = bulk("Cu", a=3.6 + 0.01 * k)
        a.calc = EMT()
        a.get_potential_energy()
        db.write(a, config_type=group, weight=float(k + 1))
    refs = read(path)
    assert [r.atoms.info["config_type"] for r in refs] == ["bulk", "slab", "bulk"]
    assert [r.weight for r in refs] == [1.0, 2.0, 3.0]
    assert [r.atoms.info["config_type"] for r in read(path, "1:")] == ["slab", "bulk"]


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_a_compressed_file_reads_as_the_plain_one(tmp_path, suffix):
    import bz2
    import gzip
    import lzma
    images = [_structure(k) for k in range(12)]
    for k, atoms in enumerate(images):
        atoms.info["config_type"] = f"c{k % 3}"
    plain = tmp_path / "d.extxyz"
    write(plain, images)
    packed = tmp_path / f"d.extxyz{suffix}"
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[suffix]
    with opener(packed, "wb") as fh:
        fh.write(plain.read_bytes())
    for index, count in ((":", 12), ("::3", 4), ("-2", 1)):
        a, b = read([plain], index), read([packed], index)
        assert len(a) == len(b) == count
        for x, y in zip(a, b):
            assert x.index == y.index and x.atoms.info == y.atoms.info
            np.testing.assert_array_equal(x.atoms.positions, y.atoms.positions)
            np.testing.assert_array_equal(x.atoms.cell[:], y.atoms.cell[:])
            np.testing.assert_array_equal(x.forces, y.forces)
            np.testing.assert_array_equal(x.stress, y.stress)
            assert x.energy == y.energy
    with pytest.raises(DatasetError, match="no such file"):
        read([tmp_path / f"missing.extxyz{suffix}"])


def test_min_pair_distances_are_exactly_symmetric():
    """The distance of an A-B pair is found from A and from B, with rounding that may
    differ in the last bit; the matrix (which Potential requires symmetric) takes one.
    Seed 4 gives such a pair (the Cu-Au distance differed in its last bit)."""
    from ase_nnp.training.baseline import min_pair_distances
    from conftest import random_atoms, random_cell
    rng = np.random.default_rng(4)
    a = random_atoms(rng, 12, ["Cu", "Au"], random_cell(rng, 5, 7, 0.3), True, 1.8)
    a.calc = SinglePointCalculator(a, energy=0.0)
    md = min_pair_distances(read([a]), ["Cu", "Au"], 5.0)
    np.testing.assert_array_equal(md, md.T)
