"""Bradley-Terry (Davidson ties) on the shared preference votes vs reference fits, and timing at 1M votes.

    python bench/quality/preferences.py [--quick]

References (bench only, never product dependencies): a direct per-vote likelihood optimisation
with scipy (BFGS on the Davidson model, a separate code path that never aggregates counts) and,
when the bench venv has it, ``choix.opt_pairwise`` for plain Bradley-Terry with ties dropped.
Target: max |score difference| < 1e-3 (centred log strengths), and 1,000,000 votes in < 5 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from datasets import PREFERENCES  # noqa: E402

from labelhouse.quality import (  # noqa: E402
    Comparisons,
    bootstrap_scores,
    elo_ratings,
    fit_bradley_terry,
    fit_votes,
    position_bias,
)
from labelhouse.quality.comparisons import LEFT, RIGHT, TIE  # noqa: E402

CK_PYTHON = HERE.parent / ".work" / "ckvenv" / "bin" / "python"
CHOIX = """
import json, sys, choix, numpy as np
d = json.load(sys.stdin)
params = choix.opt_pairwise(d["n"], [tuple(x) for x in d["pairs"]], alpha=0.0, tol=1e-12)
print(json.dumps((params - params.mean()).tolist()))
"""


def direct_davidson(votes: Comparisons) -> np.ndarray:
    n = votes.n_items

    def nll(p: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.append(p[:-1], 0.0)
        lam = p[-1]
        a, b = theta[votes.left], theta[votes.right]
        mid = lam + 0.5 * (a + b)
        log_d = np.logaddexp(np.logaddexp(a, b), mid)
        own = np.where(votes.outcome == LEFT, a, np.where(votes.outcome == RIGHT, b, mid))
        pa, pb, pt = np.exp(a - log_d), np.exp(b - log_d), np.exp(mid - log_d)
        # d(own - log_d)/d(a), /d(b), /d(lam)
        da = (votes.outcome == LEFT) + 0.5 * (votes.outcome == TIE) - (pa + 0.5 * pt)
        db = (votes.outcome == RIGHT) + 0.5 * (votes.outcome == TIE) - (pb + 0.5 * pt)
        dl = (votes.outcome == TIE) - pt
        g = np.bincount(votes.left, da, n) + np.bincount(votes.right, db, n)
        return -float((own - log_d).sum()), -np.append(g[:-1], dl.sum())

    res = minimize(nll, np.zeros(n), jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 10_000})
    theta = np.append(res.x[:-1], 0.0)
    return np.append(theta - theta.mean(), np.exp(res.x[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    with (PREFERENCES / "vicuna80_human" / "votes.csv").open(newline="") as f:
        rows = [(r["model_a"], r["model_b"], r["winner"]) for r in csv.DictReader(f)]
    votes = Comparisons.from_triples(rows)
    fit = fit_votes(votes)
    ref = direct_davidson(votes)
    gap_direct = float(max(np.abs(fit.scores - ref[:-1]).max(), abs(fit.tie - ref[-1])))
    # plain Bradley-Terry, ties dropped, against choix
    decided = votes.outcome != TIE
    plain = Comparisons.from_codes(
        votes.left[decided], votes.right[decided], votes.outcome[decided], n_items=votes.n_items
    )
    wins, _ = plain.counts()
    bt = fit_bradley_terry(wins)
    gap_choix: float | None = None
    if CK_PYTHON.exists():
        winner = np.where(plain.outcome == RIGHT, plain.right, plain.left)
        loser = np.where(plain.outcome == RIGHT, plain.left, plain.right)
        payload = json.dumps({"n": votes.n_items, "pairs": np.c_[winner, loser].tolist()})
        out = subprocess.run(
            [str(CK_PYTHON), "-c", CHOIX], input=payload, capture_output=True, text=True, check=True
        )
        gap_choix = float(np.abs(bt.scores - np.array(json.loads(out.stdout))).max())
    intervals = bootstrap_scores(votes, samples=100 if args.quick else 1000, seed=0)
    elo = elo_ratings(votes, shuffle_seed=0)
    bias = position_bias(votes)
    print(f"{'model':14}{'BT score':>10}{'direct':>10}{'95% low':>9}{'95% high':>9}{'Elo':>8}")
    for k in np.argsort(-fit.scores):
        print(
            f"{votes.items[k]:14}{fit.scores[k]:10.4f}{ref[k]:10.4f}{intervals.low[k]:9.3f}"
            f"{intervals.high[k]:9.3f}{elo[k]:8.0f}"
        )
    print(f"tie parameter nu {fit.tie:.4f} (direct {ref[-1]:.4f}); max |ours - direct| = {gap_direct:.2e}")
    if gap_choix is not None:
        print(f"plain BT (ties dropped) max |ours - choix| = {gap_choix:.2e}")
    print(
        f"position bias: A wins {bias.left_rate:.3f} of decided votes [{bias.low:.3f}, {bias.high:.3f}], p = {bias.p_value:.3g}"
    )
    # timing at 1M votes: the same models, resampled (seeded)
    n_votes = 100_000 if args.quick else 1_000_000
    rng = np.random.default_rng(0)
    pick = rng.integers(0, votes.n_votes, n_votes)
    big = Comparisons.from_codes(
        votes.left[pick], votes.right[pick], votes.outcome[pick], n_items=votes.n_items
    )
    t0 = time.perf_counter()
    fit_votes(big)
    fit_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    elo_ratings(big)
    elo_seconds = time.perf_counter() - t0
    print(f"{n_votes:,} votes: Bradley-Terry fit {fit_seconds:.3f} s, Elo pass {elo_seconds:.2f} s")
    summary = {
        "bench": "quality_preferences",
        "max_abs_diff_direct": gap_direct,
        "max_abs_diff_choix": gap_choix,
        "votes_timed": n_votes,
        "fit_seconds": fit_seconds,
        "elo_seconds": elo_seconds,
        "left_rate": bias.left_rate,
        "scores": dict(zip(votes.items, fit.scores.round(6).tolist(), strict=True)),
        "tie": fit.tie,
    }
    line = json.dumps(summary)
    out_dir = HERE.parent / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "quality_preferences.json").write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
