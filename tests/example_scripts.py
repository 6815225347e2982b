"""Test support only: run a script of examples/ or benchmarks/ as a user would and read
what it printed and wrote (the smoke tests of tests/test_examples_*.py and
tests/test_bench_studies.py).

:func:`run_script` starts the script with this interpreter in a child process, with the
repository first on ``PYTHONPATH`` (so that it imports the ase_nnp under test and loads
the Numba kernels this suite has compiled into the cache), matplotlib on its file-only
Agg backend and one Numba thread (under ``pytest -n 2`` each worker has one core). It
fails the test with the script's output when the exit status is not 0.
"""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: a number as the scripts print it (sign, decimals, exponent)
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def has(module):
    """Whether ``module`` can be imported by this interpreter (and so by the scripts)."""
    return importlib.util.find_spec(module) is not None


def need(*modules):
    """Skip the test, naming the missing packages and how to install them."""
    missing = [m for m in modules if not has(m)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (pip install {' '.join(missing)})")


def child_env(**extra):
    """The environment of a script: the repository first on PYTHONPATH, Agg, one thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in
                                                        [env.get("PYTHONPATH")] if p])
    env["MPLBACKEND"] = "Agg"
    env["NUMBA_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def run(command, cwd, timeout=600, env=None):
    """Run ``command`` (a list) in ``cwd``; assert exit status 0; return its stdout."""
    proc = subprocess.run([str(c) for c in command], cwd=cwd, env=env or child_env(),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, command))} exited with status {proc.returncode}\n"
        f"--- stdout (end)\n{proc.stdout[-4000:]}\n--- stderr (end)\n{proc.stderr[-4000:]}")
    return proc.stdout


def run_script(script, *args, cwd, timeout=600):
    """Run ``ROOT/script`` with ``args`` in ``cwd`` (see the module docstring)."""
    return run([sys.executable, ROOT / script, *args], cwd, timeout)


def numbers_after(text, label, count=1):
    """The ``count`` numbers that follow the first line starting with ``label`` (after
    leading blanks), as floats; fails the test if there is no such line."""
    for line in text.splitlines():
        if line.strip().startswith(label):
            found = re.findall(NUMBER, line.strip()[len(label):])
            assert len(found) >= count, f"fewer than {count} numbers in: {line!r}"
            return [float(x) for x in found[:count]]
    raise AssertionError(f"no line starting with {label!r} in:\n{text[-3000:]}")


def markdown_rows(text):
    """The body rows of every Markdown table in ``text``, as lists of stripped cells."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and not set(line) <= set("|-: "):
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def assert_png(path):
    """A readable PNG image of a plot: the signature, and (with matplotlib) its pixels."""
    path = Path(path)
    assert path.is_file(), f"no image at {path}"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG file"
    if has("matplotlib"):
        import matplotlib.image
        img = matplotlib.image.imread(path)
        assert img.shape[0] > 100 and img.shape[1] > 100
        assert np.ptp(img[..., :3]) > 0, f"{path} is blank"
