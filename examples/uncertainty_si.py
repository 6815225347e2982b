"""Does the ensemble spread mean anything? σ of a 5-member ensemble against its true error (Si, SW).

    python examples/uncertainty_si.py            # the full study (~17 minutes on 2 cores)
    python examples/uncertainty_si.py --quick    # a short run of a few minutes
    python examples/uncertainty_si.py --smoke    # seconds: does it run end to end?

The test of Yoo et al. (Phys. Rev. Materials 3, 093802 (2019), supplement) for a committee
of networks (Artrith and Behler, Phys. Rev. B 85, 045439 (2012)), with the Stillinger–Weber
potential (matscipy; ``pip install matscipy``) as the ground truth:

1. training data: 64-atom diamond cells at V0 from Langevin MD at 300, 500, 700 and 900 K
   only (fixed seeds; snapshots 20 fs apart after 400 fs of equilibration), labelled with
   SW energies, forces and stress;
2. a 5-member ensemble (bootstrap resampling, member k with its own split and initial
   weights) trained with ``ase_nnp.train`` on energies and forces (L-BFGS, [20, 20] tanh
   networks, the descriptor settings of data/si.toml);
3. test classes, each labelled with SW: held-out bulk 300-900 K (other seeds), bulk at
   1500 K, a 64-atom liquid at 2000 K (melted at 3500 K), cells at 0.92 V0 and 1.08 V0
   (MD at 300 and 600 K), the (100) and (111) slabs and the vacancy of
   data/si_sw_test.extxyz.gz;
4. per class: structures, mean σ_E (meV/atom), mean σ_F (eV/Å), RMSEs of the ensemble mean
   against SW, the fraction of atoms with extrapolation count > 0, and the Spearman rank
   correlation of σ_F,a with |ΔF_a| = |F̄_a − F_a^SW|, per class and over all atoms
   (a Markdown table);
5. a log-log plot of σ_F,a against |ΔF_a| per atom, coloured by class (``--plot``).

Everything it makes (data, ensemble, learning curves) goes to ``--workdir``. ``--smoke``
shortens every MD run 20 times and trains 2 members for 2 epochs on 8 structures: the test
that the script runs end to end, its numbers meaningless.
"""

import argparse
import os
import time
import warnings

import numpy as np
from ase import units
from ase.build import bulk
from ase.io import read, write
from ase.md.langevin import Langevin

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
A0 = 5.431                                  # SW diamond lattice constant (Å)
TRAIN_T = (300, 500, 700, 900)
CLASSES = ("bulk 300-900 K", "bulk 1500 K", "liquid 2000 K", "0.92 V0", "1.08 V0",
           "slab (100)", "slab (111)", "vacancy")
IN_DOMAIN = CLASSES[0]

# data/si.toml's descriptor (cutoff 3.8 Å: SW's range, short of the second shell)
DESCRIPTOR = dict(cutoff=3.8, cutoff_function="cos", radial_grid="shifted", radial_n=16,
                  radial_r_low=1.5, angular_kind="wide", angular_grid="centered", angular_n=4,
                  angular_r_low=2.0, zetas=[1, 2, 4], lambdas=[-1, 1])


def diamond(volume_factor=1.0):
    return bulk("Si", "diamond", a=A0 * volume_factor ** (1 / 3), cubic=True) * (2, 2, 2)


