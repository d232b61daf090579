"""Text measures for the narrative report: tokens, distinct-n, near-duplicates (MinHash), common 3-grams and nouns,
and example anchoring. Pure Python, numpy and pandas (no Dagster, no NLP library).

- **Tokens**: OpenAI's ``o200k_base`` encoding (tiktoken), the tokenizer family of GPT-OSS-120B, the model that
  wrote NVIDIA's personas, so lengths compare with NVIDIA's figures. The encoding file is the copy litellm ships
  (no download).
- **Words**: lower-case runs of letters, digits and apostrophes; the person's own name tokens are replaced by
  ``<name>`` first, so "Tan enjoys badminton" and "Lim enjoys badminton" count as the same text.
- **distinct-n** (Li et al., 2016): distinct n-grams / all n-grams of one field, over all its texts.
- **Near-duplicates**: word 3-gram shingle sets compared by Jaccard similarity; candidate pairs from MinHash
  (128 hashes, 32 bands of 4: a pair at Jaccard 0.6 is a candidate with probability 0.99), each candidate pair
  whose signatures agree on at least ``0.6 - ESTIMATE_MARGIN`` of the hashes then checked exactly, so a pair is
  only counted at a true Jaccard of at least the threshold (a band shared by more than ``BUCKET_ALL_PAIRS`` texts
  contributes its neighbouring pairs and pairs with its first text, to stay linear on templated corpora).
  Identical texts are near-duplicates outright and go through MinHash once.
- **Nouns** (a heuristic, no tagger): the head of each noun phrase, taken as the last word of a run of content
  words that follows a determiner, possessive, number or preposition and ends at punctuation or a function word
  ("at the community **centre** on Sundays"), plus the last word of each list item ("evening **walks**").
- **Example anchoring**: a worked example's *distinctive terms* are derived from its answer in code
  (``distinctive_terms``): its content words of 4+ letters and its runs of 2-3 content words, less everything that
  appears in any other example, in the system prompt, in a planning area's name, in the example person's name or
  in a short hand list of everyday words (``GENERIC_WORDS``); a phrase is dropped when all its words are such.
  Terms are kept per field. A text is anchored to an example when it uses at least ``ANCHOR_MIN_TERMS`` distinct
  terms of the same field of that example (a word inside a matched phrase counts once); a record is anchored when
  one of its texts is.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from persona_assets.core.narratives.examples import ALL_EXAMPLES, WorkedExample
from persona_assets.core.narratives.prompts import PROFILES
from persona_assets.core.schema import LIST_FIELDS, PLANNING_AREAS

TOKEN_ENCODING = "o200k_base"
NEAR_DUPLICATE_JACCARD = 0.6
SHINGLE_WORDS = 3
MINHASH_PERMUTATIONS, MINHASH_BANDS = 128, 32
BUCKET_ALL_PAIRS = 50  # texts sharing a band: all pairs are checked up to this many, else neighbours and the first
#: a candidate pair is checked exactly when its MinHash estimate is at least the threshold less this (the estimate's
#: standard error at Jaccard 0.6 over 128 hashes is 0.043: a true pair is skipped with probability about 1e-6)
ESTIMATE_MARGIN = 0.2
ANCHOR_MIN_TERMS = 2
NAME_TOKEN = "<name>"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Function words: never content, and the boundaries of noun phrases.
STOPWORDS = _words(
    """
    a about above after again against all also although always am among an and any are around as at be because
    been before being below between both but by can could did do does doing down during each either enough even
    ever every few for from further had has have having he her here hers herself him himself his how however i
    if in into is it its itself just least less like many may me might more most much must my myself near
    neither never no nor not now of off often on once one only or other others our ours ourselves out over own
    per quite rather really same several she should since so some such than that the their theirs them
    themselves then there these they this those though through to too towards under until up upon us very was we
    were what when where whether which while who whom whose why will with within without would yet you your
    yours
    """
)
#: Words that open a noun phrase (with the numbers below).
NP_OPENERS = _words(
    """
    a an the his her their its my our your this that these those every each some many several few both all of at
    in on with for from by near around into about like over under after before during across along
    """
)
NUMBER_WORDS = _words(
    """
    one two three four five six seven eight nine ten twelve twenty
    """
)
#: Common verbs, adverbs and adjectives that end a noun phrase or are never its head (a small hand list).
NOT_NOUNS = _words(
    """
    enjoys enjoy enjoyed enjoying loves love loved loving likes liked liking prefers prefer preferred plays play
    played playing spends spend spent spending visits visit visited visiting takes take took taking makes make
    made making goes go went going keeps keep kept keeping cooks cook cooked cooking reads read reading watches
    watch watched watching wants want hopes hope plans plan helps help helped helping works work worked working
    lives live lived living knows know known is are was were has have had be been being does do did often always
    usually sometimes rarely never still also well much very more most best better good great new old local
    traditional favourite favorite own other many every each own whole share shares shared continue continues
    learn learning become becomes improve expand stay stays grow teach teaches
    """
)


#: Everyday words that say nothing specific about a person (a small hand list; the rest of what an example does
#: not own is derived: other examples' words, the prompts' words, planning areas).
GENERIC_WORDS = _words(
    """
    able across afternoon ago ahead almost along already another anyone anything away back become becomes best
    birthday bit busy called came cannot care careful close come comes corner could daily day days dream dreams
    early easy else evening evenings everyone everything exactly fact family far feel feels find first five
    friday friends full give gives going good great group hand happy hard heads help helping helps high hold
    home hours idea important keen kind know known large last late later laugh least left less life little long
    longer look looks lot loves made main make makes many meet mind minute monday month months morning mornings
    most mostly much must name need never next nice night nights often once open others part people place places
    plain point quiet ready real right round same saturday saturdays says school second seen share short side
    simple small something sometimes soon start still stay sunday sundays take takes tell things think thinks
    three thursday time times today together tuesday turn twice under usual various want wants week weekend
    weekends weeks well wednesday whole words work world year yearly years young binte bin room rooms flat flats
    hdb block blocks mother father parents parent son sons daughter daughters child children brother brothers
    sister sisters wife husband grandmother grandfather grandparents relatives proud regular eats writes drives
    trains shares queues four six seven eight nine ten
    """
)

# ------------------------------------------------------------------------------------------------ words, tokens


def list_items(value: Any) -> list[str]:
    """A list field's items as strings (a numpy array from parquet, a list or a tuple); anything else: none."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return [str(x) for x in value] if isinstance(value, list | tuple) else []


