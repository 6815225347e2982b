"""Make the LAMMPS golden data: ase-nnp potentials exported to n2p2 files, evaluated by LAMMPS'
``pair_style hdnnp`` (package ML-HDNNP, n2p2's libnnp), one ``run 0`` per structure.

    python tests/data/lammps/make_golden.py --lmp /path/to/lmp [--si-model data/si.nnp]

Writes, in this folder:

* ``si/``  — ``data/si.nnp`` exported with ``write_n2p2`` (input.nn, scaling.data,
  weights.014.data);
* ``sio/`` — a random Si-O potential (``potential`` of ``tests/data/n2p2/make_golden.py``:
  cutoff poly2 with α 0.1, sigma scaling, logistic/softplus, r_c 4.2 Å, seed 11);
* per case ``<case>.data`` (LAMMPS data file, every number as Python's repr, so LAMMPS reads
  the exact doubles), ``<case>.in`` (the LAMMPS deck), and LAMMPS' output:
  ``<case>.dump`` (``id type x y z fx fy fz``, ``%.17g``) and ``<case>.thermo`` (the thermo
  header and the step-0 row: ``pe`` and ``compute pressure NULL virial``, ``%.17g``).

Cases (``CASES``): for each potential a periodic triclinic cell smaller than twice the
cutoff and a rattled 512-atom diamond cell (for Si-O every eighth site is O). The ``*_zbl``
cases add a ZBL repulsion (``ZBL``) with ``pair_style hybrid/overlay hdnnp ... zbl ...`` (the
lines of ``ase_nnp.interop.lammps.pair_lines``), on cells with pairs inside and in the
switching region of every element pair; for Si-O each element pair has its own distances,
so three ``zbl`` sub-styles. Cells are
built in LAMMPS' restricted triclinic form (a along x, b in the xy plane), so the same
numbers are the ASE cell rows and no rotation is involved. ``tests/test_lammps_golden.py``
evaluates the dumped positions with ase-nnp and compares.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from ase.data import atomic_masses, atomic_numbers
from ase.geometry import cellpar_to_cell

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

SIO = dict(elements=["Si", "O"], ctype="poly2", alpha=0.1, mode="sigma", srange=(0.0, 1.0),
           acts=["logistic", "softplus", "identity"], seed=11)


def _wrap(frac, cell):
    frac = frac % 1.0
    frac[frac >= 1.0] = 0.0
    return frac @ cell


def diamond512(a0, rattle, seed, o_every=None):
    """4x4x4 conventional diamond cells, Gaussian rattle (Å), positions wrapped into the cell."""
    basis = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0],
                      [.25, .25, .25], [.25, .75, .75], [.75, .25, .75], [.75, .75, .25]])
    frac = np.array([(b + [i, j, k]) / 4.0 for i in range(4) for j in range(4)
                     for k in range(4) for b in basis])
    cell = np.eye(3) * 4 * a0
    rng = np.random.default_rng(seed)
    pos = frac @ cell + rng.normal(0.0, rattle, frac.shape)
    pos = _wrap(pos @ np.linalg.inv(cell), cell)
    symbols = ["Si"] * len(pos)
    if o_every:
        for k in range(0, len(pos), o_every):
            symbols[k] = "O"
    return symbols, pos, cell


def triclinic(cellpar, frac, symbols, rattle, seed):
    """A cell from lengths and angles in LAMMPS' restricted form, rattled positions."""
    cell = cellpar_to_cell(cellpar)
    cell[np.abs(cell) < 1e-14] = 0.0
    rng = np.random.default_rng(seed)
    pos = np.asarray(frac) @ cell + rng.normal(0.0, rattle, (len(frac), 3))
    return list(symbols), _wrap(pos @ np.linalg.inv(cell), cell), cell


def _diamond8():
    return [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0],
            [.25, .25, .25], [.25, .75, .75], [.75, .25, .75], [.75, .75, .25]]


