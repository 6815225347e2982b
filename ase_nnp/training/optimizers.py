r"""Optimisers over all element networks' parameters as one flat vector θ.

All keep their whole state in plain arrays (``state()`` / ``from_state()``), so
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

* ``KalmanFilter``: the global extended Kalman filter of n2p2 (Singraber et al.,
  J. Chem. Theory Comput. 15, 3075 (2019); Blank & Brown, J. Chemometrics 8, 391
  (1994)) on θ, one update per single energy or group of force components; its
  covariance P is part of the state (n² doubles). See the class docstring.

``objective(theta, frames)`` returns (loss, gradient) over the frame indices
``frames`` (None: all of them); the objective of :func:`objective_for` also carries
``residuals``, the :class:`~ase_nnp.training.loss.Residuals` of its FrameSet, which
the Kalman filter updates from.
"""

import json
from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas, solve_triangular
from scipy.optimize import line_search

from .loss import STRESS_MULTIPLICITY, LossWeights, Residuals, loss_and_gradient
from .regularization import check_method, weight_decay


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


@dataclass(frozen=True)
class KalmanPlan:
    """One Kalman epoch's update candidates and counts, each (energy, forces, stress):
    structures, force components 3 a + c, structures with stress."""
    candidates: tuple
    counts: tuple


