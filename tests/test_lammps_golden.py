"""ase-nnp against LAMMPS' pair_style hdnnp (released n2p2 in LAMMPS, package ML-HDNNP).

The golden data in ``tests/data/lammps`` (made by ``make_golden.py`` there; commands and
versions in its README) are LAMMPS' own energy (thermo ``pe``), forces (dump, ``%.17g``)
and virial (``compute pressure NULL virial``) for potentials exported by ``write_n2p2``.
Here the same files are read with ``read_n2p2`` and evaluated on the dumped positions.

Stress conversion (LAMMPS ``units metal``): the pressure tensor is in bar, P_ab = W_ab / V
with the virial W_ab = sum_i r_ia f_ib, which is minus ASE's stress: sigma_ab = -P_ab / c
with c = 1.6021765e6 bar per eV/Å^3 (LAMMPS' own ``force->nktv2p`` for metal units, not
1/ase.units.bar = 1602176.6208, which differs by 8e-8 relative). The vector of
``compute pressure`` is xx, yy, zz, xy, xz, yz; ASE's Voigt order is xx, yy, zz, yz, xz, xy,
so sigma_voigt = -[p1, p2, p3, p6, p5, p4] / c.
"""
import os

import numpy as np
import pytest
from ase import Atoms

from ase_nnp.calculator import NNPCalculator
from ase_nnp.interop import read_n2p2

GOLDEN = os.path.join(os.path.dirname(__file__), "data", "lammps")
NKTV2P_METAL = 1.6021765e6          # LAMMPS update.cpp, units metal: bar per eV/Å^3
CASES = ["si_tric8", "si_prim2", "si_512", "sio_tric6", "sio_512", "si_zbl8", "sio_zbl6"]
#: relative agreement demanded: energy to |E|, forces and stress to their largest component
RTOL = 1e-10


def _deck(case):
    """Potential folder, element of each LAMMPS type, and the zbl sub-styles of the deck:
    {(type_i, type_j): (inner, outer)} (empty without pair_style hybrid/overlay ... zbl)."""
    pot, elements, styles, zbl = None, None, [], {}
    for line in open(os.path.join(GOLDEN, f"{case}.in")):
        w = line.split()
        if w[:1] == ["pair_style"]:
            pot = w[w.index("dir") + 1].strip('"')
            styles = [(float(w[k + 1]), float(w[k + 2])) for k in range(len(w)) if w[k] == "zbl"]
        elif w[:3] == ["pair_coeff", "*", "*"]:
            elements = w[4:] if w[3] == "hdnnp" else w[3:]
        elif w[:1] == ["pair_coeff"] and w[3] == "zbl":
            k = int(w[4]) - 1 if len(styles) > 1 else 0
            zbl[(int(w[1]), int(w[2]))] = styles[k]
    return os.path.join(GOLDEN, pot), elements, zbl


def _potential(case):
    """The exported networks read back, with the deck's ZBL repulsion where it has one."""
    from ase_nnp import Potential
    from ase_nnp.repulsion import ZBLRepulsion
    pot_dir, elements, zbl = _deck(case)
    pot = read_n2p2(pot_dir)
    if not zbl:
        return pot
    n = len(pot.elements)
    inner, outer = np.zeros((n, n)), np.zeros((n, n))
    for (ti, tj), (r1, rc) in zbl.items():
        a, b = pot.elements.index(elements[ti - 1]), pot.elements.index(elements[tj - 1])
        inner[a, b] = inner[b, a] = r1
        outer[a, b] = outer[b, a] = rc
    return Potential(pot.elements, pot.descriptor, networks=pot.networks, scalings=pot.scalings,
                     energy_offsets=pot.energy_offsets,
                     repulsion=ZBLRepulsion(pot.elements, inner, outer))


def _cell(case):
    """Cell rows from the data file (xlo = ylo = zlo = 0, restricted triclinic)."""
    v = {}
    for line in open(os.path.join(GOLDEN, f"{case}.data")):
        w = line.split()
        if w[-2:] in (["xlo", "xhi"], ["ylo", "yhi"], ["zlo", "zhi"]):
            assert float(w[0]) == 0.0
            v[w[-1]] = float(w[1])
        elif w[-3:] == ["xy", "xz", "yz"]:
            v["xy"], v["xz"], v["yz"] = (float(x) for x in w[:3])
    return np.array([[v["xhi"], 0, 0], [v["xy"], v["yhi"], 0], [v["xz"], v["yz"], v["zhi"]]])


def _dump(case):
    """ids, types, positions, forces of the single dump frame (sorted by id)."""
    lines = open(os.path.join(GOLDEN, f"{case}.dump")).read().splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("ITEM: ATOMS"))
    assert lines[k].split()[2:] == ["id", "type", "x", "y", "z", "fx", "fy", "fz"]
    rows = np.array([[float(x) for x in line.split()] for line in lines[k + 1:] if line.strip()])
    return rows[:, 0].astype(int), rows[:, 1].astype(int), rows[:, 2:5], rows[:, 5:8]


def _thermo(case):
    head, row = [line.split() for line in open(os.path.join(GOLDEN, f"{case}.thermo"))][:2]
    return dict(zip(head, (float(x) for x in row)))


def lammps_reference(case):
    """Atoms as LAMMPS evaluated them and LAMMPS' energy (eV), forces (eV/Å) and stress
    (eV/Å^3, ASE's sign and Voigt order)."""
    pot_dir, elements, _ = _deck(case)
    ids, types, pos, forces = _dump(case)
    assert (ids == np.arange(1, len(ids) + 1)).all()
    atoms = Atoms([elements[t - 1] for t in types], positions=pos, cell=_cell(case), pbc=True)
    t = _thermo(case)
    p = [t[f"c_pv[{k}]"] for k in range(1, 7)]                  # bar: xx yy zz xy xz yz
    stress = -np.array([p[0], p[1], p[2], p[5], p[4], p[3]]) / NKTV2P_METAL
    assert abs(t["Volume"] - atoms.get_volume()) <= 1e-12 * t["Volume"]
    return pot_dir, atoms, t["PotEng"], forces, stress


@pytest.mark.parametrize("case", CASES)
@pytest.mark.filterwarnings("ignore::ase_nnp.ExtrapolationWarning")
def test_matches_lammps_pair_hdnnp(case):
    pot_dir, atoms, e_ref, f_ref, s_ref = lammps_reference(case)
    atoms.calc = NNPCalculator(_potential(case))
    energy, forces, stress = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    assert np.abs(f_ref).max() > 0.05 and np.abs(s_ref).max() > 1e-3  # the comparison can fail
    assert abs(energy - e_ref) <= RTOL * abs(e_ref), (energy, e_ref)
    assert np.abs(forces - f_ref).max() <= RTOL * np.abs(f_ref).max()
    assert np.abs(stress - s_ref).max() <= RTOL * np.abs(s_ref).max(), (stress, s_ref)


def test_cells_are_what_the_cases_claim():
    """Small cells are smaller than twice the cutoff and triclinic; the big ones hold 512."""
    for case in CASES:
        pot_dir, atoms, *_ = lammps_reference(case)
        cutoff = read_n2p2(pot_dir).cutoff
        if case.endswith("_512"):
            assert len(atoms) == 512
        else:
            cell = atoms.cell
            heights = atoms.get_volume() / np.linalg.norm(
                np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
            assert heights.max() < 2 * cutoff
            assert all(abs(a - 90.0) > 1.0 for a in cell.angles())
