"""Clustering drawn objects (rectangles, polygons, keypoints) across annotators by Hungarian matching."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from labelhouse.controls.boxes import iou_matrix

FloatArray = NDArray[np.float64]

MIN_IOU = 0.5
# as the boxes control scores keypoints when the image size is unknown
KEYPOINT_PX = 10.0


@dataclass(frozen=True)
class Cluster:
    """One object as several annotators drew it: ``members`` are (annotation index, object)."""

    members: tuple[tuple[int, Mapping[str, Any]], ...]


def cluster_objects(
    answers: Sequence[Sequence[Mapping[str, Any]]], min_iou: float = MIN_IOU
) -> list[Cluster]:
    """Group the objects of several answers so that each cluster holds at most one object per answer.

    Repeatedly: the answer with the most objects not yet clustered is the reference; every other
    answer's unclustered objects of the same type and label are matched to the reference's by
    Hungarian matching on IoU (keypoints: 1 within 10 px, else 0), and pairs scoring at least
    ``min_iou`` join the reference object's cluster. The reference's objects are then done.

    On a tie for the reference, the answer that agrees most with the others wins (the largest
    total score of its matched pairs), then the one whose objects sort first: which answer came
    first must not decide (three boxes in a chain, a-b-c, are one object around b, not a pair
    around whichever of a or c was listed first).
    """
    left: list[list[Mapping[str, Any]]] = [list(objects) for objects in answers]
    clusters: list[Cluster] = []
    while any(left):
        ref, matched = _reference(left, min_iou)
        members: list[list[tuple[int, Mapping[str, Any]]]] = [[(ref, obj)] for obj in left[ref]]
        for other, objects in enumerate(left):
            if other == ref or not objects:
                continue
            taken: set[int] = set()
            pairs = matched[other] if other in matched else _matches(left[ref], objects, min_iou)
            for ref_at, other_at, _score in pairs:
                members[ref_at].append((other, objects[other_at]))
                taken.add(other_at)
            left[other] = [obj for at, obj in enumerate(objects) if at not in taken]
        left[ref] = []
        clusters.extend(Cluster(tuple(m)) for m in members)
    return clusters


Pairs = list[tuple[int, int, float]]


def _reference(left: list[list[Mapping[str, Any]]], min_iou: float) -> tuple[int, dict[int, Pairs]]:
    """The reference answer, and its matches with the others when the tie-break made them."""
    most = max(len(objects) for objects in left)
    tied = [i for i, objects in enumerate(left) if len(objects) == most]
    if len(tied) == 1:
        return tied[0], {}
    made: dict[tuple[int, int], Pairs] = {}

    def matches(i: int, j: int) -> Pairs:
        if (j, i) in made:  # an optimal matching read the other way round is one this way
            return [(b, a, score) for a, b, score in made[(j, i)]]
        made[(i, j)] = _matches(left[i], left[j], min_iou)
        return made[(i, j)]

    best: tuple[float, tuple[str, ...]] | None = None
    chosen, chosen_pairs = tied[0], {}
    for i in tied:
        pairs = {j: matches(i, j) for j, objects in enumerate(left) if j != i and objects}
        # rounded: the same sum taken in another order must not break the tie differently
        agree = round(sum(score for found in pairs.values() for _, _, score in found), 9)
        key = (-agree, tuple(sorted(repr(sorted(obj.items())) for obj in left[i])))
        if best is None or key < best:
            best, chosen, chosen_pairs = key, i, pairs
    return chosen, chosen_pairs


def _matches(refs: list[Mapping[str, Any]], others: list[Mapping[str, Any]], min_iou: float) -> Pairs:
    """(reference index, other index, score) pairs matched within each (type, label) group."""
    groups: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
    for side, objects in enumerate((refs, others)):
        for at, obj in enumerate(objects):
            groups.setdefault((obj.get("type", "rectangle"), obj["label"]), ([], []))[side].append(at)
    pairs: Pairs = []
    for (_, _), (ref_at, other_at) in groups.items():
        if not ref_at or not other_at:
            continue
        if len(ref_at) == 1 and len(other_at) == 1:  # the usual case: numpy and scipy cost 20x more
            score = _score(refs[ref_at[0]], others[other_at[0]])
            if score >= min_iou:
                pairs.append((ref_at[0], other_at[0], score))
            continue
        scores = overlap([refs[i] for i in ref_at], [others[j] for j in other_at])
        rows, cols = linear_sum_assignment(scores, maximize=True)
        pairs.extend(
            (ref_at[r], other_at[c], float(scores[r, c]))
            for r, c in zip(rows, cols, strict=True)
            if scores[r, c] >= min_iou
        )
    return pairs


def overlap(left: Sequence[Mapping[str, Any]], right: Sequence[Mapping[str, Any]]) -> FloatArray:
    """(len(left) x len(right)) IoU of the objects' boxes; for keypoints 1 within 10 px, else 0."""
    if left and left[0].get("type") == "keypoint":
        lp = np.asarray([(o["x"], o["y"]) for o in left], dtype=np.float64)
        rp = np.asarray([(o["x"], o["y"]) for o in right], dtype=np.float64)
        distance = np.linalg.norm(lp[:, None, :] - rp[None, :, :], axis=2)
        return (distance <= KEYPOINT_PX).astype(np.float64)
    return iou_matrix(corners(left), corners(right))


