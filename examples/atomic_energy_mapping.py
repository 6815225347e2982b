"""Is the atomic energy a potential learned physical? Yoo et al.'s study, with SW as the truth.

    python examples/atomic_energy_mapping.py            # the full study (15-30 minutes, 2 cores)
    python examples/atomic_energy_mapping.py --quick    # a short run of a few minutes
    python examples/atomic_energy_mapping.py --smoke    # seconds: does it run end to end?

Yoo, Lee, Jeong, Watanabe and Han (Phys. Rev. Materials 3, 093802 (2019)) show with DFT
Si that a neural network potential can fit total energies closely while its atomic
energies are wrong ("ad hoc mapping"), and probe the atomic energy at invariant points
(crystals, where E_at = E_tot/N exactly) and in the regions of a slab. DFT has no unique
atomic energy, so they could not measure the true per-atom error. Here the reference is
the Stillinger–Weber potential (matscipy), which defines atomic energies exactly, so
every proxy is set beside the truth E_i^NN − E_i^SW.

1. **Bulk, NVT vs NPT** (their Fig. 1): 64-atom diamond cells, Langevin MD at 1,000 K,
   at fixed volume (NVT) or at zero pressure (NPT, ASE's LangevinBAOAB with a hydrostatic
   barostat); 5-member ensembles trained on energies and forces (NVT, NPT) and on
   energies, forces and stress (NVT+σ). The equation of state of each against SW with
   the ±σ band, the mapping error along it, and the flag: mapping error far above the
   potential's validation RMSE.
2. **Si(100) slab at 100-1,000 K** (Fig. 2b, S5): a 64-atom, 8-layer (100) slab with
   the 2×1 symmetric dimer rows SW relaxes to (SW has no buckled dimers, so no 2×2
   reconstruction; bulk = the middle four layers), NVT MD at each temperature, one
   potential per temperature; ΔĒ_at(bulk), ΔĒ_at(surface) of the relaxed slab against
   the training temperature, r_g⁻¹ of each training set (in one scaled descriptor space
   for all, the 1,000 K potential's, so that the temperatures compare), and the mapping
   error against r_g⁻¹.
3. **A cluster-trained potential** (Fig. 3b): a ~90-atom Si cluster carved from the
   crystal, MD at 1,000-1,400 K; the learning curve with the [monitor] columns — the
   invariant-point errors along the EOS and the slab's regional errors — every 5 epochs.
4. For every potential: the true per-atom energy RMSE against SW on its test structures,
   next to the proxies.

The descriptor is data/si.toml's (cutoff 3.8 Å, just past SW's range of 3.77 Å), so SW's
atomic energy is a function of exactly what the network sees: a residual is a mapping
error, not missing information. Writes ``--workdir`` (data, models, curves,
``summary.json``, ``table.md``) and three figures. ``--smoke`` makes every MD run 20 times
shorter, stops the SW relaxations at 0.05 eV/Å and trains for 2-4 epochs on 3 snapshots:
the test that the script runs end to end, its numbers meaningless.
"""

import argparse
import json
import os
import time
import warnings

import numpy as np
from ase import units
from ase.build import bulk, diamond100
from ase.io import write
from ase.md.langevin import Langevin

A0 = 5.431                                  # SW diamond lattice constant (Å)
DESCRIPTOR = dict(cutoff=3.8, cutoff_function="cos", radial_grid="shifted", radial_n=16,
                  radial_r_low=1.5, angular_kind="wide", angular_grid="centered", angular_n=4,
                  angular_r_low=2.0, zetas=[1, 2, 4], lambdas=[-1, 1])
SLAB_T = (100, 300, 500, 1000)
#: --smoke's settings: every MD duration is multiplied by MD_SCALE (at least one step), and
#: every relaxation stops at no less than RELAX_FMAX (eV/Å)
MD_SCALE, RELAX_FMAX = 1.0, 0.0


def sw():
    from ase_nnp.training.reference import stillinger_weber_si
    return stillinger_weber_si()


def label(atoms, calc, config_type="", **info):
    """A copy of ``atoms`` carrying SW's energy, forces, per-atom energies (and stress),
    by :class:`ase_nnp.training.reference.Recorder`; the per-atom ``bulk`` marks and
    ``info`` are carried over."""
    from ase_nnp.training.reference import Recorder
    rec = Recorder(calc)
    rec.add(atoms, config_type)
    a = rec.images[0]
    if "bulk" in atoms.arrays:
        a.arrays["bulk"] = atoms.arrays["bulk"].copy()
    a.info.update(info)
    return a


