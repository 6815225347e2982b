"""n2p2/RuNNer interoperability: exact round trips, n2p2's own numbers, refusals."""
import os
import shutil
import sys

import numpy as np
import pytest
from ase.data import atomic_numbers

from ase_nnp import InteropError, Potential, load
from ase_nnp.cli import main
from ase_nnp.descriptors import SphericalBessel, SymmetryFunctions
from ase_nnp.interop import read_n2p2, write_n2p2
from ase_nnp.interop.n2p2 import n2p2_order

GOLDEN = os.path.join(os.path.dirname(__file__), "data", "n2p2")
sys.path.insert(0, GOLDEN)
from make_golden import CASES, potential, read_energy, structures  # noqa: E402


def _evaluate(pot, atoms):
    return pot.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)


@pytest.mark.parametrize("name", list(CASES))
def test_round_trip_is_bit_for_bit(name, tmp_path):
    elements, ctype, alpha, mode, srange, acts, _ = CASES[name]
    pot = potential(name, elements, ctype, alpha, mode, srange, acts, seed=3)
    write_n2p2(pot, tmp_path)
    back = read_n2p2(tmp_path)
    assert back.elements == sorted(elements, key=atomic_numbers.get)
    for atoms in structures(elements, 3).values():
        a, b = _evaluate(pot, atoms), _evaluate(back, atoms)
        assert a.energy == b.energy
        assert np.array_equal(a.forces, b.forces) and np.array_equal(a.energies, b.energies)
        if atoms.pbc.all():
            assert np.array_equal(a.stress, b.stress)


def test_round_trip_with_normalisation_header(tmp_path):
    elements, ctype, alpha, mode, srange, acts, _ = CASES["sioc_tanh_scale"]
    pot = potential("x", elements, ctype, alpha, mode, srange, acts, seed=5)
    write_n2p2(pot, tmp_path, normalization=(-3.7, 2.3, 1.9))
    assert "conv_energy 2.3" in (tmp_path / "input.nn").read_text()
    back = read_n2p2(tmp_path)
    for atoms in structures(elements, 5).values():
        a, b = _evaluate(pot, atoms), _evaluate(back, atoms)
        assert abs(a.energy - b.energy) < 1e-13 * abs(a.energy)
        assert np.abs(a.forces - b.forces).max() < 1e-12 * np.abs(a.forces).max()


def _golden_structure(path):
    """Positions, symbols and lattice from an input.data file (independent tiny reader)."""
    from ase import Atoms
    lattice, pos, sym = [], [], []
    for line in open(path):
        w = line.split()
        if w and w[0] == "lattice":
            lattice.append([float(x) for x in w[1:4]])
        elif w and w[0] == "atom":
            pos.append([float(x) for x in w[1:4]])
            sym.append(w[4])
    periodic = len(lattice) == 3
    return Atoms(sym, positions=pos, cell=lattice if periodic else None, pbc=periodic)


def _n2p2_numbers(case, name):
    energy = read_energy(os.path.join(case, f"{name}.energy.out"))
    frows = [line.split() for line in open(os.path.join(case, f"{name}.nnforces.out"))
             if line.strip() and not line.startswith("#")]
    forces = np.array([[float(x) for x in r[-3:]] for r in frows])   # ... Fnnp_x Fnnp_y Fnnp_z
    return energy, forces


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_n2p2_nnp_predict(name):
    """Energies of all three structures and forces of the triclinic cell and the cluster
    equal n2p2's to 1e-8 relative. In the cell smaller than the cutoff, where atoms see
    their own periodic images, nnp-predict's printed forces are not the gradient of its own
    energy; there ase-nnp's forces are checked against central differences of n2p2's
    energies (``small.fd.out``)."""
    case = os.path.join(GOLDEN, name)
    pot = read_n2p2(case)
    for sname in ("bulk", "small", "cluster"):
        atoms = _golden_structure(os.path.join(case, f"{sname}.data"))
        e_ref, f_ref = _n2p2_numbers(case, sname)
        ev = _evaluate(pot, atoms)
        assert abs(ev.energy - e_ref) <= 1e-8 * abs(e_ref), (sname, ev.energy, e_ref)
        assert np.abs(f_ref).max() > 1e-3                      # the comparison can fail
        if sname != "small":
            assert np.abs(ev.forces - f_ref).max() <= 1e-8 * np.abs(f_ref).max(), sname
    small = _evaluate(pot, _golden_structure(os.path.join(case, "small.data")))
    for line in open(os.path.join(case, "small.fd.out")):
        if line.startswith("#"):
            continue
        a, d, h, e_plus, e_minus = line.split()
        fd = -(float(e_plus) - float(e_minus)) / (2 * float(h))
        assert abs(small.forces[int(a), int(d)] - fd) < 1e-6, (a, d)


def test_sorted_order_follows_n2p2():
    sf = SymmetryFunctions(["O", "H"], 5.0)           # our element order O, H; n2p2: H (1), O (8)
    sf.add_radial(0.5, center="O", neighbor="O")      # col 0
    sf.add_angular(0.1, 1, 1, kind="wide", center="O", neighbors=("O", "H"))   # col 1
    sf.add_radial(0.1, center="O", neighbor="H")      # col 2
    sf.add_radial(0.1, center="O", neighbor="O")      # col 3
    sf.add_angular(0.1, 1, -1, kind="narrow", center="O", neighbors=("H", "H"))  # col 4
    sf.add_radial(0.1, 2.0, center="O", neighbor="H", cutoff=4.0)              # col 5
    # type 2 first; among radials r_c 4 < 5, then eta, then r_s, then e1 (H before O);
    # type 3 before type 9
    assert n2p2_order(sf, "O") == [5, 2, 3, 0, 4, 1]


