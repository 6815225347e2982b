"""Check the example potentials of an n2p2 release against its own ``nnp-predict``.

    python tests/data/n2p2/check_examples.py --n2p2-src /path/to/n2p2-2.3.0 \\
        --nnp-predict /path/to/n2p2-2.3.0/bin/nnp-predict

Every potential of ``examples/potentials`` is read with ``read_n2p2`` (in the units of
:data:`UNITS`) and evaluated with ``NNPCalculator`` on every structure of
``examples/configuration-sets/input.data.*`` whose elements it has; ``nnp-predict 0``
runs on the same structure (its block of the file copied unchanged, in a scratch folder
with the potential's files) and its ``output.data`` (17 digits) gives n2p2's energy and
forces. Printed: one row per potential with the structures evaluated, the largest
relative energy difference |E - E_n2p2| / |E_n2p2|, the largest relative force
difference max |F - F_n2p2| / max |F_n2p2| (per structure, over all components), and
whether the extrapolation warnings agree (n2p2's count of "### NNP EXTRAPOLATION
WARNING ###" lines, one per atom and symmetry function, against the number of atom
columns ase-nnp finds outside the training range). The potentials are n2p2's (GPL) and
stay in its tree; nothing of them is copied into ase-nnp.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np

from ase_nnp import NNPCalculator
from ase_nnp.exceptions import ExtrapolationWarning
from ase_nnp.interop import read_input_data, read_n2p2

#: the units of each example potential and of the structures it is run on: n2p2's
#: examples are RuNNer's Bohr and Hartree except Cu2S_PBE (Å and eV; its input.nn and
#: configuration set say so in their numbers: a 5.2 Å-scale cutoff and eV energies)
UNITS = {"Cu2S_PBE": "angstrom-ev"}
DEFAULT_UNITS = "bohr-hartree"
WARNING = "### NNP EXTRAPOLATION WARNING ###"


def structure_blocks(path):
    """The text of every begin ... end block of an input.data file."""
    blocks, current = [], None
    for line in open(path):
        word = line.split()[0] if line.split() else ""
        if word == "begin":
            current = [line]
        elif current is not None:
            current.append(line)
            if word == "end":
                blocks.append("".join(current))
                current = None
    return blocks


def potential_elements(directory):
    for line in open(os.path.join(directory, "input.nn")):
        words = line.split("#", 1)[0].split()
        if words and words[0] == "elements":
            return set(words[1:])
    raise ValueError(f"{directory}/input.nn has no 'elements' line")


def nnp_predict(exe, potential_dir, block, units):
    """(energy in eV, forces in eV/Å, extrapolation warnings) of nnp-predict on one
    structure whose files are in ``units``."""
    tmp = tempfile.mkdtemp()
    try:
        for f in os.listdir(potential_dir):
            if f in ("input.nn", "scaling.data") or (f.startswith("weights.")
                                                     and f.endswith(".data")):
                shutil.copy(os.path.join(potential_dir, f), tmp)
        with open(os.path.join(tmp, "input.data"), "w") as fh:
            fh.write(block)
        run = subprocess.run([exe, "0"], cwd=tmp, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"nnp-predict failed in {potential_dir}:\n{run.stderr[-2000:]}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the unit guess: false alarms with hydrogen
            out = read_input_data(os.path.join(tmp, "output.data"), units=units, index=0)
        return (out.get_potential_energy(), out.get_forces(),
                (run.stdout + run.stderr).count(WARNING))
    finally:
        shutil.rmtree(tmp)


def check(n2p2_src, exe, names=None):
    """Rows (potential, units, structures, max rel. energy diff, max rel. force diff,
    extrapolation counts equal, n2p2's warnings, ase-nnp's) for every example potential
    (or those in ``names``)."""
    pots = sorted(glob.glob(os.path.join(n2p2_src, "examples", "potentials", "*", "input.nn")))
    sets = sorted(glob.glob(os.path.join(n2p2_src, "examples", "configuration-sets",
                                         "input.data.*")))
    if not pots or not sets:
        raise FileNotFoundError(f"{n2p2_src} has no examples/potentials/*/input.nn or "
                                "examples/configuration-sets/input.data.*")
    rows = []
    for nn in pots:
        directory = os.path.dirname(nn)
        name = os.path.basename(directory)
        if names and name not in names:
            continue
        units = UNITS.get(name, DEFAULT_UNITS)
        calc = NNPCalculator(read_n2p2(directory, units=units), extrapolation="ignore")
        elements = potential_elements(directory)
        n, de, df, ew_n2p2, ew_ours, ew_equal = 0, 0.0, 0.0, 0, 0, True
        for path in sets:
            for block in structure_blocks(path):
                tmp = tempfile.mkdtemp()
                try:
                    with open(os.path.join(tmp, "input.data"), "w") as fh:
                        fh.write(block)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")   # hydrogen-rich sets: false alarms
                        atoms = read_input_data(os.path.join(tmp, "input.data"), units=units,
                                                index=0)
                finally:
                    shutil.rmtree(tmp)
                if not set(atoms.get_chemical_symbols()) <= elements:
                    continue
                E_ref, F_ref, ew = nnp_predict(exe, directory, block, units)
                atoms.calc = calc
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ExtrapolationWarning)
                    E, F = atoms.get_potential_energy(), atoms.get_forces()
                ours = int(np.sum(calc.results["extrapolation"]))
                n += 1
                de = max(de, abs(E - E_ref) / abs(E_ref))
                df = max(df, np.abs(F - F_ref).max() / np.abs(F_ref).max())
                ew_n2p2 += ew
                ew_ours += ours
                ew_equal &= ew == ours
        rows.append((name, units, n, de, df, ew_equal, ew_n2p2, ew_ours))
    return rows


def table(rows):
    """The rows as a Markdown table."""
    lines = ["| potential | units | structures | max rel. energy diff | max rel. force diff "
             "| extrapolation warnings equal (n2p2 / ase-nnp) |", "|---|---|---|---|---|---|"]
    for name, units, n, de, df, equal, ew_n2p2, ew_ours in rows:
        lines.append(f"| {name} | {units} | {n} | {de:.1e} | {df:.1e} | "
                     f"{'yes' if equal else 'NO'} ({ew_n2p2} / {ew_ours}) |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n2p2-src", required=True, help="n2p2 source tree (with examples/)")
    ap.add_argument("--nnp-predict", required=True, help="n2p2's nnp-predict binary")
    ap.add_argument("potentials", nargs="*", help="only these potentials (default: all)")
    args = ap.parse_args()
    rows = check(args.n2p2_src, os.path.abspath(args.nnp_predict), args.potentials)
    print(table(rows))
    bad = [r[0] for r in rows if r[3] > 1e-10 or r[4] > 1e-10 or not r[5]]
    if bad:
        sys.exit(f"beyond 1e-10 or with other extrapolation counts: {', '.join(bad)}")


if __name__ == "__main__":
    main()
