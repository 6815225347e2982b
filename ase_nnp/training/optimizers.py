r"""Optimisers over all element networks' parameters as one flat vector θ.

Both keep their whole state in plain arrays (``state()`` / ``from_state()``), so
a checkpoint restores them exactly and a resumed run continues bit for bit as if
it had never stopped.

* ``LBFGS``: full-batch limited-memory BFGS (as in Yoo et al., Phys. Rev. Materials 3, 093802 (2019)). Direction
  p = -H g from the two-loop recursion over the last ``memory`` pairs
  s_k = θ_{k+1} - θ_k, y_k = g_{k+1} - g_k with H_0 = (sᵀy / yᵀy) I; step
  length from scipy's strong-Wolfe line search
  (``scipy.optimize.line_search``, c1 = 1e-4, c2 = 0.9). Pairs with
  sᵀy ≤ 1e-12 |s||y| are skipped; a failed line search clears the memory and
  retries along -g, and a second failure reports convergence. One iteration is
  one "epoch".
* ``Adam``: mini-batch Adam (Kingma & Ba), m ← β₁m + (1-β₁)∇,
  v ← β₂v + (1-β₂)∇², θ ← θ - η_t m̂ / (√v̂ + ε) with bias-corrected m̂, v̂
  and η_t = η₀ · decay^epoch. Batches are drawn from
  ``numpy.random.default_rng(seed)``; its state is part of the optimiser state.

``objective(theta, frames)`` returns (loss, gradient) over the frame indices
``frames`` (None: all of them).
"""

import json

import numpy as np
from scipy.optimize import line_search

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


class LBFGS:
    name = "lbfgs"

    def __init__(self, memory=10):
        self.memory = int(memory)
        self.S, self.Y = [], []
        self.f = self.g = None
        self.f_old = None
        self.converged = False

    def direction(self, g):
        q = -g.copy()
        alphas = []
        for s, y in zip(reversed(self.S), reversed(self.Y)):
            rho = 1.0 / (y @ s)
            a = rho * (s @ q)
            q -= a * y
            alphas.append((rho, a))
        if self.S:
            q *= (self.S[-1] @ self.Y[-1]) / (self.Y[-1] @ self.Y[-1])
        else:
            q /= max(1.0, np.linalg.norm(g))
        for (s, y), (rho, a) in zip(zip(self.S, self.Y), reversed(alphas)):
            q += (a - rho * (y @ q)) * s
        return q

    def epoch(self, theta, objective, n_frames=None, epoch=0):
        """One L-BFGS iteration; returns (new θ, loss at new θ)."""
        memo = {}

        def evaluate(x):
            key = x.tobytes()
            if key not in memo:
                memo.clear()
                memo[key] = objective(x, None)
            return memo[key]

        if self.g is None:
            self.f, self.g = evaluate(theta)
        for attempt in range(2):
            p = self.direction(self.g)
            if self.g @ p >= 0:           # not a descent direction: restart
                self.S, self.Y = [], []
                continue
            alpha, _, _, f_new, _, _ = line_search(
                lambda x: evaluate(x)[0], lambda x: evaluate(x)[1], theta, p, gfk=self.g,
                old_fval=self.f, old_old_fval=self.f_old, maxiter=20)
            if alpha is not None:
                break
            self.S, self.Y = [], []
        else:
            self.converged = True
            return theta, self.f
        new = theta + alpha * p
        f_new, g_new = evaluate(new)
        s, y = new - theta, g_new - self.g
        if s @ y > 1e-12 * np.linalg.norm(s) * np.linalg.norm(y):
            self.S.append(s)
            self.Y.append(y)
            del self.S[:-self.memory], self.Y[:-self.memory]
        self.f_old, self.f, self.g = self.f, f_new, g_new
        return new, f_new

    def state(self):
        n = 0 if self.g is None else len(self.g)
        return {"memory": np.int64(self.memory),
                "S": np.array(self.S, dtype=np.float64).reshape(len(self.S), n),
                "Y": np.array(self.Y, dtype=np.float64).reshape(len(self.Y), n),
                "f": np.float64(np.nan if self.f is None else self.f),
                "g": np.zeros(0) if self.g is None else self.g,
                "f_old": np.float64(np.nan if self.f_old is None else self.f_old)}

    @classmethod
    def from_state(cls, st):
        opt = cls(int(st["memory"]))
        opt.S, opt.Y = list(st["S"]), list(st["Y"])
        opt.f = None if np.isnan(st["f"]) else float(st["f"])
        opt.g = None if len(st["g"]) == 0 else np.array(st["g"])
        opt.f_old = None if np.isnan(st["f_old"]) else float(st["f_old"])
        return opt


