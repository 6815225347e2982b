"""Fig. 2c of Yoo et al. and what Fig. 2b costs at their scale, measured.

    python examples/slab_scale_fig2c.py [--workdir fig2c] [--snapshots 30] [--train-epochs 200]
    python examples/slab_scale_fig2c.py --quick      # a smoke run
    python examples/slab_scale_fig2c.py --fig2b-only --method kalman --snapshots 500 \
        --train-epochs 1000 --minutes 12 --seeds 0,1 --gap 100   # Fig. 2b, Kalman
    python examples/slab_scale_fig2c.py --smoke      # a smoke run of that

Yoo, Lee, Jeong, Watanabe and Han (Phys. Rev. Materials 3, 093802 (2019), Fig. 2c) show the
training points of the Si(100) slab at 100 K and 1,000 K on their first two principal
axes: at 100 K the bulk and surface atoms form separate clusters, at 1,000 K they connect.
This script

1. runs Stillinger–Weber MD of the 64-atom (100) 2x1 slab of
   examples/atomic_energy_mapping.py at 100 K and 1,000 K, and of a 128-atom slab (the
   same with 16 layers);
2. computes the descriptor of each set with Yoo's 26 functions at 6.5 Å (preset
   ``si-yoo2019``) and with data/si.toml's at 3.8 Å, scales the columns to [-1, 1] over
   both temperatures together, and plots the first two principal axes, bulk (middle
   layers) and surface atoms apart: ``fig2c_pca.png``;
3. measures, for the 128-atom slab at 6.5 Å, the descriptor time per structure, the pairs
   per atom, the stored derivative (J) per structure and one loss-and-gradient evaluation
   (one L-BFGS function call) per structure of a [30, 30] network, and extrapolates them to
   Yoo's ~500 structures per temperature;
4. with ``--train-epochs``, Fig. 2b at their descriptor and slab size (:func:`fig2b`;
   ``--method kalman`` for n2p2's filter, ``--fig2b-only`` to skip 1-3).

Writes ``summary.json`` and the figure; the numbers are in docs/atomic-energy-mapping.md.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import atomic_energy_mapping as aem                                    # noqa: E402


def frameset(descriptor, images):
    from ase_nnp.training import FrameSet
    return FrameSet.from_arrays(descriptor, [
        dict(positions=a.positions, numbers=a.numbers, cell=a.cell[:], pbc=a.pbc,
             energy=a.get_potential_energy(), forces=a.get_forces()) for a in images])


def bulk_mask(slab, layers=4):
    """The middle ``layers`` atomic layers of a (100) slab (z-sorted, 8 atoms a layer for
    the 4x2 surface cell)."""
    z = slab.positions[:, 2]
    order = np.argsort(z)
    n_layer = len(slab) // int(round((z.max() - z.min()) / (aem.A0 / 4) + 1))
    mid = len(slab) // 2
    mask = np.zeros(len(slab), bool)
    mask[order[mid - layers // 2 * n_layer: mid + layers // 2 * n_layer]] = True
    return mask


def slab_snapshots(args, slab, calc, T):
    """``args.snapshots`` SW NVT snapshots of ``slab`` at ``T`` (seed 300 + T), kept in
    ``<workdir>/slab128_<T>K_<n>.pkl`` so that a second potential, or a rerun, reuses them."""
    import pickle
    path = os.path.join(args.workdir, f"slab128_{T}K_{args.snapshots}.pkl")
    if os.path.exists(path):
        with open(path, "rb") as fh:
            return pickle.load(fh)
    images = aem.md(slab, calc, T, args.snapshots, np.random.default_rng(300 + T))
    with open(path, "wb") as fh:
        pickle.dump(images, fh)
    return images


def layer_errors(potential, slab, calc):
    """E_i^NN − E_i^SW of the relaxed slab, averaged per atomic layer (bottom to top), meV."""
    from ase_nnp.analysis.mapping import atomic_energy_errors
    e = atomic_energy_errors(potential, [aem.label(slab, calc)]).error
    layer = layers_of(slab)
    return [float(1000 * e[layer == k].mean()) for k in range(layer.max() + 1)]


def layers_of(slab):
    """The atomic layer of each atom of a (100) slab, 0 at the bottom."""
    z = slab.positions[:, 2]
    return np.round((z - z.min()) / (aem.A0 / 4)).astype(int)


def bulk_surface_gap(data, mask, layer, n=100):
    """The bulk-surface separation of each training set in ``data`` (T -> snapshots) on
    ``n`` evenly spaced snapshots: the descriptor (si-yoo2019) scaled to [-1, 1] over all
    sets together; ``gap_min``/``gap_median``: distance from each surface point to the
    nearest bulk point of the same set (section 7's measure, with ``mask``'s regions);
    ``chain``: for each depth k (layers counted from either face, k = 0 the dimer layer)
    the smallest, median and largest distance from a point of depth k to the nearest point of
    depth k + 1 — the largest link of that chain is where surface and bulk are apart;
    ``rg_inv``: the connectivity r_g⁻¹ of the set's points in the same space (fraction 0.5,
    their supplement's Fig. S5)."""
    from ase_nnp.analysis.connectivity import rg
    from ase_nnp.analysis.distance import nearest_distances
    from ase_nnp.descriptors.symmetry_functions.presets import PRESETS
    desc = PRESETS["si-yoo2019"][1]()
    depth = np.minimum(layer, layer.max() - layer)
    G = {}
    for T, images in data.items():
        pick = np.linspace(0, len(images) - 1, min(n, len(images))).round().astype(int)
        G[T] = (frameset(desc, [images[k] for k in pick]).G, len(pick))
    allG = np.concatenate([g for g, _ in G.values()])
    lo, hi = allG.min(0), allG.max(0)
    keep = hi - lo > 1e-12
    out = {}
    for T, (g, m) in G.items():
        X = -1 + 2 * (g[:, keep] - lo[keep]) / (hi - lo)[keep]
        region, dep = np.tile(mask, m), np.tile(depth, m)
        d = nearest_distances(X[~region], X[region]).distances
        chain = []
        for k in range(depth.max()):
            dk = nearest_distances(X[dep == k], X[dep == k + 1]).distances
            chain.append((float(dk.min()), float(np.median(dk)), float(dk.max())))
        out[T] = dict(gap_min=float(d.min()), gap_median=float(np.median(d)), snapshots=m,
                      chain=chain, rg_inv=float(1.0 / rg(X, 0.5)))
    return out


