"""The thread count of one evaluation (ase_nnp.threads): small cells and a loaded machine
run on one thread, otherwise Numba's count; the load reading itself on a fake clock."""
import os
import types

import numba
import numpy as np
import pytest
from ase.build import bulk

from ase_nnp import Potential, threads


@pytest.fixture
def two_threads(monkeypatch):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs Numba with 2 threads")
    before = numba.get_num_threads()
    numba.set_num_threads(2)
    monkeypatch.setattr(threads, "THREADS", "auto")
    yield
    numba.set_num_threads(before)


def _inside(n_atoms):
    with threads.threads_for(n_atoms):
        return numba.get_num_threads()


@pytest.mark.parametrize("free, n_atoms, expected", [
    (None, 32, 1), (None, 4096, 2),          # load unknown: size rule only
    (2.0, 63, 1), (2.0, 64, 2), (2.0, 4096, 2),
    (1.6, 4096, 2),                          # another program uses 0.4 of a core
    (1.4, 4096, 1),                          # ... 0.6 of a core: one core is taken
    (0.0, 4096, 1),                          # both cores busy: still one thread
])
def test_auto_threads_follow_size_and_free_cores(two_threads, monkeypatch, free, n_atoms,
                                                 expected):
    monkeypatch.setattr(threads._load, "free_cores", lambda: free)
    assert _inside(n_atoms) == expected
    assert numba.get_num_threads() == 2                  # restored afterwards


def test_fixed_thread_count_ignores_the_load(two_threads, monkeypatch):
    monkeypatch.setattr(threads._load, "free_cores", lambda: 0.0)
    monkeypatch.setattr(threads, "THREADS", 2)
    assert _inside(4096) == 2
    monkeypatch.setattr(threads, "THREADS", 1)
    assert _inside(4096) == 1


def test_load_reading_subtracts_this_process_and_waits_a_second(monkeypatch):
    """2 CPUs; clock and tick counts are fakes. Between readings 1 s apart the machine is
    busy 150 of 200 ticks (1.5 cores); this process used 0.5 s of CPU: others 1.0 core."""
    clock = {"now": 100.0, "cpu": 10.0}
    ticks = {"busy": 1000, "total": 4000}
    reads = []

    def fake_ticks():
        reads.append(clock["now"])
        return ticks["busy"], ticks["total"], 2
    monkeypatch.setattr(threads, "_cpu_ticks", fake_ticks)
    monkeypatch.setattr(threads, "time", types.SimpleNamespace(
        monotonic=lambda: clock["now"], process_time=lambda: clock["cpu"]))
    load = threads._Load()
    assert load.free_cores() is None                     # one reading: nothing to compare
    clock.update(now=101.0, cpu=10.5)
    ticks.update(busy=1150, total=4200)
    assert load.free_cores() == pytest.approx(1.0)
    clock.update(now=101.5, cpu=11.0)                    # within LOAD_EVERY: not read again
    ticks.update(busy=1250, total=4300)
    assert load.free_cores() == pytest.approx(1.0) and len(reads) == 2
    clock.update(now=102.0, cpu=12.3)                    # only this process: 1.8 cores
    ticks.update(busy=1330, total=4400)
    assert load.free_cores() == pytest.approx(2.0) and len(reads) == 3
    monkeypatch.setattr(threads, "_cpu_ticks", lambda: None)     # no /proc/stat
    clock.update(now=103.0)
    assert load.free_cores() is None


def test_cpu_ticks_reads_this_machine():
    got = threads._cpu_ticks()
    if got is None:
        pytest.skip("no /proc/stat here")
    busy, total, n = got
    assert 0 <= busy <= total and n >= 1


def test_a_loaded_machine_gives_the_same_results(two_threads, monkeypatch):
    """Free cores or none (two threads or one), the evaluation gives the same numbers."""
    pot = Potential.load(os.path.join(os.path.dirname(__file__), "..", "data", "si.nnp"))
    atoms = bulk("Si", "diamond", a=5.431, cubic=True) * (2, 2, 3)
    atoms.rattle(0.05, seed=1)
    args = (atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    results, used = [], []
    for free in (2.0, 0.0):
        monkeypatch.setattr(threads._load, "free_cores", lambda: free)
        used.append(threads.auto_threads(len(atoms), 2))
        results.append(pot.evaluate(*args))
    assert used == [2, 1]
    assert results[0].energy == pytest.approx(results[1].energy, rel=1e-12)
    np.testing.assert_allclose(results[0].forces, results[1].forces, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(results[0].stress, results[1].stress, rtol=1e-9, atol=1e-12)