class Adam:
    name = "adam"

    def __init__(self, n_parameters, lr=1e-3, decay=1.0, batch_size=32, seed=0,
                 beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.decay, self.batch_size = float(lr), float(decay), int(batch_size)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m = np.zeros(n_parameters)
        self.v = np.zeros(n_parameters)
        self.t = 0
        self.rng = np.random.default_rng(seed)
        self.converged = False

    def epoch(self, theta, objective, n_frames, epoch=0):
        """One pass over all frames in random batches; returns (θ, mean batch loss)."""
        order = self.rng.permutation(n_frames)
        rate = self.lr * self.decay ** epoch
        losses = []
        for start in range(0, n_frames, self.batch_size):
            loss, grad = objective(theta, order[start:start + self.batch_size])
            self.t += 1
            self.m = self.beta1 * self.m + (1 - self.beta1) * grad
            self.v = self.beta2 * self.v + (1 - self.beta2) * grad * grad
            m_hat = self.m / (1 - self.beta1 ** self.t)
            v_hat = self.v / (1 - self.beta2 ** self.t)
            theta = theta - rate * m_hat / (np.sqrt(v_hat) + self.eps)
            losses.append(loss)
        return theta, float(np.mean(losses))

    def state(self):
        return {"hyper": np.array([self.lr, self.decay, self.batch_size, self.beta1, self.beta2,
                                   self.eps]),
                "m": self.m, "v": self.v, "t": np.int64(self.t),
                "rng": np.bytes_(json.dumps(self.rng.bit_generator.state))}

    @classmethod
    def from_state(cls, st):
        lr, decay, bs, b1, b2, eps = st["hyper"]
        opt = cls(len(st["m"]), lr, decay, int(bs), 0, b1, b2, eps)
        opt.m, opt.v, opt.t = np.array(st["m"]), np.array(st["v"]), int(st["t"])
        raw = st["rng"]
        opt.rng.bit_generator.state = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        return opt


OPTIMIZERS = {"lbfgs": LBFGS, "adam": Adam}


def objective_for(potential, fs, weights=LossWeights(), on_full_batch=None):
    """(ParameterVector, objective(θ, frames) → (loss, flat gradient)) over FrameSet ``fs``.
    ``on_full_batch(θ, parts)`` sees the loss parts of every full-batch evaluation."""
    pv = ParameterVector(potential)

    def objective(theta, frames=None):
        pv.set(theta)
        batch = fs if frames is None else fs.subset(np.sort(frames))
        loss, grads, parts = loss_and_gradient(potential, batch, weights)
        if frames is None and on_full_batch is not None:
            on_full_batch(theta, parts)
        return loss, pv.flatten(grads)
    return pv, objective


def lbfgs(potential, fs, weights=LossWeights(), max_iter=100, memory=10):
    """Fit in place with full-batch L-BFGS; returns the loss after each iteration."""
    pv, objective = objective_for(potential, fs, weights)
    opt, theta, history = LBFGS(memory), pv.get(), []
    for k in range(int(max_iter)):
        theta, loss = opt.epoch(theta, objective, len(fs), k)
        history.append(loss)
        if opt.converged:
            break
    pv.set(theta)
    return history


def adam(potential, fs, weights=LossWeights(), epochs=10, batch_size=32, lr=1e-3, decay=1.0,
         seed=0):
    """Fit in place with mini-batch Adam; returns the per-epoch mean batch loss."""
    pv, objective = objective_for(potential, fs, weights)
    opt = Adam(len(pv.get()), lr, decay, batch_size, seed)
    theta, history = pv.get(), []
    for k in range(int(epochs)):
        theta, loss = opt.epoch(theta, objective, len(fs), k)
        history.append(loss)
    pv.set(theta)
    return history
