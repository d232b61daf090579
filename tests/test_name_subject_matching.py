"""The rules that read the person's names match them without a pattern compiled per person
(``validate.find_retirement``, ``validate.find_subject_start``, ``places.mask_names``): each must find exactly what
the per-person pattern it replaced found, checked here against that pattern (built as before) on texts made to
hit the edges: names inside other words, hyphens and apostrophes, several spaces, names that are suffixes of
others."""

import random
import re

import pytest

from persona_assets.core.narratives.places import mask_names
from persona_assets.core.narratives.validate import DEGREE_PROFESSION, find_retirement, find_subject_start

PER_PERSON_RETIRED = (
    r"\b(?:he|she|{names})\s+(?:is|has|had|was)?\s*(?:now\s+|already\s+|recently\s+|happily\s+)?retired\b"
    r"|\b(?:he|she|{names})\s+(?:is|was)\s+(?:a|an)\s+(?:[\w-]+\s+){0,2}?retired\b"
    r"|\bsince\s+(?:his|her)\s+retirement\b|\bin\s+(?:his|her)\s+retirement\b|\b(?:a|as a)\s+retiree\b"
    r"|\benjoys\s+(?:his\s+|her\s+)?retirement\b"
)
PER_PERSON_DEGREE = (
    r"\b(?:he|she|{names})\s+(?:is|was)\s+(?:a|an)\s+(?:[\w-]+\s+){0,2}?"
    r"(lawyer|doctor|dentist|pharmacist|architect|professor|lecturer|surgeon|physician)\b"
)
NAMES = [
    ("tan wei ling", "wei ling", "tan"),
    ("siti nur aisyah binte mohamed", "siti", "nur"),
    ("rajan s/o ramasamy", "rajan"),
    ("lim", "ah lim"),
    ("o'neil tan", "o'neil"),
    (),
]
SUBJECTS = ["he", "she", "the", "ahe", "shell", "o'he", "mr.tan", "(she)", "she's", "her friend", "who", "he,", "x"]
VERBS = ["is ", "has ", "had ", "was ", "", "is now ", "was happily ", "  ", "recently ", "\t"]
TAILS = [
    "retired", "retired.", "retiree", "retirement", "retired-ish", "retiredly", "a lawyer", "an old family doctor",
    "a senior lecturer", "a very good old architect", "enjoys retirement", "since her retirement", "as a retiree",
    "a retired teacher", "an old retired", "a very happily retired", "a retiree",
]  # fmt: skip


def _per_person(pattern: str, names: tuple[str, ...]) -> re.Pattern[str]:
    alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or "(?!)"
    return re.compile(pattern.replace("{names}", alt))


def _texts(seed: int, n: int):
    rng = random.Random(seed)
    for _ in range(n):
        names = rng.choice(NAMES)
        pool = SUBJECTS + list(names) + [w for name in names for w in name.split()]
        parts = [
            rng.choice(["", "and ", "since ", ". ", "said "]) + rng.choice(pool) + rng.choice([" ", "  "])
            + rng.choice(VERBS) + rng.choice(TAILS)
            for _ in range(rng.randint(1, 4))
        ]  # fmt: skip
        yield " ".join(parts), names


@pytest.mark.parametrize("seed", range(8))
def test_retirement_and_degree_claims_match_the_per_person_patterns(seed: int) -> None:
    for low, names in _texts(seed, 3000):
        assert find_retirement(low, names) == [m.start() for m in _per_person(PER_PERSON_RETIRED, names).finditer(low)]
        found = any(find_subject_start(low, m.end(1), names) is not None for m in DEGREE_PROFESSION.finditer(low))
        assert found == bool(_per_person(PER_PERSON_DEGREE, names).search(low)), (low, names)


def test_a_match_for_someone_else_does_not_hide_the_claim_inside_it() -> None:
    # "the is a lawyer she retired": the two-word gap of "<subject> is a ... retired" spans "she retired"
    low = "the is a lawyer she retired"
    assert find_retirement(low, ()) == [low.index("she")]
    assert find_retirement("my father is a retired teacher", ("tan",)) == []


def test_subject_start_is_the_longest_name_at_a_word_boundary() -> None:
    low = "said tan wei ling is retired"
    assert find_subject_start(low, low.index(" is"), ("tan wei ling", "wei ling")) == low.index("tan")
    assert find_subject_start("the retired", 3, ()) is None  # "he" inside "the" is not a subject
    assert find_subject_start("she retired", 3, ()) == 0


PIECES = ["Tan", "Wei", "Wei-Ling", "Ling", "O'Neil", "O'", "Tanjong", "tan", "Ah", "Siti", "Nur", "Bin", "-", "'"]
PIECES += [" ", ", ", ".", "_", "9", "é", "Wei's", "Tan-", "Lee"]
NAME_POOL = ["Tan Wei Ling", "Wei-Ling Tan", "O'Neil Tan", "Siti Nur binte Ah", "Tan- Lee", "Ah Wei", None, "X"]


def _per_person_mask(text: str, names: list) -> str:
    tokens = {t for n in names if isinstance(n, str) for t in re.findall(r"[A-Za-z][\w'-]*", n) if len(t) > 1}
    if not tokens:
        return text
    return re.compile(r"\b(" + "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)) + r")\b").sub(
        "_", text
    )


@pytest.mark.parametrize("seed", range(4))
def test_mask_names_matches_the_per_person_pattern(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(5000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14)))
        names = rng.sample(NAME_POOL, rng.randint(0, 3))
        assert mask_names(text, names) == _per_person_mask(text, names), (text, names)
    assert mask_names("Tanjong Tan's wei-ling", ["Tan Wei-Ling"]) == "Tanjong _'s wei-ling"
