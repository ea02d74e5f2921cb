"""How long the quality report takes per control type, on seeded synthetic answers (pure, no server).

Times :func:`labelhouse.quality.control_report.control_report` (consensus twice, reliability,
agreement, leaderboard) for each control type on ``--tasks`` tasks x ``--overlap`` annotators
from a pool of 50, and prints answers per second. The request limit of the server report is
2,000,000 answers; above it the recompute job runs the same code.

    python bench/quality_report.py                 # 20,000 tasks x 3
    python bench/quality_report.py --quick         # 1,000 tasks x 3
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

from labelhouse.controls import parse_schema
from labelhouse.quality.control_report import control_report

CONTROLS: dict[str, dict[str, Any]] = {
    "choices": {"type": "choices", "options": ["a", "b", "c"], "over": "text"},
    "choices_multi": {"type": "choices", "options": ["a", "b", "c", "d"], "multiple": True, "over": "text"},
    "spans": {"type": "spans", "over": "text", "labels": ["PER", "ORG"]},
    "boxes": {"type": "boxes", "over": "image", "labels": ["car", "person"]},
    "rating": {"type": "rating", "min": 1, "max": 5, "criteria": [{"name": "help"}, {"name": "safe"}]},
    "ranking": {"type": "ranking", "over": "responses"},
    "preference": {"type": "preference", "over": "responses"},
}
MODELS = [f"model-{i}" for i in range(8)]


def _answer(kind: str, rng: random.Random, task: int, good: bool) -> Any:
    truth = random.Random(task)
    if kind == "choices":
        right = truth.choice("abc")
        return right if good else rng.choice("abc")
    if kind == "choices_multi":
        right = sorted(truth.sample("abcd", 2))
        return right if good else sorted(rng.sample("abcd", rng.randint(1, 3)))
    if kind == "spans":
        spans = [{"start": 0, "end": 4, "label": "PER"}, {"start": 10, "end": 14, "label": "ORG"}]
        return spans if good else spans[: rng.randint(0, 2)]
    if kind == "boxes":
        jitter = 0 if good else rng.uniform(0, 8)
        return [
            {"type": "rectangle", "label": "car", "x": 10 + jitter, "y": 10, "w": 30, "h": 20},
            {"type": "rectangle", "label": "person", "x": 60, "y": 5 + jitter, "w": 10, "h": 30},
        ]
    if kind == "rating":
        return {
            "help": truth.randint(1, 5) if good else rng.randint(1, 5),
            "safe": 5 if good else rng.randint(1, 5),
        }
    if kind == "ranking":
        order = [0, 1, 2, 3]
        if not good:
            rng.shuffle(order)
        return order
    return {"winner": "a" if good else rng.choice("ab"), "strength": 1}


def run(tasks: int, overlap: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, control in CONTROLS.items():
        config = parse_schema({"controls": [{"name": "c", **control}]}).controls[0]
        rng = random.Random(0)
        annotators = [f"w{i}" for i in range(50)]
        answers = []
        responses: dict[str, Any] = {}
        for t in range(tasks):
            for who in rng.sample(annotators, overlap):
                answers.append((str(t), who, _answer(kind, rng, t, rng.random() < 0.8)))
            k = 4 if kind == "ranking" else 2
            responses[str(t)] = [{"model": m, "text": "."} for m in random.Random(t).sample(MODELS, k)]
        start = time.perf_counter()
        section = control_report(config, answers, method="ds_map", responses=responses).section
        seconds = time.perf_counter() - start
        out[kind] = {
            "answers": len(answers),
            "seconds": round(seconds, 3),
            "answers_per_s": round(len(answers) / seconds),
        }
        print(
            f"{kind:<14} {len(answers):>9} answers  {seconds:8.2f} s  {len(answers) / seconds:>10,.0f} answers/s  mean confidence {section['mean_confidence']}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    tasks = 1000 if args.quick else args.tasks
    print(
        json.dumps(
            {
                "bench": "quality_report",
                "tasks": tasks,
                "overlap": args.overlap,
                "results": run(tasks, args.overlap),
            }
        )
    )


if __name__ == "__main__":
    main()
