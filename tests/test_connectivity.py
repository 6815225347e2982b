"""Single-linkage merges and r_g (ase_nnp.analysis.connectivity) against scipy."""
import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage

from ase_nnp.analysis.connectivity import Merges, rg, single_linkage


def _scipy_rg(Z, n, fraction):
    """r_g from scipy's linkage: the distance of the first merge of size > fraction n."""
    return Z[np.flatnonzero(Z[:, 3] > fraction * n)[0], 2]


def _blobs(rng, n, D, k, spread):
    centres = rng.uniform(-1, 1, (k, D))
    return centres[rng.integers(0, k, n)] + rng.normal(0, spread, (n, D))


def _sets():
    rng = np.random.default_rng(7)
    dup = rng.normal(size=(40, 4))
    return {
        "normal": rng.normal(size=(300, 6)),
        "blobs": _blobs(rng, 2000, 26, 5, 0.05),            # several chunks, early exits
        "blobs-far": 50 + _blobs(rng, 700, 12, 3, 1e-3),     # offset, tight clusters
        "duplicates": np.concatenate([dup, dup, dup[:10]]),  # distance-0 merges
        "all-equal": np.ones((20, 3)),
        "D=1": rng.normal(size=(150, 1)),
        "n=2": rng.normal(size=(2, 5)),
        "n<D": rng.normal(size=(5, 30)),
        "tiny": 1e-140 * rng.normal(size=(100, 3)),
        "large": 1e140 * rng.normal(size=(100, 3)),
        "anisotropic": rng.normal(size=(600, 20)) * np.logspace(0, -10, 20),
    }


@pytest.mark.parametrize("name", list(_sets()))
def test_merges_and_rg_equal_scipy(name):
    P = _sets()[name]
    n = len(P)
    Z = linkage(P, method="single")
    m = single_linkage(P)
    assert isinstance(m, Merges) and m.n == n
    assert m.distances.shape == (n - 1,) and m.pairs.shape == (n - 1, 2)
    np.testing.assert_allclose(m.distances, Z[:, 2], rtol=1e-12, atol=0)
    assert np.all(np.diff(m.distances) >= 0)
    # each pair is an edge of that length; the edges span all points
    lengths = np.sqrt(((P[m.pairs[:, 0]] - P[m.pairs[:, 1]]) ** 2).sum(1))
    np.testing.assert_allclose(lengths, m.distances, rtol=1e-12, atol=0)
    assert m.sizes[-1] == n and np.all(m.sizes >= 2)
    if len(np.unique(m.distances)) == n - 1:                 # no ties: sizes are unique too
        np.testing.assert_array_equal(m.sizes, Z[:, 3])
    for fraction in (1e-9, 0.1, 0.25, 0.5, 0.75, 0.999999):
        assert rg(P, fraction) == pytest.approx(_scipy_rg(Z, n, fraction), rel=1e-12, abs=0)
        assert m.rg(fraction) == rg(P, fraction)


def test_fraction_edge_values():
    P = np.random.default_rng(3).normal(size=(10, 3))
    m = single_linkage(P)
    assert m.rg(1e-12) == m.distances[0]         # f n < 2: the first merge already
    assert m.rg(1 - 1e-12) == m.distances[-1]    # all n points: the last merge
    # 0.5 of 10: the largest cluster must hold more than 5, i.e. 6 points
    first6 = np.flatnonzero(np.maximum.accumulate(m.sizes) >= 6)[0]
    assert m.rg(0.5) == m.distances[first6]
    assert rg(P) == m.rg(0.5)                    # the paper's threshold is the default


def _gap(a, b):
    return np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)).min()


def test_two_blobs_far_apart():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.01, (50, 8))
    b = rng.normal(0, 0.01, (50, 8)) + 10.0
    P = np.concatenate([a, b])
    gap = _gap(a, b)
    assert gap > 27                                    # 10 √8 less the blobs' spread
    assert rg(P) == pytest.approx(gap, rel=1e-12)      # more than 50 of 100: the gap
    r = rg(P, 0.4)                                     # more than 40: one blob suffices
    assert r < 0.1
    assert r <= max(single_linkage(a).distances.max(), single_linkage(b).distances.max())


def test_unequal_blobs():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 0.01, (60, 3))
    b = rng.normal(0, 0.01, (40, 3)) + 5.0
    P = rng.permutation(np.concatenate([a, b]))
    gap = _gap(a, b)
    assert rg(P, 0.5) < 0.1                             # 60 > 50: blob a alone
    assert rg(P, 0.59) < 0.1
    assert rg(P, 0.6) == pytest.approx(gap, rel=1e-12)  # more than 60: the gap
    assert rg(P, 0.9) == pytest.approx(gap, rel=1e-12)


def test_duplicates_merge_at_zero():
    P = np.repeat(np.array([[0.0, 0.0], [3.0, 4.0]]), [6, 4], axis=0)
    m = single_linkage(P)
    np.testing.assert_array_equal(m.distances, [0.0] * 8 + [5.0])
    assert rg(P, 0.5) == 0.0                 # 6 equal points: more than 5 at distance 0
    assert rg(P, 0.6) == 5.0


@pytest.mark.parametrize("bad,match", [
    (np.zeros(5), "2-D"),
    (np.zeros((1, 3)), "at least 2 rows"),
    (np.zeros((4, 0)), "at least 2 rows"),
    (np.array([[0.0, 1.0], [np.nan, 0.0]]), "NaN or infinite.*row 1"),
    (np.array([[0.0, np.inf], [1.0, 0.0]]), "NaN or infinite.*row 0"),
    (np.array([["a", "b"], ["c", "d"]]), "numeric"),
    (np.array([[0.0], [1e200]]), "overflow"),
])
def test_bad_points(bad, match):
    with pytest.raises(ValueError, match=match):
        rg(bad)
    with pytest.raises(ValueError, match=match):
        single_linkage(bad)


@pytest.mark.parametrize("fraction", [0, 1, -0.5, 1.5, float("nan"), "half", None])
def test_bad_fraction(fraction):
    P = np.random.default_rng(0).normal(size=(5, 2))
    with pytest.raises(ValueError, match="fraction"):
        rg(P, fraction)
    with pytest.raises(ValueError, match="fraction"):
        single_linkage(P).rg(fraction)
