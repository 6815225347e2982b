"""Generate the Stillinger–Weber silicon reference data shipped in ``data/``.

    python data/make_si_dataset.py            # writes si_sw_train.extxyz.gz, si_sw_test.extxyz.gz
    python data/make_si_dataset.py --only test  # one of them (run both at once on 2 cores)

Ground truth: matscipy's Stillinger–Weber calculator with the original
parameters (Stillinger & Weber, PRB 31, 5262 (1985); Kocer, Mason and Erturk, J. Chem. Phys. 150, 154102 (2019) use it the
same way). Every structure carries energy, forces, per-atom energies and, when
periodic in all directions, the stress (ASE units and sign), plus
``config_type`` naming the recipe it came from.

Recipes (``seed`` fixes everything, each recipe with its own random stream;
the test set is the same recipes run with another seed and fewer snapshots, so
no test structure shares a trajectory with a training one):

* ``bulk``      64-atom diamond cells, Langevin NVT at 300-1500 K and volumes
                0.95-1.05 V0; 8-atom cells (smaller than twice the cutoff) and
                128-atom cells at a few (T, V);
* ``strained``  cells under a random symmetric strain (|ε| ≲ 3 %, "NPT-like"
                shapes), short MD at 300-1200 K;
* ``sheared``   cells under a pure shear of up to 6 %, MD at 300-900 K;
* ``elastic``   near-0 K strained and lightly rattled cells, 8-atom cells
                relaxed internally under strain (what C44 probes), and perfect 8-atom
                cells under strains of up to 1.5 % (what C11 and C12 are);
* ``eos``       the perfect crystal at 0.88-1.12 V0;
* ``vacancy``   a 63-atom cell with one vacancy, relaxed and at 300-1200 K;
* ``slab100`` / ``slab111``  32-atom slabs (8 atomic layers) with 8 Å vacuum (pbc T,T,F),
                0-900 K (3x the snapshots per trajectory in the training set). Thinner
                slabs (4 layers) are not surfaces: under SW they collapse into dense
                films 0.5 eV/atom lower within picoseconds;
* ``cluster``   35 and 47 atoms within 5.5 / 6 Å of a lattice site, 0-700 K (no pbc).
"""

import argparse
import os

import numpy as np
from ase import Atoms
from ase.build import bulk, diamond100, diamond111
from ase.io import write
from ase.optimize import BFGS

from ase_nnp.training.reference import Recorder, md_snapshots
from ase_nnp.training.reference import stillinger_weber_si as stillinger_weber

A0 = 5.431          # SW diamond lattice constant (Å)
HERE = os.path.dirname(os.path.abspath(__file__))


def diamond(reps, volume_factor=1.0):
    atoms = bulk("Si", "diamond", a=A0 * volume_factor ** (1 / 3), cubic=True) * reps
    return atoms


def strained(atoms, eps):
    out = atoms.copy()
    out.set_cell(atoms.cell[:] @ (np.eye(3) + eps), scale_atoms=True)
    return out