class KalmanFilter:
    r"""The global extended Kalman filter (EKF) of n2p2 on the flat parameter vector θ.

    An *update* observes one structure's energy (1 row), ``force_group`` force
    components (k rows) or one structure's stress (its six Voigt components, 6 rows;
    an extension: n2p2 has no stress updates): scaled residuals ξ = s r (prediction minus
    reference r of :class:`~ase_nnp.training.loss.Residuals`) and their Jacobian
    H = s ∂r/∂θ (k × n), both at the current θ. The scale s of a residual of kind
    k ∈ {E, F, S}, with w its structure's (and for forces its atom's) weight, λ_k the
    loss factor and s_k the data's spread (``Residuals.null_rms``), is by
    ``normalization``:

        "data" (default):  s = √w / s_k                          (n2p2's normalize_data_set)
        "loss":            s = √(λ_k w) / √(Σ_k' λ_k' s_k'²)     (k' over the kinds updated)
        "none":            s = √(λ_k w)                           (eV, eV/Å, eV/Å³)

    so that with "data" every residual is of order one against the noise R = 1/η, as in
    n2p2, whatever the units and λ (λ_k > 0 only switches a kind on; the balance of the
    kinds is the number of their updates); "loss" keeps the ratios of the λ_k and scales
    the whole loss of the data to one; "none" is the filter as it was (in the 24-cell case
    of docs/training.md its energy residuals were 10 times smaller and its force residuals
    2.4 times larger than normalised: the energies went unfitted).
    With X = P Hᵀ, A = H X + R 1:

        K = X A⁻¹,    θ ← θ - K ξ,    P ← (P - K Xᵀ) / β + q 1

    with, after u updates (U = updates per epoch, so the τ are per epoch),
    ``standard``: R = 1/η, η = min(η₀ exp(τ_η (u+1)/U), η_max), β = 1;
    ``fading_memory``: R = β = λ_u = 1 - (1 - λ₀) ν^u (n2p2's λ ← ν λ + 1 - ν);
    both: q = max(q₀ exp(-τ_q u/U), q_min), P₀ = 1/ε. P is kept as its lower triangle
    (BLAS symv and syrk, as n2p2 reads it as self-adjoint): an update costs two passes
    over P, about 1 ms at n = 1,550 on one core.

    An *epoch*: n_E = ⌊energy_fraction · #structures⌋ energy updates,
    n_F = max(⌊force_fraction · #force components / force_group⌋, ⌊ρ n_E⌋) force updates
    (ρ = ``force_energy_ratio``, n2p2 2.2's force_energy_ratio: a set of small structures,
    whose few components give only a handful of force updates, still gets ρ per energy
    update; n_F = 0 when force_fraction = 0 or no structure has forces) and
    n_S = ⌊stress_fraction · #structures with stress⌋ stress updates, in a random
    order; the candidates (structures, components) are taken from a random permutation
    (``selection = "random"``), in descending order of their error at the start of
    the epoch (``"sort"``; a stress by the RMS of its components), or (``"threshold"``)
    from the permutation, skipping a candidate whose |r| is at most ``*_threshold`` ×
    the training RMSE at the start of the epoch, at most ``trials`` candidates per pick,
    then the largest seen (n2p2's selection modes 0, 1, 2; the stress threshold is 0).
    The random generator (``seed``) is part of the state.
    """
    name = "kalman"
    KINDS = ("standard", "fading_memory")
    SELECTIONS = ("random", "sort", "threshold")
    NORMALIZATIONS = ("data", "loss", "none")

    def __init__(self, n_parameters, kind="standard", epsilon=0.01, q0=0.01, qtau=2.302,
                 qmin=1e-6, eta=0.01, etatau=2.302, etamax=1.0, lambda0=0.96, nu=0.9995,
                 energy_fraction=1.0, force_fraction=0.02315, force_group=1,
                 selection="threshold", energy_threshold=0.0, force_threshold=1.0, trials=3,
                 seed=0, stress_fraction=0.0, normalization="data", force_energy_ratio=3.0):
        if (kind not in self.KINDS or selection not in self.SELECTIONS
                or normalization not in self.NORMALIZATIONS):
            raise ValueError(f"kind {kind!r} / selection {selection!r} / normalization "
                             f"{normalization!r}: not one of {self.KINDS} / "
                             f"{self.SELECTIONS} / {self.NORMALIZATIONS}")
        self.kind, self.selection, self.normalization = kind, selection, normalization
        self.force_energy_ratio = float(force_energy_ratio)
        self.epsilon, self.q0, self.qtau, self.qmin = map(float, (epsilon, q0, qtau, qmin))
        self.eta, self.etatau, self.etamax = map(float, (eta, etatau, etamax))
        self.lambda0, self.nu = float(lambda0), float(nu)
        self.energy_fraction, self.force_fraction = float(energy_fraction), float(force_fraction)
        self.stress_fraction = float(stress_fraction)
        self.force_group, self.trials = int(force_group), int(trials)
        self.energy_threshold, self.force_threshold = float(energy_threshold), float(force_threshold)
        self.P = np.asfortranarray(np.eye(n_parameters) / self.epsilon)
        self.updates = 0
        self.rng = np.random.default_rng(seed)
        self.converged = False

    # ------------------------------------------------------------ one update
    def _noise(self, per_epoch):
        """(R, β, q) of the next update."""
        u = self.updates
        q = max(self.q0 * np.exp(-self.qtau * u / per_epoch), self.qmin)
        if self.kind == "standard":
            eta = min(self.eta * np.exp(self.etatau * (u + 1) / per_epoch), self.etamax)
            return 1.0 / eta, 1.0, q
        lam = 1.0 - (1.0 - self.lambda0) * self.nu ** u
        return lam, lam, q

    def update(self, theta, xi, H, per_epoch):
        """θ after observing scaled residuals ξ (k,) with Jacobian H (k, n)."""
        R, beta, q = self._noise(per_epoch)
        X = np.empty((len(theta), len(xi)), order="F")
        for j, h in enumerate(H):
            X[:, j] = blas.dsymv(1.0, self.P, h, lower=1)
        A = H @ X
        A = 0.5 * (A + A.T) + R * np.eye(len(xi))
        # A = L Lᵀ: K ξ = Y L⁻¹ ξ and K Xᵀ = Y Yᵀ with Y = X L⁻ᵀ
        L_inv = solve_triangular(np.linalg.cholesky(A), np.eye(len(xi)), lower=True)
        Y = np.asfortranarray(X @ L_inv.T)
        theta = theta - Y @ (L_inv @ xi)
        self.P = blas.dsyrk(-1.0 / beta, Y, beta=1.0 / beta, c=self.P, lower=1,
                            overwrite_c=1)
        self.P[np.diag_indices_from(self.P)] += q
        self.updates += 1
        return theta

    # ------------------------------------------------------------ one epoch
    def plan(self, residuals):
        """The candidates and update counts of an epoch over ``residuals``."""
        e_cand = residuals.energy_candidates()
        f_cand = residuals.force_candidates()
        s_cand = residuals.stress_candidates()
        n_e = int(self.energy_fraction * len(e_cand))
        n_f = int(self.force_fraction * len(f_cand) / self.force_group)
        if self.force_fraction > 0 and len(f_cand):
            n_f = max(n_f, int(self.force_energy_ratio * n_e))
        return KalmanPlan((e_cand, f_cand, s_cand),
                          (n_e, n_f, int(self.stress_fraction * len(s_cand))))

    def scales(self, residuals, counts):
        """(energy, force, stress) scale arrays s of the class docstring's
        ``normalization`` (per structure, per atom, per structure); ``counts``: the
        updates per epoch of each kind (a kind without updates stays out of "loss")."""
        res = residuals
        base = (res.energy_scale, res.force_scale, res.stress_scale)
        if self.normalization == "none":
            return base
        w = res.weights
        lam = (max(w.energy, 0.0), max(w.forces, 0.0), max(w.stress, 0.0))
        rms = res.null_rms()
        rms = tuple(v if v > 0 else 1.0 for v in (rms["energy"], rms["forces"], rms["stress"]))
        if self.normalization == "data":
            return tuple(np.where(b > 0, b / np.sqrt(l if l > 0 else 1.0) / r, 0.0)
                         for b, l, r in zip(base, lam, rms))
        total = sum(l * r * r for l, r, n in zip(lam, rms, counts) if n)
        return tuple(b / np.sqrt(total if total > 0 else 1.0) for b in base)

    def _order(self, candidates, errors):
        if self.selection == "sort":
            return candidates[np.argsort(-np.abs(errors[candidates]), kind="stable")]
        return self.rng.permutation(candidates)

    def epoch(self, theta, objective, n_frames=None, epoch=0):
        """One epoch of updates (class docstring); returns (θ, mean squared scaled
        residual of the epoch's updates, each before its update)."""
        with _one_blas_thread():
            return self._epoch(theta, objective)

    def _epoch(self, theta, objective):
        res = getattr(objective, "residuals", None)
        if res is None:
            raise ValueError("the Kalman filter needs an objective from objective_for "
                             "(its residuals)")
        pv = ParameterVector(res.potential)
        plan = self.plan(res)
        counts = plan.counts
        e_scale, f_scale, s_scale = self.scales(res, counts)
        per_epoch = sum(counts)
        if per_epoch == 0:
            raise ValueError("the energy, force and stress fractions give no update per epoch")
        schedule = self.rng.permutation(np.repeat([0, 1, 2], counts))
        pv.set(theta)
        errors = [None, None, None]
        rmse = [0.0, 0.0, 0.0]
        if self.selection != "random":
            errors = list(res.all(forces=counts[1] > 0, stress=counts[2] > 0))
            for kind in range(3):
                cand = plan.candidates[kind]
                if counts[kind] and len(cand):
                    rmse[kind] = np.sqrt(np.mean(errors[kind][cand] ** 2))
        streams = [self._order(plan.candidates[k], errors[k]) if counts[k] else None
                   for k in range(3)]
        position = [0, 0, 0]
        thresholds = (self.energy_threshold, self.force_threshold, 0.0)
        frame_of = res.fs.frame
        seen, total, count = {}, 0.0, 0

        def residual(kind, candidate):
            f = frame_of[candidate // 3] if kind == 1 else candidate
            if f not in seen:
                seen[f] = res.structure(f)
            s = seen[f]
            if kind == 1:
                return s.force(candidate)
            return s.energy if kind == 0 else s.stress_rms

        def pick(kind):
            stream = streams[kind]
            best, best_err = None, -1.0
            for _ in range(self.trials if self.selection == "threshold" else 1):
                candidate = stream[position[kind] % len(stream)]
                position[kind] += 1
                err = abs(residual(kind, candidate))
                if self.selection != "threshold" or rmse[kind] <= 0:
                    return candidate
                err /= rmse[kind]
                if err > thresholds[kind]:
                    return candidate
                if err > best_err:
                    best, best_err = candidate, err
            return best

        for kind in schedule:
            pv.set(theta)
            seen.clear()
            if kind == 0:
                f = pick(0)
                s = seen[f]
                scale = e_scale[f]
                xi = np.array([scale * s.energy])
                H = scale * s.energy_row()[None, :]
            elif kind == 2:
                f = pick(2)
                scale = s_scale[f] * STRESS_MULTIPLICITY
                xi = scale * seen[f].stress
                H = scale[:, None] * seen[f].stress_rows()
            else:
                comps = [pick(1) for _ in range(self.force_group)]
                xi = np.empty(len(comps))
                H = np.empty((len(comps), len(theta)))
                for j, g in enumerate(comps):
                    s = seen[frame_of[g // 3]]
                    scale = f_scale[g // 3]
                    xi[j] = scale * s.force(g)
                    H[j] = scale * s.force_row(g)
            total += float(xi @ xi)
            count += len(xi)
            theta = self.update(theta, xi, H, per_epoch)
        pv.set(theta)
        return theta, total / count

    # ------------------------------------------------------------ state
    def state(self):
        return {"hyper": np.array([self.epsilon, self.q0, self.qtau, self.qmin, self.eta,
                                   self.etatau, self.etamax, self.lambda0, self.nu,
                                   self.energy_fraction, self.force_fraction,
                                   self.force_group, self.energy_threshold,
                                   self.force_threshold, self.trials, self.stress_fraction,
                                   self.force_energy_ratio]),
                "kind": np.bytes_(self.kind), "selection": np.bytes_(self.selection),
                "normalization": np.bytes_(self.normalization),
                "P": self.P, "updates": np.int64(self.updates),
                "rng": np.bytes_(json.dumps(self.rng.bit_generator.state))}

    @classmethod
    def from_state(cls, st):
        def text(raw):
            return raw.decode() if isinstance(raw, bytes) else str(raw)
        # older states: no stress updates, no force_energy_ratio, residuals in eV ("none")
        hyper = list(st["hyper"]) + [0.0] * (17 - len(st["hyper"]))
        (epsilon, q0, qtau, qmin, eta, etatau, etamax, lambda0, nu, fe, ff, group, te, tf,
         trials, fs, ratio) = hyper
        opt = cls(1, text(st["kind"]), epsilon, q0, qtau, qmin, eta, etatau, etamax,
                  lambda0, nu, fe, ff, int(group), text(st["selection"]), te, tf, int(trials),
                  stress_fraction=fs, force_energy_ratio=ratio,
                  normalization=text(st["normalization"]) if "normalization" in st else "none")
        opt.P = np.asfortranarray(st["P"], dtype=np.float64)
        opt.updates = int(st["updates"])
        opt.rng.bit_generator.state = json.loads(text(st["rng"]))
        return opt


def _one_blas_thread():
    """BLAS on one thread (threadpoolctl, when installed): the filter's symv and syrk
    stream P through memory, so a second thread gains little, and when another process
    keeps a core busy it costs far more (per update at n = 1,426 on the shared 2-core
    machine: 1.5 ms on one thread, 15 ms on two)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


OPTIMIZERS = {"lbfgs": LBFGS, "adam": Adam, "kalman": KalmanFilter}


def objective_for(potential, fs, weights=LossWeights(), on_full_batch=None):
    """(ParameterVector, objective(θ, frames) → (loss, flat gradient)) over FrameSet ``fs``.
    ``on_full_batch(θ, parts)`` sees the loss parts of every full-batch evaluation. With
    ``weights.weight_decay`` = λ > 0 the objective is loss + λ Σ W² over the network
    weights (:mod:`ase_nnp.training.regularization`), on every batch; ``parts`` then holds
    the penalty as ``parts["weight_decay"]``."""
    pv = ParameterVector(potential)
    strength = getattr(weights, "weight_decay", 0.0)

    def objective(theta, frames=None):
        pv.set(theta)
        batch = fs if frames is None else fs.subset(np.sort(frames))
        loss, grads, parts = loss_and_gradient(potential, batch, weights)
        if strength > 0:
            penalty, extra = weight_decay(potential, strength)
            loss += penalty
            parts["weight_decay"] = penalty
            grads = {e: grads[e] + extra[e] for e in grads}
        if frames is None and on_full_batch is not None:
            on_full_batch(theta, parts)
        return loss, pv.flatten(grads)
    objective.residuals = Residuals(potential, fs, weights) if isinstance(
        weights, LossWeights) else None
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


def kalman(potential, fs, weights=LossWeights(), epochs=10, seed=0, **settings):
    """Fit in place with the Kalman filter (``settings``: :class:`KalmanFilter`'s
    keywords); returns the loss after each epoch. ConfigError for ``weights.weight_decay``
    > 0, which the filter cannot apply."""
    check_method(getattr(weights, "weight_decay", 0.0), "kalman")
    pv, objective = objective_for(potential, fs, weights)
    opt = KalmanFilter(len(pv.get()), seed=seed, **settings)
    theta, history = pv.get(), []
    for k in range(int(epochs)):
        theta, _ = opt.epoch(theta, objective, len(fs), k)
        pv.set(theta)
        history.append(loss_and_gradient(potential, fs, weights, gradient=False)[0])
    pv.set(theta)
    return history