#: case: (potential, structure factory)
CASES = {
    # 8 Si, |a|,|b|,|c| 5.3-5.5 Å < 2 x 3.8 Å, all three angles off 90°
    "si_tric8": ("si", lambda: triclinic([5.45, 5.38, 5.52, 84.0, 95.0, 81.0], _diamond8(),
                                         ["Si"] * 8, 0.08, 1)),
    # 2 Si in a strained primitive cell (3.6-3.7 Å < 3.8 Å: atoms see their own images)
    "si_prim2": ("si", lambda: triclinic([3.62, 3.70, 3.66, 62.0, 58.5, 63.0],
                                         [[0, 0, 0], [.25, .25, .25]], ["Si"] * 2, 0.05, 2)),
    "si_512": ("si", lambda: diamond512(5.431, 0.1, 3)),
    # 6 atoms (4 Si, 2 O) in a triclinic cell of 3.9-4.3 Å < 2 x 4.2 Å (own images too)
    "sio_tric6": ("sio", lambda: triclinic(
        [4.3, 3.9, 4.1, 76.0, 101.0, 68.0],
        [[0.05, 0.1, 0.0], [0.5, 0.45, 0.1], [0.3, 0.8, 0.55], [0.8, 0.3, 0.6],
         [0.55, 0.05, 0.35], [0.1, 0.6, 0.8]], ["Si", "Si", "Si", "Si", "O", "O"], 0.05, 4)),
    "sio_512": ("sio", lambda: diamond512(5.431, 0.1, 5, o_every=8)),
    # Si-Si pairs at 0.7 Å (inside r_1), 1.3 and 1.75 Å (switching region)
    "si_zbl8": ("si_zbl", lambda: pushed(CASES["si_tric8"][1], [(0, 4, 0.7), (1, 5, 1.3),
                                                                (2, 6, 1.75)])),
    # Si-Si 1.2 and 1.8 Å, Si-O 0.6 and 1.2 Å, O-O 1.0 Å
    "sio_zbl6": ("sio_zbl", lambda: pushed(CASES["sio_tric6"][1], [(0, 1, 1.2), (2, 3, 1.8),
                                                                  (0, 4, 0.6), (2, 5, 1.2),
                                                                  (4, 5, 1.0)])),
}


def pushed(base, moves):
    """A structure of ``base`` with atom j put at distance d from atom i along (j - i):
    moves = [(i, j, d), ...]; wrapped into the cell."""
    symbols, pos, cell = base()
    pos = pos.copy()
    for i, j, d in moves:
        u = pos[j] - pos[i]
        pos[j] = pos[i] + d * u / np.linalg.norm(u)
    return symbols, _wrap(pos @ np.linalg.inv(cell), cell), cell


#: potential: (inner, outer) per element pair in the potential's element order (Å)
ZBL = {"si_zbl": ([[0.95]], [[1.9]]),
       "sio_zbl": ([[1.0, 0.7], [0.7, 0.55]], [[2.0, 1.5], [1.5, 1.25]])}


def type_order(elements):
    """LAMMPS atom types 1, 2, ... = elements by atomic number (ase-nnp's export order)."""
    return sorted(elements, key=atomic_numbers.get)


def write_data(path, symbols, pos, cell, elements):
    """LAMMPS data file (atom_style atomic), every number as repr (exact doubles)."""
    r = lambda x: repr(float(x))  # noqa: E731
    order = type_order(elements)
    (lx, _, _), (xy, ly, _), (xz, yz, lz) = cell
    assert cell[0, 1] == cell[0, 2] == cell[1, 2] == 0.0
    out = ["LAMMPS data written by tests/data/lammps/make_golden.py", "",
           f"{len(symbols)} atoms", f"{len(order)} atom types", "",
           f"0.0 {r(lx)} xlo xhi", f"0.0 {r(ly)} ylo yhi", f"0.0 {r(lz)} zlo zhi",
           f"{r(xy)} {r(xz)} {r(yz)} xy xz yz", "", "Masses", ""]
    out += [f"{k + 1} {float(atomic_masses[atomic_numbers[e]])!r}  # {e}"
            for k, e in enumerate(order)]
    out += ["", "Atoms  # atomic", ""]
    out += [f"{i + 1} {order.index(s) + 1} {r(p[0])} {r(p[1])} {r(p[2])}"
            for i, (s, p) in enumerate(zip(symbols, pos))]
    with open(path, "w") as fh:
        fh.write("\n".join(out) + "\n")


