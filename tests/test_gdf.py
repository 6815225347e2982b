"""GDF density and weights against the plain numpy formula."""
import numpy as np
import pytest

from ase_nnp.analysis.gdf import auto_c, gdf_density, gdf_weights


def _numpy_density(G, sigma):
    d2 = ((G[:, None, :] - G[None, :, :]) ** 2).sum(-1)
    return np.exp(-d2 / (2 * sigma ** 2 * G.shape[1])).mean(1)


@pytest.mark.parametrize("n,D,sigma", [(1, 3, 0.02), (7, 1, 0.5), (600, 34, 0.02),
                                       (1100, 5, 0.3)])   # several column tiles
def test_density_is_the_formula(n, D, sigma):
    rng = np.random.default_rng(n)
    G = rng.uniform(-1, 1, (n, D))
    G[n // 2:] = G[: n - n // 2] + rng.normal(0, 0.01, (n - n // 2, D))   # dense pairs
    rho = gdf_density(G, sigma)
    np.testing.assert_allclose(rho, _numpy_density(G, sigma), rtol=1e-12, atol=0)
    assert np.all(rho >= 1.0 / n - 1e-15) and np.all(rho <= 1.0 + 1e-15)


def test_weights_favour_the_sparse_points():
    rng = np.random.default_rng(0)
    bulk = rng.normal(0, 0.02, (900, 4))              # 900 near-identical environments
    rare = rng.uniform(-1, 1, (30, 4))                # 30 rare ones
    rho = gdf_density(np.vstack([bulk, rare]), 0.05)
    w, c = gdf_weights(rho, b=1.0)
    assert abs(w.mean() - 1.0) < 1e-12
    assert w[900:].min() > 10 * w[:900].max()
    x = 1 / rho
    assert c == auto_c(x)
    theta = x / (1 + np.exp(-(x - c)))
    np.testing.assert_allclose(w, theta / theta.mean(), rtol=1e-12)


def test_auto_c_follows_the_line_through_the_lowest_three_quarters():
    x = np.concatenate([np.arange(75.0) * 2 + 1, [1e3] * 25])   # line 2k + 1, then outliers
    assert abs(auto_c(np.random.default_rng(1).permutation(x)) - (2 * 74 + 1)) < 1e-9


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="non-empty"):
        gdf_density(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="NaN"):
        gdf_density(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="sigma"):
        gdf_density(np.ones((2, 2)), sigma=0)


@pytest.mark.parametrize("m", [600, 10_000])
def test_subset_estimator_is_exact_when_it_holds_every_row(m):
    from ase_nnp.analysis.gdf import gdf_density_subset
    rng = np.random.default_rng(3)
    G = rng.uniform(-1, 1, (600, 6))
    G[300:] = G[:300] + rng.normal(0, 0.02, (300, 6))
    exact = gdf_density(G, 0.1)
    np.testing.assert_allclose(gdf_density_subset(G, 0.1, m, seed=5), exact, rtol=1e-12)
    np.testing.assert_allclose(gdf_density(G, 0.1, max_reference=m), exact, rtol=1e-12)


def test_subset_estimator_keeps_the_self_term_and_is_close():
    from ase_nnp.analysis.gdf import gdf_density_subset
    rng = np.random.default_rng(4)
    G = np.vstack([rng.normal(0, 0.05, (1500, 3)), rng.uniform(-1, 1, (20, 3))])
    exact = gdf_density(G, 0.1)
    est = gdf_density(G, 0.1, max_reference=500, seed=1)
    np.testing.assert_array_equal(est, gdf_density_subset(G, 0.1, 500, seed=1))
    assert np.all(est >= 1.0 / len(G) - 1e-15)
    assert np.median(np.abs(est / exact - 1)) < 0.05       # the dense bulk: close
    assert not np.array_equal(est, gdf_density_subset(G, 0.1, 500, seed=2))  # seeded


def test_scale_to_unit_box():
    from ase_nnp.analysis.gdf import scale_to_unit_box
    G = np.array([[0.0, 5.0, 1.0], [2.0, 5.0, 3.0], [1.0, 5.0, 2.0]])
    np.testing.assert_array_equal(scale_to_unit_box(G),
                                  [[-1.0, 0.0, -1.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
