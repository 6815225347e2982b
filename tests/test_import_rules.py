"""The dependency rules of docs/architecture.md hold: ``lint-imports`` (import-linter) checks
the contracts in setup.cfg — no import circle in any package, descriptors free of ASE and of
everything downstream, the evaluation path free of training, analysis, interop and the CLI."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_import_contracts_hold():
    exe = shutil.which("lint-imports") or os.path.join(os.path.dirname(sys.executable),
                                                       "lint-imports")
    if not os.path.exists(exe):
        pytest.skip("import-linter is not installed (pip install import-linter; it is in the "
                    "test extra)")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([exe, "--config", os.path.join(ROOT, "setup.cfg")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout
