"""The name model: token pools from any number of name sources, composition by community convention, the
privacy gate and the diversity report.

A *name source* is a frame of one shape: ``source, position, ethnicity, sex, token, count`` (positions
``surname``, ``given``, ``father``, ``english`` plus the count rows ``given_count``, ``father_count``,
``has_english``; see ``census_sources/names.py``). The CEA register is the first source; NLB name authority
records or any other list plug in by producing the same shape (README, "Adding a name source").

Composition (``compose_names``), per resident, conditioned on ethnicity and sex:

- Chinese: surname (register counts, reweighted so the Census 2000 top-20 surnames take their census shares);
  one to three given syllables (the register's pattern counts); ``full_name`` surname first (``Tan Wei Ming``);
  ``preferred_english_name`` with the register's share of Chinese names that carry one, drawn from English names
  labelled for the resident's sex (``census_sources/annotations``).
- Malay: given names from the register's Malay names of the same sex; father's name from Malay fathers' names;
  ``full_name`` ``<given> bin|binte <father>``; ``last_name`` is the father's name.
- Indian: the same with ``s/o``/``d/o`` and Indian pools, conditioned on religion: each Indian token has the faith
  of a strict majority of the register names it occurs in (``census_sources/names.py``, ``classify_faiths``:
  muslim, sikh or other; a token without a majority is ``mixed``; English given names such as Daniel are
  ``christian``). Muslims get muslim and mixed tokens, Sikhs sikh and mixed, Christians christian, other and
  mixed, everyone else (Hindu, Buddhist, no religion …) other and mixed tokens, for both their given names and
  their father's name; a pool that would be empty falls back to the whole Indian pool. Malay
  names are not conditioned: the register's Malay names are the Muslim vocabulary itself, and it holds no
  names of the 1.1% of Malay residents of another faith.
- Others: an English given name for the resident's sex and a surname from the register's unclassified names
  (Eurasian, other Asian and Western names, and Indian names without ``S/O``).

No composed ``full_name`` (alone or after the English name) may equal a registered name form: composed names
are checked against the register's hashes and redrawn until none matches (``MAX_REDRAWS``); the gate then
counts exact matches (must be 0) and near misses (same tokens in another order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from census_sources.names import name_hash, token_set_hash
from persona_assets.core.paths import REPO_ROOT
from persona_assets.core.schema import NAME_FIELDS

SEX_TOKENS = {"Male": ("Male", "Unisex"), "Female": ("Female", "Unisex")}
MARKERS = {
    ("Malay", "Male"): "bin",
    ("Malay", "Female"): "binte",
    ("Indian", "Male"): "s/o",
    ("Indian", "Female"): "d/o",
}
MAX_REDRAWS = 20
#: Faith groups of Indian residents by religion, and the token faiths each draws from.
RELIGION_FAITH = {"Islam": "muslim", "Sikhism": "sikh", "Catholic": "christian", "Other Christians": "christian"}
FAITHS = ("muslim", "sikh", "christian", "other")
FAITH_TOKENS = {
    "muslim": {"muslim", "mixed"},
    "sikh": {"sikh", "mixed"},
    "christian": {"christian", "other", "mixed"},
    "other": {"other", "mixed"},
}
#: Sex of English given names: a hand-made annotation (not a statistic), see its README.
ENGLISH_LABELS = REPO_ROOT / "census_sources" / "annotations" / "english_given_names_sex.csv"


def title_token(token: str) -> str:
    """``JA'AFAR`` → ``Ja'afar``, ``SOON-LI`` → ``Soon-Li``: capitalise each hyphen part, not after apostrophes."""
    return "-".join(p[:1].upper() + p[1:].lower() for p in token.split("-"))


def combine_sources(sources: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack name sources of the common shape, summing counts of identical (position, ethnicity, sex, token)."""
    frames = []
    for name, df in sources.items():
        missing = {"position", "ethnicity", "sex", "token", "count"} - set(df.columns)
        if missing:
            raise ValueError(f"name source {name!r} lacks columns {sorted(missing)}")
        frames.append(df.assign(source=name))
    all_ = pd.concat(frames, ignore_index=True)
    all_["token"] = all_["token"].astype(str).str.strip().map(title_token)
    out = all_.groupby(["position", "ethnicity", "sex", "token"], as_index=False).agg(
        count=("count", "sum"), sources=("source", lambda s: ",".join(sorted(set(s))))
    )
    return out


