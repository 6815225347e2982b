"""Smoke test of the study among the benchmarks (an accuracy study rather than a timing):
benchmarks/bench_gdf_subset.py, the GDF subset estimator against the exact density, on
the first 40 training structures. The timing benchmarks are not run by the suite;
bench_mlearn.py has its own tests (tests/test_bench_mlearn.py)."""
import re

from example_scripts import run_script


def test_bench_gdf_subset_estimates_the_density_better_with_more_reference_rows(tmp_path):
    out = run_script("benchmarks/bench_gdf_subset.py", "--structures", "40", "--m", "200",
                     "500", cwd=tmp_path)
    assert "| exact, 2,560 atoms x 29 functions |" in out           # 40 cells of 64 atoms
    median = {}
    for m in (200, 500):
        line = next(x for x in out.splitlines() if f"subset m = {m} " in x)
        median[m] = float(re.search(r"ρ: ([\d.]+)%", line).group(1))
        assert re.search(r"\|ŵ - w\|: [\d.e+-]+ / ", line)
    # the estimator's error shrinks like 1/sqrt(m) (seeded: the same rows every run)
    assert 0 < median[500] < median[200] < 100
