r"""How good is an error bar? Coverage, miscalibration area, NLL, rank measures.

For errors e_i and predicted standard deviations σ_i (arrays of one shape):

* ``coverage(e, σ, k)``: the fraction with |e_i| ≤ k σ_i (0.683 at k = 1 and 0.954 at
  k = 2 for Gaussian errors of that σ);
* ``rms_ratio(e, σ)`` = sqrt(mean e²) / sqrt(mean σ²): 1 when σ has the size of the error
  on average;
* ``miscalibration_area(e, σ)``: the mean over expected proportions p of
  |p_obs(p) − p|, p_obs the fraction of |e_i| ≤ z_{(1+p)/2} σ_i with z the standard
  normal quantile (Tran et al., Mach. Learn.: Sci. Technol. 1, 025006 (2020)); 0 for a
  perfectly calibrated Gaussian, at most 0.5;
* ``gaussian_nll(e, σ)``: the mean of log σ_i + e_i² / (2 σ_i²) + ½ log 2π;
* ``spearman(x, y)``: the rank correlation;
* ``auroc(score, positive)``: the area under the ROC curve of ``score`` for flagging the
  ``positive`` items, by the Mann–Whitney U statistic (ties count one half); 0.5 is a
  coin, 1 a perfect flag. NaN when one class is empty.
"""

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata, spearmanr

#: expected proportions of the miscalibration area
PROPORTIONS = np.linspace(0.01, 0.99, 99)


def _pair(e, sigma):
    e = np.abs(np.asarray(e, dtype=np.float64)).ravel()
    sigma = np.asarray(sigma, dtype=np.float64).ravel()
    if e.shape != sigma.shape:
        raise ValueError(f"errors {e.shape} and σ {sigma.shape} differ in length")
    return e, sigma


def coverage(e, sigma, k=1.0):
    e, sigma = _pair(e, sigma)
    return float(np.mean(e <= k * sigma)) if len(e) else float("nan")


def rms_ratio(e, sigma):
    e, sigma = _pair(e, sigma)
    return float(np.sqrt(np.mean(e ** 2) / np.mean(sigma ** 2)))


def miscalibration_area(e, sigma, proportions=PROPORTIONS):
    e, sigma = _pair(e, sigma)
    z = ndtri(0.5 + 0.5 * np.asarray(proportions))
    observed = np.array([np.mean(e <= zi * sigma) for zi in z])
    return float(np.mean(np.abs(observed - proportions)))


def gaussian_nll(e, sigma):
    e, sigma = _pair(e, sigma)
    return float(np.mean(np.log(sigma) + 0.5 * (e / sigma) ** 2 + 0.5 * np.log(2 * np.pi)))


def spearman(x, y):
    x, y = np.ravel(x), np.ravel(y)
    return float(spearmanr(x, y)[0]) if len(x) > 2 else float("nan")


def auroc(score, positive):
    score = np.asarray(score, dtype=np.float64).ravel()
    positive = np.asarray(positive, dtype=bool).ravel()
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
