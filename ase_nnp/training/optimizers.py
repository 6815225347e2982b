r"""Optimisers over all element networks' parameters as one flat vector θ.

* ``lbfgs``: full-batch L-BFGS (scipy's L-BFGS-B without bounds), as in paper 000.
* ``adam``: mini-batch Adam (Kingma & Ba), m ← β₁m + (1-β₁)∇, v ← β₂v + (1-β₂)∇²,
  θ ← θ - η_t m̂ / (√v̂ + ε) with bias-corrected m̂, v̂ and a learning rate
  η_t = η₀ · decay^(epoch) (exponential schedule). The batch order comes from
  ``numpy.random.default_rng(seed)``: the same seed gives the same result.
"""

import numpy as np
from scipy.optimize import minimize

from .loss import LossWeights, loss_and_gradient


class ParameterVector:
    """All networks of a potential, in element order, as one flat vector."""

    def __init__(self, potential):
        self.potential = potential
        self.sizes = [potential.networks[e].n_parameters for e in potential.elements]

    def get(self):
        return np.concatenate([self.potential.networks[e].parameters
                               for e in self.potential.elements])

    def set(self, theta):
        pos = 0
        for e, n in zip(self.potential.elements, self.sizes):
            self.potential.networks[e].parameters = theta[pos:pos + n]
            pos += n

    def flatten(self, grads):
        return np.concatenate([grads[e] for e in self.potential.elements])


def _objective(potential, frames, weights):
    pv = ParameterVector(potential)

    def fun(theta):
        pv.set(theta)
        loss, grads, _ = loss_and_gradient(potential, frames, weights)
        return loss, pv.flatten(grads)
    return pv, fun


def lbfgs(potential, frames, weights=LossWeights(), max_iter=100, callback=None, tol=1e-12):
    """Fit in place with full-batch L-BFGS; returns scipy's OptimizeResult."""
    pv, fun = _objective(potential, frames, weights)
    result = minimize(fun, pv.get(), jac=True, method="L-BFGS-B", callback=callback,
                      options={"maxiter": int(max_iter), "ftol": tol, "gtol": tol})
    pv.set(result.x)
    return result


def adam(potential, frames, weights=LossWeights(), epochs=10, batch_size=32, lr=1e-3,
         decay=1.0, seed=0, beta1=0.9, beta2=0.999, eps=1e-8, callback=None):
    """Fit in place with mini-batch Adam; returns the per-epoch mean batch loss."""
    pv, fun = _objective(potential, frames, weights)
    rng = np.random.default_rng(seed)
    theta = pv.get()
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    t = 0
    history = []
    for epoch in range(int(epochs)):
        order = rng.permutation(len(frames))
        rate = lr * decay ** epoch
        losses = []
        for start in range(0, len(frames), batch_size):
            batch = [frames[k] for k in order[start:start + batch_size]]
            pv.set(theta)
            loss, grads, _ = loss_and_gradient(potential, batch, weights)
            grad = pv.flatten(grads)
            t += 1
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad * grad
            theta = theta - rate * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
            losses.append(loss)
        pv.set(theta)
        history.append(float(np.mean(losses)))
        if callback is not None:
            callback(epoch, history[-1])
    return history