class Sampler:
    """Langevin NVT with SW (2 fs steps, friction 0.02 ASE units); ``snapshots`` labels
    copies with SW energy, forces, per-atom energies and stress. Every duration asked for
    is multiplied by ``time_scale`` (at least one step)."""

    def __init__(self, timestep_fs=2.0, time_scale=1.0):
        from ase_nnp.training.reference import Recorder, stillinger_weber_si
        self.calc = stillinger_weber_si()
        self.Recorder = Recorder
        self.dt = timestep_fs
        self.time_scale = time_scale

    def run(self, atoms, T, fs, rng, thermalize=True):
        atoms = atoms.copy()
        atoms.calc = self.calc
        if thermalize:          # Maxwell-Boltzmann at 2T from the lattice: equipartition → T
            m = atoms.get_masses()[:, None]
            atoms.set_momenta(rng.normal(0.0, 1.0, (len(atoms), 3)) * np.sqrt(m * units.kB * 2 * T))
        dyn = Langevin(atoms, self.dt * units.fs, temperature_K=T, friction=0.02, fixcm=False,
                       rng=rng)
        dyn.run(max(1, int(round(fs * self.time_scale / self.dt))))
        return atoms

    def snapshots(self, atoms, T, n, rng, label, equilibrate_fs=400.0, interval_fs=20.0,
                  thermalize=True):
        rec = self.Recorder(self.calc)
        atoms = self.run(atoms, T, equilibrate_fs, rng, thermalize)
        for _ in range(n):
            atoms = self.run(atoms, T, interval_fs, rng, thermalize=False)
            rec.add(atoms, label)
        for a in rec.images:
            a.info["temperature"] = T
        return rec.images


def make_training_set(sampler, n_traj, n_snap, seed):
    images = []
    for t, T in enumerate(TRAIN_T):
        for j in range(n_traj):
            rng = np.random.default_rng([seed, t, j])
            images += sampler.snapshots(diamond(), T, n_snap, rng, "bulk")
    return images


def make_test_set(sampler, n, seed):
    """Dict class → list of SW-labelled Atoms (fresh random streams: ``seed`` differs
    from the training seed, so no test structure shares a trajectory with training)."""
    out = {c: [] for c in CLASSES}
    for t, T in enumerate(TRAIN_T):
        out[CLASSES[0]] += sampler.snapshots(diamond(), T, n, np.random.default_rng([seed, 0, t]),
                                             CLASSES[0])
    out[CLASSES[1]] = sampler.snapshots(diamond(), 1500, 2 * n, np.random.default_rng([seed, 1]),
                                        CLASSES[1])
    # SW Si melts near 1690 K; a 64-atom crystal superheats, so melt it at 3500 K (2 ps),
    # then hold at 2000 K for 1 ps before sampling
    rng = np.random.default_rng([seed, 2])
    melt = sampler.run(diamond(), 3500, 2000.0, rng)
    out[CLASSES[2]] = sampler.snapshots(melt, 2000, 2 * n, rng, CLASSES[2],
                                        equilibrate_fs=1000.0, thermalize=False)
    for v, (c, vf) in enumerate(((CLASSES[3], 0.92), (CLASSES[4], 1.08))):
        for t, T in enumerate((300, 600)):
            out[c] += sampler.snapshots(diamond(vf), T, n, np.random.default_rng([seed, 3, v, t]),
                                        c)
    # slabs (32 atoms, 8 layers, 8 Å vacuum, 0-900 K) and the 63-atom vacancy (relaxed and
    # 300-1200 K) of the shipped test set, SW-labelled by data/make_si_dataset.py
    shipped = read(os.path.join(ROOT, "data", "si_sw_test.extxyz.gz"), ":")
    for c, kind in ((CLASSES[5], "slab100"), (CLASSES[6], "slab111"), (CLASSES[7], "vacancy")):
        out[c] = [a for a in shipped if a.info["config_type"] == kind]
    for c, images in out.items():
        for a in images:
            a.info["class"] = c
    return out


def lattice_msd(images):
    """Mean squared displacement (Å²) of the atoms from their diamond sites, the centre-of-
    mass drift removed (ASE's MD does not wrap positions): ~0.1-0.3 Å² in a hot crystal,
    tens of Å² in a liquid that has forgotten the lattice."""
    ref = diamond().positions
    msd = []
    for a in images:
        d = a.positions - ref
        d -= d.mean(axis=0)
        msd.append((d ** 2).sum(axis=1).mean())
    return float(np.mean(msd))


