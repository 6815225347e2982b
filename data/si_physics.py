"""Physics of data/si.nnp against Stillinger–Weber itself; prints (and can store) the README table.

    python data/si_physics.py                  # full table, MD included (about 20 minutes)
    python data/si_physics.py --quick          # without the MD (NVE run, 300 K moduli)
    python data/si_physics.py --update-readme  # also rewrite the table in docs/si-potential.md

Every number is computed the same way for both calculators:

* lattice constant a0: minimum of E(a) of the 8-atom cubic cell (Brent, 1e-6 Å);
* bulk modulus B: ``ase.eos`` Birch–Murnaghan fit over 0.94-1.06 V0 (11 points);
* C11, C12: σ_xx and σ_yy under ε_xx = ±0.2 % (central difference);
  C44: σ_yz under ε_yz = ε_zy = ±0.2 %, atoms relaxed at fixed cell (BFGS to
  1e-6 eV/Å), i.e. the relaxed-ion C44 that includes Kleinman's internal strain;
* test errors: RMSE of energy per atom and force components on
  ``si_sw_test.extxyz.gz`` (structures generated with another seed, never seen
  in training);
* NVE: 512 atoms (4x4x4 cubic cells), velocities for 2 x 1000 K so that
  equipartition brings the crystal to about 1000 K, velocity Verlet with
  1 fs for 10 ps; drift = max |E_tot(t) - E_tot(0)| per atom.
* K and G at 300 K from MD (the quantities of Kocer, Mason and Erturk's Table II,
  there from LAMMPS runs): finite strains averaged over Langevin NVT runs of the
  64-atom cubic cell (2x2x2), 1 fs, friction 0.02/fs, 1 ps to equilibrate and
  ``md_ps`` (6 ps) to average. (1) ⟨P⟩ at the 0 K lattice constant moves the cell to the
  300 K zero-pressure volume, V300 = V0 (1 + ⟨P⟩/B); (2) K = -Δ⟨P⟩/Δln V from
  hydrostatic strains ε = ±0.5 % about V300; (3) G = C44 = Δ⟨σ_yz⟩/Δγ from the shears
  γ = 2ε_yz = ±2 % at V300 (for a cubic crystal K = (C11 + 2 C12)/3 and G = C44;
  with them the paper's SW values, 101.4 and 56.4 GPa, and ν = C12/(C11 + C12) =
  0.335). The +ε and -ε runs use the same initial velocities and the same random
  forces (common random numbers): both sample the NVT ensemble exactly, and their
  noise, which the Langevin forces keep synchronised, largely cancels in the
  difference. The error bar is the standard error of the difference's mean over 10
  blocks. SW and the network are run the same way, with the same random numbers.
"""

import argparse
import os
import re
import time

import numpy as np
from ase import units
from ase.build import bulk
from ase.eos import EquationOfState
from ase.optimize import BFGS
from scipy.optimize import minimize_scalar

from ase_nnp.training.reference import stillinger_weber_si as stillinger_weber

HERE = os.path.dirname(os.path.abspath(__file__))

STRAIN = 0.002
#: SW literature values (Kocer, Mason and Erturk, J. Chem. Phys. 150, 154102 (2019), Table II: B; Stillinger–Weber elastic constants)
LITERATURE = {"B": 101.4, "C11": 151.4, "C12": 76.4, "C44": 56.4}


def cubic_cell(calc, a):
    atoms = bulk("Si", "diamond", a=a, cubic=True)
    atoms.calc = calc
    return atoms


def lattice_constant(calc):
    res = minimize_scalar(lambda a: cubic_cell(calc, a).get_potential_energy(),
                          bracket=(5.3, 5.43, 5.6), tol=1e-10)
    return float(res.x)


def bulk_modulus(calc, a0):
    volumes, energies = [], []
    for f in np.linspace(0.94, 1.06, 11):
        atoms = cubic_cell(calc, a0 * f ** (1 / 3))
        volumes.append(atoms.get_volume())
        energies.append(atoms.get_potential_energy())
    eos = EquationOfState(volumes, energies, eos="birchmurnaghan")
    _, _, B = eos.fit()
    return B / units.GPa


def _stress(calc, a0, eps, relax):
    atoms = cubic_cell(calc, a0)
    atoms.set_cell(atoms.cell[:] @ (np.eye(3) + eps), scale_atoms=True)
    if relax:
        BFGS(atoms, logfile=None).run(fmax=1e-6, steps=500)
    return atoms.get_stress(voigt=False)


