"""Phonons and lattice thermal conductivity of diamond Si: data/si.nnp against Stillinger–Weber.

    python examples/phonons_si.py [--model data/si.nnp] [--mesh 11] [--fc3-distance 0.02]
                                  [--plot phonons_si.png]

Each potential at its own equilibrium lattice constant: the network's a0 found by
minimising E(a) of the 8-atom cubic cell, Stillinger–Weber (SW) at 5.431 Å (its own
minimum is 5.43095 Å; the script prints both). Both use the same supercells:

1. phonopy: fc2 from the 2×2×2 conventional supercell (64 atoms, displacement
   0.01 Å), the frequencies (THz) of all six branches at Γ, X and L, and the
   dispersion along Γ-X-K-Γ-L (plotted for both with ``--plot``, matplotlib).
2. phono3py: fc2 and fc3 from the same 64-atom supercell (every pair of
   displacements the crystal's symmetry needs, 111 supercells), and κ(300 K) in the
   relaxation-time approximation on a ``--mesh`` ³ q-mesh (tetrahedron method, no
   isotope or boundary scattering).

Forces come from ase.Atoms built from phonopy's PhonopyAtoms (Python APIs, no files).
Both potentials couple only atoms within 3.77 Å (SW) or 3.8 Å (network) of each other or
of a common neighbour; in the crystal that is first and second neighbours, well inside
the 64-atom cell (half-width 5.43 Å), so the supercell holds the whole range of fc2
and fc3 for both. The q-mesh is the convergence parameter that matters (below). The
comparison is with SW, the network's reference, not with experiment.

Why 0.02 Å for fc3, not phono3py's default 0.03 Å: the network's cosine cutoff
(3.8 Å) sits 0.04 Å inside the second shell (3.840 Å), and its second derivative
jumps at r_c (the potential is only C¹ there; SW's cutoff is smooth). A displacement
pair of 0.025 Å or more brings second neighbours to 3.797 Å, across r_c, and the
finite differences pick up the jump as spurious fc3: the network's κ (11³) drops from
487 to 417 (0.025 Å), 321 (0.03 Å) and 292 W/m-K (0.06 Å), while SW's stays at
500–502 W/m-K from 0.01 to 0.06 Å. From 0.005 to 0.021 Å no pair crosses r_c and the
network's κ stays at 487 W/m-K. ``--fc3-distance 0.03`` shows the effect.

Needs ``pip install phonopy phono3py`` (the ``phonons`` extra) and matscipy for SW.
Takes about 40 s on 2 cores at 11³ (mostly phono3py's κ integration; the 2 × 111 fc3
force calls take a few seconds); 15³ about 6 minutes and 19³ about 16 minutes (measured
with the cores shared with another job). κ is not converged at 11³: 15³ and 19³ raise
it by 8 % and 13 % (SW 501.6 → 540.6 → 567.1 W/m-K, network 487.4 → 525.9 → 546.9),
the network staying 2.7–3.5 % below SW.
"""

import argparse
import os
import time

import numpy as np
from ase import Atoms
from ase.build import bulk

from ase_nnp import NNPCalculator
from eos_si import equilibrium_a, pyplot, stillinger_weber   # beside this script

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
A_SW = 5.431
SUPERCELL = [2, 2, 2]
# Reduced coordinates of the primitive fcc cell's reciprocal lattice (phonopy's
# primitive_matrix "F"). X' = (1/2, 1/2, 1) is X translated by a reciprocal
# lattice vector, so X'-K-Γ is the straight [110] line through K.
POINTS = {"Γ": [0, 0, 0], "X": [0.5, 0, 0.5], "L": [0.5, 0.5, 0.5]}
PATH = [[[0, 0, 0], [0.5, 0, 0.5]], [[0.5, 0.5, 1], [0.375, 0.375, 0.75]],
        [[0.375, 0.375, 0.75], [0, 0, 0]], [[0, 0, 0], [0.5, 0.5, 0.5]]]
LABELS = ["Γ", "X", "K", "Γ", "L"]


def to_phonopy(atoms):
    from phonopy.structure.atoms import PhonopyAtoms
    return PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=atoms.cell[:],
                        scaled_positions=atoms.get_scaled_positions(),
                        masses=atoms.get_masses())


def forces_of(cells, calc):
    """Forces on phonopy's displaced supercells, shape (n_cells, n_atoms, 3)."""
    out = []
    for cell in cells:
        atoms = Atoms(cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions,
                      pbc=True)
        atoms.calc = calc
        out.append(atoms.get_forces().copy())
    return np.array(out)


def phonons(calc, a):
    """phonopy: fc2, frequencies at Γ, X, L and the band structure."""
    from phonopy import Phonopy
    from phonopy.phonon.band_structure import get_band_qpoints_and_path_connections
    ph = Phonopy(to_phonopy(bulk("Si", "diamond", a=a, cubic=True)), SUPERCELL,
                 primitive_matrix="F")
    ph.generate_displacements(distance=0.01)
    ph.forces = forces_of(ph.supercells_with_displacements, calc)
    ph.produce_force_constants(show_drift=False)
    ph.run_qpoints(list(POINTS.values()))
    freqs = dict(zip(POINTS, ph.qpoints.frequencies))
    qpoints, connections = get_band_qpoints_and_path_connections(PATH, npoints=61)
    ph.run_band_structure(qpoints, path_connections=connections, labels=LABELS)
    return freqs, ph.band_structure, len(ph.supercells_with_displacements)


