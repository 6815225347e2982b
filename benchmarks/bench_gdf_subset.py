"""GDF subset estimator against the exact density on the shipped training set.

    python benchmarks/bench_gdf_subset.py                 # all 78,049 atoms (a few minutes)
    python benchmarks/bench_gdf_subset.py --n 20000       # the first 20,000 of them
    python benchmarks/bench_gdf_subset.py --structures 40 --m 200 500   # seconds: a smoke run

The rows are those of benchmarks/bench_gdf.py (data/si.nnp's descriptor on
data/si_sw_train.extxyz.gz, scaled per column to [-1, 1]); σ = 0.02, b = 1, c = "auto".
For each subset size m the density is estimated from m seeded random reference rows
(ase_nnp.analysis.gdf.gdf_density_subset; the self term exact) and compared with the
exact one: the relative error |ρ̂/ρ - 1|, that of the GDF weights |ŵ/w - 1| (each
with its own automatic c) and the weights' absolute error |ŵ - w| (their mean is 1, so
this is relative to the mean weight), each as median, 99th percentile and largest, with
the time of each. Dense atoms have weights far below 1 (x = 1/ρ below c, where the
sigmoid is e^{b (x - c)}): their relative error is large while they hardly count.
"""

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_gdf import training_descriptors  # noqa: E402
from reference_setup import print_table  # noqa: E402

from ase_nnp.analysis.gdf import gdf_density, gdf_density_subset, gdf_weights  # noqa: E402


def _stats(rel):
    return f"{np.median(rel):.2%} / {np.percentile(rel, 99):.2%} / {rel.max():.2%}"


def _abs(d):
    d = np.abs(d)
    return f"{np.median(d):.3g} / {np.percentile(d, 99):.3g} / {d.max():.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=0, help="first n rows only (0: all)")
    ap.add_argument("--m", type=int, nargs="*", default=[5000, 10000, 20000, 40000])
    ap.add_argument("--sigma", type=float, default=0.02)
    ap.add_argument("--structures", type=int, default=0,
                    help="the first N training structures only (0: all)")
    args = ap.parse_args()
    load_avg = os.getloadavg()[0]
    G = training_descriptors(args.structures)
    if args.n:
        G = G[:args.n]
    gdf_density(G[:200])                        # compile
    t = time.perf_counter()
    rho = gdf_density(G, args.sigma)
    exact_s = time.perf_counter() - t
    w, c = gdf_weights(rho)
    rows = [(f"exact, {len(G):,} atoms x {G.shape[1]} functions", f"{exact_s:.1f} s",
             f"c = {c:.4g}, w {w.min():.3g} … {w.max():.3g}", "")]
    for m in args.m:
        if m >= len(G):
            continue
        t = time.perf_counter()
        est = gdf_density_subset(G, args.sigma, m, seed=0)
        dt = time.perf_counter() - t
        w_est, c_est = gdf_weights(est)
        rows.append((f"subset m = {m:,}", f"{dt:.1f} s", f"ρ: {_stats(np.abs(est / rho - 1))}",
                     f"w: {_stats(np.abs(w_est / w - 1))}; |ŵ - w|: {_abs(w_est - w)} "
                     f"(c = {c_est:.4g})"))
    print(f"load average before the run: {load_avg:.2f} on {os.cpu_count()} cores; "
          "errors as median / 99th percentile / max")
    print_table([(a, b, f"{v} {x}".strip()) for a, b, v, x in rows])


if __name__ == "__main__":
    main()
