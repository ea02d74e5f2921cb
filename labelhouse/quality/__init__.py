"""Quality: truth inference over categorical answers, and preference models. Pure numpy/scipy."""

from labelhouse.quality.answers import Answers
from labelhouse.quality.dawid_skene import DawidSkene, DawidSkeneFit, fit_dawid_skene
from labelhouse.quality.inference import (
    DEFAULT_METHOD,
    Method,
    Result,
    get_method,
    infer,
    method_names,
    register,
)
from labelhouse.quality.glad import Glad, fit_glad
from labelhouse.quality.mace import Mace, fit_mace
from labelhouse.quality.majority import MajorityVote
from labelhouse.quality.one_coin import OneCoin, fit_one_coin
from labelhouse.quality.wawa import Wawa

__all__ = [
    "DEFAULT_METHOD",
    "Answers",
    "DawidSkene",
    "DawidSkeneFit",
    "Glad",
    "Mace",
    "MajorityVote",
    "Method",
    "OneCoin",
    "Result",
    "Wawa",
    "fit_dawid_skene",
    "fit_glad",
    "fit_mace",
    "fit_one_coin",
    "get_method",
    "infer",
    "method_names",
    "register",
]

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
register(OneCoin())
register(Glad())
register(Mace())