def generate(seed, scale, surface_factor=1):
    """All recipes; ``scale`` multiplies the number of snapshots per trajectory,
    ``surface_factor`` once more those of the slab trajectories. Each recipe draws
    from its own random stream (seed, recipe number), so changing one recipe leaves
    every other structure as it was."""
    calc = stillinger_weber()
    rec = Recorder(calc)

    def n(k):
        return max(1, int(round(k * scale)))

    def stream(recipe):
        return np.random.default_rng([seed, recipe])

    rng = stream(0)
    for T in (300, 600, 900, 1200, 1500):
        for vf in (0.95, 0.975, 1.0, 1.025, 1.05):
            md_snapshots(rec, diamond((2, 2, 2), vf), calc, T, n(24), 20, rng, "bulk")
    rng = stream(1)
    for T in (300, 900, 1500):
        for vf in (0.95, 1.0, 1.05):
            md_snapshots(rec, diamond((1, 1, 1), vf), calc, T, n(15), 20, rng, "bulk")
    rng = stream(2)
    for T in (600, 1200):
        md_snapshots(rec, diamond((2, 2, 4)), calc, T, n(20), 20, rng, "bulk")
    rng = stream(3)
    for _ in range(n(20)):
        eps = rng.normal(0.0, 0.015, (3, 3))
        eps = np.clip(0.5 * (eps + eps.T), -0.03, 0.03)
        md_snapshots(rec, strained(diamond((2, 2, 2)), eps), calc, rng.uniform(300, 1200),
                     n(5) if scale >= 1 else 1, 20, rng, "strained", equilibrate=150)
    rng = stream(4)
    for _ in range(n(10)):
        eps = np.zeros((3, 3))
        a, b = rng.choice(3, 2, replace=False)
        eps[a, b] = eps[b, a] = rng.uniform(-0.06, 0.06)
        md_snapshots(rec, strained(diamond((2, 2, 2)), eps), calc, rng.uniform(300, 900),
                     n(5) if scale >= 1 else 1, 20, rng, "sheared", equilibrate=150)
    rng = stream(5)
    for _ in range(n(100)):
        eps = rng.uniform(-0.03, 0.03, (3, 3))
        atoms = strained(diamond((2, 2, 2)), 0.5 * (eps + eps.T))
        atoms.rattle(rng.uniform(0.005, 0.05), seed=int(rng.integers(1 << 31)))
        rec.add(atoms, "elastic")
    rng = stream(6)
    for _ in range(n(40)):
        eps = rng.uniform(-0.03, 0.03, (3, 3))
        atoms = strained(diamond((1, 1, 1)), 0.5 * (eps + eps.T))
        atoms.rattle(0.02, seed=int(rng.integers(1 << 31)))
        atoms.calc = calc
        BFGS(atoms, logfile=None).run(fmax=1e-4, steps=200)
        rec.add(atoms, "elastic")
    for vf in np.linspace(0.88, 1.12, n(25)):
        rec.add(diamond((1, 1, 1), vf), "eos")
    rng = stream(10)
    # the perfect crystal under small strains, atoms at their unstrained fractional
    # positions: stress linear in the strain is what C11 and C12 are (without these
    # the fit came out 5 % soft in C12 at every stress weight tried)
    for _ in range(n(200)):
        eps = rng.uniform(-0.015, 0.015, (3, 3))
        rec.add(strained(diamond((1, 1, 1)), 0.5 * (eps + eps.T)), "elastic")
    rng = stream(7)
    vac = diamond((2, 2, 2))
    del vac[0]
    vac.calc = calc
    BFGS(vac, logfile=None).run(fmax=1e-3, steps=500)
    rec.add(vac, "vacancy")
    for T in (300, 600, 900, 1200):
        md_snapshots(rec, vac, calc, T, n(15), 20, rng, "vacancy")
    rng = stream(8)
    for name, build in (("slab100", diamond100), ("slab111", diamond111)):
        slab = build("Si", (2, 2, 8), vacuum=8.0, a=A0)
        rec.add(slab, name)
        for T in (300, 600, 900):
            md_snapshots(rec, slab, calc, T, n(12 * surface_factor), 20, rng, name)
    rng = stream(9)
    # 35- and 47-atom clusters cut from the crystal around a lattice site; kept below
    # 700 K (hotter, or smaller, SW clusters are molten droplets that shed atoms)
    for radius in (5.5, 6.0):
        big = diamond((3, 3, 3))
        centre = big.positions[np.argmin(np.linalg.norm(big.positions - big.cell.sum(0) / 2, axis=1))]
        keep = np.linalg.norm(big.positions - centre, axis=1) <= radius
        cluster = Atoms("Si%d" % keep.sum(), big.positions[keep] - centre)
        cluster.center(vacuum=6.0)
        cluster.pbc = False
        rec.add(cluster, "cluster")
        for T in (300, 500, 700):
            md_snapshots(rec, cluster, calc, T, n(18), 20, rng, "cluster", equilibrate=200)
    return rec.images


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--only", choices=("train", "test"), help="make one of the two files")
    args = ap.parse_args()
    # surfaces are the hardest class (few atoms, far from the bulk): the training set
    # samples their trajectories 3x as densely; the test set keeps the plain recipe
    for name, seed, scale, surface in (("si_sw_train", args.seed, 1.0, 3),
                                       ("si_sw_test", args.seed + 1, 0.15, 1)):
        if args.only and not name.endswith(args.only):
            continue
        images = generate(seed, scale, surface)
        path = os.path.join(args.out, name + ".extxyz.gz")
        tmp = path + ".tmp.extxyz.gz"
        write(tmp, images, format="extxyz")
        os.replace(tmp, path)
        kinds = {}
        for a in images:
            kinds[a.info["config_type"]] = kinds.get(a.info["config_type"], 0) + 1
        print(f"{path}: {len(images)} structures, {sum(len(a) for a in images)} atoms, {kinds}")


if __name__ == "__main__":
    main()
