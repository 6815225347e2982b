r"""``ase-nnp mapping``: the atomic-energy mapping of a model, in one report.

For a model (a potential or an ensemble) and a reference calculator it gives

1. the invariant-point table (:mod:`ase_nnp.analysis.mapping`): for every strained
   crystal, V/atom, E_at^NN, E_ref/N, ΔE_at and, for an ensemble, σ of E_at^NN;
2. the regional errors ΔĒ_at(bulk), ΔĒ_at(surface) of each given slab (and the true
   ones where the reference defines atomic energies);
3. with training data: per element, r_g of the training points in scaled descriptor
   space (:mod:`ase_nnp.analysis.connectivity`), the distribution of nearest-neighbour
   distances inside the training set and each invariant point's distance to it
   (:mod:`ase_nnp.analysis.distance`);
4. the verdict (:mod:`ase_nnp.analysis.verdict`): Z = RMS of ΔE_at / (ε √N̄) over the
   invariant points within the training data (all points without ``train``), "ad hoc"
   above 3, with the reason; ε (validation RMSE of the energy per atom) and N̄ (atoms per
   training structure) as given, else from the training data and the model file;
5. plots (``out_dir``): ``mapping_eos.png`` (E_at of model and reference along the
   equation of state with the ±σ band, and ΔE_at), ``mapping_pca.png`` (the training
   points and the invariant points on the first two principal axes) and
   ``mapping_distances.png`` (the distance histograms).

The scaled descriptor space is the one the network sees (each column spans about
[−1, 1] over the model's training atoms); for an ensemble, its first member's scaling.
"""

import os
from typing import NamedTuple

import numpy as np

from . import mapping
from . import verdict as judge
from .connectivity import rg
from .distance import nearest_distances, pca, within_set_distances


class ElementConnectivity(NamedTuple):
    """Per element of the training data: n points used (of ``n_total``), r_g, the
    within-set nearest distances, and each invariant point's nearest distance to them
    (the largest over its atoms, which are equivalent)."""
    n_points: int
    n_total: int
    rg: float
    within: np.ndarray
    invariant_distance: np.ndarray


class MappingReport(NamedTuple):
    table: mapping.MappingErrors
    regional: list          # (name, RegionalErrors) per slab
    connectivity: dict      # element -> ElementConnectivity
    plots: list             # files written
    verdict: judge.Verdict  # None when no validation RMSE is known


def training_points(potential, structures):
    """{element: (n, D) scaled descriptor rows of every atom of that element in
    ``structures``} (:func:`~ase_nnp.analysis.mapping.network_inputs`)."""
    pot = mapping.load_potential(potential)
    member = mapping.first_member(pot)
    rows = {e: [] for e in member.elements}
    for atoms in structures:
        x = mapping.network_inputs(member, atoms)
        symbols = np.array(atoms.get_chemical_symbols())
        for e in member.elements:
            sel = symbols == e
            if sel.any():
                rows[e].append(x[sel, :member.descriptor.n_features(e)])
    return {e: np.concatenate(r) for e, r in rows.items() if r}