def test_input_line_order_does_not_matter(tmp_path):
    elements, ctype, alpha, mode, srange, acts, _ = CASES["sioc_tanh_scale"]
    pot = potential("x", elements, ctype, alpha, mode, srange, acts, seed=2)
    write_n2p2(pot, tmp_path)
    lines = (tmp_path / "input.nn").read_text().splitlines()
    sym = [k for k, line in enumerate(lines) if line.startswith("symfunction_short")]
    shuffled = list(lines)
    for k, src in zip(sym, np.random.default_rng(0).permutation(sym)):
        shuffled[k] = lines[src]
    assert shuffled != lines
    (tmp_path / "input.nn").write_text("\n".join(shuffled) + "\n")
    back = read_n2p2(tmp_path)
    for atoms in structures(elements, 2).values():
        a, b = _evaluate(pot, atoms), _evaluate(back, atoms)
        assert abs(a.energy - b.energy) < 1e-12 * abs(a.energy)
        assert np.abs(a.forces - b.forces).max() < 1e-11


@pytest.fixture
def exported(tmp_path):
    elements, ctype, alpha, mode, srange, acts, _ = CASES["sio_poly2_sigma"]
    write_n2p2(potential("x", elements, ctype, alpha, mode, srange, acts, seed=1), tmp_path / "p")
    return tmp_path / "p"


@pytest.mark.parametrize("edit,message", [
    (lambda s: s + "symfunction_short Si 12 Si 0.1 1.0 5.0\n", "type 12"),
    (lambda s: s.replace("nnp_type 2", "nnp_type 4G-HDNNP"), "nnp_type 4G-HDNNP"),
    (lambda s: s + "normalize_nodes\n", "'normalize_nodes'"),
    (lambda s: s + "element_nodes_short Si 5 3\n", "'element_nodes_short'"),
    (lambda s: s + "fixed_gausswidth O 1.0\n", "'fixed_gausswidth'"),
    (lambda s: s + "my_new_keyword 1\n", "'my_new_keyword'"),
    (lambda s: s.replace("global_activation_short s p l", "global_activation_short r p l"),
     "activation 'r'"),
    (lambda s: s.replace("global_activation_short s p l", "global_activation_short s p t"),
     "output activation"),
    (lambda s: s + "mean_energy 1.0\n", "all or none"),
    (lambda s: s.replace("cutoff_type 6", "cutoff_type 11"), "cutoff_type 11"),
])
def test_refuses_what_it_does_not_cover(exported, edit, message):
    f = exported / "input.nn"
    f.write_text(edit(f.read_text()))
    with pytest.raises(InteropError, match=message) as err:
        read_n2p2(exported)
    assert "input.nn" in str(err.value)


def test_refuses_broken_files(exported):
    scaling = (exported / "scaling.data").read_text()
    (exported / "scaling.data").write_text(scaling.replace("\n1 1 ", "\nSi 1 ", 1))
    with pytest.raises(InteropError, match=r"scaling.data:\d+: element index: 'Si' is not a number"):
        read_n2p2(exported)
    (exported / "scaling.data").write_text(scaling)
    (exported / "weights.014.data").write_text("0.1\n0.2\n")
    with pytest.raises(InteropError, match="weights.014.data: 2 values"):
        read_n2p2(exported)
    os.remove(exported / "weights.014.data")
    with pytest.raises(InteropError, match="weights.014.data: no such file"):
        read_n2p2(exported)
    shutil.rmtree(exported)
    with pytest.raises(InteropError, match="input.nn: no such file"):
        read_n2p2(exported)


def test_export_refuses_what_n2p2_cannot_express(tmp_path):
    pot = Potential(["Si"], SphericalBessel(["Si"], 5.0, 2, 2), hidden_layers=(4,), seed=0)
    with pytest.raises(InteropError, match="spherical_bessel"):
        write_n2p2(pot, tmp_path)
    sf = SymmetryFunctions(["Si"], 5.0)
    sf.add_radial(0.1)
    sf.add_radial(0.2, cutoff_function="poly2")
    with pytest.raises(InteropError, match="one cutoff type"):
        write_n2p2(Potential(["Si"], sf, hidden_layers=(4,), seed=0), tmp_path)
    sf = SymmetryFunctions(["Si"], 5.0)
    sf.add_radial(0.1)
    pot = Potential(["Si"], sf, hidden_layers=(4,), activation="shifted_softplus", seed=0)
    with pytest.raises(InteropError, match="shifted_softplus"):
        write_n2p2(pot, tmp_path)
    assert not any(tmp_path.iterdir())                 # nothing half-written


def test_command_line_export_and_import(tmp_path, capsys):
    elements, ctype, alpha, mode, srange, acts, _ = CASES["si_cos_scalecenter_norm"]
    pot = potential("x", elements, ctype, alpha, mode, srange, acts, seed=4)
    pot.save(tmp_path / "a.nnp")
    assert main(["export", "--format", "n2p2", str(tmp_path / "a.nnp"), str(tmp_path / "d")]) == 0
    assert main(["import", str(tmp_path / "d"), str(tmp_path / "b.nnp")]) == 0
    back = load(tmp_path / "b.nnp")
    atoms = structures(elements, 4)["bulk"]
    assert _evaluate(back, atoms).energy == _evaluate(pot, atoms).energy
    (tmp_path / "d" / "input.nn").write_text("elements Si\nbogus 1\n")
    assert main(["import", str(tmp_path / "d"), str(tmp_path / "c.nnp")]) == 2
    assert "bogus" in capsys.readouterr().err