def field_text(field: str, value: Any) -> str:
    """One field's answer as one text: a list field's items joined by ``"; "``, a missing text empty."""
    return "; ".join(list_items(value)) if field in LIST_FIELDS else ("" if value is None else str(value))


def list_name_tokens(names: Iterable[object]) -> tuple[str, ...]:
    """Lower-case tokens of a person's names (2+ letters)."""
    return tuple(sorted({t for n in names if isinstance(n, str) for t in _WORD.findall(n.lower()) if len(t) > 1}))


_WORD = re.compile(r"[a-z0-9']+(?:/o)?")


def split_words(text: str, name_tokens: Sequence[str] = ()) -> list[str]:
    """Lower-case words of ``text``, the person's name (a run of its tokens, markers such as ``bin`` and ``d/o``
    included) replaced by one ``<name>``."""
    names = set(name_tokens)
    out: list[str] = []
    for w in _WORD.findall(text.lower().replace("’", "'")):
        w = w.removesuffix("'s") if w.removesuffix("'s") in names else w
        if w in names:
            if not out or out[-1] != NAME_TOKEN:
                out.append(NAME_TOKEN)
        else:
            out.append(w)
    return out


@cache
def _encoding():  # noqa: ANN202 - tiktoken.Encoding
    """tiktoken's ``o200k_base``, read from the copy litellm ships (offline)."""
    if not os.environ.get("TIKTOKEN_CACHE_DIR"):
        spec = importlib.util.find_spec("litellm")
        if spec and spec.origin:
            bundled = Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"
            if bundled.is_dir():
                os.environ["TIKTOKEN_CACHE_DIR"] = str(bundled)
    import tiktoken

    return tiktoken.get_encoding(TOKEN_ENCODING)


