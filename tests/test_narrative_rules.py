"""The validator's rules for the errors of issue 13, each with texts that must pass and texts that must fail (most
failing texts are verbatim or near-verbatim from real generations of the embedded model)."""

import pytest

from persona_assets.core.narratives.places import find_misspelt_areas, find_places
from persona_assets.core.narratives.prompts import FULL
from persona_assets.core.narratives.validate import check_text
from persona_assets.core.schema import PLANNING_AREAS

BASE = {
    "uuid": "u1",
    "full_name": "Sharon Lee Mei Ling",
    "first_name": "Mei Ling",
    "last_name": "Lee",
    "preferred_english_name": "Sharon",
    "sex": "Female",
    "age": 38,
    "marital_status": "Married",
    "religion": "Buddhism",
    "education_level": "Diploma & Professional Qualification",
    "labour_force_status": "Employed",
    "occupation": "Associate Professionals & Technicians",
    "industry": "Financial & Insurance Services",
    "planning_area": "Bishan",
    "dwelling_type": "HDB 4-Room Flats",
}


def reasons(field: str, text: str, **over) -> list[str]:
    return [r.split(":")[0] for r in check_text(field, text, {**BASE, **over}, PLANNING_AREAS)]


CASES = {
    "profession": (
        [
            ("culinary_persona", "Sharon is a keen home cook who makes laksa for her colleagues every Friday.", {}),
            ("culinary_persona", "Sharon hopes to open a small café one day, after her children finish school.", {}),
            (
                "culinary_persona",
                "Sharon is a talented chef at the hotel kitchen where she has worked for years.",
                {"industry": "Accommodation & Food Services", "occupation": "Service & Sales Workers"},
            ),
            (
                "culinary_persona",
                "Sharon is a regular at the hawker centre near her block, where she buys chicken rice.",
                {},
            ),
            (
                "culinary_persona",
                "Sharon, a retired chef, still cooks a feast every Chinese New Year.",
                {"occupation": "Retired", "labour_force_status": "Outside Labour Force", "industry": None, "age": 66},
            ),
            ("professional_persona", "Sharon is a chef at a hotel in Orchard.", {}),  # the work field is not checked
        ],
        [
            (
                "culinary_persona",
                "Sharon is a chef who creates delicious dishes such as fish and rice and noodles.",
                {},
            ),
            ("culinary_persona", "Sharon is a culinary master who has won numerous cooking competitions.", {}),
            ("culinary_persona", "Sharon is a passionate and knowledgeable Cantonese chef who cooks for clients.", {}),
            ("culinary_persona", "Sharon recently opened a restaurant serving her family's recipes.", {}),
            ("arts_persona", "Sharon is a professional dancer who performs at the Esplanade every month.", {}),
            (
                "culinary_persona",
                "Sharon runs a food stall at the market, selling her own kueh.",
                {"occupation": "Homemaker", "labour_force_status": "Outside Labour Force", "industry": None},
            ),
        ],
    ),
    "life_event": (
        [
            (
                "family_persona",
                "Sharon and her husband have two young children who attend a nearby primary school.",
                {},
            ),
            (
                "family_persona",
                "Sharon lives with her parents and helps her younger brother with his homework.",
                {"age": 15, "marital_status": "Single", "occupation": "Student"},
            ),
            ("career_goals_and_ambitions", "She wants to save enough to enjoy her retirement by the sea.", {"age": 30}),
            ("professional_persona", "Sharon has 15 years of experience in insurance claims.", {}),
            ("family_persona", "Sharon adores her grandchildren and takes them to the park every Sunday.", {"age": 64}),
        ],
        [
            (
                "family_persona",
                "Sharon is a single mother who works hard to support her son.",
                {"age": 15, "marital_status": "Single", "occupation": "Student"},
            ),
            ("family_persona", "Sharon and her husband live with their two teenage daughters.", {"age": 24}),
            ("family_persona", "Sharon spends her weekends with her grandchildren at the zoo.", {"age": 30}),
            ("professional_persona", "Sharon has 30 years of experience in insurance claims.", {}),
            (
                "sports_persona",
                "Since she retired, Sharon plays mahjong and walks every morning.",
                {"age": 35, "occupation": "Homemaker", "labour_force_status": "Outside Labour Force", "industry": None},
            ),
        ],
    ),
    "travel": (
        [
            ("travel_persona", "Sharon flies to Taipei every year and explores the night markets.", {}),
            ("travel_persona", "Sharon returned to Singapore after a week in Bali with her family.", {}),
            ("travel_persona", "Sharon takes her nephews to Singapore Zoo during the school holidays.", {}),
            ("travel_persona", "Sharon likes visiting Singapore's heritage museums on quiet weekends.", {}),
        ],
        [
            ("travel_persona", "Sharon wants to take her children to Singapore for a summer holiday.", {}),
            ("travel_persona", "Sharon is from a small town in Bishan and loves exploring new places.", {}),
            ("travel_persona", "Sharon plans a trip to Singapore with her colleagues next year.", {}),
            ("travel_persona", "Sharon travels to Singapore every December to see the lights.", {}),
        ],
    ),
    "place": (
        [
            ("persona", "Sharon studied at Nanyang Polytechnic and lives near Bishan Park.", {}),
            ("arts_persona", "Sharon visits the National Gallery and the Esplanade with friends.", {}),
            ("travel_persona", "Sharon spends Sundays in Tanglin, walking around the Botanic Gardens.", {}),
        ],
        [
            ("persona", "Sharon studied accounting at Ang Mo Kio University before joining her firm.", {}),
            ("travel_persona", "Sharon spends Sundays in Tanlin, walking around the gardens.", {}),
            ("sports_persona", "Sharon jogs along the canal in Pungol every evening.", {}),
            ("persona", "Sharon took evening classes at Tampines Polytechnic.", {}),
        ],
    ),
    "education": (
        [
            ("career_goals_and_ambitions", "She hopes to earn a degree in finance through part-time study.", {}),
            ("persona", "Sharon handles her tasks with a high degree of care.", {}),
            ("professional_persona", "Sharon holds a degree in accounting from NUS.", {"education_level": "Degree"}),
            ("professional_persona", "Sharon is studying for her diploma at a polytechnic.", {}),
        ],
        [
            ("professional_persona", "Sharon holds a degree in accounting from NUS.", {}),
            (
                "persona",
                "Sharon graduated from the National University of Singapore with honours.",
                {"education_level": "Below Secondary"},
            ),
            ("professional_persona", "Sharon has a master's degree in business administration.", {}),
            ("persona", "Sharon studied at NTU before joining the bank.", {"education_level": "Secondary"}),
        ],
    ),
    "dwelling": (
        [
            ("family_persona", "Sharon and her husband share a four-room flat in Bishan with their son.", {}),
            (
                "family_persona",
                "Sharon and her husband live in a condominium near the MRT station.",
                {"dwelling_type": "Condominiums and Other Apartments"},
            ),
            ("professional_persona", "Sharon sells condominium units for a property agency.", {}),
        ],
        [
            ("family_persona", "Sharon and her husband live in a spacious condominium with a pool.", {}),
            ("family_persona", "Sharon's family lives in a landed house with a big garden.", {}),
            ("family_persona", "Sharon and her husband share a three-room flat with their son.", {}),
            ("family_persona", "Sharon lives in an HDB flat with her parents.", {"dwelling_type": "Landed Properties"}),
        ],
    ),
}


