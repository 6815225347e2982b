"""GDF weighting on the Si vacancy: training with and without it, at equal budget, against SW.

    python examples/gdf_weighting.py [--workdir gdf_si] [--seeds 0 1] [--epochs 1500]
    python examples/gdf_weighting.py --smoke      # seconds: does it run end to end?

Jeong et al. (J. Phys. Chem. C 122, 22790 (2018)) weight each training atom's force
error by the inverse Gaussian density of the training atoms around it in descriptor
space (``[loss] gdf = true``, docs/training.md), so that the few atoms next to a defect
count as much as the many bulk-like ones. This script measures what that does here.

1. **Data** (matscipy's Stillinger–Weber; Langevin MD, 2 fs, 500 fs of equilibration,
   then a snapshot every 40 fs): 2×2×2 diamond cells (64 sites) with one vacancy and
   without, at 500, 800 and 1,200 K, 20 snapshots each (120 structures, 7,620 atoms, of
   which 240 are next to a vacancy). The test set comes from other seeds: 10 vacancy
   snapshots per temperature, 100 fs apart.
2. **Training**: data/si.toml's descriptor (34 symmetry functions, 3.8 Å) and loss
   weights, 25-25 networks, L-BFGS for ``--epochs`` epochs at most (patience 300), 10 %
   held out; once with GDF (σ = 0.02, b = 1, c "auto": the defaults) and once without,
   for each of ``--seeds`` (the initial weights and the split), everything else equal.
3. **Atoms by their distance from the vacancy**: in every test snapshot each atom is
   mapped to its nearest lattice site; a site no atom maps to is empty (the vacancy;
   two when an atom sits between two sites); atoms within 3.0 Å of an empty site are
   its *first shell* (the perfect crystal's first neighbours are at 2.35 Å, the second
   at 3.84), those within 4.3 Å the *second shell*, the rest *far*. The table gives
   the force-component RMSE per class (and the energy RMSE per atom).
4. **Defect energetics** (``vacancy_migration_si.study``, size 2: 63 atoms, fixed
   cell at each potential's own lattice constant): the inward-relaxed vacancy formation
   energy and the CI-NEB migration barrier, against SW's.

Took 35 minutes with the defaults on 2 cores shared with another job (the SW MD 4.6,
each training 6-9, the rest NEB). Needs matscipy. ``--smoke`` (the settings of
:func:`smoke`: one temperature, a few short SW runs, 2 epochs, one seed, loose relaxations)
is the test that the script runs end to end; its numbers mean nothing.
"""

import argparse
import os
import sys
import time

import numpy as np
from ase import units
from ase.build import bulk
from ase.geometry import get_distances
from ase.io import read, write

from ase_nnp import NNPCalculator, load, train
from ase_nnp.training.reference import Recorder, stillinger_weber_si
from eos_si import equilibrium_a                         # beside this script
from vacancy_migration_si import A_SW, study

TEMPERATURES = (500, 800, 1200)
#: per temperature: (snapshots, fs apart) of vacancy and bulk training cells and of the
#: vacancy test cells; fs of equilibration
SNAPSHOTS = dict(vacancy=(20, 40), bulk=(20, 40), test=(10, 100))
EQUILIBRATE_FS = 500.0
#: vacancy_migration_si.study's size, images and tolerances (NEB, relaxations; eV/Å)
DEFECT = dict(size=2, n_images=7, fmax_neb=0.03, fmax_relax=0.01)
#: data/si.toml's descriptor and loss weights
TRAINING = dict(cutoff=3.8, cutoff_function="cos", radial_grid="shifted", radial_n=16,
                radial_r_low=1.5, angular_kind="wide", angular_grid="centered", angular_n=4,
                angular_r_low=2.0, zetas=[1, 2, 4], lambdas=[-1, 1], hidden_layers=[25, 25],
                energy_weight=1.0, forces_weight=0.001, stress_weight=10.0,
                repulsion="zbl", patience=300, memory=20, validation_fraction=0.1)