def elastic_constants(calc, a0):
    e = np.zeros((3, 3))
    e[0, 0] = STRAIN
    plus, minus = _stress(calc, a0, e, True), _stress(calc, a0, -e, True)
    c11 = (plus[0, 0] - minus[0, 0]) / (2 * STRAIN)
    c12 = (plus[1, 1] - minus[1, 1]) / (2 * STRAIN)
    e = np.zeros((3, 3))
    e[1, 2] = e[2, 1] = STRAIN
    plus, minus = _stress(calc, a0, e, True), _stress(calc, a0, -e, True)
    c44 = (plus[1, 2] - minus[1, 2]) / (4 * STRAIN)
    return {k: v / units.GPa for k, v in (("C11", c11), ("C12", c12), ("C44", c44))}


def _langevin_mean_stress(calc, cell, positions, seed, md_ps, equilibrate_ps=2.0,
                          temperature=300.0):
    """The stress (n_samples, 3, 3) every 5 steps of a Langevin NVT run, after
    ``equilibrate_ps``."""
    from ase import Atoms
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    atoms = Atoms("Si%d" % len(positions), positions=positions, cell=cell, pbc=True)
    atoms.calc = calc
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature,
                                 rng=np.random.RandomState(seed))
    Stationary(atoms)
    dyn = Langevin(atoms, 1.0 * units.fs, temperature_K=temperature, friction=0.02 / units.fs,
                   rng=np.random.RandomState(seed + 1), fixcm=False)
    dyn.run(int(round(1000 * equilibrate_ps)))
    samples = []
    dyn.attach(lambda: samples.append(atoms.get_stress(voigt=False)), interval=5)
    dyn.run(int(round(1000 * md_ps)))
    return np.array(samples)


def _blocks(series, n=10):
    """Mean and standard error of the mean of a time series from ``n`` block means."""
    means = np.array([b.mean(axis=0) for b in np.array_split(series, n)])
    return means.mean(axis=0), means.std(axis=0, ddof=1) / np.sqrt(n)


def moduli_300K(calc, a0, b0, md_ps=6.0, seed=7, strain=0.005, shear=0.02, reps=2,
                equilibrate_ps=1.0):
    """K and G at 300 K with standard errors (GPa), as described in the module docstring,
    and the 300 K lattice constant (Å)."""
    base = bulk("Si", "diamond", a=a0, cubic=True) * (reps, reps, reps)

    def run(a, eps):
        atoms = base.copy()
        atoms.set_cell(atoms.cell[:] * a / a0, scale_atoms=True)
        atoms.set_cell(atoms.cell[:] @ (np.eye(3) + eps), scale_atoms=True)
        return _langevin_mean_stress(calc, atoms.cell[:], atoms.positions, seed, md_ps,
                                     equilibrate_ps)
    p0 = -np.trace(run(a0, np.zeros((3, 3))).mean(axis=0)) / 3
    a300 = a0 * (1 + p0 / b0) ** (1 / 3)
    e = strain * np.eye(3)
    plus, minus = run(a300, e), run(a300, -e)
    pressure = -np.trace(plus - minus, axis1=1, axis2=2) / 3
    lnv = 3 * (np.log1p(strain) - np.log1p(-strain))
    k, k_err = _blocks(-pressure / lnv)
    e = np.zeros((3, 3))
    e[1, 2] = e[2, 1] = shear / 2
    plus, minus = run(a300, e), run(a300, -e)
    g, g_err = _blocks((plus[:, 1, 2] - minus[:, 1, 2]) / (2 * shear))
    return {"K300": k / units.GPa, "K300_err": k_err / units.GPa, "G300": g / units.GPa,
            "G300_err": g_err / units.GPa, "a300": a300}


def test_errors(potential, path):
    from ase_nnp.analysis.metrics import compare_references
    from ase_nnp.training.dataset import read
    stats = compare_references(potential, read(path), stress=False).stats
    return stats["energy"].rmse, stats["forces"].rmse, stats["energy"].n_values