def build_name_tokens(
    sources: dict[str, pd.DataFrame], census_surnames: pd.DataFrame, english_labels: pd.DataFrame
) -> pd.DataFrame:
    """The ``name_tokens`` table: counts plus sampling ``weight`` per token.

    - Chinese surnames: the Census 2000 top 20 get their share of Chinese residents (``count`` / the census's
      implied Chinese population), the other surnames share the rest ∝ register counts.
    - English names: sex from the hand-made labels; unlabelled names and labels 'not a given name' are dropped
      (``weight`` 0), unisex names serve both sexes.
    """
    tokens = combine_sources(sources)
    tokens["weight"] = tokens["count"].astype(float)
    # Chinese surname reweighting
    is_cs = (tokens["position"] == "surname") & (tokens["ethnicity"] == "Chinese")
    reg = tokens.loc[is_cs].set_index("token")["count"].astype(float)
    # The census groups some romanisations of one character ("Goh, Ng", "Tay, Teh", "Low, Lau"): a group's count
    # is shared among its spellings in proportion to the register's counts; a spelling may sit in two groups (Ng).
    share: dict[str, float] = {}
    for label, count in zip(census_surnames["surname"], census_surnames["count"], strict=True):
        variants = [title_token(v.strip()) for v in str(label).replace("/", ",").split(",") if v.strip()]
        present = [v for v in variants if v in reg.index]
        if not present:
            raise ValueError(f"census surname {label!r} matches no surname token in the name sources")
        weights = reg[present] / reg[present].sum()
        for v in present:
            share[v] = share.get(v, 0.0) + float(count) / CHINESE_RESIDENTS_2000 * float(weights[v])
    census_share = pd.Series(share)
    top = list(census_share.index)
    rest_mass = 1.0 - float(census_share.sum())
    rest = reg.drop(index=top)
    new = pd.concat([census_share, rest / rest.sum() * rest_mass])
    tokens.loc[is_cs, "weight"] = tokens.loc[is_cs, "token"].map(new).to_numpy()
    # English names: sex from labels
    labels = english_labels.assign(name=english_labels["name"].map(title_token)).set_index("name")["sex"]
    is_en = tokens["position"] == "english"
    tokens.loc[is_en, "sex"] = tokens.loc[is_en, "token"].map(labels).fillna("unlabelled")
    tokens.loc[is_en & ~tokens["sex"].isin(["Male", "Female", "Unisex"]), "weight"] = 0.0
    en = (
        tokens[is_en]
        .groupby(["position", "sex", "token"], as_index=False)
        .agg(count=("count", "sum"), weight=("weight", "sum"), sources=("sources", "first"))
    )
    en["ethnicity"] = "any"
    tokens = pd.concat([tokens[~is_en], en], ignore_index=True)
    return tokens.sort_values(["position", "ethnicity", "sex", "token"]).reset_index(drop=True)


#: Census 2000 Chinese residents implied by the top-20 table (rank-1 Tan: 237,800 = 9.5%), so that the top-20
#: counts become shares of all Chinese residents (PROVENANCE.md 15.1 checks 2.43-2.64 M; Census 2000: 2.51 M).
CHINESE_RESIDENTS_2000 = 237_800 / 0.095


@dataclass
class Pool:
    tokens: np.ndarray
    p: np.ndarray

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if n == 0:
            return np.array([], dtype=object)
        if len(self.tokens) == 0:
            raise ValueError("empty name pool")
        return self.tokens[rng.choice(len(self.tokens), size=n, p=self.p)]


def _pool(
    tokens: pd.DataFrame,
    position: str,
    ethnicity: str | None = None,
    sexes: tuple[str, ...] | None = None,
    only: set[str] | None = None,
) -> Pool:
    d = tokens[tokens["position"] == position]
    if ethnicity is not None:
        d = d[d["ethnicity"] == ethnicity]
    if sexes is not None:
        d = d[d["sex"].isin(sexes)]
    if only is not None:
        d = d[d["token"].isin(only)]
    d = d[d["weight"] > 0].groupby("token")["weight"].sum()
    return Pool(d.index.to_numpy(dtype=object), (d / d.sum()).to_numpy())


def classify_token_faiths(
    tokens: pd.DataFrame, english_given: set[str] | frozenset[str] = frozenset(), ethnicity: str = "Indian"
) -> dict[str, str]:
    """Token -> ``muslim``, ``sikh`` or ``other`` (the faith of a strict majority of the register names it occurs
    in), else ``mixed``; from the ``faith_<faith>`` count rows of the name source. English given names
    (``english_given``: Daniel, Joseph, Rita) are ``christian`` where the rule says ``other`` and ``mixed`` where it
    says muslim or sikh (an English name says nothing of Islam or Sikhism)."""
    rows = tokens[tokens["position"].str.startswith("faith_") & (tokens["ethnicity"] == ethnicity)]
    table = rows.pivot_table(index="token", columns="position", values="count", aggfunc="sum", fill_value=0)
    out: dict[str, str] = {}
    for token, counts in table.iterrows():
        total = counts.sum()
        top = counts.idxmax()
        faith = top.removeprefix("faith_") if counts[top] * 2 > total else "mixed"
        if token in english_given:
            faith = "christian" if faith == "other" else "mixed"
        out[str(token)] = faith
    return out


