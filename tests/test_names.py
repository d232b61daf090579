"""Names: the register rules against a hand-labelled yardstick, token pools, composition by community
convention, the privacy gate, pluggable sources."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from census_sources import load_table
from census_sources.names import (
    chinese_syllables,
    name_hash,
    normalise,
    parse_name,
    register_hashes,
    register_tokens,
)
from persona_assets.core.names import (
    NameModel,
    build_name_tokens,
    combine_sources,
    compose_names,
    diversity_report,
    privacy_report,
    register_matches,
    title_token,
)

ROOT = Path(__file__).resolve().parents[1]
YARDSTICK = ROOT / "tests" / "fixtures" / "names" / "cea_hand_labelled.csv"
LABELS = ROOT / "census_sources" / "annotations" / "english_given_names_sex.csv"
#: The Chinese surnames the snapshot build derived from the whole register (those it parsed as surnames).
_T = load_table("cea_name_tokens")
SURNAMES = {t.upper() for t in _T[(_T.position == "surname") & (_T.ethnicity == "Chinese")]["token"]}


@pytest.fixture(scope="module")
def tokens() -> pd.DataFrame:
    return build_name_tokens(
        {"cea": load_table("cea_name_tokens")}, load_table("chinese_surnames_2000"), pd.read_csv(LABELS)
    )


@pytest.fixture(scope="module")
def hashes() -> pd.DataFrame:
    return load_table("cea_name_hashes")


@pytest.mark.parametrize(
    ("raw", "ethnicity", "sex", "surname", "given", "father", "english"),
    [
        ("TAN WEI MING", "Chinese", "unknown", ["TAN"], ["WEI", "MING"], [], []),
        ("JASON TAN WEI MING", "Chinese", "unknown", ["TAN"], ["WEI", "MING"], [], ["JASON"]),
        ("WANG SOON YEE, LARRY", "Chinese", "unknown", ["WANG"], ["SOON", "YEE"], [], ["LARRY"]),
        ("LIM SIEW CHOO (KATE LIM)", "Chinese", "unknown", ["LIM"], ["SIEW", "CHOO"], [], ["KATE"]),
        ("TEO LI WEN (LIWEN TEO)", "Chinese", "unknown", ["TEO"], ["LI", "WEN"], [], []),
        ("LAU BEE LAY JANET (JANET LAU)", "Chinese", "unknown", ["LAU"], ["BEE", "LAY"], [], ["JANET"]),
        ("SALBIAH BINTE RAMLI (SALBIAH)", "Malay", "Female", [], ["SALBIAH"], ["RAMLI"], []),
        ("MUHAMMAD RUSYDI BIN ROSLAN", "Malay", "Male", [], ["MUHAMMAD", "RUSYDI"], ["ROSLAN"], []),
        (
            "MOHAMED RAHIMATULLAH S/O S M IBRAHIM (MOHD)",
            "Indian",
            "Male",
            [],
            ["MOHAMED", "RAHIMATULLAH"],
            ["IBRAHIM"],
            [],
        ),
        ("RASOOL BEEVI D/O AMANULLAH", "Indian", "Female", [], ["RASOOL", "BEEVI"], ["AMANULLAH"], []),
        ("JULIET STANNARD", "unclassified", "unknown", ["STANNARD"], ["JULIET"], [], []),
    ],
    ids=[
        "chinese",
        "english-first",
        "comma",
        "alias",
        "alias-pinyin",
        "english-last",
        "binte",
        "bin",
        "s/o",
        "d/o",
        "other",
    ],
)
def test_parse_rules(raw, ethnicity, sex, surname, given, father, english) -> None:
    p = parse_name(raw, {"TAN", "WANG", "LIM", "TEO", "LAU", "CHAN"})
    assert (p.ethnicity, p.sex, p.surname, p.given, p.father, p.english) == (
        ethnicity,
        sex,
        surname,
        given,
        father,
        english,
    )


@pytest.mark.parametrize(
    ("token", "n"),
    [("TAN", 1), ("WEIXIAN", 2), ("THIAM", 1), ("HOCK", 1), ("ANGELINA", 0), ("CHARISSA", 0), ("CHRISTOPHER", 0)],
)
def test_chinese_syllables(token: str, n: int) -> None:
    assert chinese_syllables(token) == n


def test_rules_against_the_hand_labelled_yardstick() -> None:
    rows = list(csv.DictReader(YARDSTICK.open()))
    assert len(rows) == 300
    mapping = {"unclassified": "Others"}
    predicted = [parse_name(r["name"], SURNAMES) for r in rows]
    classified = [(r, p) for r, p in zip(rows, predicted, strict=True) if p.ethnicity != "unclassified"]
    coverage = len(classified) / len(rows)
    precision = sum(r["ethnicity"] == mapping.get(p.ethnicity, p.ethnicity) for r, p in classified) / len(classified)
    assert coverage >= 0.85, coverage
    assert precision >= 0.98, precision
    marked = [(r, p) for r, p in zip(rows, predicted, strict=True) if r["sex"]]
    assert marked and all(p.sex == r["sex"] for r, p in marked)


def test_register_tokens_and_hashes_hold_no_full_names() -> None:
    names = ["TAN WEI MING (DERRICK TAN)", "SALBIAH BINTE RAMLI"]
    tokens, coverage = register_tokens(names)
    assert coverage == {"chinese-surname": 1, "malay-marker": 1}
    assert not tokens["token"].str.contains(" ").any()
    h = register_hashes(names)
    assert set(h["kind"]) == {"full_name", "token_set"}
    assert name_hash("tan  wei-ming") == name_hash("TAN WEI MING") in set(h["hash"])
    assert normalise("Tan Wei-Ming!") == "TAN WEI MING"


def test_title_token() -> None:
    assert title_token("JA'AFAR") == "Ja'afar" and title_token("SOON-LI") == "Soon-Li"


def test_chinese_surnames_follow_the_census_top20(tokens) -> None:
    cs = tokens[(tokens.position == "surname") & (tokens.ethnicity == "Chinese")].set_index("token")["weight"]
    assert cs.sum() == pytest.approx(1.0)
    assert cs["Tan"] == pytest.approx(0.095, abs=1e-6)
    assert cs["Lim"] == pytest.approx(166000 / (237800 / 0.095), abs=1e-6)


def test_composition_follows_each_community_convention(tokens, hashes) -> None:
    model = NameModel(tokens)
    rng = np.random.default_rng(0)
    eth = np.array(["Chinese", "Malay", "Malay", "Indian", "Indian", "Others"] * 200)
    sex = np.array(["Female", "Male", "Female", "Male", "Female", "Male"] * 200)
    names, _ = compose_names(model, eth, sex, rng, hashes)
    df = pd.concat([pd.DataFrame({"eth": eth, "sex": sex}), names], axis=1)
    chinese = df[df.eth == "Chinese"]
    assert (chinese.full_name == chinese.last_name + " " + chinese.first_name).all()
    assert chinese.middle_name.isna().all()
    assert chinese.preferred_english_name.notna().mean() > 0.5
    female_en = set(chinese.preferred_english_name.dropna())
    labels = pd.read_csv(LABELS).set_index("name")["sex"]
    assert all(labels.get(n.upper() if n.upper() in labels else n, "Female") in ("Female", "Unisex") for n in female_en)
    assert df[(df.eth == "Malay") & (df.sex == "Male")].full_name.str.contains(" bin ").all()
    assert df[(df.eth == "Malay") & (df.sex == "Female")].full_name.str.contains(" binte ").all()
    assert df[(df.eth == "Indian") & (df.sex == "Male")].full_name.str.contains(" s/o ").all()
    assert df[(df.eth == "Indian") & (df.sex == "Female")].full_name.str.contains(" d/o ").all()
    malay = df[df.eth == "Malay"]
    assert all(fn.endswith(" " + ln) for fn, ln in zip(malay.full_name, malay.last_name, strict=True))
    assert df[df.eth == "Others"].preferred_english_name.isna().all()
    assert df.first_name.notna().all() and df.last_name.notna().all()


def test_privacy_gate_pass_and_fail(tokens, hashes) -> None:
    model = NameModel(tokens)
    rng = np.random.default_rng(1)
    eth = np.array(["Chinese"] * 5000)
    sex = np.array(["Male", "Female"] * 2500)
    names, redraws = compose_names(model, eth, sex, rng, hashes)
    assert privacy_report(names["full_name"], hashes)["register_full_name_matches"] == 0
    # a registered name (from the yardstick fixture) is caught, in any case and spacing
    registered = pd.Series(["tan  wei ming", "Wang Soon Yee"])
    exact, _ = register_matches(registered, register_hashes(["TAN WEI MING", "WANG SOON YEE, LARRY"]))
    assert exact.all()
    real = next(csv.DictReader(YARDSTICK.open()))["name"].split("(")[0].split(",")[0]
    assert privacy_report(pd.Series([real.lower()]), hashes)["register_full_name_matches"] == 1


def test_a_second_source_plugs_in(tokens) -> None:
    extra = pd.DataFrame(
        {"position": ["surname"], "ethnicity": ["Chinese"], "sex": ["unknown"], "token": ["ZHUGE"], "count": [50]}
    )
    both = combine_sources({"cea": load_table("cea_name_tokens"), "nlb": extra})
    row = both[(both.position == "surname") & (both.token == "Zhuge")].iloc[0]
    assert row["count"] == 50 and row["sources"] == "nlb"
    with pytest.raises(ValueError, match="lacks columns"):
        combine_sources({"bad": extra.drop(columns=["count"])})


def test_diversity_report() -> None:
    df = pd.DataFrame(
        {
            "first_name": ["A", "B", "A"],
            "middle_name": [None, "M", None],
            "last_name": ["X", "X", "X"],
            "full_name": ["X A", "X B", "X A"],
            "preferred_english_name": [None, "Ann", None],
        }
    )
    r = diversity_report(df)
    assert (r["unique_first_names"], r["unique_full_names"], r["duplicate_full_name_share"]) == (2, 2, 0.333333)


@pytest.mark.parametrize(
    ("registered", "synthetic", "english"),
    [
        ("JASON TAN WEI MING", "Tan Wei Ming", None),
        ("NURUL AINI BTE OSMAN", "Nurul Aini binte Osman", None),
        ("LIM WEIXIAN", "Lim Wei Xian", None),
        ("LIM WEI-XIAN", "Lim Weixian", None),
        ("KUMAR S/O RAMAN", "Kumar s/o Raman", None),
        ("DERRICK ONG BOON KIAT", "Ong Boon Kiat", "Derrick"),
    ],
    ids=["english-first-core", "bte", "spacing", "hyphen", "s/o", "english-plus-name"],
)
def test_privacy_gate_covers_name_forms(registered: str, synthetic: str, english: str | None) -> None:
    exact, _ = register_matches(pd.Series([synthetic]), register_hashes([registered]), pd.Series([english]))
    assert exact.all()