def nve_drift(calc, temperature=1000.0, steps=10000, seed=1):
    from ase.md.verlet import VelocityVerlet
    atoms = bulk("Si", "diamond", a=5.431, cubic=True) * (4, 4, 4)
    atoms.calc = calc
    rng = np.random.default_rng(seed)
    m = atoms.get_masses()[:, None]
    p = rng.normal(0.0, 1.0, (len(atoms), 3)) * np.sqrt(m * units.kB * 2 * temperature)
    atoms.set_momenta(p - m * p.sum(0) / m.sum())        # no centre-of-mass drift
    dyn = VelocityVerlet(atoms, 1.0 * units.fs)
    e0 = atoms.get_total_energy()
    worst, temps = 0.0, []

    def watch():
        nonlocal worst
        worst = max(worst, abs(atoms.get_total_energy() - e0))
        temps.append(atoms.get_temperature())
    dyn.attach(watch, interval=10)
    t = time.perf_counter()
    dyn.run(steps)
    return 1000 * worst / len(atoms), float(np.mean(temps[len(temps) // 2:])), \
        time.perf_counter() - t


def measure(model, quick=False, md_ps=6.0):
    from ase_nnp import NNPCalculator, load
    sw = stillinger_weber()
    nnp = NNPCalculator(model)
    rows = {}
    for name, calc in (("SW", sw), ("NNP", nnp)):
        a0 = lattice_constant(calc)
        rows[name] = {"a0": a0, "B": bulk_modulus(calc, a0), **elastic_constants(calc, a0)}
        if not quick:
            rows[name].update(moduli_300K(calc, a0, rows[name]["B"] * units.GPa, md_ps))
    pot = load(model)
    extra = {"test": test_errors(pot, os.path.join(HERE, "si_sw_test.extxyz.gz"))}
    if not quick:
        extra["nve"] = nve_drift(nnp)
    extra["training"] = pot.metadata.get("training", {})
    return rows, extra


def table(rows, extra):
    sw, nn = rows["SW"], rows["NNP"]
    lines = ["| quantity | Stillinger–Weber | data/si.nnp | deviation | target |",
             "|---|---|---|---|---|"]

    def dev(k):
        return f"{100 * (nn[k] - sw[k]) / sw[k]:+.3f} %"
    lines.append(f"| lattice constant a0 (Å) | {sw['a0']:.5f} | {nn['a0']:.5f} | {dev('a0')} "
                 "| ≤ 0.1 % |")
    lines.append(f"| bulk modulus B, ase.eos (GPa) | {sw['B']:.2f} (lit. 101.4) | {nn['B']:.2f} "
                 f"| {dev('B')} | ≤ 1 % |")
    for k in ("C11", "C12", "C44"):
        lines.append(f"| {k} (GPa) | {sw[k]:.2f} (lit. {LITERATURE[k]}) | {nn[k]:.2f} | "
                     f"{dev(k)} | ≤ 1 % |")
    if "K300" in nn:
        for k, name, lit in (("K300", "K", "101.4"), ("G300", "G", "56.4")):
            lines.append(f"| {name} at 300 K, MD (GPa) | {sw[k]:.2f} ± {sw[k + '_err']:.2f} "
                         f"(lit. {lit}) | {nn[k]:.2f} ± {nn[k + '_err']:.2f} | {dev(k)} | ≤ 1 % |")
    e, f, n = extra["test"]
    lines.append(f"| test energy RMSE ({n} structures) | | {e:.3f} meV/atom | | ≤ 1 meV/atom |")
    lines.append(f"| test force RMSE | | {f:.4f} eV/Å | | ≤ 0.05 eV/Å |")
    if "nve" in extra:
        drift, temp, secs = extra["nve"]
        lines.append(f"| NVE 512 atoms, ⟨T⟩ = {temp:.0f} K, 10 ps, 1 fs: max drift | | "
                     f"{drift:.3f} meV/atom ({secs:.0f} s) | | ≤ 1 meV/atom |")
    tr = extra["training"]
    if tr:
        lines.append(f"| training (best epoch {tr.get('epoch')}) | | "
                     f"{tr.get('elapsed_minutes', float('nan')):.1f} min | | ≤ 30 min |")
    return "\n".join(lines)


def update_readme(text, path=os.path.join(HERE, "..", "docs", "si-potential.md")):
    with open(path) as fh:
        readme = fh.read()
    start, end = "<!-- si-physics-table -->", "<!-- /si-physics-table -->"
    block = f"{start}\n{text}\n{end}"
    pattern = re.escape(start) + ".*?" + re.escape(end)
    if re.search(pattern, readme, flags=re.S):
        readme = re.sub(pattern, lambda _: block, readme, flags=re.S)
    else:
        raise SystemExit(f"README has no {start} … {end} block to update")
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(readme)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(HERE, "si.nnp"))
    ap.add_argument("--quick", action="store_true",
                    help="skip the MD: the 10 ps NVE run and the 300 K moduli")
    ap.add_argument("--md-ps", type=float, default=6.0,
                    help="averaging time of each 300 K run (ps)")
    ap.add_argument("--update-readme", action="store_true")
    args = ap.parse_args()
    rows, extra = measure(args.model, args.quick, args.md_ps)
    text = table(rows, extra)
    print(text)
    if args.update_readme:
        update_readme(text)


if __name__ == "__main__":
    main()
