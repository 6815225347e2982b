"""Does the mapping verdict separate sound from ad hoc? Four pairs, with SW and EMT as truth.

    python examples/mapping_verdict_study.py [--workdir verdict_study] [--quick]

The verdict (:mod:`ase_nnp.analysis.verdict`): Z = RMS over the invariant points inside
the training data of z = ΔE_at / (ε √N̄), ε the validation energy RMSE, N̄ the atoms per
training structure; Z > 3 is "ad hoc". Each case is a 3-member bootstrap ensemble; whether it is
ad hoc is known by construction (a free direction of the atomic energy that the data
cannot fix), and the true per-atom error (the reference's own atomic energies) is shown
beside it.

Si (Stillinger–Weber, matscipy; descriptor and networks of examples/atomic_energy_mapping.py;
invariant points: the diamond EOS, V/V0 0.85-1.15):

1. Yoo et al.'s Fig. 1 trio, 64-atom cells at 1,000 K: NVT at V0 (ad hoc: the slope of E_at
   with the local volume is free), NPT, NVT with the stress (sound).
2. fixed against varied volume: NVT at V0 (ad hoc) against NVT at 0.96, 1.00 and 1.04 V0.
3. slab-only against slab + bulk: the 64-atom Si(100) 2x1 slab at 100 K (ad hoc: the
   bulk/surface offset cancels in every snapshot) against the same with bulk NPT snapshots.

Cu–Au (ASE's EMT; invariant points: the fcc Cu and fcc Au EOS, V/V0 0.90-1.10, per element):

4. one composition against several: 32-atom random fcc alloys at 50 % Au only (ad hoc:
   E_Cu − E_Au is free, the composition matrix has rank 1) against 0, 25, 50, 75 and
   100 % Au (the review's fix: the whole composition range);
   also the energy of a phase-separated Cu|Au cell against a random alloy. Both are
   trained with the stress (each MD run has one volume).

Writes ``summary.json`` (every number) in the work folder; the tables are in
docs/atomic-energy-mapping.md.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
from ase.build import bulk

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import atomic_energy_mapping as aem                                    # noqa: E402

CUAU = dict(cutoff=5.5, cutoff_function="cos", radial_grid="shifted", radial_n=10,
            radial_r_low=2.0, angular_kind="wide", angular_grid="centered", angular_n=3,
            angular_r_low=2.2, zetas=[1, 4], lambdas=[-1, 1])
A_CU, A_AU = 3.61, 4.08


def fit(images, model, args, stress=False, descriptor=None, **extra):
    """A bootstrap ensemble of ``args.members`` (the settings of the mapping study)."""
    import ase_nnp
    t0 = time.time()
    log = []
    r = ase_nnp.train(
        images, model=model, ensemble_size=args.members, bootstrap=True,
        hidden_layers=args.hidden, init_seed=0, split_seed=0, validation_fraction=0.15,
        energy_weight=1.0, forces_weight=0.001, stress_weight=10.0 if stress else 0.0,
        method="lbfgs", max_epochs=args.epochs, patience=args.patience, memory=20,
        time_limit=args.minutes, checkpoint_every=0, progress=False, log=log.append,
        cache="", log_file="", **(descriptor or aem.DESCRIPTOR), **extra)
    v = np.mean([m.validation_errors["energy"] for m in r.members])
    warn = [line for line in log if "warning" in str(line) and "composition" in str(line)]
    print(f"    {os.path.basename(model)}: {args.members} members in {time.time() - t0:.0f} s;"
          f" validation E {v:.2f} meV/atom")
    return ase_nnp.load(model), v, warn


def judge(name, pot, images, points, reference, v, truth, ad_hoc, test=None, element=None):
    """The verdict of one ensemble at ``points`` (learnable ones), with the truth."""
    from ase_nnp.analysis.distance import nearest_distances, within_set_distances
    from ase_nnp.analysis.mapping import atomic_energy_errors, mapping_table
    from ase_nnp.analysis.mapping_report import training_points
    from ase_nnp.analysis.verdict import learnable, mapping_verdict
    tab = mapping_table(pot, points, reference)
    used = np.zeros(len(points), bool)
    by_element = {}
    for k, a in enumerate(points):
        by_element.setdefault(a.get_chemical_symbols()[0], []).append(k)
    train_x = training_points(pot, images)
    for e, idx in by_element.items():
        X = train_x[e]
        inv = training_points(pot, [points[k] for k in idx])[e]
        d = nearest_distances(inv, X).distances.reshape(len(idx), -1).max(axis=1)
        used[idx] = learnable(d, within_set_distances(X).distances)
    n_bar = float(np.mean([len(a) for a in images]))
    verdict = mapping_verdict(tab.error, v / 1000, n_bar, used, tab.std)
    true = (1000 * atomic_energy_errors(pot, test, reference).rmse if test else np.nan)
    row = dict(name=name, ad_hoc=ad_hoc, val_E=v, n_bar=n_bar, Z=verdict.statistic, verdict=verdict.verdict,
               n_used=int(used.sum()), map_rms=1000 * float(np.sqrt(np.mean(tab.error ** 2))),
               map_rms_used=(1000 * float(np.sqrt(np.mean(tab.error[used] ** 2)))
                             if used.any() else np.nan),
               sigma_used=1000 * float(np.mean(tab.std[used])) if used.any() else np.nan,
               old_rule=(1000 * float(np.max(np.abs(tab.error[used]))) / v
                         if used.any() else np.nan),
               true_rmse=true, truth=truth, error=tab.error.tolist(), std=tab.std.tolist(),
               labels=[f"{a.get_chemical_symbols()[0]}_{a.info['invariant']}" for a in points],
               used=used.tolist())
    print(f"    {name}: Z = {verdict.statistic:.2f} -> {verdict.verdict} (constructed "
          f"{'ad hoc' if ad_hoc else 'sound'}); invariant RMS {row['map_rms_used']:.1f} meV/atom"
          f" over {row['n_used']} points, mean σ {row['sigma_used']:.1f}; true {true:.1f}")
    return row


def si_cases(args, out):
    calc = aem.sw()
    print("Si: Fig. 1 trio, fixed vs varied volume, slab vs slab + bulk")
    cell = bulk("Si", "diamond", a=aem.A0, cubic=True) * (2, 2, 2)
    n = args.snapshots
    nvt = aem.md(cell, calc, 1000, n, np.random.default_rng(1))
    npt = aem.md(cell, calc, 1000, n, np.random.default_rng(2), npt=True)
    varied = []
    for k, s in enumerate((0.96, 1.0, 1.04)):
        c = cell.copy()
        c.set_cell(c.cell * s ** (1 / 3), scale_atoms=True)
        varied += aem.md(c, calc, 1000, n // 3, np.random.default_rng(10 + k))
    test = aem.md(cell, calc, 1000, 8, np.random.default_rng(3), npt=True)
    points = [p for p in __import__("ase_nnp.analysis.mapping", fromlist=["x"]).invariant_points(
        bulk("Si", "diamond", a=aem.A0), "eos")]
    rows = []
    cases = [("1. NVT (fixed volume)", nvt, False, True),
             ("1. NPT", npt, False, False),
             ("1. NVT + stress", nvt, True, False),
             ("2. NVT at 0.96/1.00/1.04 V0", varied, False, False)]
    for name, images, stress, ad_hoc in cases:
        pot, v, _ = fit(images, os.path.join(args.workdir, f"si_{len(rows)}.nnp"), args, stress)
        rows.append(judge(name, pot, images, points, calc, v, "SW", ad_hoc, test))
    slab = aem.si100_slab(calc)
    slab_md = aem.md(slab, calc, 100, n, np.random.default_rng(110))
    slab_test = [aem.label(slab, calc)] + aem.md(slab, calc, 300, 4, np.random.default_rng(9))
    for name, images, ad_hoc in (("3. slab 100 K", slab_md, True),
                                 ("3. slab 100 K + bulk NPT", slab_md + npt[: n // 2], False)):
        pot, v, _ = fit(images, os.path.join(args.workdir, f"si_{len(rows)}.nnp"), args)
        rows.append(judge(name, pot, images, points, calc, v, "SW", ad_hoc, slab_test))
    out["si"] = rows


def alloy(x, rng, a=None, size=2):
    """A random fcc Cu(1-x)Au(x) cell (4 size³ atoms) at Vegard's lattice constant."""
    from ase.build import bulk as b
    a = a or A_CU + x * (A_AU - A_CU)
    atoms = b("Cu", "fcc", a=a, cubic=True).repeat((size,) * 3)
    symbols = np.array(["Cu"] * len(atoms))
    symbols[rng.choice(len(atoms), int(round(x * len(atoms))), replace=False)] = "Au"
    atoms.set_chemical_symbols(symbols)
    return atoms


