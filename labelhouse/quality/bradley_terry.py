"""Bradley-Terry with ties (Davidson 1970), fit by Newton's method on pairwise counts; bootstrap CIs.

Davidson's model: with strengths pi_i = exp(theta_i) and a tie parameter nu = exp(lam),

    P(i beats j) = pi_i / D,  P(j beats i) = pi_j / D,  P(tie) = nu * sqrt(pi_i * pi_j) / D,
    D = pi_i + pi_j + nu * sqrt(pi_i * pi_j).

Chosen over Rao-Kupper because its likelihood is smooth and concave in (theta, lam), a tie counts
as "half a win each" exactly as in the win-rate tables people already read, and with no ties it is
plain Bradley-Terry (nu -> 0). The fit works on the (items x items) win and tie counts, so a
million votes cost one bincount plus a few Newton steps over the items.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from labelhouse.core.errors import Invalid
from labelhouse.quality.answers import FloatArray, IntArray
from labelhouse.quality.comparisons import RIGHT, TIE, Comparisons

# The Gaussian prior (precision on each score) for votes with no finite optimum (an item that
# never lost): the ranking stays the same and the scores stay finite.
FALLBACK_L2 = 0.01


@dataclass(frozen=True)
class BradleyTerryFit:
    """``scores`` are theta (natural log strength), centred to mean 0; ``tie`` is nu (0 without ties)."""

    scores: FloatArray
    tie: float
    log_likelihood: float
    iterations: int

    def probabilities(self, i: int, j: int) -> tuple[float, float, float]:
        """(P(i wins), P(j wins), P(tie)) for one comparison."""
        u = 0.5 * (self.scores[i] - self.scores[j])
        d = np.exp(u) + np.exp(-u) + self.tie
        return float(np.exp(u) / d), float(np.exp(-u) / d), float(self.tie / d)


def fit_bradley_terry(
    wins: FloatArray,
    ties: FloatArray | None = None,
    *,
    l2: float = 0.0,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> BradleyTerryFit:
    """Maximum likelihood (or MAP with a N(0, 1/l2) prior on theta when ``l2`` > 0).

    ``wins[i, j]``: times i beat j; ``ties``: a symmetric matrix of ties (None or all zero fits
    plain Bradley-Terry). Raises Invalid when no finite optimum exists (an item that never loses
    or never wins, or items in separate groups never compared): pass ``l2`` > 0 then."""
    n = wins.shape[0]
    ties = np.zeros_like(wins) if ties is None else ties
    if l2 <= 0 and not has_finite_optimum(wins):
        raise _no_optimum()
    iu, ju = np.triu_indices(n, k=1)
    w1, w2, tt = wins[iu, ju], wins[ju, iu], ties[iu, ju]
    keep = (w1 + w2 + tt) > 0
    i, j, w1, w2, tt = iu[keep], ju[keep], w1[keep], w2[keep], tt[keep]
    total = w1 + w2 + tt
    with_ties = bool(tt.sum() > 0)
    # free parameters: theta_0..theta_{n-2} (theta_{n-1} = 0 fixes the scale unless l2 > 0), lam
    free = n if l2 > 0 else n - 1
    params = np.zeros(free + (1 if with_ties else 0))
    if with_ties:
        params[-1] = np.log(max(2 * tt.sum() / max((w1 + w2).sum(), 1.0), 1e-6))

    def unpack(p: FloatArray) -> tuple[FloatArray, float]:
        theta = np.zeros(n)
        theta[:free] = p[:free]
        return theta, (float(p[-1]) if with_ties else -np.inf)

    def evaluate(p: FloatArray, derivatives: bool) -> tuple[float, FloatArray, FloatArray]:
        theta, lam = unpack(p)
        u = 0.5 * (theta[i] - theta[j])
        nu = np.exp(lam)
        d = 2 * np.cosh(u) + nu
        ll = float(((w1 - w2) * u).sum() - (total * np.log(d)).sum())
        ll += float(tt.sum() * lam) if with_ties else 0.0
        ll -= 0.5 * l2 * float((theta**2).sum())
        if not derivatives:
            return ll, np.empty(0), np.empty((0, 0))
        s = 2 * np.sinh(u)
        g_u = (w1 - w2) - total * s / d
        h_uu = -total * (2 * np.cosh(u) * d - s * s) / d**2
        grad_theta = 0.5 * (np.bincount(i, g_u, n) - np.bincount(j, g_u, n)) - l2 * theta
        h = np.zeros((n + 1, n + 1))
        q = 0.25 * h_uu
        np.add.at(h, (i, i), q)
        np.add.at(h, (j, j), q)
        np.add.at(h, (i, j), -q)
        np.add.at(h, (j, i), -q)
        h[np.arange(n), np.arange(n)] -= l2
        grad = np.zeros(n + 1)
        grad[:n] = grad_theta
        if with_ties:
            grad[n] = tt.sum() - (total * nu / d).sum()
            h_ul = total * s * nu / d**2
            h_theta_lam = 0.5 * (np.bincount(i, h_ul, n) - np.bincount(j, h_ul, n))
            h[:n, n] = h[n, :n] = h_theta_lam
            h[n, n] = -(total * nu * (d - nu) / d**2).sum()
        index = np.r_[np.arange(free), [n] if with_ties else []].astype(int)
        return ll, grad[index], h[np.ix_(index, index)]

    # a fit with no finite optimum runs the scores off to infinity (cosh overflows): that is
    # detected below and raised as Invalid, so numpy's warnings on the way would only be noise
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ll, grad, hess = evaluate(params, True)
        it = 0
        for _ in range(max_iter):
            it += 1
            try:
                step = np.linalg.solve(hess, -grad)
            except np.linalg.LinAlgError:
                raise _no_optimum() from None
            t = 1.0
            while True:  # backtracking keeps each step an ascent step
                new_ll = evaluate(params + t * step, False)[0]
                if new_ll >= ll - 1e-12 or t < 1e-8:
                    break
                t *= 0.5
            params = params + t * step
            ll, grad, hess = evaluate(params, True)
            if np.abs(t * step).max() < tol:
                break
    theta, lam = unpack(params)
    if (
        not np.all(np.isfinite(theta))
        or np.ptp(theta) > 40
        or np.abs(grad).max() > 1e-6 * max(total.sum(), 1.0)
    ):
        raise _no_optimum()
    return BradleyTerryFit(theta - theta.mean(), float(np.exp(lam)), ll, it)


def has_finite_optimum(wins: FloatArray) -> bool:
    """Whether the unregularised fit has a finite optimum: every split of the items into two groups
    has a win each way across it (the graph of "i beat j" is strongly connected; Zermelo, Ford).

    Ties do not count: a tie does not bound a score when the tie parameter may grow with it (a
    win and a tie, no loss: the likelihood rises towards 1/4 as both run off to infinity). The
    check is exact where the numbers are not: such a fit creeps out so slowly that it could pass
    for converged."""
    n = wins.shape[0]
    if n < 2:
        return True
    graph = csr_matrix((wins > 0).astype(np.int8))
    return connected_components(graph, directed=True, connection="strong")[0] == 1


def _no_optimum() -> Invalid:
    return Invalid(
        "no finite Bradley-Terry fit: an item never loses or never wins, or some items are never "
        "compared with the rest; pass l2 > 0 for a regularised fit",
        field="votes",
    )


def fit_votes(votes: Comparisons, *, l2: float = 0.0) -> BradleyTerryFit:
    wins, ties = votes.counts()
    return fit_bradley_terry(wins, ties, l2=l2)


@dataclass(frozen=True)
class ScoreIntervals:
    fit: BradleyTerryFit
    low: FloatArray
    high: FloatArray
    samples: int


def bootstrap_scores(
    votes: Comparisons,
    *,
    samples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    l2: float = 0.0,
    clusters: IntArray | None = None,
) -> ScoreIntervals:
    """Percentile intervals of the centred scores over ``samples`` resamplings of the votes
    (with replacement, as multinomial draws over the distinct (pair, outcome) cells: the same
    distribution as resampling votes, at the cost of the cells). Seeded.

    ``clusters``: per vote, the answer it came from (a k-way ranking is k(k-1)/2 votes that stand
    or fall together); whole answers are resampled then, as pairs resampled one by one make the
    intervals too narrow (by about a third for rankings of 5)."""
    wins, ties = votes.counts()
    fit = fit_bradley_terry(wins, ties, l2=l2)
    n = wins.shape[0]
    rng = np.random.default_rng(seed)
    scores = []
    for w, t in _resamples(votes, wins, ties, samples, rng, clusters):
        # a resample where an item never lost has no finite fit: it is fitted with the fallback
        # prior, as the leaderboard fits such data (skipping it would cut the interval short on
        # the side of the unbeaten item, a near-flat prior would put it out at +-10)
        prior = l2 if l2 > 0 or has_finite_optimum(w) else FALLBACK_L2
        try:
            scores.append(fit_bradley_terry(w, t, l2=prior).scores)
        except Invalid:
            continue  # ties only: no finite tie parameter; the resample is skipped
    if not scores:
        raise _no_optimum()
    alpha = (1 - confidence) / 2
    stacked = np.array(scores).reshape(-1, n)
    low, high = np.quantile(stacked, [alpha, 1 - alpha], axis=0)
    return ScoreIntervals(fit, low, high, len(scores))


def _resamples(
    votes: Comparisons,
    wins: FloatArray,
    ties: FloatArray,
    samples: int,
    rng: np.random.Generator,
    clusters: IntArray | None,
) -> Iterator[tuple[FloatArray, FloatArray]]:
    """``samples`` resampled (wins, ties) matrices: of the votes, or of whole clusters of votes."""
    n = wins.shape[0]
    iu, ju = np.triu_indices(n, k=1)
    if clusters is None:
        # cells: wins[i, j] for all i != j, and ties once per unordered pair
        cells = np.concatenate([wins.ravel(), ties[iu, ju]])
        total = int(cells.sum())
        for row in rng.multinomial(total, cells / total, size=samples):
            t = np.zeros((n, n))
            t[iu, ju] = row[n * n :]
            yield row[: n * n].reshape(n, n).astype(np.float64), t + t.T
        return
    # per vote its cell (i beat j: i * n + j; a tie of i < j: n * n + i * n + j), and a
    # clusters x cells count matrix: a resample is a multinomial count per cluster times it
    codes, cluster = np.unique(np.asarray(clusters), return_inverse=True)
    tie = votes.outcome == TIE
    winner = np.where(votes.outcome == RIGHT, votes.right, votes.left)
    loser = np.where(votes.outcome == RIGHT, votes.left, votes.right)
    low, high = np.minimum(votes.left, votes.right), np.maximum(votes.left, votes.right)
    cell = np.where(tie, n * n + low * n + high, winner * n + loser)
    per_cluster = csr_matrix((np.ones(cell.size), (cluster.ravel(), cell)), shape=(codes.size, 2 * n * n))
    for drawn in rng.multinomial(codes.size, np.full(codes.size, 1.0 / codes.size), size=samples):
        counts = np.asarray(per_cluster.T @ drawn.astype(np.float64)).ravel()
        t = counts[n * n :].reshape(n, n)
        yield counts[: n * n].reshape(n, n), t + t.T


def posterior_intervals(
    wins: FloatArray, ties: FloatArray, fit: BradleyTerryFit, *, l2: float, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Normal-approximation intervals of the centred scores of a regularised (``l2`` > 0) fit:
    the inverse of the log posterior's curvature at the fit, the tie parameter held at its value.

    For votes with no finite optimum, where the bootstrap cannot see the uncertainty of an
    unbeaten item (every resample of a 5-0 record is 5-0 again: a zero-width interval)."""
    from scipy import stats

    n = wins.shape[0]
    u = 0.5 * (fit.scores[:, None] - fit.scores[None, :])
    d = 2 * np.cosh(u) + fit.tie
    per_pair = (wins + wins.T + ties) * (2 * np.cosh(u) * d - 4 * np.sinh(u) ** 2) / d**2
    np.fill_diagonal(per_pair, 0.0)
    info = -0.25 * per_pair
    info[np.arange(n), np.arange(n)] = 0.25 * per_pair.sum(axis=1) + l2
    centre = np.eye(n) - 1.0 / n
    sd = np.sqrt(np.clip(np.diag(centre @ np.linalg.inv(info) @ centre), 0.0, None))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return fit.scores - z * sd, fit.scores + z * sd
