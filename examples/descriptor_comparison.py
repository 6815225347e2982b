"""The descriptor study of Kocer, Mason and Erturk (J. Chem. Phys. 150, 154102 (2019)), rerun: spherical-Bessel descriptors against symmetry functions.

    python examples/descriptor_comparison.py            # full study (about an hour on 2 cores)
    python examples/descriptor_comparison.py --quick    # a short run (minutes)
    python examples/descriptor_comparison.py --smoke    # seconds: does it run end to end?

Stillinger–Weber Si, 64-atom cells, Langevin NVT at 300, 600, 1000 and 1500 K
(the melting point of SW Si is ~1690 K). For each temperature, a training
trajectory and an independent test trajectory (other seed); for each family
two descriptor lengths of about 16 and 25 values:

* spherical Bessel (Kocer, Mason and Erturk, J. Chem. Phys. 150, 154102 (2019)) n_max = l_max = 3 (16 values) and 4 (25);
* symmetry functions of the same lengths: 4 radial (Imbalzano shifted grid) + 12
  wide angular (Gastegger centred grid, 2 radii x ζ 1,2,4 x λ ±1) = 16, and
  7 radial + 18 angular (3 radii) = 25.

Every descriptor uses r_c = 4.0 Å (SW interacts within 3.77 Å), every network
has the same hidden layers (one of 10 tanh neurons, as in the paper's 16-8-1 /
25-8-1), every fit the same L-BFGS budget, loss weights (energy 1, forces
0.001; no stress, since the cells keep their volume) and initial seed. Printed:
test-set energy RMSE (meV/atom) and force RMSE (eV/Å), as a Markdown table,
also written to ``--out``. ``--smoke`` keeps 300 K only, 4 training and 2 test structures
(20 MD steps apart after 20 steps) and 2 epochs: the test that the script runs, its numbers
meaningless.
"""

import argparse
import os
import time

import numpy as np
from ase.build import bulk
from ase.io import read, write

from ase_nnp import train
from ase_nnp.descriptors import SphericalBessel, SymmetryFunctions
from ase_nnp.training.reference import Recorder, md_snapshots, stillinger_weber_si

TEMPERATURES = (300, 600, 1000, 1500)
CUTOFF = 4.0
HIDDEN = [10]


def sw_md(temperature, n_snap, seed, equilibrate=300, interval=10):
    """64-atom diamond Si at the SW lattice constant, one Langevin trajectory of 1 fs steps:
    ``equilibrate`` steps, then a snapshot every ``interval`` steps."""
    calc = stillinger_weber_si()
    rec = Recorder(calc)
    atoms = bulk("Si", "diamond", a=5.431, cubic=True) * (2, 2, 2)
    md_snapshots(rec, atoms, calc, temperature, n_snap, interval, np.random.default_rng(seed),
                 f"md{temperature}", equilibrate=equilibrate)
    return rec.images


def dataset(workdir, temperature, n_train, n_test, **md):
    """Training and test snapshots at one temperature (other seeds), made once and kept as
    extxyz files in workdir; ``md`` goes to :func:`sw_md`."""
    os.makedirs(workdir, exist_ok=True)
    out = []
    for split, n, seed in (("train", n_train, temperature), ("test", n_test, temperature + 1)):
        path = os.path.join(workdir, f"sw_{temperature}K_{split}_{n}.extxyz")
        if not os.path.exists(path):
            write(path + ".part", sw_md(temperature, n, seed, **md), format="extxyz")
            os.replace(path + ".part", path)
        out.append(read(path, ":"))
    return out


def descriptors(length):
    if length == 16:
        sb = SphericalBessel(["Si"], CUTOFF, n_max=3, l_max=3)
        radial, angular = 4, 2
    else:
        sb = SphericalBessel(["Si"], CUTOFF, n_max=4, l_max=4)
        radial, angular = 7, 3
    sf = SymmetryFunctions(["Si"], CUTOFF, cutoff_function="cos")
    sf.add_radial_grid(radial, "shifted")
    sf.add_angular_grid(angular, 2.0, zetas=(1, 2, 4), lambdas=(-1, 1), kind="centered",
                        angular="wide")
    assert len(sb) == len(sf) == length
    return {"spherical Bessel": sb, "symmetry functions": sf}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few snapshots and epochs")
    ap.add_argument("--smoke", action="store_true",
                    help="300 K only, 4 + 2 structures, 2 epochs: seconds, a test that it runs")
    ap.add_argument("--epochs", type=int, default=None, help="L-BFGS epochs per fit")
    ap.add_argument("--workdir", default=os.path.join(os.path.dirname(__file__),
                                                      "descriptor_comparison_data"))
    ap.add_argument("--out", default=None, help="Markdown file for the table")
    args = ap.parse_args()
    n_train, n_test = (30, 10) if args.quick else (200, 60)
    epochs = args.epochs or (30 if args.quick else 1000)
    temperatures, md = TEMPERATURES, {}
    if args.smoke:
        n_train, n_test, epochs, temperatures = 4, 2, 2, TEMPERATURES[:1]
        md = dict(equilibrate=20, interval=20)
    rows = []
    for T in temperatures:
        t0 = time.perf_counter()
        train_set, test_set = dataset(args.workdir, T, n_train, n_test, **md)
        print(f"{T} K: {len(train_set)} training and {len(test_set)} test structures "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
        for length in (16, 25):
            for family, desc in descriptors(length).items():
                t0 = time.perf_counter()
                result = train(train_set, descriptor=desc, test=test_set,
                               model=os.path.join(args.workdir, "model.nnp"), cache="",
                               checkpoint_every=0,
                               hidden_layers=HIDDEN, energy_weight=1.0, forces_weight=0.001,
                               stress_weight=0.0, max_epochs=epochs, patience=200,
                               validation_fraction=0.1, progress=False, log=None)
                err = result.test_errors
                rows.append((T, family, length, err["energy"], err["forces"],
                             time.perf_counter() - t0))
                print(f"  {family:>18} {length}: test E {err['energy']:.3f} meV/atom, "
                      f"F {err['forces']:.4f} eV/Å ({rows[-1][-1]:.0f} s)", flush=True)
    lines = [f"Test-set RMSE, SW Si 64-atom NVT, r_c = {CUTOFF} Å, networks N-{HIDDEN[0]}-1 tanh, "
             f"{n_train} training / {n_test} test structures per temperature, "
             f"L-BFGS ≤ {epochs} epochs (energy + forces).",
             "",
             "| T (K) | values | Bessel E (meV/atom) | SF E (meV/atom) | Bessel F (eV/Å) | "
             "SF F (eV/Å) |",
             "|---|---|---|---|---|---|"]
    for T in temperatures:
        for length in (16, 25):
            got = {r[1]: r for r in rows if r[0] == T and r[2] == length}
            b, s = got["spherical Bessel"], got["symmetry functions"]
            lines.append(f"| {T} | {length} | {b[3]:.3f} | {s[3]:.3f} | {b[4]:.4f} | {s[4]:.4f} |")
    table = "\n".join(lines)
    print()
    print(table)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(table + "\n")


if __name__ == "__main__":
    main()