def train_ensemble(images, workdir, args):
    import ase_nnp
    model = os.path.join(workdir, "ensemble.nnp")
    t0 = time.time()
    result = ase_nnp.train(
        images, model=model, ensemble_size=args.members, bootstrap=True,
        workers=getattr(args, "workers", 1),       # examples/calibration_si.py: 2
        hidden_layers=args.hidden, activation="tanh", init_seed=0, split_seed=0,
        validation_fraction=0.1, energy_weight=1.0, forces_weight=args.forces_weight,
        stress_weight=0.0, method="lbfgs", max_epochs=args.epochs, patience=args.patience,
        memory=20, time_limit=args.member_minutes, checkpoint_every=0, progress=False,
        log=None, cache=os.path.join(workdir, "train.cache.h5"), **DESCRIPTOR)
    print(f"trained {args.members} members in {time.time() - t0:.0f} s")
    for k, r in enumerate(result.members):
        v = r.validation_errors
        print(f"  member {k}: {r.epochs} epochs ({r.stopped_because}), validation "
              f"E {v.get('energy', float('nan')):.2f} meV/atom, "
              f"F {v.get('forces', float('nan')):.3f} eV/Å")
    return ase_nnp.load(model)


def evaluate(ensemble, tests):
    """Per class: arrays per structure (σ_E, ΔE per atom) and per atom (σ_F, |ΔF|,
    ΔF components, extrapolation counts)."""
    from ase_nnp import ExtrapolationWarning
    rows = {}
    for c, images in tests.items():
        sE, dE, sF, dF, dFc, out = [], [], [], [], [], []
        for a in images:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExtrapolationWarning)
                ev = ensemble.evaluate(a.positions, a.numbers, a.cell[:], a.pbc, forces=True,
                                       stress=False)
            n = len(a)
            sE.append(ev.energy_std / n)
            dE.append((ev.energy - a.get_potential_energy()) / n)
            diff = ev.forces - a.get_forces()
            sF.append(ev.forces_std)
            dF.append(np.linalg.norm(diff, axis=1))
            dFc.append(diff.ravel())
            out.append(ev.outside)
        rows[c] = dict(n=len(images), sE=np.array(sE), dE=np.array(dE), sF=np.concatenate(sF),
                       dF=np.concatenate(dF), dFc=np.concatenate(dFc), out=np.concatenate(out))
    return rows


def spearman(x, y):
    from scipy.stats import spearmanr
    return float(spearmanr(x, y)[0]) if len(x) > 2 else float("nan")


