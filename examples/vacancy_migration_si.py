"""Vacancy formation and migration in diamond Si (CI-NEB): data/si.nnp against Stillinger–Weber.

    python examples/vacancy_migration_si.py [--model data/si.nnp] [--size 3] [--images 7]
                                            [--plot vacancy_migration_si.png]

A --size³ conventional supercell (default 3: 216 sites, 215 atoms with the vacancy),
each potential at its own lattice constant (the network's E(a) minimum, SW at 5.431 Å),
fixed cell:

1. E_f = E(N-1) - (N-1) E(N)/N with the perfect crystal's energy per atom, for the two
   vacancy minima both potentials have. SW bonds end at 3.77 Å, short of the 3.84 Å
   between the vacancy's four neighbours, so the bulk-terminated vacancy (atom just
   removed) is itself a minimum (E_f = E_coh = 4.34 eV under SW). Pushing the four
   neighbours 0.3 Å towards the empty site and relaxing (BFGS, fmax 0.01 eV/Å) finds the
   lower, inward-relaxed one: the four atoms close to about 2.9 Å of each other, all six
   pairs equal (it stays tetrahedral: no Jahn–Teller-like pairing, there are no
   electrons here). The migration uses this lower state. Both relaxations are local:
   neither E_f is a global search.
2. The final state: a nearest neighbour of the vacancy moved onto the empty site, the
   new vacancy's neighbours pushed in the same way, relaxed; the same state by
   symmetry, so E(final) = E(initial) checks the relaxation.
3. The split vacancy (that neighbour at the centre of its bond with the empty site,
   between two half-vacancies): relaxed from there (rattled 0.01 Å), where it ends.
4. NEB (``ase.mep.NEB``, climbing image, improved tangent, idpp interpolation, --images
   images counting both ends), FIRE to --fmax (0.03 eV/Å): the barrier, which image is
   highest and how far the moving atom has come there, and the energy profile against
   the path length (cumulative distance between images in 3N dimensions).

Network and SW run the same recipe from the same unrelaxed structures. The network's
extrapolation warnings are switched off; instead the script counts, per stage, the calls
in which some atom's descriptors left the training range. Takes 3-6 minutes on 2 cores
at the default size (most of it BFGS on 645 coordinates; measured with the cores shared
with another job), under a minute with --size 2 (64 sites). ``--smoke`` (seconds: a test
that the script runs end to end, its numbers not converged) is --size 2, 3 images and a
tolerance of 0.3 eV/Å for every relaxation and the NEB.
Needs matscipy for SW (``pip install matscipy``); without it only the network is shown.
"""

import argparse
import os
import time

import numpy as np
from ase.build import bulk
from ase.geometry import find_mic, get_distances
from ase.optimize import BFGS, FIRE

from ase_nnp import NNPCalculator
from eos_si import equilibrium_a, pyplot, stillinger_weber   # beside this script

try:
    from ase.mep import NEB
except ImportError:  # ASE < 3.23
    from ase.neb import NEB

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
A_SW = 5.431
NUDGE = 0.3     # Å: the vacancy's neighbours are moved this far towards the empty site


def neighbours(atoms, point, n=4):
    """Indices of the n atoms nearest to point and their vectors towards it."""
    vec, dist = get_distances(point, atoms.positions, cell=atoms.cell, pbc=True)
    idx = np.argsort(dist[0])[:n]
    return idx, -vec[0][idx]


def nudge_in(atoms, site):
    """Move the four neighbours of an empty site NUDGE Å towards it."""
    idx, vec = neighbours(atoms, site)
    atoms.positions[idx] += NUDGE * vec / np.linalg.norm(vec, axis=1)[:, None]
    return idx


def relax(atoms, calc, fmax=0.01):
    atoms.calc = calc
    opt = BFGS(atoms, logfile=None)
    opt.run(fmax=fmax, steps=3000)
    return atoms.get_potential_energy(), opt.nsteps


def geometry(atoms, site):
    """Mean distance of the four nearest atoms to an empty site, and their pair distances."""
    idx, vec = neighbours(atoms, site)
    pairs = get_distances(atoms.positions[idx], cell=atoms.cell, pbc=True)[1]
    return np.linalg.norm(vec, axis=1).mean(), pairs[np.triu_indices(4, 1)]