def kappa(calc, a, mesh, distance=0.02, temperature=300.0):
    """phono3py: fc2 and fc3 from the 64-atom supercell, κ (RTA) at one temperature.
    Returns the xx component (cubic: κ is isotropic) in W/m-K and the number of
    displaced supercells."""
    from phono3py import Phono3py
    ph3 = Phono3py(to_phonopy(bulk("Si", "diamond", a=a, cubic=True)), supercell_matrix=SUPERCELL,
                   primitive_matrix="F", log_level=0)
    ph3.generate_displacements(distance=distance)
    ph3.forces = forces_of(ph3.supercells_with_displacements, calc)
    ph3.produce_fc3()
    ph3.produce_fc2()
    ph3.mesh_numbers = [mesh] * 3
    ph3.init_phph_interaction()
    ph3.run_thermal_conductivity(temperatures=[temperature])
    k = ph3.thermal_conductivity.kappa[0, 0]  # (sigma, temperature, 6 Voigt)
    return k[0], k, len(ph3.supercells_with_displacements)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "si.nnp"))
    ap.add_argument("--mesh", type=int, default=11, help="q-mesh n×n×n for κ (default 11)")
    ap.add_argument("--fc3-distance", type=float, default=0.02,
                    help="phono3py displacement in Å (default 0.02; see the docstring)")
    ap.add_argument("--no-kappa", action="store_true", help="phonopy only, skip phono3py")
    ap.add_argument("--plot", default="", help="image of both dispersions (e.g. phonons_si.png)")
    args = ap.parse_args()
    calcs = {"NNP": NNPCalculator(args.model)}
    sw = stillinger_weber()
    if sw is not None:
        calcs["SW"] = sw
    lattice = {"NNP": equilibrium_a(calcs["NNP"])}
    line = f"lattice constants: NNP {lattice['NNP']:.5f} Å (its E(a) minimum)"
    if sw is not None:
        lattice["SW"] = A_SW
        line += f", SW {A_SW:.3f} Å (its E(a) minimum: {equilibrium_a(sw):.5f} Å)"
    print(line)

    results = {}
    for name, calc in calcs.items():
        t = time.perf_counter()
        freqs, bands, ndisp = phonons(calc, lattice[name])
        results[name] = {"freqs": freqs, "bands": bands}
        print(f"{name}: phonopy fc2 from {ndisp} displaced {8 * np.prod(SUPERCELL)}-atom "
              f"supercell(s), {time.perf_counter() - t:.1f} s")
    names = list(results)
    print("\nfrequencies (THz), branches in ascending order")
    head = f"{'q':3s} {'branch':>6s}" + "".join(f" {n:>8s}" for n in names)
    print(head + ("  NNP-SW" if "SW" in names else ""))
    for q in POINTS:
        for b in range(6):
            f = [results[n]["freqs"][q][b] for n in names]
            row = f"{q:3s} {b + 1:6d}" + "".join(f" {x:8.3f}" for x in f)
            print(row + (f" {f[0] - f[1]:+7.3f}" if len(f) == 2 else ""))
    if len(names) == 2:
        diff = (np.concatenate(results["NNP"]["bands"].frequencies) -
                np.concatenate(results["SW"]["bands"].frequencies))
        print(f"along Γ-X-K-Γ-L ({len(diff)} q-points, 6 branches): largest |NNP - SW| "
              f"{np.abs(diff).max():.3f} THz, mean {diff.mean():+.3f} THz")

    if not args.no_kappa:
        print(f"\nκ(300 K), RTA, {args.mesh}×{args.mesh}×{args.mesh} q-mesh, fc2 and fc3 from "
              f"the {8 * np.prod(SUPERCELL)}-atom supercell, displacement {args.fc3_distance} Å")
        kap = {}
        for name, calc in calcs.items():
            t = time.perf_counter()
            kap[name], full, ndisp = kappa(calc, lattice[name], args.mesh, args.fc3_distance)
            print(f"{name:4s} κ = {kap[name]:7.1f} W/m-K  (xx, yy, zz = "
                  f"{', '.join(f'{x:.1f}' for x in full[:3])}; off-diagonal "
                  f"max {np.abs(full[3:]).max():.1e}); {ndisp} displaced supercells, "
                  f"{time.perf_counter() - t:.1f} s")
        if len(kap) == 2:
            print(f"NNP - SW: {100 * (kap['NNP'] - kap['SW']) / kap['SW']:+.1f} %")

    if args.plot:
        plt = pyplot()
        if plt is None:
            return
        from matplotlib.lines import Line2D
        fig, ax = plt.subplots(figsize=(6, 4.5))
        handles = []
        for name, style, color in zip(names, ("-", "--"), ("C0", "C3")):
            b = results[name]["bands"]
            for d, f in zip(b.distances, b.frequencies):
                ax.plot(d, f, style, color=color, lw=1.2)
            handles.append(Line2D([], [], ls=style, color=color, label=name))
        ends = [d[0] for d in results[names[0]]["bands"].distances]
        ends.append(results[names[0]]["bands"].distances[-1][-1])
        for x in ends:
            ax.axvline(x, color="0.7", lw=0.6)
        ax.set_xticks(ends)
        ax.set_xticklabels(LABELS)
        ax.set_xlim(ends[0], ends[-1])
        ax.set_ylim(bottom=0)
        ax.set_ylabel("frequency (THz)")
        ax.set_title("diamond Si phonons (2×2×2 conventional supercell)")
        ax.legend(handles=handles)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