def smoke():
    """--smoke: the module's settings shrunk so that the whole script takes seconds."""
    global TEMPERATURES, SNAPSHOTS, EQUILIBRATE_FS
    TEMPERATURES, EQUILIBRATE_FS = (800,), 4.0
    SNAPSHOTS = dict(vacancy=(3, 4), bulk=(2, 4), test=(2, 4))
    DEFECT.update(n_images=3, fmax_neb=0.3, fmax_relax=0.3)


def md_snapshots(atoms, calc, T, n, every_fs, seed, tag, dt_fs=2.0):
    from ase.md.langevin import Langevin
    try:
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:                                  # ASE < 3.29
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta
    rng = np.random.default_rng(seed)
    atoms = atoms.copy()
    atoms.calc = calc
    thermalize_momenta(atoms, temperature_K=T, rng=rng)
    dyn = Langevin(atoms, dt_fs * units.fs, temperature_K=T, friction=0.02, rng=rng)
    dyn.run(int(round(EQUILIBRATE_FS / dt_fs)))
    rec = Recorder(calc)
    for _ in range(n):
        dyn.run(int(round(every_fs / dt_fs)))
        rec.add(atoms, tag)
    for a in rec.images:
        a.info["temperature"] = T
    return rec.images


def cells():
    perfect = bulk("Si", "diamond", a=A_SW, cubic=True) * (2, 2, 2)
    vacancy = perfect.copy()
    del vacancy[0]
    return perfect, vacancy


def datasets(workdir, calc):
    paths = {k: os.path.join(workdir, f"{k}.extxyz") for k in ("train", "test")}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    perfect, vacancy = cells()
    data, test = [], []
    for k, T in enumerate(TEMPERATURES):
        data += md_snapshots(vacancy, calc, T, *SNAPSHOTS["vacancy"], 10 + k, "vacancy")
        data += md_snapshots(perfect, calc, T, *SNAPSHOTS["bulk"], 20 + k, "bulk")
        test += md_snapshots(vacancy, calc, T, *SNAPSHOTS["test"], 30 + k, "vacancy")
    write(paths["train"], data)
    write(paths["test"], test)
    return paths


def shells(atoms, sites):
    """Per atom 1 (first shell: within 3.0 Å of an empty site), 2 (second: 3.0-4.3 Å)
    or 3 (far). An atom's site is the lattice site nearest to it (after the mean drift
    of all atoms is taken out); an empty site is one
    no atom maps to (one for a vacancy, two when an atom sits between two sites)."""
    pos = atoms.positions.copy()
    for _ in range(3):                      # take out the drift of the whole crystal
        vec, d = get_distances(pos, sites, cell=atoms.cell, pbc=True)
        pos += vec[np.arange(len(pos)), np.argmin(d, axis=1)].mean(axis=0)  # atom → site
    occupied = np.zeros(len(sites), bool)
    occupied[np.argmin(d, axis=1)] = True
    near = d[:, ~occupied].min(axis=1)
    return np.where(near < 3.0, 1, np.where(near < 4.3, 2, 3))


