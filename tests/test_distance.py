"""Distances to a training set and PCA (ase_nnp.analysis.distance) against brute force."""
import numpy as np
import pytest

from ase_nnp.analysis.distance import PCA, nearest_distances, pca, within_set_distances


def _pairwise(a, b):
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


@pytest.mark.parametrize("m,n,D", [(50, 200, 5), (300, 40, 26), (7, 1, 3), (20, 30, 1)])
def test_nearest_distances_are_brute_force(m, n, D):
    rng = np.random.default_rng(m + n + D)
    reference = rng.normal(size=(n, D))
    on = min(3, n)
    points = np.concatenate([rng.normal(size=(m, D)), reference[:on]])   # some on the set
    d, i = nearest_distances(points, reference)
    full = _pairwise(points, reference)
    np.testing.assert_allclose(d, full.min(1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(full[np.arange(len(points)), i], d, rtol=1e-12, atol=1e-15)
    assert np.all(d[-on:] == 0.0)
    assert i.dtype == np.int64 and d.dtype == np.float64


def test_nearest_distances_of_no_points():
    d, i = nearest_distances(np.empty((0, 4)), np.ones((3, 4)))
    assert d.shape == i.shape == (0,)


@pytest.mark.parametrize("n,D", [(2, 3), (150, 8), (400, 26), (60, 1)])
def test_within_set_distances_are_brute_force(n, D):
    rng = np.random.default_rng(n * D)
    R = rng.normal(size=(n, D))
    full = _pairwise(R, R)
    np.fill_diagonal(full, np.inf)
    d, i = within_set_distances(R)
    np.testing.assert_allclose(d, full.min(1), rtol=1e-12, atol=0)
    assert np.all(i != np.arange(n))
    np.testing.assert_allclose(full[np.arange(n), i], d, rtol=1e-12, atol=0)


def test_within_set_distances_of_duplicates_are_zero():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(30, 4))
    R = np.concatenate([base, base[:10], base[:3]])      # pairs and triples
    d, i = within_set_distances(R)
    dup = np.zeros(len(R), dtype=bool)
    dup[:10] = dup[30:] = True
    assert np.all(d[dup] == 0.0)
    assert np.all(d[~dup] > 0.0)
    assert np.all(i != np.arange(len(R)))
    np.testing.assert_array_equal(R[i[dup]], R[dup])


@pytest.mark.parametrize("n,D,k", [(500, 6, 2), (80, 26, 5), (10, 3, 3),
                                   (4, 9, 3)])          # n = 4: centred rank 3
def test_pca_is_the_covariance_eigendecomposition(n, D, k):
    rng = np.random.default_rng(n + D)
    R = rng.normal(size=(n, D)) @ rng.normal(size=(D, D)) + rng.normal(size=D)
    p = pca(R, k)
    assert isinstance(p, PCA)
    w, v = np.linalg.eigh(np.cov(R, rowvar=False))
    w, v = w[::-1], v[:, ::-1]
    np.testing.assert_allclose(p.mean, R.mean(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p.explained_variance, w[:k], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(p.explained_variance_ratio, w[:k] / w.sum(), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(p.components, axis=1), 1.0, rtol=1e-12)
    # the sign convention: each component's entry of largest magnitude is positive
    lead = np.argmax(np.abs(p.components), axis=1)
    assert np.all(p.components[np.arange(k), lead] > 0)
    ref = v[:, :k].T * np.sign(v[lead, np.arange(k)])[:, None]
    np.testing.assert_allclose(p.components, ref, rtol=1e-7, atol=1e-9)
    X = p.transform(R)
    assert X.shape == (n, k)
    np.testing.assert_allclose(X.mean(0), 0.0, atol=1e-9 * np.sqrt(w[0]))
    np.testing.assert_allclose(X.var(0, ddof=1), w[:k], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(p.transform(R[:1]), X[:1], rtol=1e-12, atol=1e-12)


def test_pca_is_deterministic_under_a_flip():
    R = np.random.default_rng(2).normal(size=(200, 4)) * [3, 2, 1, 0.5]
    a, b = pca(R, 3), pca(-R, 3)
    np.testing.assert_allclose(a.components, b.components, atol=1e-12)
    np.testing.assert_allclose(a.transform(R), -b.transform(-R), atol=1e-12)


@pytest.mark.parametrize("call,match", [
    (lambda: nearest_distances(np.zeros(3), np.zeros((2, 3))), "points must be a 2-D"),
    (lambda: nearest_distances(np.zeros((2, 3)), np.zeros((0, 3))), "at least 1 row"),
    (lambda: nearest_distances(np.zeros((2, 2)), np.zeros((2, 3))), "same descriptor"),
    (lambda: nearest_distances(np.array([[np.nan]]), np.zeros((2, 1))), "NaN or infinite"),
    (lambda: within_set_distances(np.zeros((1, 3))), "at least 2 row"),
    (lambda: within_set_distances(np.array([[0.0], [np.inf]])), "row 1"),
    (lambda: pca(np.zeros((5, 3)), 4), "n_components"),
    (lambda: pca(np.zeros((5, 3)), 0), "n_components"),
    (lambda: pca(np.zeros((5, 3)), 1.5), "n_components"),
    (lambda: pca(np.zeros((5, 3)), None), "n_components"),
    (lambda: pca(np.zeros((1, 3))), "at least 2 row"),
    (lambda: pca(np.ones((5, 3))).transform(np.ones((2, 4))), "fitted on rows of 3"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