def report(model, reference, crystal, strains="all", slabs=(), train=(), out_dir=None,
           max_points=100000, fraction=0.5, bulk_tolerance=0.1, seed=0, log=print,
           validation_rmse=None, atoms_per_structure=None):
    """Compute (and print through ``log``) the report of the module docstring.
    ``crystal``: an ASE Atoms prototype; ``slabs``: (name, Atoms) pairs; ``train``: ASE
    Atoms of the training data; at most ``max_points`` random training atoms per element
    enter r_g (exact but O(n²)); ``validation_rmse``: ε of the verdict (eV/atom; None: the
    model file's), ``atoms_per_structure``: its N̄ (None: from ``train``, else the model
    file's training summary)."""
    pot = mapping.load_potential(model)
    points = mapping.invariant_points(crystal, strains)
    table = mapping.mapping_table(pot, points, reference)
    has_std = table.std is not None
    log(f"invariant points of {crystal.get_chemical_formula()} "
        f"({len(points)}; E_at in eV/atom, ΔE_at{' and σ' if has_std else ''} in meV/atom)")
    log(f"{'point':>14} {'V/atom':>8} {'E_at NN':>11} {'E_ref/N':>11} {'ΔE_at':>9}"
        + (f" {'σ':>7}" if has_std else ""))
    for k, label in enumerate(table.label):
        log(f"{label:>14} {table.volume[k]:8.3f} {table.nn[k]:11.5f} {table.reference[k]:11.5f} "
            f"{1000 * table.error[k]:9.2f}" + (f" {1000 * table.std[k]:7.2f}" if has_std else ""))
    log(f"RMS ΔE_at {1000 * np.sqrt(np.mean(table.error ** 2)):.2f} meV/atom, "
        f"largest {1000 * np.max(np.abs(table.error)):.2f} meV/atom")
    regional = []
    for name, slab in slabs:
        r = mapping.regional_errors(pot, slab, crystal, reference, tolerance=bulk_tolerance)
        regional.append((name, r))
        true = ("" if np.isnan(r.true_bulk) else
                f"; true (reference atomic energies): bulk {1000 * r.true_bulk:.2f}, surface "
                f"{1000 * r.true_surface:.2f}, RMS {1000 * r.true_rmse:.2f}")
        log(f"{name}: {r.n_bulk} bulk / {r.n_surface} surface atoms; ΔĒ_at(bulk) "
            f"{1000 * r.bulk:.2f}, ΔĒ_at(surface) {1000 * r.surface:.2f} meV/atom{true}")
    connectivity, inv, train_x = {}, {}, {}
    if train:
        rng = np.random.default_rng(seed)
        inv = training_points(pot, points)
        train_x = training_points(pot, train)
        for e, X in train_x.items():
            n_total = len(X)
            if n_total > max_points:
                X = X[np.sort(rng.choice(n_total, max_points, replace=False))]
            if len(X) < 2:
                log(f"{e}: {len(X)} training atom(s), no connectivity")
                continue
            within = within_set_distances(X).distances
            d_inv = np.zeros(0)
            if e in inv:        # one distance per point: its atoms are equivalent
                d_inv = nearest_distances(inv[e], X).distances.reshape(len(points), -1).max(1)
            c = ElementConnectivity(len(X), n_total, rg(X, fraction), within, d_inv)
            connectivity[e] = c
            used = f"{len(X)} of {n_total}" if len(X) < n_total else f"{n_total}"
            log(f"{e}: {used} training atoms, r_g = {c.rg:.4g} (r_g⁻¹ = {1 / c.rg:.3g}; "
                f"fraction {fraction:g}); nearest-neighbour distance in the set: median "
                f"{np.median(within):.3g}, 95 % {np.percentile(within, 95):.3g}"
                + (f"; invariant points to the set: {d_inv.min():.3g} … {d_inv.max():.3g}"
                   if len(d_inv) else ""))
    verdict = _verdict(pot, table, connectivity, crystal, validation_rmse, atoms_per_structure,
                       train, log)
    plots = _plots(out_dir, table, has_std, inv, train_x, connectivity) if out_dir else []
    for p in plots:
        log(f"wrote {p}")
    return MappingReport(table, regional, connectivity, plots, verdict)


