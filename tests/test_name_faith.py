"""Indian names agree with religion (issue 13): the faith the register rule gives each name token, against hand
labels (``census_sources/annotations/indian_name_faith.csv``), and composed names by religion."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from census_sources.names import classify_faiths, parse_name
from persona_assets.core.names import ENGLISH_LABELS, FAITH_TOKENS, RELIGION_FAITH, NameModel, build_name_tokens
from persona_assets.core.paths import REPO_ROOT

LABELS = pd.read_csv(REPO_ROOT / "census_sources" / "annotations" / "indian_name_faith.csv").set_index("token")["label"]
#: Hand labels compatible with each token faith.
COMPATIBLE = {
    "muslim": {"muslim", "hindu_or_muslim"},
    "sikh": {"sikh", "hindu_or_sikh"},
    "christian": {"christian"},
    "other": {"hindu", "hindu_or_muslim", "hindu_or_sikh"},
}
MIN_PRECISION = 0.9


@pytest.fixture(scope="module")
def model(census_frames) -> NameModel:
    tokens = build_name_tokens(
        {"cea": census_frames["cea_name_tokens"]}, census_frames["chinese_surnames_2000"], pd.read_csv(ENGLISH_LABELS)
    )
    return NameModel(tokens)


def measure_precision(model: NameModel, weights: pd.Series) -> dict[str, tuple[float, float, int]]:
    """Per faith: (precision by token, precision weighted by register occurrences, labelled tokens)."""
    out = {}
    for faith, ok in COMPATIBLE.items():
        labelled = [t for t, f in model.token_faith.items() if f == faith and LABELS.get(t, "unknown") != "unknown"]
        good = [t for t in labelled if LABELS[t] in ok]
        w = weights.reindex(labelled).fillna(0)
        out[faith] = (len(good) / len(labelled), float(w[good].sum() / w.sum()), len(labelled))
    return out


def test_the_faith_rule_is_precise_on_hand_labelled_tokens(model, census_frames) -> None:
    t = census_frames["cea_name_tokens"]
    weights = t[t["position"].str.startswith("faith_")].groupby("token")["count"].sum()
    figures = measure_precision(model, weights)
    for faith, (by_token, weighted, n) in figures.items():
        print(f"{faith}: precision {by_token:.1%} of {n} labelled tokens, {weighted:.1%} of their occurrences")
        assert n >= 30 and by_token >= MIN_PRECISION and weighted >= MIN_PRECISION, (faith, figures[faith])


def test_name_faiths_follow_the_register_rule() -> None:
    surnames = {"TAN"}
    names = [
        "AHMAD BIN ALI",
        "SITI BINTE ALI",
        "AHMAD BIN YUSOF",
        "YUSOF BIN OMAR",
        "RAVI S/O AHMAD",
        "JASPAL SINGH S/O KARTAR SINGH",
        "KUMAR S/O MUTHU",
        "TAN WEI MING",
    ]
    parsed = [parse_name(n, surnames) for n in names]
    assert classify_faiths(parsed) == [None, None, None, None, "muslim", "sikh", "other", None]


def test_composed_indian_names_agree_with_religion(model) -> None:
    rng = np.random.default_rng(7)
    n = 400
    for religion in ("Islam", "Hinduism", "Sikhism", "Catholic"):
        names = model.compose(
            np.array(["Indian"] * n), np.array(["Male", "Female"] * (n // 2)), rng, np.array([religion] * n)
        )
        allowed = FAITH_TOKENS[RELIGION_FAITH.get(religion, "other")]
        tokens = Counter(
            model.token_faith.get(tok, "none")
            for full in names["full_name"]
            for tok in full.replace(" s/o ", " ").replace(" d/o ", " ").split()
        )
        assert set(tokens) <= allowed, (religion, tokens)
    muslim = model.compose(np.array(["Indian"] * 50), np.array(["Female"] * 50), rng, np.array(["Hinduism"] * 50))
    assert not any(w in full.split() for full in muslim["full_name"] for w in ("Mohamed", "Abdul", "Ibrahim", "Beevi"))