def md(atoms, calc, T, n_snap, rng, npt=False, equilibrate_fs=400.0, interval_fs=20.0,
       dt_fs=2.0, **info):
    """SW-labelled snapshots every ``interval_fs`` of Langevin NVT (or, with ``npt``,
    LangevinBAOAB at zero pressure, hydrostatic) after ``equilibrate_fs`` (both durations
    times ``MD_SCALE``)."""
    atoms = atoms.copy()
    atoms.calc = calc
    m = atoms.get_masses()[:, None]
    atoms.set_momenta(rng.normal(0.0, 1.0, (len(atoms), 3)) * np.sqrt(m * units.kB * 2 * T))
    if npt:
        from ase.md.langevinbaoab import LangevinBAOAB
        warnings.filterwarnings("ignore", message="Using heuristic P_mass")
        dyn = LangevinBAOAB(atoms, dt_fs * units.fs, temperature_K=T, externalstress=0.0,
                            hydrostatic=True, T_tau=100 * units.fs, P_tau=1000 * units.fs,
                            rng=rng)
    else:
        dyn = Langevin(atoms, dt_fs * units.fs, temperature_K=T, friction=0.02, fixcm=False,
                       rng=rng)
    dyn.run(max(1, int(round(MD_SCALE * equilibrate_fs / dt_fs))))
    out = []
    for _ in range(n_snap):
        dyn.run(max(1, int(round(MD_SCALE * interval_fs / dt_fs))))
        out.append(label(atoms, calc, temperature=T, **info))
    return out


def relaxed(atoms, calc, fmax=1e-3):
    from ase.optimize import BFGS
    atoms = atoms.copy()
    atoms.calc = calc
    BFGS(atoms, logfile=None).run(fmax=max(fmax, RELAX_FMAX), steps=2000)
    return atoms


