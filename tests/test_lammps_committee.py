"""The committee inside LAMMPS: the members' n2p2 files and the include file.

The run needs an ``lmp`` with ML-HDNNP: its path in ASE_NNP_LMP (skipped without)."""

import os
import subprocess
import warnings

import numpy as np
import pytest
from ase.build import bulk

from ase_nnp import Ensemble, NNPCalculator, Potential, calibrate
from ase_nnp.exceptions import InteropError
from ase_nnp.interop.lammps_committee import NO_LIMIT, write_committee

pytestmark = pytest.mark.filterwarnings("ignore::ase_nnp.ExtrapolationWarning",
                                        "ignore::ase_nnp.UncalibratedWarning")


def _ensemble():
    base = Potential.load("data/si.nnp")
    members = [Potential(base.elements, base.descriptor, hidden_layers=(8, 6), seed=s,
                         scalings=base.scalings, energy_offsets=base.energy_offsets)
               for s in range(3)]
    return Ensemble(members)


def _labelled(n, seed=0):
    from ase.calculators.singlepoint import SinglePointCalculator
    ens = _ensemble()
    out = []
    for k in range(n):
        atoms = bulk("Si", "diamond", a=5.43, cubic=True) * (2, 1, 1)
        atoms.rattle(0.05, seed=seed + k)
        # labels: a potential of its own, so that the errors are not zero
        ev = ens.members[0].evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
        atoms.calc = SinglePointCalculator(atoms, energy=ev.energy + 0.01 * k,
                                           forces=ev.forces * 1.1)
        out.append(atoms)
    return out


def test_include_file_runs_the_members_with_weights_one_over_k(tmp_path):
    ens = _ensemble()
    calibrate(ens, _labelled(6), signals=["committee"], conformal_fraction=0)
    files = write_committee(ens, tmp_path / "out", every=7, sigma_max=0.01)
    text = open(files.include).read()
    assert len(files.members) == 3
    for d in files.members:
        assert os.path.exists(os.path.join(d, "input.nn"))
    style = [l for l in text.splitlines() if l.startswith("pair_style")][0]
    assert style.count("hdnnp") == 3 and style.count(repr(1 / 3)) == 3
    assert [l for l in text.splitlines() if l.startswith("pair_coeff")] == [
        f"pair_coeff * * hdnnp {k} Si" for k in (1, 2, 3)]
    a, b, _ = (float(x) for x in ens.calibration.maps["energy"])
    assert f"exp({a!r})" in text and f"^{b!r}" in text
    assert "variable nnp_every index 7" in text and "variable nnp_sigma_max index 0.01" in text
    assert "fix nnp_halt all halt ${nnp_every} v_nnp_sigma_atom > ${nnp_sigma_max}" in text
    raw = write_committee(_ensemble(), tmp_path / "raw")
    text = open(raw.include).read()
    assert "v_nnp_sigma_raw" in text and f"index {NO_LIMIT}" in text and "exp(" not in text
    with pytest.raises(InteropError, match="two or more members"):
        write_committee(Ensemble(_ensemble().members[:1]), tmp_path / "one")


LMP = os.environ.get("ASE_NNP_LMP")


@pytest.mark.skipif(not LMP, reason="set ASE_NNP_LMP to an lmp built with ML-HDNNP")
def test_lammps_sigma_equals_the_calculators_and_fix_halt_stops(tmp_path):
    import ase.io
    ens = _ensemble()
    calibrate(ens, _labelled(6), signals=["committee"], conformal_fraction=0)
    files = write_committee(ens, tmp_path / "out")
    atoms = bulk("Si", "diamond", a=5.43, cubic=True) * (2, 2, 2)
    atoms.rattle(0.1, seed=3)
    ase.io.write(tmp_path / "data.lmp", atoms, format="lammps-data", specorder=["Si"],
                 masses=True)
    deck = f"""units metal
boundary p p p
atom_style atomic
atom_modify map array sort 0 0
read_data data.lmp
include {files.include}
thermo_style custom step pe
thermo_modify format float %.17g
run 0
velocity all create 3000 1 mom yes
fix nve all nve
run 50
print "AFTER_HALT $(step)"
"""
    (tmp_path / "in.lmp").write_text(deck)
    out = subprocess.run([LMP, "-in", "in.lmp", "-log", "log.lammps", "-screen", "none",
                          "-var", "nnp_every", "1", "-var", "nnp_sigma_max", "1e-9"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    log = (tmp_path / "log.lammps").read_text()
    assert out.returncode == 0, log[-3000:]
    first = [l.split() for l in log.splitlines() if l.startswith("nnp step 0 ")][0]
    atoms.calc = NNPCalculator(ens)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = {k: atoms.calc.get_property(k, atoms) for k in ("energy_std", "energy_std_raw")}
    assert abs(float(first[4]) - r["energy_std_raw"]) <= 1e-8
    assert abs(float(first[6]) - r["energy_std"]) <= 1e-8
    assert r["energy_std"] != pytest.approx(r["energy_std_raw"])
    # σ_E / N > 1e-9 eV/atom at once: fix halt ends the run at its first check, softly
    halted = [l for l in log.splitlines() if l.startswith("AFTER_HALT")]
    assert halted and int(halted[0].split()[1]) < 50
