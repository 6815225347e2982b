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