def _verdict(pot, table, connectivity, crystal, validation_rmse, n_atoms, train, log):
    """The verdict of the module docstring, logged with its reason (None without ε or
    N̄)."""
    eps = judge.validation_rmse(pot) if validation_rmse is None else validation_rmse
    if n_atoms is None:
        n_atoms = (np.mean([len(a) for a in train]) if train else
                   judge.atoms_per_structure(pot))
    if not (np.isfinite(eps) and eps > 0 and np.isfinite(n_atoms)):
        log("verdict: none — the model file stores no validation RMSE or training-set size; "
            "give --validation-rmse (meV/atom) and --train (or --atoms-per-structure)")
        return None
    element = crystal.get_chemical_symbols()[0]
    c = connectivity.get(element)
    used = (judge.learnable(c.invariant_distance, c.within)
            if c is not None and len(c.invariant_distance) == len(table.error) else None)
    where = (f"{int(used.sum())} of {len(used)} invariant points lie within the training data"
             if used is not None else "all invariant points judged (no training data given; "
             "--train limits the verdict to the points within it)")
    v = judge.mapping_verdict(table.error, eps, n_atoms, used, table.std, labels=table.label)
    log(f"verdict: {v.verdict.upper()}"
        + (f" (Z = {v.statistic:.2f}, threshold {v.threshold:g})" if np.isfinite(v.statistic)
           else "") + f"; {where}")
    log(f"  why: {v.reason}")
    return v


def _plots(out_dir, table, has_std, inv, train_x, connectivity):
    """The figures of the module docstring; ``inv`` and ``train_x``: the scaled descriptor
    rows of the invariant points and of all training atoms, per element."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(out_dir, exist_ok=True)
    written = []
    eos = [k for k, lab in enumerate(table.label) if lab.startswith("eos")]
    if eos:
        v = table.volume[eos]
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
        ax.plot(v, table.reference[eos], "k-", label="reference")
        ax.plot(v, table.nn[eos], "o-", ms=3, label="model")
        if has_std:
            ax.fill_between(v, table.nn[eos] - table.std[eos], table.nn[eos] + table.std[eos],
                            alpha=0.3, label="±σ (ensemble)")
        ax.set_xlabel("volume (Å³/atom)")
        ax.set_ylabel("E_at (eV/atom)")
        ax.legend()
        ax2.axhline(0, color="k", lw=0.5)
        ax2.plot(v, 1000 * table.error[eos], "o-", ms=3)
        if has_std:
            ax2.fill_between(v, 1000 * (table.error[eos] - table.std[eos]),
                             1000 * (table.error[eos] + table.std[eos]), alpha=0.3)
        ax2.set_xlabel("volume (Å³/atom)")
        ax2.set_ylabel("ΔE_at = E_at^NN − E_ref/N (meV/atom)")
        fig.tight_layout()
        written.append(os.path.join(out_dir, "mapping_eos.png"))
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    if connectivity:
        els = list(connectivity)
        fig, axes = plt.subplots(1, len(els), figsize=(4.5 * len(els), 4), squeeze=False)
        for ax, e in zip(axes[0], els):
            p = pca(train_x[e], 2)
            t = p.transform(train_x[e])
            ax.scatter(t[:, 0], t[:, 1], s=2, alpha=0.3, label=f"training ({e})")
            if e in inv:
                q = p.transform(inv[e])
                ax.scatter(q[:, 0], q[:, 1], s=20, c="k", label="invariant points")
            ax.set_xlabel(f"PC1 ({100 * p.explained_variance_ratio[0]:.0f} %)")
            ax.set_ylabel(f"PC2 ({100 * p.explained_variance_ratio[1]:.0f} %)")
            ax.legend(fontsize=8)
        fig.tight_layout()
        written.append(os.path.join(out_dir, "mapping_pca.png"))
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
        fig, axes = plt.subplots(1, len(els), figsize=(4.5 * len(els), 3.6), squeeze=False)
        for ax, e in zip(axes[0], els):
            c = connectivity[e]
            ax.hist(c.within, bins=60, alpha=0.7, label="nearest neighbour in the set")
            for d in c.invariant_distance:
                ax.axvline(d, color="k", lw=0.6, alpha=0.6)
            ax.axvline(c.rg, color="r", ls="--", label=f"r_g = {c.rg:.3g}")
            ax.set_xlabel(f"distance in scaled descriptor space ({e})")
            ax.set_ylabel("atoms")
            ax.legend(fontsize=8, title="black: invariant points", title_fontsize=8)
        fig.tight_layout()
        written.append(os.path.join(out_dir, "mapping_distances.png"))
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written