def force_errors(model, test, sites):
    """Force-component RMSE per shell and the energy RMSE per atom (meV/atom)."""
    calc = NNPCalculator(model, extrapolation="ignore")
    sq = {1: [], 2: [], 3: []}
    de = []
    for a in test:
        b = a.copy()
        b.calc = calc
        diff = b.get_forces() - a.get_forces()
        for c, row in zip(shells(a, sites), diff):
            sq[c].append(row)
        de.append((b.get_potential_energy() - a.get_potential_energy()) / len(a))
    rms = {c: float(np.sqrt(np.mean(np.square(v)))) for c, v in sq.items()}
    rms.update({f"n{c}": len(v) / len(test) for c, v in sq.items()})
    rms["all"] = float(np.sqrt(np.mean(np.square(np.concatenate([sq[c] for c in sq])))))
    rms["E"] = 1e3 * float(np.sqrt(np.mean(np.square(de))))
    return rms


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default="gdf_si")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--epochs", type=int, default=1500)
    ap.add_argument("--smoke", action="store_true",
                    help="tiny settings (seconds): a test that the script runs end to end")
    args = ap.parse_args()
    if args.smoke:
        smoke()
        args.seeds, args.epochs = args.seeds[:1], 2
    os.makedirs(args.workdir, exist_ok=True)
    t0 = time.perf_counter()
    sw = stillinger_weber_si()
    paths = datasets(args.workdir, sw)
    data = read(paths["train"], ":")
    sites = cells()[0].positions                        # the lattice sites of the cell
    n_near = sum(int(np.sum(shells(a, sites) == 1))
                 for a in data if a.info.get("config_type") == "vacancy")
    print(f"data: {len(data)} structures, {sum(len(a) for a in data)} atoms, {n_near} in the "
          f"first shell of a vacancy ({time.perf_counter() - t0:.0f} s)")
    test = read(paths["test"], ":")
    models = {}
    for seed in args.seeds:
        for gdf in (False, True):
            name = f"{'GDF' if gdf else 'plain'}, seed {seed}"
            model = os.path.join(args.workdir, f"{'gdf' if gdf else 'plain'}_{seed}.nnp")
            if not os.path.exists(model):
                t = time.perf_counter()
                res = train(paths["train"], model=model, cache="", progress=False, log=None,
                            gdf=gdf, max_epochs=args.epochs, init_seed=seed, split_seed=seed,
                            **TRAINING)
                print(f"{name}: {res.epochs} epochs, best {res.best_epoch}, "
                      f"{time.perf_counter() - t:.0f} s", flush=True)
            models[name] = model
    print("\ntest set (vacancy cells, 500-1,200 K): force RMSE (eV/Å) by distance from the "
          "vacancy, energy RMSE (meV/atom)")
    errors = {}
    for k, (name, model) in enumerate(models.items()):
        r = errors[name] = force_errors(model, test, sites)
        if not k:
            print(f"| model | first shell ({r['n1']:.1f} atoms) | second shell ({r['n2']:.1f}) | "
                  f"far ({r['n3']:.1f}) | all | E |\n|---|---|---|---|---|---|")
        print(f"| {name} | {r[1]:.4f} | {r[2]:.4f} | {r[3]:.4f} | {r['all']:.4f} | "
              f"{r['E']:.2f} |")
    for gdf in ("plain", "GDF"):
        rows = [errors[n] for n in errors if n.startswith(gdf)]
        mean = {k: np.mean([r[k] for r in rows]) for k in rows[0]}
        print(f"| {gdf}, mean of {len(rows)} | {mean[1]:.4f} | {mean[2]:.4f} | {mean[3]:.4f} | "
              f"{mean['all']:.4f} | {mean['E']:.2f} |")
    print("\nvacancy (63 atoms, own lattice constant): formation energy and migration "
          "barrier (eV)")
    print("| potential | a (Å) | E_f | E_f − SW | barrier | barrier − SW |\n"
          "|---|---|---|---|---|---|")
    ref = study(sw, A_SW, **DEFECT)
    print(f"| SW | {A_SW:.4f} | {ref['Ef']:.4f} | — | {ref['barrier']:.4f} | — |", flush=True)
    for name, model in models.items():
        calc = NNPCalculator(load(model), extrapolation="ignore")
        a = equilibrium_a(calc)
        r = study(calc, a, **DEFECT)
        print(f"| {name} | {a:.4f} | {r['Ef']:.4f} | {r['Ef'] - ref['Ef']:+.4f} | "
              f"{r['barrier']:.4f} | {r['barrier'] - ref['barrier']:+.4f} |", flush=True)
    print(f"\ntotal: {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