def _score(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """``overlap([a], [b])`` without numpy: the same IoU (0 when the union is empty) or keypoint test."""
    if a.get("type") == "keypoint":
        return 1.0 if math.hypot(a["x"] - b["x"], a["y"] - b["y"]) <= KEYPOINT_PX else 0.0
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = _corners(a), _corners(b)
    inter = max(min(ax1, bx1) - max(ax0, bx0), 0.0) * max(min(ay1, by1) - max(ay0, by0), 0.0)
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return float(inter / union) if union > 0 else 0.0


def _corners(obj: Mapping[str, Any]) -> tuple[float, float, float, float]:
    kind = obj.get("type", "rectangle")
    if kind == "polygon":
        xs = [p[0] for p in obj["points"]]
        ys = [p[1] for p in obj["points"]]
        return float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys))
    if kind == "keypoint":
        return float(obj["x"]), float(obj["y"]), float(obj["x"]), float(obj["y"])
    x, y = float(obj["x"]), float(obj["y"])
    return x, y, x + float(obj["w"]), y + float(obj["h"])


def corners(objects: Sequence[Mapping[str, Any]]) -> FloatArray:
    """Rows of (x0, y0, x1, y1): a rectangle itself, a polygon's bounding box, a keypoint's point."""
    return np.asarray([_corners(obj) for obj in objects], dtype=np.float64).reshape(-1, 4)


def merge(members: Sequence[tuple[Mapping[str, Any], float]]) -> dict[str, Any]:
    """One object from a cluster's (object, weight) members.

    Rectangles and keypoints: the weighted mean of the coordinates. Polygons cannot be averaged
    point by point (their points differ in number and order), so the heaviest member's polygon
    stands for the cluster; on a tie, the one whose box overlaps the other members' most, then
    the one whose points sort first (never the order the answers came in).
    """
    first = members[0][0]
    kind = first.get("type", "rectangle")
    out: dict[str, Any] = {"type": kind, "label": first["label"]}
    if kind == "polygon":
        objects = [obj for obj, _ in members]

        def rank(i: int) -> tuple[float, float, str]:
            # rounded: equal sums taken in another order differ in their last bits
            fit = round(sum(_score(objects[i], other) for other in objects), 12)
            return (-round(members[i][1], 12), -fit, repr(objects[i]["points"]))

        best = min(range(len(members)), key=rank)
        out["points"] = [list(p) for p in objects[best]["points"]]
        return out
    keys = ("x", "y") if kind == "keypoint" else ("x", "y", "w", "h")
    weights = np.asarray([w for _, w in members], dtype=np.float64)
    coords = np.asarray([[obj[k] for k in keys] for obj, _ in members], dtype=np.float64)
    mean = weights @ coords / weights.sum()
    # rounded to a millionth (far below a pixel): a weighted mean of 10s is 10, not 9.999999999999998
    out.update({k: round(float(v), 6) for k, v in zip(keys, mean, strict=True)})
    return out