def fig2b(args, calc):
    """Fig. 2b at their descriptor and slab size: the 16-layer, 128-atom (100) 2x1 slab at
    ``args.temperatures``, ``args.snapshots`` SW snapshots each, one [30, 30] potential per
    temperature (and per ``args.seeds`` initial-weight seed) with Yoo's 26 functions at
    6.5 Å, trained with ``args.method`` (``lbfgs``: ``args.train_epochs`` epochs;
    ``kalman``: n2p2's filter on loss-normalised residuals until ``args.minutes``);
    regional and true errors of the relaxed slab (bulk: the middle eight layers), the true
    error per layer, and (``args.gap``) the bulk-surface separation of the training sets."""
    import ase_nnp
    from ase.build import bulk
    from ase_nnp.analysis.mapping import regional_errors
    slab = aem.si100_slab(calc, layers=16)
    kalman = args.method == "kalman"
    fw = args.forces_weight if args.forces_weight is not None else (0.002 if kalman else 0.001)
    opt = (dict(method="kalman", kalman_normalization="loss", max_epochs=args.train_epochs,
                patience=args.train_epochs) if kalman else
           dict(method="lbfgs", max_epochs=args.train_epochs, patience=args.train_epochs,
                memory=20))
    done = os.path.join(args.workdir, "fig2b.json")
    rows, data = {}, {}
    # the relaxed slab's regional errors every epoch (the learning curve's monitor columns)
    monitor = os.path.join(args.workdir, "slab128_relaxed.xyz")
    aem.label(slab, calc).write(monitor)
    if os.path.exists(done):        # a rerun keeps the potentials it has (rows and models)
        with open(done) as fh:
            rows = json.load(fh)
        rows.pop("gap", None)
    for T in args.temperatures:
        t = time.time()
        data[T] = images = slab_snapshots(args, slab, calc, T)
        md_min = (time.time() - t) / 60
        for seed in args.seeds:
            t = time.time()
            key = f"{T}" if seed == args.seeds[0] else f"{T}_seed{seed}"
            if args.weight_decay:       # its own row and model: a rerun keeps each λ apart
                key += f"_wd{args.weight_decay:g}"
            model = os.path.join(args.workdir, f"slab128_{key}K_{args.method}.nnp")
            if key in rows and os.path.exists(model):
                print(f"  {key} K: kept from {done}", flush=True)
                continue
            r = ase_nnp.train(images, model=model, preset="si-yoo2019", hidden_layers=[30, 30],
                              init_seed=seed, split_seed=0, validation_fraction=0.15,
                              energy_weight=1.0, forces_weight=fw, stress_weight=0.0,
                              weight_decay=args.weight_decay,
                              time_limit=args.minutes, checkpoint_every=0, progress=False,
                              log=lambda *a, **k: None, cache="", log_file="",
                              monitor_slab=monitor, monitor_reference="sw",
                              monitor_crystal="diamond", monitor_a=aem.A0, monitor_every=1,
                              **opt)
            curve = r.history[:, list(r.columns).index("slab_bulk_meV_atom")]
            pot = ase_nnp.load(model)
            reg = regional_errors(pot, aem.label(slab, calc),
                                  bulk("Si", "diamond", a=aem.A0), calc)
            rows[key] = dict(T=T, seed=seed, weight_decay=args.weight_decay,
                             val_E=r.validation_errors["energy"],
                             val_F=r.validation_errors["forces"], epochs=r.epochs,
                             bulk=1000 * reg.bulk, surface=1000 * reg.surface,
                             true_bulk=1000 * reg.true_bulk,
                             true_surface=1000 * reg.true_surface,
                             true_rmse=1000 * reg.true_rmse, n_bulk=reg.n_bulk,
                             layers=layer_errors(pot, slab, calc),
                             bulk_per_epoch=[float(x) for x in curve], md_minutes=md_min,
                             minutes=(time.time() - t) / 60)
            md_min = 0.0
            print(f"  {key} K: {json.dumps(rows[key], default=float)}", flush=True)
            with open(done, "w") as fh:
                json.dump(rows, fh, indent=1, default=float)
    if args.gap:
        mask = slab.arrays["bulk"]
        rows["gap"] = bulk_surface_gap(data, mask, layers_of(slab), args.gap)
        print(f"  gap: {rows['gap']}", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="fig2c")
    ap.add_argument("--snapshots", type=int, default=30)
    ap.add_argument("--train-epochs", type=int, default=0,
                    help="also train the reduced Fig. 2b (0: only the PCA and the cost)")
    ap.add_argument("--minutes", type=float, default=5.0, help="time limit per potential")
    ap.add_argument("--method", choices=("lbfgs", "kalman"), default="lbfgs",
                    help="Fig. 2b's optimiser (kalman: n2p2's filter, loss-normalised)")
    ap.add_argument("--forces-weight", type=float, default=None,
                    help="Fig. 2b's force weight (default 0.001 for lbfgs, 0.002 for kalman)")
    ap.add_argument("--temperatures", default="100,1000", help="Fig. 2b's training temperatures")
    ap.add_argument("--weight-decay", type=float, default=0.0,
                    help="Fig. 2b's [loss] weight_decay λ (lbfgs only: the Kalman filter "
                         "has no loss to add it to)")
    ap.add_argument("--seeds", default="0", help="initial-weight seeds: one potential per "
                    "temperature and seed (a second seed tests whether the offset is free)")
    ap.add_argument("--gap", type=int, default=0, help="Fig. 2b: also the bulk-surface "
                    "descriptor separation of the training sets, on this many snapshots each")
    ap.add_argument("--fig2b-only", action="store_true", help="skip the PCA and the cost")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 4 snapshots, 2 for the "
                    "cost, no training")
    ap.add_argument("--smoke", action="store_true", help="a smoke run of Fig. 2b alone: 3 "
                    "snapshots at 100 and 1,000 K, one Kalman epoch each, the gap on 2")
    args = ap.parse_args()
    if args.quick:
        args.snapshots, args.train_epochs = 4, 0
    if args.smoke:
        args.snapshots, args.train_epochs, args.method, args.fig2b_only = 3, 1, "kalman", True
        args.gap, args.temperatures, args.seeds = 2, "100,1000", "0"
    args.temperatures = [int(t) for t in args.temperatures.split(",")]
    args.seeds = [int(k) for k in args.seeds.split(",")]
    os.makedirs(args.workdir, exist_ok=True)
    aem.quiet()
    if args.fig2b_only:
        out = {"fig2b": fig2b(args, aem.sw())}
        with open(os.path.join(args.workdir, "summary.json"), "w") as fh:
            json.dump(out, fh, indent=1, default=float)
        return
    from ase_nnp import Potential
    from ase_nnp.analysis.distance import pca
    from ase_nnp.descriptors.symmetry_functions.presets import PRESETS
    from ase_nnp.training import LossWeights, loss_and_gradient
    from ase_nnp.training.preprocess import fit_energy_offsets, fit_scaling
    calc = aem.sw()
    slab = aem.si100_slab(calc)
    mask = bulk_mask(slab)
    data = {T: aem.md(slab, calc, T, args.snapshots, np.random.default_rng(100 + T))
            for T in (100, 1000)}
    from ase_nnp.training.config import TrainingConfig
    from ase_nnp.training.trainer import build_descriptor
    descriptors = {"6.5 Å, 26 functions (si-yoo2019)": PRESETS["si-yoo2019"][1](),
                   "3.8 Å, data/si.toml": build_descriptor(
                       TrainingConfig(dict(train=["unused"], **aem.DESCRIPTOR)), ["Si"])}
    out = {"pca": {}, "cost": {}}
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(descriptors), 2, figsize=(9, 4 * len(descriptors)),
                             squeeze=False)
    for row, (name, desc) in enumerate(descriptors.items()):
        G = {T: frameset(desc, imgs).G for T, imgs in data.items()}
        allG = np.concatenate(list(G.values()))
        lo, hi = allG.min(0), allG.max(0)
        keep = hi - lo > 1e-12
        X = {T: -1 + 2 * (g[:, keep] - lo[keep]) / (hi - lo)[keep] for T, g in G.items()}
        p = pca(np.concatenate(list(X.values())), 2)
        region = np.tile(mask, args.snapshots)
        out["pca"][name] = {}
        for col, T in enumerate((100, 1000)):
            t = p.transform(X[T])
            ax = axes[row, col]
            ax.scatter(t[region, 0], t[region, 1], s=2, alpha=0.4, label="bulk (middle 4 layers)")
            ax.scatter(t[~region, 0], t[~region, 1], s=2, alpha=0.4, label="surface")
            ax.set_title(f"{T} K, {name}", fontsize=9)
            ax.set_xlabel("PC1")
            ax.set_ylabel("PC2")
            ax.legend(fontsize=7, markerscale=4)
            # separation: the smallest distance between a bulk and a surface point (full space)
            from ase_nnp.analysis.distance import nearest_distances
            d = nearest_distances(X[T][~region], X[T][region]).distances
            out["pca"][name][T] = dict(gap_min=float(d.min()), gap_median=float(np.median(d)))
    fig.tight_layout()
    fig.savefig(os.path.join(args.workdir, "fig2c_pca.png"), dpi=110)
    # ---- the cost at Yoo's scale: 128 atoms, 6.5 Å
    from ase.build import diamond100
    big = diamond100("Si", size=(4, 2, 16), a=aem.A0, vacuum=10.0)
    big.rattle(0.05, seed=1)
    images = aem.md(big, calc, 1000, 2 if args.quick else 10, np.random.default_rng(5),
                    equilibrate_fs=40.0)
    desc = PRESETS["si-yoo2019"][1]()
    t = time.perf_counter()
    fs = frameset(desc, images)
    t_desc = (time.perf_counter() - t) / len(images)
    pot = Potential(["Si"], desc, hidden_layers=(30, 30), seed=0)
    fit_energy_offsets(pot, fs)
    fit_scaling(pot, fs)
    loss_and_gradient(pot, fs, LossWeights(1.0, 0.001, 0.0))
    t = time.perf_counter()
    for _ in range(3):
        loss_and_gradient(pot, fs, LossWeights(1.0, 0.001, 0.0))
    t_grad = (time.perf_counter() - t) / 3 / len(images)
    j = fs.stored_bytes() / len(images)
    n = 500
    out["cost"] = dict(atoms=len(big), pairs_per_atom=fs.n_pairs / fs.n_atoms,
                       descriptor_s_per_structure=t_desc, stored_MB_per_structure=j / 1e6,
                       gradient_s_per_structure=t_grad,
                       at_500=dict(descriptor_min=n * t_desc / 60, stored_GB=n * j / 1e9,
                                   gradient_s=n * t_grad,
                                   lbfgs_600_epochs_min=600 * 1.5 * n * t_grad / 60))
    if args.train_epochs:
        out["fig2b"] = fig2b(args, calc)
    print(json.dumps(out, indent=1, default=float))
    with open(os.path.join(args.workdir, "summary.json"), "w") as fh:
        json.dump(out, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