class Extrapolation:
    """Per stage, how many of the network's calls had an atom outside the training
    range (the calculator's running totals; nothing for SW)."""

    def __init__(self, calc):
        self.log = getattr(calc, "extrapolation_log", None)
        self.stages = []
        self._mark()

    def _mark(self):
        self._at = (self.log.calls, self.log.extrapolating_calls) if self.log else None

    def stage(self, name):
        if self.log is not None:
            calls, ex = self.log.calls - self._at[0], self.log.extrapolating_calls - self._at[1]
            self.stages.append(f"{name} {ex}/{calls}")
        self._mark()


def study(calc, a, size, n_images, fmax_neb=0.03, fmax_relax=0.01):
    """The four stages of the module docstring with one calculator at lattice constant a;
    BFGS relaxes to ``fmax_relax``, the NEB to ``fmax_neb`` (eV/Å)."""
    extra = Extrapolation(calc)
    perfect = bulk("Si", "diamond", a=a, cubic=True) * (size, size, size)
    perfect.calc = calc
    e_atom = perfect.get_potential_energy() / len(perfect)
    site0 = perfect.positions[0].copy()
    start = perfect.copy()
    del start[0]
    n = len(start)
    out = {"a": a, "N": len(perfect)}

    # bulk-terminated vacancy: relaxed from the unrelaxed structure, lightly rattled
    outer = start.copy()
    outer.rattle(0.02, seed=1)
    e, _ = relax(outer, calc, fmax_relax)
    out["Ef_outer"] = e - n * e_atom
    out["d_outer"] = geometry(outer, site0)
    extra.stage("bulk-terminated")

    # inward-relaxed vacancy: initial state
    initial = start.copy()
    nudge_in(initial, site0)
    e_i, _ = relax(initial, calc, fmax_relax)
    out["Ef"] = e_i - n * e_atom
    out["d_inner"] = geometry(initial, site0)
    extra.stage("inward")

    # final state: the nearest neighbour j of the empty site moved onto it
    j = neighbours(start, site0, 1)[0][0]
    site_j = start.positions[j].copy()
    final = start.copy()
    final.positions[j] = site0
    nudge_in(final, site_j)
    e_f, _ = relax(final, calc, fmax_relax)
    out["dE_final"] = e_f - e_i
    extra.stage("final")

    # split vacancy: atom j at the centre of its bond with the empty site (rattled), relaxed
    path = site0 - site_j
    path -= perfect.cell.cartesian_positions(np.round(perfect.cell.scaled_positions(path)))
    split = start.copy()
    split.positions[j] = site_j + 0.5 * path
    split.rattle(0.01, seed=2)
    e_s, _ = relax(split, calc, fmax_relax)
    out["split"] = (e_s - n * e_atom, float((split.positions[j] - site_j) @ path / (path @ path)))
    extra.stage("split")

    images = [initial] + [initial.copy() for _ in range(n_images - 2)] + [final]
    neb = NEB(images, climb=True, method="improvedtangent", allow_shared_calculator=True)
    neb.interpolate(method="idpp", mic=True)
    for im in images[1:-1]:
        im.calc = calc
    t = time.perf_counter()
    opt = FIRE(neb, logfile=None)
    converged = opt.run(fmax=fmax_neb, steps=2000)
    out["neb_steps"], out["neb_converged"] = opt.nsteps, converged
    out["neb_time"] = time.perf_counter() - t
    energies = np.array([im.get_potential_energy() for im in images])
    extra.stage("NEB")
    out["extrapolation"] = extra.stages
    # reaction coordinate: cumulative 3N-dimensional distance between images (Å)
    hops = [np.linalg.norm(find_mic(b.positions - a.positions, a.cell, pbc=True)[0])
            for a, b in zip(images[:-1], images[1:])]
    out["s"] = np.concatenate([[0.0], np.cumsum(hops)])
    out["profile"] = energies - energies[0]
    out["barrier"] = out["profile"].max()
    top = int(np.argmax(energies))
    # where the moving atom is at the top: fraction of the way from its site to the empty one
    moved = images[top].positions[j] - site_j
    out["top"] = (top, float(moved @ path / (path @ path)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "si.nnp"))
    ap.add_argument("--size", type=int, default=3, help="conventional cells per side (default 3)")
    ap.add_argument("--images", type=int, default=7, help="NEB images, both ends included")
    ap.add_argument("--fmax", type=float, default=0.03, help="NEB force tolerance (eV/Å)")
    ap.add_argument("--relax-fmax", type=float, default=0.01,
                    help="BFGS force tolerance of the relaxations (eV/Å)")
    ap.add_argument("--plot", default="", help="image of the NEB profiles")
    ap.add_argument("--smoke", action="store_true",
                    help="--size 2, 3 images, tolerances 0.3 eV/Å: seconds, a test that it runs")
    args = ap.parse_args()
    if args.smoke:
        args.size, args.images, args.fmax, args.relax_fmax = 2, 3, 0.3, 0.3
    # extrapolation is counted and summarised per stage below instead of warned about
    calcs = {"NNP": NNPCalculator(args.model, extrapolation="ignore")}
    sw = stillinger_weber()
    if sw is not None:
        calcs["SW"] = sw
    lattice = {"NNP": equilibrium_a(calcs["NNP"]), "SW": A_SW}
    res = {}
    for name, calc in calcs.items():
        t = time.perf_counter()
        res[name] = study(calc, lattice[name], args.size, args.images, args.fmax,
                          args.relax_fmax)
        r = res[name]
        print(f"{name}: a = {r['a']:.5f} Å, {r['N']} sites; NEB {r['neb_steps']} FIRE steps "
              f"({'converged' if r['neb_converged'] else 'NOT converged'}, {r['neb_time']:.1f} s); "
              f"{time.perf_counter() - t:.1f} s in all")
    names = list(res)

    def row(label, key, fmt):
        vals = [fmt(res[n][key]) for n in names]
        print(f"{label:50s}" + "".join(f" {v:>10s}" for v in vals))

    print(f"\n{'':50s}" + "".join(f" {n:>10s}" for n in names))
    row("E_f bulk-terminated vacancy (eV)", "Ef_outer", lambda x: f"{x:.4f}")
    row("  neighbours' distance to the site (Å)", "d_outer", lambda x: f"{x[0]:.3f}")
    row("E_f inward-relaxed vacancy (eV)", "Ef", lambda x: f"{x:.4f}")
    row("  neighbours' distance to the site (Å)", "d_inner", lambda x: f"{x[0]:.3f}")
    row("  neighbour pair distances, min-max (Å)", "d_inner",
        lambda x: f"{x[1].min():.3f}-{x[1].max():.3f}")
    row("E(final) - E(initial) (eV)", "dE_final", lambda x: f"{x:+.4f}")
    row("bond-centre start relaxed to: E_f (eV)", "split", lambda x: f"{x[0]:.4f}")
    row("  moving atom's progress (0: own site, 1: empty)", "split", lambda x: f"{x[1]:.3f}")
    row("migration barrier, climbing image (eV)", "barrier", lambda x: f"{x:.4f}")
    row("  highest image (of 0..n-1)", "top", lambda x: f"{x[0]}")
    row("  moving atom's progress there (0..1)", "top", lambda x: f"{x[1]:.3f}")
    if res["NNP"]["extrapolation"]:
        print("NNP calls with an atom outside the training range, per stage: " +
              ", ".join(res["NNP"]["extrapolation"]))
    if len(names) == 2:
        print("NNP - SW: E_f " + f"{res['NNP']['Ef'] - res['SW']['Ef']:+.4f} eV (inward), "
              f"{res['NNP']['Ef_outer'] - res['SW']['Ef_outer']:+.4f} eV (bulk-terminated); "
              f"barrier {res['NNP']['barrier'] - res['SW']['barrier']:+.4f} eV")
    print("\nNEB energy profile, E - E(initial) (eV)")
    print(f"{'image':>5s}" + "".join(f" {n + ' s (Å)':>10s} {n + ' ΔE':>9s}" for n in names))
    for i in range(args.images):
        print(f"{i:5d}" + "".join(f" {res[n]['s'][i]:10.3f} {res[n]['profile'][i]:9.4f}"
                                  for n in names))

    if args.plot:
        plt = pyplot()
        if plt is None:
            return
        fig, ax = plt.subplots(figsize=(5, 4))
        for name, style in zip(names, ("o-", "s--")):
            ax.plot(res[name]["s"], res[name]["profile"], style, mfc="none",
                    label=f"{name}: barrier {res[name]['barrier']:.3f} eV")
        ax.set_xlabel("reaction coordinate: path length (Å)")
        ax.set_ylabel("E - E(initial) (eV)")
        ax.set_title(f"Si vacancy migration, {res[names[0]]['N'] - 1} atoms, CI-NEB")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