@pytest.mark.parametrize(
    ("rule", "field", "text", "over", "fails"),
    [
        (rule, f, t, o, fails)
        for rule, (passing, failing) in CASES.items()
        for fails, cases in ((False, passing), (True, failing))
        for f, t, o in cases
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 25 else None,
)
def test_rule(rule: str, field: str, text: str, over: dict, fails: bool) -> None:
    assert (rule in reasons(field, text, **over)) is fails, reasons(field, text, **over)


def test_an_age_followed_by_a_relation_is_someone_elses() -> None:
    assert "age" not in reasons("family_persona", "Sharon dotes on her 10-year-old son and their cat.")
    assert "age" in reasons("persona", "Sharon is a 52-year-old analyst in Bishan.")


def test_the_name_rule_accepts_the_second_given_name_of_malay_and_indian_names() -> None:
    rec = {
        "full_name": "Muhammad Haziq bin Roslan",
        "first_name": "Muhammad",
        "middle_name": "Haziq",
        "last_name": "Roslan",
        "sex": "Male",
    }
    assert "name" not in reasons("sports_persona", "Haziq plays futsal with his friends every Friday night.", **rec)


def test_places_found_and_misspellings_exclude_the_persons_own_name() -> None:
    assert find_places("Sharon walks from Bishan to the Botanic Gardens and Orchard Road.") == [
        "Bishan",
        "Botanic Gardens",
        "Orchard Road",
    ]
    assert find_places("Tan Kim Keat cooks at home.", ["Tan Kim Keat"]) == []  # a subzone that is also a name
    assert find_places("Sharon loves Singapore.") == []
    assert find_misspelt_areas("She cycles to Tanlin on Sundays.") == [("Tanlin", "Tanglin")]
    assert find_misspelt_areas("She meets Clement on Sundays.", ["Clement Tan"]) == []


def test_length_bounds_follow_the_profile() -> None:
    short = "Sharon plays badminton in Bishan every Sunday with her colleagues."
    assert "length" not in reasons("hobbies_and_interests", short)
    assert "length" in [r.split(":")[0] for r in check_text("hobbies_and_interests", short, BASE, (), FULL)]


def test_a_denied_spouse_is_no_spouse_and_a_single_mother_is_not_married() -> None:
    widowed = {"marital_status": "Widowed"}
    assert "marital" not in reasons(
        "family_persona", "Sharon has no wife, husband or spouse, and lives alone.", **widowed
    )
    assert "marital" not in reasons(
        "family_persona", "Sharon lives on her own, without a husband or spouse.", **widowed
    )
    assert "marital" in reasons("family_persona", "Sharon and her husband share a flat in Bishan.", **widowed)
    assert "marital" in reasons("persona", "Sharon is a single mother who works long hours.")
    # verbatim from the embedded model (a married homemaker, compact v3)
    widow = "Vadeevu Menaka d/o Rajoo is a quiet, caring widow in Ang Mo Kio who loves to cook and read."
    assert "marital" in reasons("persona", widow, first_name="Vadeevu")
    assert "marital" in reasons("persona", "Sharon is divorced and lives alone in Bishan.")
    assert "marital" not in reasons("persona", widow, first_name="Vadeevu", **widowed)
    for fine in (
        "Sharon's neighbour, who is a widow, comes over for tea.",
        "Sharon's sister is divorced and lives nearby.",
        "Sharon takes her widowed mother to the market.",
        "Sharon cooks for a widow next door.",
        "Sharon is a friend of a widow from church.",
        "Sharon's kitchen is separated from the living room by a sliding door.",
        "Sharon is divorced from the stress of work on weekends.",
    ):
        assert "marital" not in reasons("family_persona", fine), fine


def test_a_relatives_faith_is_not_the_persons() -> None:
    assert "religion" not in reasons(
        "cultural_background", "Sharon's grandmother, who was a devout Catholic, taught her to sew."
    )
    assert "religion" in reasons("cultural_background", "Sharon is a devout Catholic who attends Mass every Sunday.")
    assert "religion" not in reasons(
        "cultural_background", "Sharon offers incense at a Taoist temple at Chinese New Year."
    )


def test_going_to_another_religions_place_of_worship_is_practising_it() -> None:
    # verbatim from the embedded model (a Buddhist retiree, make run, benchmarks/results/compact_profile_records.md)
    assert "religion" in reasons(
        "cultural_background", "Jade Liu speaks English at home and practices Buddhism at church."
    )
    assert "religion" in reasons("cultural_background", "Sharon prays at the mosque every Friday.", religion="Hinduism")
    assert "religion" in reasons("persona", "Sharon attends a gurdwara near her flat.", religion="Catholic")
    # verbatim from the embedded model (a Hindu homemaker, compact v2)
    member = "Vadeevu is also an active member of their local church and participates in religious activities."
    assert "religion" in reasons("family_persona", member, religion="Hinduism", first_name="Vadeevu")
    assert "religion" not in reasons("family_persona", "Sharon is a member of the residents' committee.")
    # her own religion's place, a relative taken there, a temple (Buddhist, Taoist, Hindu or Sikh), a landmark seen
    assert "religion" not in reasons("cultural_background", "Sharon attends church every Sunday.", religion="Catholic")
    assert "religion" not in reasons("family_persona", "Sharon takes her mother to church on Sundays.")
    assert "religion" not in reasons("cultural_background", "Sharon goes to the temple on the first day of the month.")
    assert "religion" not in reasons(
        "travel_persona", "Sharon likes photographing the Sultan Mosque and the old churches of the city."
    )


def test_working_at_a_workplace_is_a_job_for_someone_not_working() -> None:
    retired = {"occupation": "Retired", "labour_force_status": "Outside Labour Force", "industry": None, "age": 66}
    # verbatim from the embedded model (a retired widow, make run, benchmarks/results/compact_profile_records.md)
    text = "Josephine works at a public library and teaches workshops on Chinese literature to students."
    assert "occupation" in reasons("professional_persona", text, **retired)
    assert "occupation" not in reasons("professional_persona", text)  # employed: a job is hers to have
    assert "occupation" not in reasons("professional_persona", "Sharon worked at a bank for 30 years.", **retired)
    assert "occupation" not in reasons("hobbies_and_interests", "Sharon works at her calligraphy daily.", **retired)
    # verbatim from the embedded model (a retired woman of 60): the job is over, not claimed
    ended = "Ching Han Ting has retired from her career as a teacher and is now an active senior citizen."
    assert "occupation" not in reasons("professional_persona", ended, **retired)
    assert "occupation" not in reasons("professional_persona", "Sharon used to work as a clerk.", **retired)
    assert "occupation" not in reasons("family_persona", "Sharon's son works as an engineer.", **retired)
    # a retired person who is still the breadwinner (the fixture's labelled violation) stays flagged
    breadwinner = "Sharon is a retired woman who is the sole breadwinner for her two children."
    assert "occupation" in reasons("family_persona", breadwinner, **retired)
    unemployed = "Sharon is unemployed and has been working as a software developer for years."
    assert "occupation" in reasons("professional_persona", unemployed, occupation="Unemployed")
    for job in (
        "Sharon supports her family as the sole breadwinner.",  # a relative named, the claim still hers
        "Sharon retired from nursing but works as a tutor now.",
        "Once a week Sharon works at a hawker stall.",
    ):
        assert "occupation" in reasons("professional_persona", job, **retired), job
    for ended in ("Sharon lost her job last year.", "After retiring from her job Sharon took up painting."):
        assert "occupation" not in reasons("professional_persona", ended, occupation="Unemployed"), ended


def test_a_retired_title_is_retirement_for_someone_employed() -> None:
    # verbatim from the embedded model (an employed professional of 49, compact v3's after run)
    text = "Gerard is a retired professional who has been a musician for many years, playing classical music."
    assert "occupation" in reasons("arts_persona", text, first_name="Gerard")
    assert "occupation" in reasons("persona", "Sharon is a happily retired grandmother in Bedok.")
    assert "life_event" in reasons("persona", "Sharon is a retired nurse who loves her garden.", age=40)
    for fine in (
        "Sharon's father is a retired teacher who still grows chillies on the corridor.",
        "Sharon is a member of a retired teachers' choir that sings at the community centre.",
    ):
        assert "occupation" not in reasons("persona", fine), fine
    retired = {"occupation": "Retired", "labour_force_status": "Outside Labour Force", "industry": None, "age": 66}
    assert "occupation" not in reasons("persona", "Sharon is a retired nurse who loves her garden.", **retired)


def test_a_job_title_is_a_job_for_someone_not_working() -> None:
    retired = {"occupation": "Retired", "labour_force_status": "Outside Labour Force", "industry": None, "age": 66}
    # verbatim from the embedded model (a retired widow of 66, benchmarks/results/compact_profile_records.md)
    text = (
        "Josephine Chiang Peck Jun is a quiet, independent librarian in Bedok who writes books on Chinese culture "
        "and spends most of her time reading and writing."
    )
    assert "occupation" in reasons("persona", text, **retired)
    assert "occupation" in reasons("persona", "Sharon is an accountant at a small firm.", occupation="Unemployed")
    assert "occupation" not in reasons("persona", text)  # employed: a title is hers to have
    for fine in (
        "Josephine is a retired librarian who writes books about Chinese literature.",
        "Josephine is a former school teacher who now volunteers at the library.",
        "Josephine's son is an engineer and her daughter a nurse.",
        "Josephine was a nurse for thirty years before she retired.",
        "Josephine hopes that one day she is a manager again.",
        "Josephine is a keen writer of letters to her grandchildren.",
    ):
        assert "occupation" not in reasons("persona", fine, **retired), fine
    student = {"occupation": "Student", "labour_force_status": "Outside Labour Force", "industry": None, "age": 19}
    aspiring = "Sharon is an aspiring engineer studying at a polytechnic."
    assert "occupation" not in reasons("persona", aspiring, **student)
    assert "occupation" not in reasons("persona", "Sharon is an engineering student at a polytechnic.", **student)


def test_a_relatives_profession_is_not_the_persons() -> None:
    assert "profession" not in reasons(
        "cultural_background", "Sharon's mother is a teacher and her father a carpenter."
    )
    assert "profession" in reasons("cultural_background", "Sharon is a piano teacher who gives lessons every evening.")


def test_a_text_reusing_the_shown_examples_terms_is_anchored_and_others_are_not() -> None:
    from dataclasses import replace

    from persona_assets.core.narratives.examples import choose_example
    from persona_assets.core.narratives.prompts import COMPACT

    uuids = [f"00000000-0000-5000-8000-{i:012d}" for i in range(40)]
    shown_arjun = next(u for u in uuids if choose_example(u).key == "arjun")
    shown_other = next(u for u in uuids if choose_example(u).key != "arjun")
    text = "Sharon builds payment software at a telecoms company, the colleague everyone asks for help."

    def anchored(text: str, uuid: str, profile=COMPACT) -> bool:
        found = check_text("professional_persona", text, {**BASE, "uuid": uuid}, PLANNING_AREAS, profile)
        return any(r.startswith("anchor") for r in found)

    assert anchored(text, shown_arjun)
    assert not anchored(text, shown_other)  # never shown: her own words
    assert not anchored("Sharon checks insurance claims for a large firm.", shown_arjun)
    assert not anchored(text, shown_arjun, replace(COMPACT, shows_example=False))  # a profile without examples


def test_find_terms_is_the_n_gram_intersection_it_replaces() -> None:
    """The validator's fast term lookup equals ``list_grams(words) & terms`` (1- to 3-word terms, whole words)."""
    import random

    from persona_assets.core.narratives.metrics import distinctive_terms, find_terms, list_grams, split_words

    terms = frozenset(t for fields in distinctive_terms().values() for ts in fields.values() for t in ts)
    terms |= {"crane operator at", "a b c d", "port"}  # a 4-word term never matches, as list_grams has no 4-grams
    vocab = sorted({w for t in terms for w in t.split()}) + ["the", "and", "Wei", "Ming"]
    rng = random.Random(7)
    for _ in range(300):
        words = split_words(" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40))), ["wei", "ming"])
        assert find_terms(words, terms) == list_grams(words) & terms
    assert find_terms(["the", "port"], frozenset()) == frozenset()