class NameModel:
    """Token pools by community, prepared once from the ``name_tokens`` table."""

    def __init__(self, tokens: pd.DataFrame) -> None:
        t = tokens
        given_names = set(t.loc[(t["position"] == "english") & (t["weight"] > 0), "token"])
        others = t[~((t["position"] == "surname") & t["token"].isin(given_names))]  # "Eleanor William" is no name
        self.surname = {"Chinese": _pool(t, "surname", "Chinese"), "Others": _pool(others, "surname", "unclassified")}
        self.english = {s: _pool(t, "english", None, SEX_TOKENS[s]) for s in ("Male", "Female")}
        self.given: dict[tuple[str, ...], Pool] = {("Chinese", s): _pool(t, "given", "Chinese") for s in SEX_TOKENS}
        self.father: dict[tuple[str, ...], Pool] = {}
        for eth in ("Malay", "Indian"):
            for s in ("Male", "Female"):
                self.given[(eth, s)] = _pool(t, "given", eth, (s,))
            self.father[(eth,)] = _pool(t, "father", eth)
        self.token_faith = classify_token_faiths(t, given_names)
        for faith in FAITHS:
            allowed = {k for k, v in self.token_faith.items() if v in FAITH_TOKENS[faith]}
            for s in ("Male", "Female"):
                pool = _pool(t, "given", "Indian", (s,), allowed)
                self.given[("Indian", s, faith)] = pool if len(pool.tokens) else self.given[("Indian", s)]
            pool = _pool(t, "father", "Indian", None, allowed)
            self.father[("Indian", faith)] = pool if len(pool.tokens) else self.father[("Indian",)]
        self.given_count = {e: _pool(t, "given_count", e) for e in ("Chinese", "Malay", "Indian")}
        self.father_count = {e: _pool(t, "father_count", e) for e in ("Malay", "Indian")}
        has = t[(t["position"] == "has_english") & (t["ethnicity"] == "Chinese")].groupby("token")["count"].sum()
        self.chinese_english_share = float(has.get("Yes", has.get("yes", 0)) / has.sum()) if has.sum() else 0.0

    def _count(self, pool: Pool, rng: np.random.Generator, n: int) -> np.ndarray:
        return pool.draw(rng, n).astype(int)

    def compose(
        self, ethnicity: np.ndarray, sex: np.ndarray, rng: np.random.Generator, religion: np.ndarray | None = None
    ) -> pd.DataFrame:
        """Names for residents of ``ethnicity`` and ``sex`` (and ``religion``, which Indian names follow)."""
        n = len(ethnicity)
        out = {c: np.full(n, None, dtype=object) for c in NAME_FIELDS}
        faith = (
            np.array([RELIGION_FAITH.get(r, "other") for r in religion], dtype=object)
            if religion is not None
            else np.full(n, None, dtype=object)
        )
        for eth in ("Chinese", "Malay", "Indian", "Others"):
            for s in ("Male", "Female"):
                group = (ethnicity == eth) & (sex == s)
                for f in (*FAITHS, None) if eth == "Indian" else (None,):
                    idx = np.flatnonzero(group & (faith == f)) if eth == "Indian" else np.flatnonzero(group)
                    if len(idx):
                        self._compose_group(eth, s, idx, out, rng, f)
        return pd.DataFrame(out)

    def _tokens(self, pool: Pool, counts: np.ndarray, rng: np.random.Generator) -> list[list[str]]:
        """``counts[j]`` distinct-position tokens per record, drawn in one vectorised call."""
        width = int(counts.max()) if len(counts) else 0
        grid = pool.draw(rng, len(counts) * width).reshape(len(counts), width) if width else None
        return [list(grid[j, : int(c)]) for j, c in enumerate(counts)] if grid is not None else []

    def _compose_group(
        self,
        eth: str,
        s: str,
        idx: np.ndarray,
        out: dict[str, np.ndarray],
        rng: np.random.Generator,
        faith: str | None = None,
    ) -> None:
        m = len(idx)
        if eth == "Chinese":
            surname = self.surname["Chinese"].draw(rng, m)
            given = [
                " ".join(g)
                for g in self._tokens(
                    self.given[("Chinese", s)], np.clip(self._count(self.given_count["Chinese"], rng, m), 1, 3), rng
                )
            ]
            has_en = rng.random(m) < self.chinese_english_share
            english = self.english[s].draw(rng, m)
            out["first_name"][idx] = given
            out["last_name"][idx] = surname
            out["full_name"][idx] = [f"{a} {b}" for a, b in zip(surname, given, strict=True)]
            out["preferred_english_name"][idx] = np.where(has_en, english, None)
        elif eth in ("Malay", "Indian"):
            given_pool = self.given[(eth, s, faith)] if faith else self.given[(eth, s)]
            father_pool = self.father[(eth, faith)] if faith else self.father[(eth,)]
            given = self._tokens(given_pool, np.clip(self._count(self.given_count[eth], rng, m), 1, 3), rng)
            father = [
                " ".join(f)
                for f in self._tokens(father_pool, np.clip(self._count(self.father_count[eth], rng, m), 1, 2), rng)
            ]
            marker = MARKERS[(eth, s)]
            out["first_name"][idx] = [g[0] for g in given]
            out["middle_name"][idx] = [" ".join(g[1:]) or None for g in given]
            out["last_name"][idx] = father
            out["full_name"][idx] = [f"{' '.join(g)} {marker} {f}" for g, f in zip(given, father, strict=True)]
        else:
            first = self.english[s].draw(rng, m)
            last = self.surname["Others"].draw(rng, m)
            out["first_name"][idx] = first
            out["last_name"][idx] = last
            out["full_name"][idx] = [f"{a} {b}" for a, b in zip(first, last, strict=True)]


