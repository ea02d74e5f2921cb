# ruff: noqa: F401  (_load's imports are returned through locals())
"""Quality: truth inference over categorical answers, and preference models. Pure numpy/scipy.

The names below load on first use (PEP 562), with numpy and scipy: the policy decisions of the
labeling loop (``quality.policy``, ``quality.task``) import this package and must stay light.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = [
    "DEFAULT_METHOD",
    "Answers",
    "BradleyTerryFit",
    "Comparisons",
    "DawidSkene",
    "DawidSkeneFit",
    "Glad",
    "Mace",
    "MajorityVote",
    "Method",
    "OneCoin",
    "PositionBias",
    "Result",
    "ScoreIntervals",
    "Wawa",
    "bootstrap_scores",
    "elo_ratings",
    "fit_bradley_terry",
    "fit_dawid_skene",
    "fit_glad",
    "fit_mace",
    "fit_one_coin",
    "fit_votes",
    "get_method",
    "infer",
    "method_names",
    "pairs_from_ranking",
    "position_bias",
    "register",
]


def _load() -> dict[str, Any]:
    from labelhouse.quality.answers import Answers
    from labelhouse.quality.bradley_terry import (
        BradleyTerryFit,
        ScoreIntervals,
        bootstrap_scores,
        fit_bradley_terry,
        fit_votes,
    )
    from labelhouse.quality.comparisons import Comparisons, PositionBias, pairs_from_ranking, position_bias
    from labelhouse.quality.dawid_skene import DawidSkene, DawidSkeneFit, fit_dawid_skene
    from labelhouse.quality.elo import elo_ratings
    from labelhouse.quality.glad import Glad, fit_glad
    from labelhouse.quality.inference import (
        DEFAULT_METHOD,
        Method,
        Result,
        get_method,
        infer,
        method_names,
        register,
    )
    from labelhouse.quality.mace import Mace, fit_mace
    from labelhouse.quality.majority import MajorityVote
    from labelhouse.quality.one_coin import OneCoin, fit_one_coin
    from labelhouse.quality.wawa import Wawa

    # the built-in methods register exactly as an outside package would
    register(MajorityVote())
    register(Wawa())
    register(DawidSkene())
    register(
        DawidSkene(
            "ds_map",
            smoothing=0.01,
            diagonal=3.0,
            summary="Dawid-Skene with a Dirichlet prior favouring right answers (MAP), by EM",
        )
    )
    register(
        DawidSkene(
            "ds_vb",
            smoothing=0.01,
            diagonal=3.0,
            variational=True,
            summary="Dawid-Skene with the same prior, by variational Bayes (uncertainty-aware EM)",
        )
    )
    register(OneCoin())
    register(Glad())
    register(Mace())
    return {name: value for name, value in locals().items() if name in __all__}


_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'labelhouse.quality' has no attribute {name!r}")
    with _lock:  # load (and register) once, whichever thread asks first
        if name not in globals():
            globals().update(_load())
    return globals()[name]