def count_tokens(texts: Sequence[str]) -> np.ndarray:
    """Tokens of each text (``o200k_base``). One call per text: ``encode_ordinary_batch`` makes a thread-pool future
    per text, which for short texts costs more than the encoding (2.5x slower on 2 cores)."""
    encode = _encoding().encode_ordinary
    return np.fromiter((len(encode(t)) for t in texts), dtype=np.int64, count=len(texts))


# ------------------------------------------------------------------------------------------------ diversity


def ngrams(words: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return list(zip(*(words[i:] for i in range(n)), strict=False)) if n > 0 else []


@dataclass(frozen=True)
class EncodedWords:
    """A list of texts' words as integer ids: ``ids`` of every word, text after text; ``lengths``, words per text;
    ``vocabulary``, the words in order of first occurrence (``ids`` index it)."""

    ids: np.ndarray
    lengths: np.ndarray
    vocabulary: list[str]

    def grams(self, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Each n-gram as one int64 code, exact (base ``len(vocabulary)``), with the index of its text; ``None``
        when the vocabulary is too large for the codes to fit (over 2**21 words for 3-grams)."""
        if n < 1:
            raise ValueError(f"n-grams need n >= 1, not {n}")
        size = max(1, len(self.vocabulary))
        if size**n >= 2**63:
            return None
        text_of, position = self.positions()
        at = np.flatnonzero(self.lengths[text_of] - position >= n)
        code = self.ids[at]
        for k in range(1, n):
            code = code * size + self.ids[at + k]
        return text_of[at], code

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Per word of ``ids``: the index of its text and its position in that text."""
        text_of = np.repeat(np.arange(len(self.lengths), dtype=np.int64), self.lengths)
        return text_of, np.arange(len(self.ids), dtype=np.int64) - (np.cumsum(self.lengths) - self.lengths)[text_of]

    def word_lists(self) -> list[list[str]]:
        """The texts' words again (the tuple paths, for a vocabulary too large for integer codes)."""
        words = [self.vocabulary[i] for i in self.ids.tolist()]
        bounds = np.concatenate([[0], np.cumsum(self.lengths)]).tolist()
        return [words[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    def decode(self, code: int, n: int) -> tuple[str, ...]:
        size, words = max(1, len(self.vocabulary)), []
        for _ in range(n):
            code, i = divmod(code, size)
            words.append(self.vocabulary[i])
        return tuple(reversed(words))


def encode_words(word_lists: Sequence[Sequence[str]]) -> EncodedWords:
    """``word_lists`` as ``EncodedWords`` (pandas' hash table numbers the words, in order of first occurrence)."""
    lengths = np.fromiter((len(w) for w in word_lists), dtype=np.int64, count=len(word_lists))
    flat = np.fromiter(chain.from_iterable(word_lists), dtype=object, count=int(lengths.sum()))
    ids, vocabulary = pd.factorize(flat, sort=False) if len(flat) else (np.zeros(0, np.int64), np.array([]))
    return EncodedWords(ids.astype(np.int64), lengths, [str(w) for w in vocabulary])


def distinct_n(word_lists: Sequence[Sequence[str]] | EncodedWords, n: int) -> float:
    """Distinct n-grams / all n-grams (0 when there are none)."""
    if n < 1:
        raise ValueError(f"distinct-n needs n >= 1, not {n}")
    encoded = word_lists if isinstance(word_lists, EncodedWords) else encode_words(word_lists)
    grams = encoded.grams(n)
    if grams is None:  # a vocabulary too large for integer codes: the n-grams as tuples
        all_grams = [g for words in encoded.word_lists() for g in ngrams(words, n)]
        return len(set(all_grams)) / len(all_grams) if all_grams else 0.0
    _, code = grams
    return len(_sorted_distinct(code)) / len(code) if len(code) else 0.0


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (uint64 arithmetic wraps, which is what it wants)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _word_hashes(vocabulary: Iterable[str]) -> np.ndarray:
    """A stable 64-bit hash per word (blake2b: the same in every process, whatever ``PYTHONHASHSEED``)."""
    return np.array(
        [int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little") for w in vocabulary],
        dtype=np.uint64,
    )


def _shingles_by_text(word_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Each text's set of word ``SHINGLE_WORDS``-gram hashes (a text of fewer words: one shingle of all of them),
    as (text index, shingle hash) pairs sorted by text then hash, without repeats. Vectorised: a stable hash per
    distinct word, then each shingle's hash is mixed from its words' hashes in order."""
    encoded = encode_words(word_lists)
    lengths, ids = encoded.lengths, encoded.ids
    hashes = _word_hashes(encoded.vocabulary)[ids]
    text_of, position = encoded.positions()
    span = np.minimum(lengths[text_of] - position, SHINGLE_WORDS)  # words of the shingle starting here
    # a shingle starts at every position with SHINGLE_WORDS words ahead, and at the first word of a shorter text
    starts_here = (span == SHINGLE_WORDS) | ((position == 0) & (lengths[text_of] < SHINGLE_WORDS))
    first = np.flatnonzero(starts_here)
    n = span[first]
    shingle = _mix(hashes[first] ^ np.uint64(0x243F6A8885A308D3))
    for k in range(1, SHINGLE_WORDS):
        more = n > k
        shingle[more] = _mix(shingle[more] ^ hashes[first[more] + k])
    text = text_of[first]
    if not len(text):
        return text, shingle
    order = np.lexsort((shingle, text))
    text, shingle = text[order], shingle[order]
    keep = np.concatenate([[True], (text[1:] != text[:-1]) | (shingle[1:] != shingle[:-1])])
    return text[keep], shingle[keep]


def _near_duplicate_links(
    word_lists: Sequence[Sequence[str]], threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The near-duplicate pairs of ``word_lists``, folded per *distinct* text (the same words; distinct texts are
    numbered in order of first occurrence): ``(which, copies, earlier, later)`` -- each text's distinct text, how
    many texts share it, and whether a distinct text has a near-duplicate before / after it in that order
    (``later`` is only meant to be OR-ed with ``earlier``, as ``find_near_duplicates`` does).

    Linear in the corpus and vectorised, so that it holds at 148,000 records x 13 fields: only one copy of each
    distinct text goes through MinHash; each distinct shingle is hashed by the permutations once (texts share most
    of their 3-grams); bands are grouped by sorting; a candidate pair is checked exactly once, only when the
    agreement of its two signatures (an estimate of its Jaccard similarity) is within ``ESTIMATE_MARGIN`` of the
    threshold, and not when it can change nothing (both texts flagged, the later one as a repeat)."""
    n = len(word_lists)
    first: dict[tuple[str, ...], int] = {}  # words -> index of the distinct text
    which = np.fromiter((first.setdefault(tuple(w), len(first)) for w in word_lists), dtype=np.int64, count=n)
    distinct = list(first)
    copies = np.bincount(which, minlength=len(distinct))
    earlier = np.zeros(len(distinct), dtype=bool)
    later = np.zeros(len(distinct), dtype=bool)
    if len(distinct) < 2:
        return which, copies, earlier, later
    text, shingle = _shingles_by_text(distinct)
    sizes = np.bincount(text, minlength=len(distinct))
    has = np.flatnonzero(sizes > 0)
    if len(has) < 2:
        return which, copies, earlier, later
    offsets = np.concatenate([[0], np.cumsum(sizes[has])[:-1]])
    unique, inverse = np.unique(shingle, return_inverse=True)
    seeds = _mix(np.arange(1, MINHASH_PERMUTATIONS + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    by_permutation = np.empty((MINHASH_PERMUTATIONS, len(has)), dtype=np.uint64)
    inverse = inverse.ravel()
    for j in range(MINHASH_PERMUTATIONS):  # one permutation at a time: 1-d reductions, ~5x faster than 2-d slices
        by_permutation[j] = np.minimum.reduceat(_mix(unique ^ seeds[j])[inverse], offsets)  # each shingle once
    signatures = np.ascontiguousarray(by_permutation.T)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    row_of = np.full(len(distinct), -1, dtype=np.int64)
    row_of[has] = np.arange(len(has))
    rows = MINHASH_PERMUTATIONS // MINHASH_BANDS
    codes = []
    for b in range(MINHASH_BANDS):
        key = np.zeros(len(has), dtype=np.uint64)
        for r in range(b * rows, (b + 1) * rows):
            key = _mix(key ^ signatures[:, r])
        left, right = _band_pairs(key, has)
        codes.append(np.minimum(left, right) * len(distinct) + np.maximum(left, right))
        if len(codes) == 8:  # fold every few bands: each candidate pair once, and bounded memory
            codes = [_sorted_distinct(np.concatenate(codes))]
    pairs = _sorted_distinct(np.concatenate(codes))
    lo, hi = pairs // len(distinct), pairs % len(distinct)
    estimate = np.empty(len(pairs))
    for j in range(0, len(pairs), 1 << 14):  # the signatures' agreement estimates the Jaccard similarity
        a, c = row_of[lo[j : j + (1 << 14)]], row_of[hi[j : j + (1 << 14)]]
        estimate[j : j + (1 << 14)] = (signatures[a] == signatures[c]).mean(axis=1)
    likely = estimate >= threshold - ESTIMATE_MARGIN
    lo, hi = lo[likely], hi[likely]
    for j in range(0, len(lo), 1 << 14):  # the likely pairs' exact Jaccard similarity, a chunk at a time
        a, c = lo[j : j + (1 << 14)], hi[j : j + (1 << 14)]
        similar = _jaccard(shingle, bounds, a, c) >= threshold
        later[a[similar]] = True
        earlier[c[similar]] = True
    return which, copies, earlier, later


def _sorted_distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by a sort: numpy 2.4's ``unique`` hashes instead, ~10x slower on millions of int64."""
    values = np.sort(values)
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if len(values) else values


def _gather(bounds: np.ndarray, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the shingles of each of ``texts`` (``bounds``: where each text's run starts), concatenated, and
    how many each text has."""
    sizes = bounds[texts + 1] - bounds[texts]
    offsets = np.cumsum(sizes) - sizes
    return np.repeat(bounds[texts] - offsets, sizes) + np.arange(int(sizes.sum())), sizes


def _jaccard(shingle: np.ndarray, bounds: np.ndarray, a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The shingle Jaccard similarity of the text pairs ``(a[k], c[k])``, vectorised: each pair's shingles of both
    texts tagged with the pair and sorted; a text's shingles are distinct, so the repeats are the intersection."""
    (pos_a, size_a), (pos_c, size_c) = _gather(bounds, a), _gather(bounds, c)
    pair = np.concatenate([np.repeat(np.arange(len(a)), size_a), np.repeat(np.arange(len(c)), size_c)])
    values = np.concatenate([shingle[pos_a], shingle[pos_c]])
    order = np.lexsort((values, pair))
    pair, values = pair[order], values[order]
    repeat = (pair[1:] == pair[:-1]) & (values[1:] == values[:-1])
    inter = np.bincount(pair[1:][repeat], minlength=len(a))
    return inter / (size_a + size_c - inter)


def find_near_duplicates(word_lists: Sequence[Sequence[str]], threshold: float = NEAR_DUPLICATE_JACCARD) -> np.ndarray:
    """Per text: does another text of the list have a shingle Jaccard similarity of at least ``threshold``?
    Identical texts (the same words, at least one) are near-duplicates of each other outright."""
    which, copies, earlier, later = _near_duplicate_links(word_lists, threshold)
    words = np.fromiter((len(w) > 0 for w in word_lists), dtype=bool, count=len(word_lists))
    return ((copies > 1)[which] & words) | (earlier | later)[which]


def find_repeats(word_lists: Sequence[Sequence[str]], threshold: float = NEAR_DUPLICATE_JACCARD) -> np.ndarray:
    """Per text: is it a near-duplicate of a text *earlier* in the list (an identical copy included)? Dropping or
    rewriting the repeats and keeping the rest leaves no near-duplicate pair among the kept texts: of any pair,
    the later text is a repeat."""
    which, _, earlier, _ = _near_duplicate_links(word_lists, threshold)
    n = len(word_lists)
    seen = np.zeros(len(earlier), dtype=bool)
    copy = np.zeros(n, dtype=bool)
    for i, d in enumerate(which.tolist()):  # a later occurrence of the same words
        copy[i], seen[d] = seen[d] and len(word_lists[i]) > 0, True
    return copy | earlier[which]


def _band_pairs(key: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs of one band (``key``: the band's hash per text of ``members``) as two arrays: all pairs of a
    bucket of up to ``BUCKET_ALL_PAIRS`` texts; a larger one contributes its neighbouring pairs and pairs with its
    first text (in index order), to stay linear on templated corpora. Vectorised (no loop over buckets)."""
    order = np.argsort(key, kind="stable")
    texts, sorted_key = members[order], key[order]
    starts_group = np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]])
    group = np.cumsum(starts_group) - 1
    group_start = np.flatnonzero(starts_group)
    group_end = np.concatenate([group_start[1:], [len(texts)]])
    size = (group_end - group_start)[group]
    position = np.arange(len(texts))
    big = size > BUCKET_ALL_PAIRS
    after = np.where(big, 0, group_end[group] - position - 1)  # later members of the same small bucket
    first = np.repeat(position, after)
    second = first + 1 + np.arange(len(first)) - np.repeat(np.cumsum(after) - after, after)
    neighbour = np.flatnonzero(big[:-1] & ~starts_group[1:])
    later = np.flatnonzero(big & (position - group_start[group] >= 2))
    left = np.concatenate([texts[first], texts[neighbour], texts[group_start[group[later]]]])
    right = np.concatenate([texts[second], texts[neighbour + 1], texts[later]])
    return left, right


# ------------------------------------------------------------------------------------------------ frequent terms


def count_trigrams(word_lists: Sequence[Sequence[str]] | EncodedWords) -> Counter[str]:
    """3-grams over all texts (each text's own repeats counted once): how many texts have each, words joined by a
    space (words have none)."""
    encoded = word_lists if isinstance(word_lists, EncodedWords) else encode_words(word_lists)
    grams = encoded.grams(3)
    counts: Counter[str] = Counter()
    if grams is None:  # a vocabulary too large for integer codes
        for words in encoded.word_lists():
            counts.update({" ".join(g) for g in ngrams(words, 3)})
        return counts
    text, code = grams
    if not len(code):
        return counts
    order = np.lexsort((text, code))
    text, code = text[order], code[order]
    first = np.concatenate([[True], (code[1:] != code[:-1]) | (text[1:] != text[:-1])])  # once per text
    code = code[first]
    starts = np.flatnonzero(np.concatenate([[True], code[1:] != code[:-1]]))
    texts_with = np.diff(np.append(starts, len(code)))
    for c, k in zip(code[starts].tolist(), texts_with.tolist(), strict=True):
        counts[" ".join(encoded.decode(c, 3))] += k
    return counts


def find_nouns(words: Sequence[str]) -> list[str]:
    """Noun-phrase heads by the heuristic in the module docstring (``words`` from ``split_words``; punctuation is
    not in them, so call this per sentence or clause)."""
    heads: list[str] = []
    run: list[str] = []
    opened = False
    for w in [*words, "."]:
        if w in NP_OPENERS or w in NUMBER_WORDS:
            if opened and run:
                heads.append(run[-1])
            run, opened = [], True
        elif w == "." or w in STOPWORDS or w in NOT_NOUNS or w.endswith("ly"):
            if opened and run:
                heads.append(run[-1])
            run, opened = [], False
        elif opened and w != NAME_TOKEN and not w.isdigit() and len(w) > 2:
            run.append(w)
    return heads


def split_clauses(text: str) -> list[str]:
    return [c for c in re.split(r"[.,;:!?()]", text) if c.strip()]


# ------------------------------------------------------------------------------------------------ anchoring


@cache
def _generic_words() -> frozenset[str]:
    """Words no example owns: the system prompts' words and the planning areas' names."""
    words: set[str] = set()
    words |= GENERIC_WORDS | NOT_NOUNS
    for profile in PROFILES.values():
        words |= set(split_words(profile.system_prompt()))
    for area in PLANNING_AREAS:
        words |= set(split_words(area))
    return frozenset(words)


def _clauses_of(value: object) -> list[str]:
    """A text's clauses, or a list's items."""
    if isinstance(value, list | tuple | np.ndarray):
        return [str(x) for x in value]
    return split_clauses(str(value))


def _example_terms(example: WorkedExample) -> dict[str, set[str]]:
    """Candidate terms of one example per field: content words of 4+ letters and runs of 2-3 content words."""
    names = list_name_tokens(example.record.get(k) for k in ("full_name", "preferred_english_name", "middle_name"))
    out: dict[str, set[str]] = {}
    for field, value in example.answer.items():
        terms = out.setdefault(field, set())
        for clause in _clauses_of(value):
            words = split_words(clause, names)
            content = [w if (w not in STOPWORDS and w != NAME_TOKEN and not w.isdigit()) else None for w in words]
            for i, w in enumerate(content):
                if w and len(w) >= 4:
                    terms.add(w)
                for n in (2, 3):
                    gram = content[i : i + n]
                    if len(gram) == n and all(gram):
                        terms.add(" ".join(gram))  # type: ignore[arg-type]
    return out


@cache
def distinctive_terms() -> dict[str, dict[str, frozenset[str]]]:
    """Example key -> field -> the terms only that example uses (see the module docstring)."""
    candidates = {e.key: _example_terms(e) for e in ALL_EXAMPLES}
    generic = _generic_words()
    out: dict[str, dict[str, frozenset[str]]] = {}
    for key, fields in candidates.items():
        others = set().union(*(t for k, f in candidates.items() if k != key for t in f.values()))
        other_words = {w for t in others for w in t.split()}
        out[key] = {}
        for field, terms in fields.items():
            keep = set()
            for term in terms:
                words = term.split()
                if term in others or all(w in generic or w in other_words for w in words):
                    continue  # another example's, or made only of words the prompt or other examples use
                if len(words) == 1 and len(term) < 4:
                    continue
                keep.add(term)
            out[key][field] = frozenset(keep)
    return out


def list_grams(words: Sequence[str]) -> frozenset[str]:
    """Every 1-, 2- and 3-gram of ``words``, joined by spaces."""
    return frozenset(" ".join(g) for n in (1, 2, 3) for g in ngrams(words, n))


def find_terms(words: Sequence[str], terms: frozenset[str]) -> frozenset[str]:
    """The terms of ``terms`` that are 1-, 2- or 3-grams of ``words``: ``list_grams(words) & terms`` without
    building every n-gram (the validator runs this on every text of every answer)."""
    if not terms:
        return frozenset()
    joined = f" {' '.join(words)} "
    return frozenset(t for t in terms if t.count(" ") < 3 and f" {t} " in joined)


def match_terms(grams: frozenset[str], terms: frozenset[str]) -> set[str]:
    """The terms of ``terms`` among ``grams`` (``list_grams``), a word inside a matched phrase counted once."""
    found = grams & terms
    if len(found) < ANCHOR_MIN_TERMS:
        return set(found)
    phrases = [t for t in found if " " in t]
    return {t for t in found if " " in t or not any(t in p.split() for p in phrases)}