_HASH_SETS: dict[tuple[int, str, str], tuple[frozenset[str], frozenset[str]]] = {}


def _hash_sets(hashes: pd.DataFrame) -> tuple[frozenset[str], frozenset[str]]:
    """The register's digests as sets, built once per process for a given table (200k strings: worth caching
    across the partitions of one run)."""
    col = hashes["hash"]
    key = (len(hashes), str(col.iloc[0]) if len(col) else "", str(col.iloc[-1]) if len(col) else "")
    if key not in _HASH_SETS:
        kind = hashes["kind"]
        _HASH_SETS[key] = (frozenset(col[kind == "full_name"]), frozenset(col[kind == "token_set"]))
    return _HASH_SETS[key]


def register_matches(
    full_names: pd.Series, hashes: pd.DataFrame, english: pd.Series | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(exact, near) boolean masks: the full name, or English name + full name, equals a registered name form
    (compared by ``compare_key``: case, spacing, hyphens and marker spellings ignored); or is made of the same
    tokens as one in another order."""
    full, sets = _hash_sets(hashes)
    exact = full_names.map(lambda x: name_hash(x) in full).to_numpy(dtype=bool)
    if english is not None:
        with_en = [
            isinstance(e, str) and name_hash(f"{e} {n}") in full for e, n in zip(english, full_names, strict=True)
        ]
        exact |= np.asarray(with_en, dtype=bool)
    near = full_names.map(lambda x: token_set_hash(x) in sets).to_numpy(dtype=bool) & ~exact
    return exact, near


def compose_names(
    model: NameModel,
    ethnicity: np.ndarray,
    sex: np.ndarray,
    rng: np.random.Generator,
    hashes: pd.DataFrame,
    religion: np.ndarray | None = None,
) -> tuple[pd.DataFrame, int]:
    """Names for every resident (Indian names agree with ``religion`` when given); composed names that equal a
    registered full name are redrawn. Returns the names and how many redraws were needed."""
    names = model.compose(ethnicity, sex, rng, religion)
    redraws = 0
    for _ in range(MAX_REDRAWS):
        exact, _near = register_matches(names["full_name"], hashes, names["preferred_english_name"])
        if not exact.any():
            break
        redraws += int(exact.sum())
        idx = np.flatnonzero(exact)
        names.iloc[idx] = model.compose(
            ethnicity[idx], sex[idx], rng, None if religion is None else religion[idx]
        ).to_numpy()
    return names, redraws


def privacy_report(full_names: pd.Series, hashes: pd.DataFrame, english: pd.Series | None = None) -> dict[str, int]:
    exact, near = register_matches(full_names, hashes, english)
    return {
        "names_checked": int(len(full_names)),
        "register_full_name_matches": int(exact.sum()),
        "near_misses_same_tokens_other_order": int(near.sum()),
    }


def diversity_report(names: pd.DataFrame) -> dict[str, float]:
    full = names["full_name"].dropna()
    return {
        "records": int(len(names)),
        "unique_first_names": int(names["first_name"].nunique()),
        "unique_middle_names": int(names["middle_name"].dropna().nunique()),
        "unique_last_names": int(names["last_name"].nunique()),
        "unique_full_names": int(full.nunique()),
        "duplicate_full_name_share": round(float(1 - full.nunique() / len(full)) if len(full) else 0.0, 6),
        "records_with_preferred_english_name": int(names["preferred_english_name"].notna().sum()),
    }