DECK = """# LAMMPS golden run (tests/data/lammps/make_golden.py): energy, forces, virial of {case}
units           metal
boundary        p p p
atom_style      atomic
atom_modify     map array
read_data       {case}.data
{pair}
compute         pv all pressure NULL virial
thermo_style    custom step pe c_pv[1] c_pv[2] c_pv[3] c_pv[4] c_pv[5] c_pv[6] vol
thermo_modify   format float %.17g
dump            d all custom 1 {case}.dump id type x y z fx fy fz
dump_modify     d format float %.17g sort id
run             0
"""


def read_thermo(path):
    """{column: value} of the step-0 thermo row written by ``run_case``."""
    head, row = [line.split() for line in open(path) if line.strip()][:2]
    return dict(zip(head, (float(x) for x in row)))


def run_case(lmp, case, pot_dir):
    """Run one deck in a scratch folder; copy the dump and the thermo row back."""
    tmp = tempfile.mkdtemp()
    shutil.copytree(os.path.join(HERE, pot_dir), os.path.join(tmp, pot_dir))
    for ext in (".data", ".in"):
        shutil.copy(os.path.join(HERE, case + ext), tmp)
    run = subprocess.run([lmp, "-in", case + ".in", "-log", "log.lammps"], cwd=tmp,
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{case}: lmp failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    lines = open(os.path.join(tmp, "log.lammps")).read().splitlines()
    k = next(i for i, line in enumerate(lines) if line.split()[:2] == ["Step", "PotEng"])
    with open(os.path.join(HERE, case + ".thermo"), "w") as fh:
        fh.write(lines[k] + "\n" + lines[k + 1] + "\n")
    shutil.copy(os.path.join(tmp, case + ".dump"), HERE)
    version = next(line for line in lines if line.startswith("LAMMPS ("))
    shutil.rmtree(tmp)
    return version


def main():
    import importlib.util

    from ase_nnp import Potential, load
    from ase_nnp.interop import write_n2p2
    from ase_nnp.interop.lammps import pair_lines
    from ase_nnp.repulsion import ZBLRepulsion
    spec = importlib.util.spec_from_file_location(
        "n2p2_make_golden", os.path.join(HERE, "..", "n2p2", "make_golden.py"))
    n2p2_golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(n2p2_golden)
    potential = n2p2_golden.potential

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lmp", required=True, help="LAMMPS binary with ML-HDNNP")
    ap.add_argument("--si-model", default=os.path.join(ROOT, "data", "si.nnp"))
    args = ap.parse_args()
    lmp = os.path.abspath(args.lmp)
    pots = {"si": load(args.si_model),
            "sio": potential("sio", SIO["elements"], SIO["ctype"], SIO["alpha"], SIO["mode"],
                             SIO["srange"], SIO["acts"], SIO["seed"])}
    for name, (inner, outer) in ZBL.items():
        net = pots[name[:-4]]
        pots[name] = Potential(net.elements, net.descriptor, networks=net.networks,
                               scalings=net.scalings, energy_offsets=net.energy_offsets,
                               repulsion=ZBLRepulsion(net.elements, inner, outer))
    for name, pot in pots.items():
        if name in ZBL:
            continue                 # the networks of si/ or sio/, the repulsion in the deck
        if os.path.isdir(os.path.join(HERE, name)):
            shutil.rmtree(os.path.join(HERE, name))
        write_n2p2(pot, os.path.join(HERE, name), without_repulsion=True)
    for case, (pname, make) in CASES.items():
        pot = pots[pname]
        symbols, pos, cell = make()
        write_data(os.path.join(HERE, case + ".data"), symbols, pos, cell, pot.elements)
        pot_dir = pname[:-4] if pname in ZBL else pname
        lines = pair_lines(pot, pot_dir, hdnnp_options="showew no showewsum 0 resetew no "
                           "maxew 1000000000")
        with open(os.path.join(HERE, case + ".in"), "w") as fh:
            fh.write(DECK.format(case=case, pair="\n".join(
                f"{w.split()[0]:15s} {w.split(' ', 1)[1]}" for w in lines)))
        version = run_case(lmp, case, pot_dir)
        print(f"{case}: {len(symbols)} atoms, potential {pname}, {version}, "
              f"pe {read_thermo(os.path.join(HERE, case + '.thermo'))['PotEng']!r}")


if __name__ == "__main__":
    main()