def cuau_md(xs, runs, snaps, seed):
    """EMT-labelled Langevin snapshots (300-900 K, cell 0.97-1.03 of Vegard's) of random
    alloys at the Au fractions ``xs`` (``runs`` runs each)."""
    from ase.calculators.emt import EMT
    rng = np.random.default_rng(seed)
    out = []
    for x in xs:
        for _ in range(runs):
            atoms = alloy(x, rng)
            atoms.set_cell(atoms.cell * rng.uniform(0.97, 1.03), scale_atoms=True)
            out += aem.md(atoms, EMT(), rng.uniform(300, 900), snaps, rng,
                          equilibrate_fs=100.0, interval_fs=40.0)
    return out


def phase_separated(rng):
    """(Cu|Au layers, random alloy): 64-atom fcc cells at 50 % Au, Vegard's lattice."""
    from ase.build import bulk as b
    a = A_CU + 0.5 * (A_AU - A_CU)
    sep = b("Cu", "fcc", a=a, cubic=True).repeat((2, 2, 4))
    z = sep.get_scaled_positions()[:, 2]
    sep.set_chemical_symbols(np.where(z < 0.5 - 1e-6, "Cu", "Au"))
    return sep, alloy(0.5, rng, size=2).repeat((1, 1, 2))


def cuau_cases(args, out):
    from ase.calculators.emt import EMT
    from ase_nnp.analysis.mapping import atomic_energy_errors, invariant_points
    from ase_nnp.analysis.species import identifiability
    print("Cu-Au (EMT): one composition against several")
    emt = EMT()
    points = []
    for e, a in (("Cu", A_CU), ("Au", A_AU)):
        pts = invariant_points(bulk(e, "fcc", a=a), [np.eye(3) * r ** (1 / 3)
                                                     for r in np.linspace(0.9, 1.1, 9)])
        for p, r in zip(pts, np.linspace(0.9, 1.1, 9)):
            p.info["invariant"] = f"eos_{r:.3g}"
        points += pts
    n = args.snapshots
    sets = {"4. Cu-Au at 50 % Au only": (cuau_md([0.5], 6, n // 6, 21), True),
            "4. Cu-Au at 0-100 % Au": (cuau_md([0, 0.25, 0.5, 0.75, 1.0], 1, n // 5, 22),
                                         False)}
    test = cuau_md([0.25, 0.5, 0.75], 1, 2, 23)
    sep, mixed = phase_separated(np.random.default_rng(24))
    rows = []
    for name, (images, ad_hoc) in sets.items():
        counts = np.array([[np.sum(a.numbers == 29), np.sum(a.numbers == 79)] for a in images])
        ident = identifiability(counts, ["Cu", "Au"])
        print(f"    {name}: composition rank {ident.rank} of 2; {ident.message}")
        # with the stress: each run has one volume, which would leave the slope of E_at
        # with the volume as free as in the NVT case (a first run without it: Z = 3.8)
        pot, v, warn = fit(images, os.path.join(args.workdir, f"cuau_{len(rows)}.nnp"), args,
                           stress=True, descriptor=CUAU, elements=["Cu", "Au"])
        row = judge(name, pot, images, points, emt, v, "EMT", ad_hoc, test)
        row["rank"], row["free"] = ident.rank, ident.message
        row["trainer_warning"] = [str(w) for w in warn]
        per_species = {}
        err = atomic_energy_errors(pot, test, emt)
        numbers = np.concatenate([a.numbers for a in test])
        for e, z in (("Cu", 29), ("Au", 79)):
            per_species[e] = 1000 * float(np.mean(err.error[numbers == z]))
            k = [i for i, lab in enumerate(row["labels"]) if lab == f"{e}_eos_1"]
            per_species[e + "_crystal"] = 1000 * row["error"][k[0]] if k else np.nan
        row["species_mean_error"] = per_species
        e_nn = {}
        for key, cell in (("separated", sep), ("mixed", mixed)):
            c = cell.copy()
            c.calc = emt
            ref = c.get_potential_energy() / len(c)
            nn = float(pot.evaluate(c.positions, c.numbers, c.cell.array, c.pbc,
                                    forces=False, stress=False).energy) / len(c)
            e_nn[key] = dict(nn=1000 * nn, ref=1000 * ref, error=1000 * (nn - ref))
        e_nn["separation_nn"] = e_nn["separated"]["nn"] - e_nn["mixed"]["nn"]
        e_nn["separation_ref"] = e_nn["separated"]["ref"] - e_nn["mixed"]["ref"]
        row["cells"] = e_nn
        print(f"      per-species mean atomic-energy error on the test alloys: Cu "
              f"{per_species['Cu']:.1f}, Au {per_species['Au']:.1f} meV; crystals at V0: Cu "
              f"{per_species['Cu_crystal']:.1f}, Au {per_species['Au_crystal']:.1f} meV/atom; "
              f"separated - mixed: NN {e_nn['separation_nn']:.1f}, EMT "
              f"{e_nn['separation_ref']:.1f} meV/atom")
        rows.append(row)
    out["cuau"] = rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="verdict_study")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--snapshots", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=250)
    ap.add_argument("--patience", type=int, default=50)
    ap.add_argument("--minutes", type=float, default=1.0, help="time limit per member")
    ap.add_argument("--hidden", type=int, nargs="+", default=[20, 20])
    ap.add_argument("--parts", default="si,cuau")
    args = ap.parse_args()
    if args.quick:
        args.members, args.snapshots, args.epochs, args.minutes = 2, 12, 20, 0.2
    os.makedirs(args.workdir, exist_ok=True)
    aem.quiet()
    t0 = time.time()
    out = {"settings": vars(args)}
    if "si" in args.parts:
        si_cases(args, out)
    if "cuau" in args.parts:
        cuau_cases(args, out)
    out["minutes"] = (time.time() - t0) / 60
    with open(os.path.join(args.workdir, "summary.json"), "w") as fh:
        json.dump(out, fh, indent=1, default=float)
    print(f"total {out['minutes']:.1f} min")


if __name__ == "__main__":
    main()