def table(rows):
    head = ("| class | structures | atoms | σ_E (meV/atom) | σ_F (eV/Å) | RMSE E (meV/atom) "
            "| RMSE F (eV/Å) | max σ_F (eV/Å) | rms \\|ΔF\\| / rms σ_F | atoms extrapolating "
            "| Spearman(σ_F, \\|ΔF\\|) |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for c, r in rows.items():
        lines.append(
            f"| {c} | {r['n']} | {len(r['sF'])} | {1000 * r['sE'].mean():.2f} "
            f"| {r['sF'].mean():.3f} | {1000 * np.sqrt((r['dE'] ** 2).mean()):.2f} "
            f"| {np.sqrt((r['dFc'] ** 2).mean()):.3f} | {r['sF'].max():.3f} "
            f"| {np.sqrt((r['dF'] ** 2).mean() / (r['sF'] ** 2).mean()):.2f} "
            f"| {100 * (r['out'] > 0).mean():.1f} % | {spearman(r['sF'], r['dF']):.2f} |")
    return "\n".join(lines)


def summary(rows):
    sF = np.concatenate([r["sF"] for r in rows.values()])
    dF = np.concatenate([r["dF"] for r in rows.values()])
    sE = np.concatenate([r["sE"] for r in rows.values()])
    dE = np.concatenate([np.abs(r["dE"]) for r in rows.values()])
    return {"atoms": spearman(sF, dF), "structures (σ_E vs |ΔE|)": spearman(sE, dE),
            "class means (σ_F vs RMSE F)": spearman(
                [r["sF"].mean() for r in rows.values()],
                [np.sqrt((r["dFc"] ** 2).mean()) for r in rows.values()])}


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 5))
    cmap = plt.get_cmap("tab10")
    both = np.concatenate([np.r_[r["sF"], r["dF"]] for r in rows.values()])
    # atoms on symmetry sites (the relaxed vacancy, the unrelaxed slabs) have F = σ = 0:
    # drawn at the lower edge, which the other atoms set
    lo, hi = 0.7 * np.percentile(both[both > 1e-6], 0.5), 1.2 * both.max()
    for k, (c, r) in enumerate(rows.items()):
        ax.scatter(np.maximum(r["dF"], lo), np.maximum(r["sF"], lo), s=3, alpha=0.5,
                   color=cmap(k), label=c, rasterized=True, lw=0)
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="σ = |ΔF|")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("|ΔF_a| = |F̄_a − F_a(SW)|  (eV/Å)")
    ax.set_ylabel("σ_F,a  (eV/Å)")
    ax.set_title("5-member ensemble, Si (Stillinger–Weber)", fontsize=10)
    ax.legend(fontsize=7, markerscale=3, loc="upper left")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short run (few structures, epochs)")
    ap.add_argument("--smoke", action="store_true",
                    help="MD 20 times shorter, 2 members, 2 epochs: seconds, a test that it runs")
    ap.add_argument("--workdir", default="uncertainty_si_run")
    ap.add_argument("--reuse", action="store_true",
                    help="read the data sets and the ensemble of an earlier run from --workdir "
                         "when there (only the evaluation, table and plot are redone)")
    ap.add_argument("--plot", default=os.path.join(ROOT, "docs", "uncertainty_si.png"),
                    help="output image ('' for none)")
    ap.add_argument("--seed", type=int, default=2019)
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--hidden", type=int, nargs="+", default=[20, 20])
    ap.add_argument("--forces-weight", type=float, default=0.01,
                    help="force-component MSE weight against 1 for the energy per atom")
    args = ap.parse_args()
    time_scale = 1.0
    if args.smoke:
        n_traj, n_snap, n_test, time_scale, args.members = 1, 2, 1, 0.05, 2
        args.epochs, args.patience, args.member_minutes = 2, 2, 0.5
    elif args.quick:
        n_traj, n_snap, n_test = 1, 10, 3
        args.epochs, args.patience, args.member_minutes = 60, 30, 0.5
    else:
        n_traj, n_snap, n_test = 2, 30, 6
        args.epochs, args.patience, args.member_minutes = 3000, 200, 2.2
    os.makedirs(args.workdir, exist_ok=True)
    t_start = time.time()

    train_path = os.path.join(args.workdir, "train.extxyz")
    test_path = os.path.join(args.workdir, "test.extxyz")
    if args.reuse and os.path.exists(train_path) and os.path.exists(test_path):
        train_images = read(train_path, ":")
        tests = {c: [] for c in CLASSES}
        for a in read(test_path, ":"):
            tests[a.info["class"]].append(a)
        print(f"data read from {args.workdir}")
    else:
        sampler = Sampler(time_scale=time_scale)
        t0 = time.time()
        train_images = make_training_set(sampler, n_traj, n_snap, args.seed)
        print(f"training set: {len(train_images)} structures of 64 atoms "
              f"({time.time() - t0:.0f} s of SW MD)")
        t0 = time.time()
        tests = make_test_set(sampler, n_test, args.seed + 1)
        print(f"test set: {sum(map(len, tests.values()))} structures "
              f"({time.time() - t0:.0f} s)")
        write(train_path, train_images, format="extxyz")
        write(test_path, [a for c in CLASSES for a in tests[c]], format="extxyz")
    print(f"mean squared displacement from the diamond sites: liquid 2000 K "
          f"{lattice_msd(tests[CLASSES[2]]):.1f} Å², bulk 1500 K "
          f"{lattice_msd(tests[CLASSES[1]]):.2f} Å²")

    model = os.path.join(args.workdir, "ensemble.nnp")
    if args.reuse and os.path.exists(model):
        import ase_nnp
        ensemble = ase_nnp.load(model)
        print(f"ensemble read from {model}")
    else:
        ensemble = train_ensemble(train_images, args.workdir, args)
    rows = evaluate(ensemble, tests)
    print()
    print(table(rows))
    print()
    for k, v in summary(rows).items():
        print(f"Spearman rank correlation, {k}: {v:.3f}")
    if args.plot:
        plot(rows, args.plot)
        print(f"plot: {args.plot} ({os.path.getsize(args.plot) / 1024:.0f} kB)")
    print(f"total time {(time.time() - t_start) / 60:.1f} min")


if __name__ == "__main__":
    main()