def si100_slab(calc, layers=8):
    """``layers``-layer (100) slab, 4×2 surface cells (64 atoms for 8), 10 Å vacuum, with the 2×1
    symmetric dimer rows on both faces: the surface atoms are paired (moved 0.6 Å towards
    each other) along x or along y, whichever relaxes lower with SW (the dimers form
    across the back bonds, so the direction depends on the face), then relaxed."""
    best = None
    for axes in ((0, 0), (0, 1), (1, 0), (1, 1)):
        slab = diamond100("Si", size=(4, 2, layers), a=A0, vacuum=10.0)
        z = slab.positions[:, 2].copy()
        for layer, ax in zip((z.max(), z.min()), axes):
            top = np.flatnonzero(np.abs(z - layer) < 0.1)
            order = top[np.lexsort((slab.positions[top, ax], slab.positions[top, 1 - ax]))]
            for a, b in zip(order[0::2], order[1::2]):
                slab.positions[a, ax] += 0.6
                slab.positions[b, ax] -= 0.6
        slab = relaxed(slab, calc, fmax=5e-3)
        e = slab.get_potential_energy()
        if best is None or e < best[0]:
            best = (e, slab)
    slab = relaxed(best[1], calc)
    # bulk: the middle half of the layers (four of eight, 32 atoms), as the inner atoms of
    # their Fig. 2a
    order = np.argsort(np.argsort(slab.positions[:, 2]))
    n = len(slab)
    slab.arrays["bulk"] = (order >= n // 4) & (order < 3 * n // 4)
    return slab


def si_cluster(calc, radius=7.6):
    """Atoms of the crystal within ``radius`` of a bond centre, atoms with fewer than two
    neighbours dropped, relaxed (no periodicity)."""
    from ase.neighborlist import neighbor_list
    c = bulk("Si", "diamond", a=A0, cubic=True) * (5, 5, 5)
    centre = c.positions[[0, 1]].mean(axis=0) + 2 * A0
    c = c[np.linalg.norm(c.positions - centre, axis=1) < radius]
    c.pbc = False
    c.center(vacuum=8.0)
    for _ in range(3):
        i = neighbor_list("i", c, 2.6)
        c = c[np.bincount(i, minlength=len(c)) >= 2]
    return relaxed(c, calc, fmax=5e-3)


def fit(images, model, args, members=1, stress=False, log=None, **extra):
    import ase_nnp
    t0 = time.time()
    r = ase_nnp.train(
        images, model=model, ensemble_size=members, bootstrap=members > 1,
        hidden_layers=args.hidden, init_seed=0, split_seed=0, validation_fraction=0.15,
        energy_weight=1.0, forces_weight=0.001, stress_weight=10.0 if stress else 0.0,
        method="lbfgs", max_epochs=args.epochs, patience=args.patience, memory=20,
        time_limit=args.minutes, checkpoint_every=0, progress=False, log=log,
        cache="", log_file="", **DESCRIPTOR, **extra)
    rs = r.members if members > 1 else [r]
    v = np.mean([m.validation_errors["energy"] for m in rs])
    f = np.mean([m.validation_errors["forces"] for m in rs])
    print(f"    {os.path.basename(model)}: {members} x {np.mean([m.epochs for m in rs]):.0f} "
          f"epochs in {time.time() - t0:.0f} s; validation E {v:.2f} meV/atom, F {f:.3f} eV/Å")
    return ase_nnp.load(model), v, f


def true_rmse(pot, images):
    from ase_nnp.analysis.mapping import atomic_energy_errors
    return 1000 * atomic_energy_errors(pot, images).rmse


def quiet():
    from ase_nnp import ExtrapolationWarning
    warnings.simplefilter("ignore", ExtrapolationWarning)


# ---------------------------------------------------------------- 1. bulk NVT/NPT
def study_bulk(args, calc, out):
    from ase_nnp.analysis.distance import nearest_distances, within_set_distances
    from ase_nnp.analysis.mapping import invariant_points, mapping_table
    from ase_nnp.analysis.mapping_report import training_points
    print("1. bulk 64 atoms at 1000 K: NVT, NPT, NVT + stress")
    cell = bulk("Si", "diamond", a=A0, cubic=True) * (2, 2, 2)
    data = {
        "NVT": md(cell, calc, 1000, args.snapshots, np.random.default_rng(1)),
        "NPT": md(cell, calc, 1000, args.snapshots, np.random.default_rng(2), npt=True),
    }
    vols = [a.get_volume() / len(a) for a in data["NPT"]]
    print(f"    NPT volume {np.mean(vols):.3f} ± {np.std(vols):.3f} Å³/atom "
          f"(V0 = {A0 ** 3 / 8:.3f})")
    test = md(cell, calc, 1000, 10, np.random.default_rng(3), npt=True)
    points = invariant_points(bulk("Si", "diamond", a=A0), "eos")
    rows = {}
    for name, images, stress in (("NVT", data["NVT"], False), ("NPT", data["NPT"], False),
                                 ("NVT+σ", data["NVT"], True)):
        pot, v, f = fit(images, os.path.join(args.workdir, f"bulk_{name.replace('+σ', '_s')}.nnp"),
                        args, members=args.members, stress=stress)
        tab = mapping_table(pot, points, calc)
        inner = np.abs(np.array(tab.volume) / (A0 ** 3 / 8) - 1) <= 0.05
        rms = 1000 * np.sqrt(np.mean(tab.error ** 2))
        # learnable points (their Fig. S3): no farther from the training atoms, in scaled
        # descriptor space, than 99 % of the training atoms are from their nearest neighbour
        X = training_points(pot, images)["Si"]
        near = nearest_distances(training_points(pot, points)["Si"], X).distances
        near = near.reshape(len(points), -1).max(axis=1)      # per point (equivalent atoms)
        learnable = near <= np.percentile(within_set_distances(X).distances, 99)
        worst = 1000 * np.max(np.abs(tab.error[learnable])) if learnable.any() else np.nan
        rows[name] = dict(val_E=v, val_F=f, map_rms=rms,
                          map_rms_5pct=1000 * np.sqrt(np.mean(tab.error[inner] ** 2)),
                          map_max=1000 * np.max(np.abs(tab.error)),
                          learnable=[float(x) for x in np.array(tab.volume)[learnable]],
                          map_max_learnable=worst,
                          sigma_mean=1000 * float(np.mean(tab.std)),
                          true_rmse=true_rmse(pot, test), flagged=bool(worst > 3 * v),
                          volume=list(tab.volume), nn=list(tab.nn), ref=list(tab.reference),
                          std=list(tab.std), error=list(tab.error))
        print(f"    {name}: mapping RMS {rms:.1f} meV/atom over V/V0 0.85-1.15, largest "
              f"{worst:.1f} over the {learnable.sum()} learnable points (validation "
              f"{v:.2f}); true per-atom RMSE {rows[name]['true_rmse']:.1f} meV")
    out["bulk"] = rows
    return rows


# ---------------------------------------------------------------- 2. slab
def study_slab(args, calc, out, slab):
    from ase_nnp.analysis.connectivity import rg
    from ase_nnp.analysis.mapping import regional_errors
    from ase_nnp.analysis.mapping_report import training_points
    print("2. Si(100) 2x1 slab, 64 atoms, NVT at " + ", ".join(map(str, SLAB_T)) + " K")
    crystal = bulk("Si", "diamond", a=A0)
    test = [label(slab, calc)] + md(slab, calc, 300, 5, np.random.default_rng(9))
    rows = {}
    slab_args = argparse.Namespace(**{**vars(args), "epochs": args.slab_epochs})
    data, pots = {}, {}
    for T in SLAB_T:
        data[T] = md(slab, calc, T, args.snapshots, np.random.default_rng(100 + T))
        pot, v, f = fit(data[T], os.path.join(args.workdir, f"slab_{T}K.nnp"), slab_args)
        pots[T] = pot
        r = regional_errors(pot, test[0], crystal, calc)
        # r_g of the set in its own potential's scaled space, and in one common space (the
        # widest-ranging set's, 1000 K) so that the temperatures compare
        g_own = rg(training_points(pot, data[T])["Si"], 0.5)
        rows[T] = dict(val_E=v, val_F=f, bulk=1000 * r.bulk, surface=1000 * r.surface,
                       n_bulk=r.n_bulk, true_bulk=1000 * r.true_bulk,
                       true_surface=1000 * r.true_surface, true_rmse_relaxed=1000 * r.true_rmse,
                       true_rmse_test=true_rmse(pot, test), rg_own=g_own)
        print(f"    {T} K: ΔĒ_at bulk {rows[T]['bulk']:.1f}, surface {rows[T]['surface']:.1f} "
              f"meV/atom ({r.n_bulk} bulk atoms; true {rows[T]['true_bulk']:.1f} / "
              f"{rows[T]['true_surface']:.1f}); validation {v:.2f} meV/atom")
    common = pots[max(SLAB_T)]
    for T in SLAB_T:
        g = rg(training_points(common, data[T])["Si"], 0.5)
        rows[T].update(rg=g, rg_inv=1 / g)
        print(f"    {T} K: r_g⁻¹ {1 / g:.2f} (common scaling; {1 / rows[T]['rg_own']:.2f} in "
              "its own)")
    out["slab"] = rows
    return rows


# ---------------------------------------------------------------- 3. cluster
def study_cluster(args, calc, out, slab_file):
    print("3. cluster-trained potential, learning curve with the mapping monitor")
    cl = si_cluster(calc)
    images = []
    for k, T in enumerate((1000, 1200, 1400)):
        images += md(cl, calc, T, args.snapshots // 3, np.random.default_rng(200 + k))
    model = os.path.join(args.workdir, "cluster.nnp")
    long = argparse.Namespace(**{**vars(args), "epochs": args.cluster_epochs,
                                 "patience": 4 * args.patience})
    pot, v, f = fit(images, model, long, invariant_points="eos", monitor_reference="sw",
                    monitor_crystal="diamond", monitor_a=A0, monitor_slab=slab_file,
                    monitor_every=args.monitor_every)
    from ase.io import read
    slab = read(slab_file)
    curve = np.genfromtxt(os.path.join(args.workdir, "cluster.curve.csv"), delimiter=",",
                          names=True)
    maps = [n for n in curve.dtype.names if n.startswith("map_")]
    rows = np.all(np.isfinite([curve[n] for n in maps]), axis=0)
    out["cluster"] = dict(
        atoms=len(cl), structures=len(images), val_E=v, val_F=f,
        epoch=curve["epoch"][rows].tolist(),
        train_E=curve["train_energy_meV_atom"][rows].tolist(),
        train_F=curve["train_forces_eV_A"][rows].tolist(),
        map_rms=np.sqrt(np.mean([curve[n][rows] ** 2 for n in maps], axis=0)).tolist(),
        slab_bulk=curve["slab_bulk_meV_atom"][rows].tolist(),
        slab_surface=curve["slab_surface_meV_atom"][rows].tolist(),
        true_rmse_slab=true_rmse(pot, [slab]))
    c = out["cluster"]
    print(f"    {len(cl)} atoms, {len(images)} structures; final: E RMSE {c['train_E'][-1]:.2f} "
          f"meV/atom, invariant-point RMS {c['map_rms'][-1]:.1f}, slab bulk "
          f"{c['slab_bulk'][-1]:.1f} / surface {c['slab_surface'][-1]:.1f} meV/atom")


# ---------------------------------------------------------------- report
def tables(out):
    lines = ["| potential | validation E (meV/atom) | validation F (eV/Å) | invariant-point "
             "RMS, V/V0 0.85-1.15 (meV/atom) | same, ±5 % | learnable points (Å³/atom) | "
             "largest there (meV/atom) | ÷ validation E | mean σ (meV/atom) | flagged | true "
             "per-atom RMSE, NPT 1000 K test (meV) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in out.get("bulk", {}).items():
        span = (f"{min(r['learnable']):.2f}-{max(r['learnable']):.2f}" if r["learnable"]
                else "none")
        lines.append(f"| {name} | {r['val_E']:.2f} | {r['val_F']:.3f} | {r['map_rms']:.1f} | "
                     f"{r['map_rms_5pct']:.1f} | {span} | {r['map_max_learnable']:.1f} | "
                     f"{r['map_max_learnable'] / r['val_E']:.0f} | "
                     f"{r['sigma_mean']:.1f} | {'yes' if r['flagged'] else 'no'} | "
                     f"{r['true_rmse']:.1f} |")
    lines += ["", "| slab training T (K) | validation E (meV/atom) | ΔĒ_at(bulk) | ΔĒ_at(surface) "
              "| true bulk | true surface | true per-atom RMSE (meV) | r_g⁻¹ | r_g⁻¹, own scaling |",
              "|---|---|---|---|---|---|---|---|---|"]
    for T, r in out.get("slab", {}).items():
        lines.append(f"| {T} | {r['val_E']:.2f} | {r['bulk']:.1f} | {r['surface']:.1f} | "
                     f"{r['true_bulk']:.1f} | {r['true_surface']:.1f} | "
                     f"{r['true_rmse_test']:.1f} | {r['rg_inv']:.2f} | {1 / r['rg_own']:.2f} |")
    c = out.get("cluster")
    if c:
        lines += ["", "| cluster potential, epoch | train E (meV/atom) | invariant-point RMS "
                  "| slab ΔĒ_at(bulk) | slab ΔĒ_at(surface) |", "|---|---|---|---|---|"]
        pick = sorted(set(np.linspace(0, len(c["epoch"]) - 1, 8).astype(int)))
        for k in pick:
            lines.append(f"| {c['epoch'][k]:.0f} | {c['train_E'][k]:.2f} | {c['map_rms'][k]:.1f} "
                         f"| {c['slab_bulk'][k]:.1f} | {c['slab_surface'][k]:.1f} |")
        lines.append(f"\nTrue per-atom RMSE of the final cluster potential on the relaxed slab: "
                     f"{c['true_rmse_slab']:.1f} meV.")
    return "\n".join(lines)


def figures(out, folder):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    files = []
    if "bulk" in out:
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
        first = next(iter(out["bulk"].values()))
        v = np.array(first["volume"])
        ax.plot(v, first["ref"], "k-", lw=2, label="SW")
        for name, r in out["bulk"].items():
            nn, s = np.array(r["nn"]), np.array(r["std"])
            ax.plot(v, nn, "o-", ms=3, label=name)
            ax.fill_between(v, nn - s, nn + s, alpha=0.25)
            ax2.plot(v, 1000 * np.array(r["error"]), "o-", ms=3, label=name)
            ax2.fill_between(v, 1000 * (np.array(r["error"]) - s), 1000 * (np.array(r["error"]) + s),
                             alpha=0.25)
        ax.set_xlabel("volume (Å³/atom)")
        ax.set_ylabel("E_at (eV/atom)")
        ax.legend()
        ax2.axhline(0, color="k", lw=0.5)
        ax2.set_xlabel("volume (Å³/atom)")
        ax2.set_ylabel("ΔE_at at the invariant points (meV/atom)")
        ax2.legend()
        fig.tight_layout()
        files.append(os.path.join(folder, "mapping_eos_si.png"))
        fig.savefig(files[-1], dpi=110)
        plt.close(fig)
    if "slab" in out:
        T = np.array(list(out["slab"]), dtype=float)
        rs = list(out["slab"].values())
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
        for key, style, name in (("bulk", "o-", "ΔĒ_at(bulk)"), ("surface", "s-", "ΔĒ_at(surface)"),
                                 ("true_bulk", "o:", "true, bulk"),
                                 ("true_surface", "s:", "true, surface")):
            axes[0].plot(T, [r[key] for r in rs], style, label=name)
        axes[0].axhline(0, color="k", lw=0.5)
        axes[0].set_xlabel("training temperature (K)")
        axes[0].set_ylabel("mapping error (meV/atom)")
        axes[0].legend(fontsize=8)
        axes[1].plot(T, [r["rg_inv"] for r in rs], "o-")
        axes[1].set_xlabel("training temperature (K)")
        axes[1].set_ylabel("r_g⁻¹")
        axes[2].plot([r["rg_inv"] for r in rs], [abs(r["bulk"]) for r in rs], "o")
        for t, r in zip(T, rs):
            axes[2].annotate(f"{t:.0f} K", (r["rg_inv"], abs(r["bulk"])), fontsize=8)
        axes[2].set_xlabel("r_g⁻¹")
        axes[2].set_ylabel("|ΔĒ_at(bulk)| (meV/atom)")
        fig.tight_layout()
        files.append(os.path.join(folder, "mapping_slab_si.png"))
        fig.savefig(files[-1], dpi=110)
        plt.close(fig)
    if "cluster" in out:
        c = out["cluster"]
        fig, ax = plt.subplots(figsize=(6, 3.8))
        ax.plot(c["epoch"], c["train_E"], "-", label="training E RMSE")
        ax.plot(c["epoch"], c["map_rms"], "-", label="invariant points (EOS), RMS")
        ax.plot(c["epoch"], np.abs(c["slab_bulk"]), "--", label="|ΔĒ_at(bulk)| slab")
        ax.plot(c["epoch"], np.abs(c["slab_surface"]), "--", label="|ΔĒ_at(surface)| slab")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("meV/atom")
        ax.legend(fontsize=8)
        fig.tight_layout()
        files.append(os.path.join(folder, "mapping_cluster_si.png"))
        fig.savefig(files[-1], dpi=110)
        plt.close(fig)
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="mapping_study")
    ap.add_argument("--quick", action="store_true", help="small budgets: a short run")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny MD, loose relaxations, 2-4 epochs: seconds, a test that it runs")
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--snapshots", type=int, default=40, help="MD snapshots per training set")
    ap.add_argument("--epochs", type=int, default=400, help="L-BFGS epochs of each bulk "
                    "ensemble member (the budget: the same on a busy machine, only slower)")
    ap.add_argument("--slab-epochs", type=int, default=600)
    ap.add_argument("--cluster-epochs", type=int, default=1200)
    ap.add_argument("--patience", type=int, default=60)
    ap.add_argument("--minutes", type=float, default=6.0,
                    help="a safety time limit per potential")
    ap.add_argument("--hidden", type=int, nargs="+", default=[20, 20])
    ap.add_argument("--monitor-every", type=int, default=5)
    ap.add_argument("--figures", default=None, help="folder of the figures (default: workdir)")
    ap.add_argument("--parts", default="bulk,slab,cluster")
    args = ap.parse_args()
    if args.quick:
        args.members, args.snapshots, args.epochs, args.minutes = 2, 12, 40, 0.3
        args.slab_epochs, args.cluster_epochs = 40, 80
    if args.smoke:
        global MD_SCALE, RELAX_FMAX
        MD_SCALE, RELAX_FMAX = 0.05, 0.05
        args.members, args.snapshots, args.epochs, args.minutes = 2, 3, 2, 0.2
        args.slab_epochs, args.cluster_epochs, args.monitor_every = 2, 4, 2
    os.makedirs(args.workdir, exist_ok=True)
    quiet()
    t0 = time.time()
    calc = sw()
    out = {}
    parts = args.parts.split(",")
    if "bulk" in parts:
        study_bulk(args, calc, out)
    if "slab" in parts or "cluster" in parts:
        slab = si100_slab(calc)
        slab_file = os.path.join(args.workdir, "slab100_relaxed.extxyz")
        write(slab_file, label(slab, calc, config_type="slab100"), format="extxyz")
    if "slab" in parts:
        study_slab(args, calc, out, slab)
    if "cluster" in parts:
        study_cluster(args, calc, out, slab_file)
    out["minutes"] = (time.time() - t0) / 60
    with open(os.path.join(args.workdir, "summary.json"), "w") as fh:
        json.dump(out, fh, indent=1, default=float)
    text = tables(out)
    with open(os.path.join(args.workdir, "table.md"), "w") as fh:
        fh.write(text + "\n")
    print()
    print(text)
    for f in figures(out, args.figures or args.workdir):
        print("wrote", f)
    print(f"total {out['minutes']:.1f} min")


if __name__ == "__main__":
    main()
