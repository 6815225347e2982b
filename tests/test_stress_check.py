"""The stress-label check: a model of the energies and forces finds exchanged components,
sign and unit errors in the stress labels (EMT copper as the independent reference)."""
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from ase_nnp.exceptions import ConfigError
from ase_nnp.training.config import TrainingConfig
from ase_nnp.training.dataset import read
from ase_nnp.training.stress_check import (VOIGT, check_stress_labels, parse_stress_order,
                                           reorder)
from ase_nnp.training.suggest import suggest_config

SWAP = "xx yy zz xz yz xy"


@pytest.fixture(scope="module")
def emt_frames():
    """24 rattled, randomly strained (shear included) 8-atom Cu cells with EMT labels."""
    rng = np.random.default_rng(3)
    frames = []
    for _ in range(24):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 1, 1))
        eps = rng.normal(0, 0.02, (3, 3))
        eps = 0.5 * (eps + eps.T)
        atoms.set_cell(atoms.cell[:] @ (np.eye(3) + eps), scale_atoms=True)
        atoms.rattle(0.05, seed=int(rng.integers(1 << 30)))
        atoms.calc = EMT()
        labels = dict(energy=atoms.get_potential_energy(), forces=atoms.get_forces(),
                      stress=atoms.get_stress())
        atoms.calc = SinglePointCalculator(atoms, **labels)
        frames.append(atoms)
    return frames


def _relabelled(frames, stress):
    out = []
    for atoms, s in zip(frames, stress):
        a = atoms.copy()
        a.calc = SinglePointCalculator(a, energy=atoms.get_potential_energy(),
                                       forces=atoms.get_forces(), stress=s)
        out.append(a)
    return out


def _swapped(frames):
    return _relabelled(frames, [a.get_stress()[[0, 1, 2, 4, 3, 5]] for a in frames])


def test_parse_and_reorder():
    assert parse_stress_order("xx, yy, zz, zx, zy, yx") == ("xx", "yy", "zz", "xz", "yz", "xy")
    for bad, word in (("xx yy zz yz xz", "each of"), ("xx yy yz zz xz xy", "diagonal"),
                      ("xx xx zz yz xz xy", "each of")):
        with pytest.raises(ValueError, match=word):
            parse_stress_order(bad)
    s = np.array([[1.0, 6.0, 5.0], [6.0, 2.0, 4.0], [5.0, 4.0, 3.0]])  # yz 4, xz 5, xy 6
    fixed = reorder(s, parse_stress_order(SWAP))
    assert fixed[1, 2] == fixed[2, 1] == 5.0 and fixed[0, 2] == 4.0 and fixed[0, 1] == 6.0
    assert np.array_equal(np.diag(fixed), [1.0, 2.0, 3.0])
    assert np.array_equal(reorder(s, VOIGT), s)


def test_correct_labels_pass_and_exchanged_ones_are_found(emt_frames, tmp_path):
    path = tmp_path / "cu.extxyz"
    write(path, emt_frames)
    good = check_stress_labels(read(path), cutoff=4.5)
    assert good.decided and good.order == VOIGT and not good.reordered
    assert 0.8 < good.scale < 1.25 and good.consistent_scale
    assert all(good.correlation[k, k] > 0.9 for k in range(3, 6))
    write(path, _swapped(emt_frames))
    bad = check_stress_labels(read(path), cutoff=4.5)
    assert bad.order == parse_stress_order(SWAP) and bad.reordered
    assert bad.correlation[3, 4] > 0.9 and bad.correlation[3, 3] < 0.5
    assert "read as yz match the model's xz" in bad.summary()
    # read in the order the check found, the labels are the original ones again
    fixed = read(path, stress_order=SWAP)
    for ref, atoms in zip(fixed, emt_frames):
        assert np.allclose(ref.stress, atoms.get_stress(voigt=False), atol=0, rtol=0)


def test_sign_and_units_errors_are_scale_errors(emt_frames):
    kbar_compressive = [-1602.1766 * a.get_stress() for a in emt_frames]   # VASP's "in kB"
    check = check_stress_labels(read(_relabelled(emt_frames, kbar_compressive)), cutoff=4.5)
    assert check.decided and check.scale < -1000 and not check.consistent_scale
    few = check_stress_labels(read(emt_frames[:5]), cutoff=4.5)
    assert not few.decided and "5 structures" in few.reason and "needs 8" in few.summary()


def test_init_writes_the_order_and_drops_a_stress_it_cannot_trust(emt_frames, tmp_path):
    path = tmp_path / "swapped.extxyz"
    write(path, _swapped(emt_frames))
    text = suggest_config([str(path)])
    assert f'stress_order = "{SWAP}"' in text and "stress_weight = 1.0" in text
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(text)
    cfg = TrainingConfig.from_toml(cfg_path)
    refs = read(cfg.train, cfg.index, cfg.units, cfg.stress_order)
    assert np.allclose(refs[0].stress, emt_frames[0].get_stress(voigt=False), rtol=0, atol=0)
    path = tmp_path / "kbar.extxyz"
    write(path, _relabelled(emt_frames, [-1602.1766 * a.get_stress() for a in emt_frames]))
    text = suggest_config([str(path)])
    assert "stress_weight = 0.0" in text and "stress_order" not in text
    assert "do not follow the energies" in text
    assert "short_stress_fraction" not in text      # no stress updates on labels not fitted


def test_a_bad_order_in_a_configuration_is_refused():
    with pytest.raises(ConfigError, match="stress_order"):
        TrainingConfig({"train": ["x.extxyz"], "stress_order": "xx yy zz yz yz xy"})
    with pytest.raises(ConfigError, match="each of"):
        read([bulk("Cu")], stress_order="xx yy")


def test_the_cli_names_a_bad_stress_order(emt_frames, tmp_path, capsys):
    from ase_nnp.cli import main
    path = tmp_path / "cu.extxyz"
    write(path, emt_frames[:2])
    model = Path(__file__).resolve().parents[1] / "data" / "si.nnp"
    assert main(["evaluate", str(model), str(path), "--stress-order", "xx yy zz"]) == 2
    err = capsys.readouterr().err
    assert "stress_order 'xx yy zz' must name each of xx yy zz yz xz xy once" in err
    assert "Traceback" not in err
