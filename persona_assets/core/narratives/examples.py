"""Worked examples for the ``compact`` prompt profile: fictional residents written for this project, each with an
answer that passes the validator against its own record (tested).

Small instruction-tuned models follow an example far better than a description of the format, but they also
borrow its content: with one example for every record, the first version's crane operator, his quay crane at the
port, his bak kut teh and his two teenage sons came back, reworded, in other people's texts (issue 13). So there
are several examples, as unlike each other as the record allows (sex, age, heritage, faith, work or status,
household, area), and each record is shown one of them, chosen by a seeded hash of its uuid
(``choose_example``): the same record always gets the same example (so a repair shares the first request's
prompt prefix and the cache key is stable), and each example is seen by about a sixth of the records, which
dilutes whatever it anchors. Rotation alone did not stop the pasting: shown the example again in a repair, the
1.5B model pasted it again, so a repair after a ``copy`` or ``anchor`` rejection goes without it
(``prompts.render_repair_messages``). The ``full`` profile, for capable models, shows none.

``RETIRED_EXAMPLES`` are examples earlier prompt versions showed (the one worked example of prompt version
``2026-11-25.4``). They are no longer shown; the validator's copy rule and the report's example-anchoring figure
still check them, so that texts written under the old prompts are measured against what their model saw.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WorkedExample:
    key: str
    record: dict[str, Any]
    answer: dict[str, Any]


def _b5(o: str, c: str, e: str, a: str, n: str) -> dict[str, str]:
    return {"openness": o, "conscientiousness": c, "extraversion": e, "agreeableness": a, "neuroticism": n}


EXAMPLES: tuple[WorkedExample, ...] = (
    WorkedExample(
        "rohani",
        {
            "full_name": "Rohani binte Jaafar",
            "first_name": "Rohani",
            "last_name": "Jaafar",
            "age": 66,
            "sex": "Female",
            "marital_status": "Widowed",
            "religion": "Islam",
            "language_at_home": "Malay",
            "education_level": "Below Secondary",
            "labour_force_status": "Outside Labour Force",
            "occupation": "Retired",
            "planning_area": "Pasir Ris",
            "dwelling_type": "HDB 3-Room Flats",
            "life_stage": "pre-retirement / active senior",
            "big_five": _b5("average", "high", "high", "very high", "low"),
        },
        {
            "persona": "Rohani binte Jaafar is a warm, talkative widow in Pasir Ris who remembers every "
            "neighbour's birthday and always has kuih ready for visitors.",
            "professional_persona": "Rohani retired after years on a garment factory line and now spends her "
            "mornings helping at the surau's kindergarten registration.",
            "sports_persona": "Rohani joins the silver aerobics class at the void deck three mornings a week and "
            "never misses the stretching.",
            "arts_persona": "Rohani hums old P. Ramlee songs while she sews baju kurung for her granddaughters "
            "before Hari Raya.",
            "travel_persona": "Rohani prefers bus rides to her sister's kampung in Johor and dreams of performing "
            "the umrah in Mecca.",
            "culinary_persona": "Rohani's rendang takes a whole afternoon, and she buys her lontong from the same "
            "Pasir Ris hawker every Saturday.",
            "family_persona": "Rohani lives with her youngest son's family, and her late husband's photo still "
            "hangs above the sofa.",
            "cultural_background": "Rohani speaks Malay at home, fasts every Ramadan and keeps her mother's recipe "
            "book of festive cookies.",
            "skills_and_expertise": "Sewing by hand and machine, cooking for large gatherings and keeping the "
            "neighbourhood's news in order.",
            "skills_and_expertise_list": ["sewing", "festive cooking", "organising neighbours"],
            "hobbies_and_interests": "Aerobics with friends, Malay radio dramas and tending potted chilli plants "
            "along the corridor.",
            "hobbies_and_interests_list": ["aerobics", "radio dramas", "potted chillies"],
            "career_goals_and_ambitions": "She hopes to stay healthy enough to make the umrah pilgrimage and to "
            "teach her granddaughters to sew.",
        },
    ),
    WorkedExample(
        "arjun",
        {
            "full_name": "Arjun s/o Selvam",
            "first_name": "Arjun",
            "last_name": "Selvam",
            "age": 29,
            "sex": "Male",
            "marital_status": "Single",
            "religion": "Hinduism",
            "language_at_home": "Tamil",
            "education_level": "Degree",
            "labour_force_status": "Employed",
            "occupation": "Professionals",
            "industry": "Information & Communications",
            "planning_area": "Punggol",
            "dwelling_type": "HDB 5-Room and Executive Flats",
            "life_stage": "young adult",
            "big_five": _b5("high", "average", "low", "average", "average"),
        },
        {
            "persona": "Arjun s/o Selvam is a quiet, curious software engineer in Punggol who reads the manual "
            "before touching any new gadget.",
            "professional_persona": "Arjun writes payment software for a telecoms firm and is the colleague "
            "others ask when a test suite fails at midnight.",
            "sports_persona": "Arjun cycles the Punggol waterfront park connector at dawn and tracks every ride in "
            "a spreadsheet.",
            "arts_persona": "Arjun plays the mridangam with a small temple ensemble and streams Carnatic concerts "
            "while he codes.",
            "travel_persona": "Arjun saves his leave for a yearly trip to his grandparents' village near Madurai "
            "and a hiking week somewhere new.",
            "culinary_persona": "Arjun cannot cook much beyond rasam, so he is a regular at the thosai stall near "
            "his office.",
            "family_persona": "Arjun lives with his parents and his older sister, and he drives his father to the "
            "clinic every month.",
            "cultural_background": "Arjun speaks Tamil at home, lights the oil lamp with his mother at Deepavali "
            "and visits the temple on Fridays.",
            "skills_and_expertise": "Backend programming, test automation and explaining technical faults in "
            "plain words.",
            "skills_and_expertise_list": ["backend programming", "test automation", "mridangam"],
            "hobbies_and_interests": "Dawn cycling, Carnatic percussion and collecting mechanical keyboards.",
            "hobbies_and_interests_list": ["cycling", "Carnatic music", "mechanical keyboards"],
            "career_goals_and_ambitions": "He wants to lead a small engineering team within five years and pay "
            "off his parents' flat.",
        },
    ),
    WorkedExample(
        "chloe",
        {
            "full_name": "Lim Hui Min",
            "first_name": "Hui Min",
            "last_name": "Lim",
            "preferred_english_name": "Chloe",
            "age": 17,
            "sex": "Female",
            "marital_status": "Single",
            "religion": "Other Christians",
            "language_at_home": "English",
            "education_level": "Secondary",
            "labour_force_status": "Outside Labour Force",
            "occupation": "Student",
            "planning_area": "Serangoon",
            "dwelling_type": "Condominiums and Other Apartments",
            "life_stage": "student",
            "big_five": _b5("very high", "low", "high", "high", "high"),
        },
        {
            "persona": "Chloe Lim Hui Min is a lively junior college student in Serangoon who doodles in every "
            "margin and worries about exams a week too early.",
            "professional_persona": "Chloe is in her first year of junior college, where she studies literature "
            "and history and edits the school magazine.",
            "sports_persona": "Chloe plays netball for her school on Wednesdays, mostly for the friends on the team.",
            "arts_persona": "Chloe fills sketchbooks with comic strips about her classmates and sings alto in the "
            "church youth choir.",
            "travel_persona": "Chloe has been to Taipei with her family and wants to backpack around Japan after "
            "her A-levels.",
            "culinary_persona": "Chloe queues for bubble tea after school and loves her grandmother's steamed egg "
            "with rice.",
            "family_persona": "Chloe lives with her parents and her younger brother, whom she tutors in maths in "
            "exchange for chores.",
            "cultural_background": "Chloe speaks English at home and Mandarin with her grandmother, and goes to "
            "church with her family on Sundays.",
            "skills_and_expertise": "Drawing comics, editing articles and keeping a choir section in tune.",
            "skills_and_expertise_list": ["comic drawing", "editing", "alto singing"],
            "hobbies_and_interests": "Sketching, choir practice, bubble tea with friends and fantasy novels.",
            "hobbies_and_interests_list": ["sketching", "choir", "fantasy novels"],
            "career_goals_and_ambitions": "She hopes to study illustration or journalism at university and to "
            "publish a webcomic.",
        },
    ),
    WorkedExample(
        "chee_keong",
        {
            "full_name": "Ong Chee Keong",
            "first_name": "Chee Keong",
            "last_name": "Ong",
            "age": 52,
            "sex": "Male",
            "marital_status": "Married",
            "religion": "Taoism",
            "language_at_home": "Chinese Dialects",
            "education_level": "Secondary",
            "labour_force_status": "Employed",
            "occupation": "Craftsmen & Related Trades Workers",
            "industry": "Construction",
            "planning_area": "Woodlands",
            "dwelling_type": "HDB 4-Room Flats",
            "life_stage": "mid-career",
            "big_five": _b5("low", "very high", "average", "low", "average"),
        },
        {
            "persona": "Ong Chee Keong is a blunt, hard-working electrician from Woodlands who tests every "
            "circuit twice and says exactly what he thinks.",
            "professional_persona": "Chee Keong wires new HDB blocks for a contractor and trains the younger "
            "electricians on site safety.",
            "sports_persona": "Chee Keong rarely exercises beyond climbing site stairs, but he watches "
            "Premier League matches late at night.",
            "arts_persona": "Chee Keong listens to Teochew opera on the radio and grows bonsai on his flat's ledge.",
            "travel_persona": "Ong Chee Keong takes his family to Hat Yai by coach every December and bargains "
            "hard at the night market.",
            "culinary_persona": "Chee Keong eats braised duck rice for lunch most days and cooks Teochew porridge "
            "on Sunday nights.",
            "family_persona": "Chee Keong and his wife have a daughter in polytechnic and a son serving national "
            "service.",
            "cultural_background": "Chee Keong speaks Teochew at home, offers incense at the family altar and "
            "never skips the Hungry Ghost Festival prayers.",
            "skills_and_expertise": "Electrical installation, reading wiring diagrams and coaching apprentices on "
            "safety.",
            "skills_and_expertise_list": ["electrical wiring", "safety coaching", "bonsai care"],
            "hobbies_and_interests": "Bonsai, football on television and Teochew opera.",
            "hobbies_and_interests_list": ["bonsai", "football", "Teochew opera"],
            "career_goals_and_ambitions": "He wants to earn his licensed electrical worker certificate and run "
            "a small team of his own.",
        },
    ),
    WorkedExample(
        "marissa",
        {
            "full_name": "Marissa Pereira",
            "first_name": "Marissa",
            "last_name": "Pereira",
            "age": 41,
            "sex": "Female",
            "marital_status": "Divorced/Separated",
            "religion": "Catholic",
            "language_at_home": "English",
            "education_level": "Diploma & Professional Qualification",
            "labour_force_status": "Employed",
            "occupation": "Associate Professionals & Technicians",
            "industry": "Health & Social Services",
            "planning_area": "Marine Parade",
            "dwelling_type": "HDB 5-Room and Executive Flats",
            "life_stage": "young family years",
            "big_five": _b5("high", "high", "very high", "high", "low"),
        },
        {
            "persona": "Marissa Pereira is a cheerful, organised radiographer in Marine Parade who laughs "
            "loudly and keeps a label maker in her handbag.",
            "professional_persona": "Marissa takes X-rays at a polyclinic and is known for calming anxious "
            "children before a scan.",
            "sports_persona": "Marissa swims laps at the Katong pool before work and joins a dragon-boat crew on "
            "Saturdays.",
            "arts_persona": "Marissa sings at her parish's Christmas carolling and sews costumes for her son's "
            "school plays.",
            "travel_persona": "Marissa Pereira plans one road trip up the Malaysian coast each school holiday "
            "with a printed itinerary.",
            "culinary_persona": "Marissa cooks her grandmother's devil curry at Christmas and buys laksa from "
            "East Coast Road on weekends.",
            "family_persona": "Marissa shares custody of her ten-year-old son and lives with her mother, who "
            "fetches him from school.",
            "cultural_background": "Marissa grew up speaking English and a little Kristang, goes to Mass on "
            "Sundays and keeps the family's Christmas traditions.",
            "skills_and_expertise": "Medical imaging, putting patients at ease and planning family logistics to "
            "the minute.",
            "skills_and_expertise_list": ["radiography", "patient care", "dragon boating"],
            "hobbies_and_interests": "Swimming, dragon boating, carolling and sewing costumes.",
            "hobbies_and_interests_list": ["swimming", "dragon boat", "sewing costumes"],
            "career_goals_and_ambitions": "She wants to specialise in ultrasound and to take her son to see "
            "Portugal one day.",
        },
    ),
    WorkedExample(
        "haziq",
        {
            "full_name": "Muhammad Haziq bin Roslan",
            "first_name": "Muhammad",
            "middle_name": "Haziq",
            "last_name": "Roslan",
            "age": 19,
            "sex": "Male",
            "marital_status": "Single",
            "religion": "Islam",
            "language_at_home": "Malay",
            "education_level": "Post-Secondary (Non-Tertiary)",
            "labour_force_status": "Outside Labour Force",
            "occupation": "National Service",
            "planning_area": "Jurong East",
            "dwelling_type": "HDB 4-Room Flats",
            "life_stage": "national service",
            "big_five": _b5("average", "average", "very high", "high", "average"),
        },
        {
            "persona": "Muhammad Haziq bin Roslan is an easy-going national serviceman from Jurong East who can "
            "make anyone laugh during a long route march.",
            "professional_persona": "Haziq is serving his national service as a signaller and plans his weekends "
            "around book-out days.",
            "sports_persona": "Haziq plays futsal with his old classmates at the Jurong East sports hall every "
            "Friday night.",
            "arts_persona": "Haziq makes short comedy videos on his phone and beatboxes at family weddings.",
            "travel_persona": "Haziq went on a class trip to Bandung and wants to ride a motorbike across Vietnam "
            "with friends.",
            "culinary_persona": "Haziq is always hungry after camp and heads straight for nasi lemak and teh "
            "tarik at the corner coffee shop.",
            "family_persona": "Haziq lives with his parents and two younger sisters, and he helps his father fix "
            "the family car.",
            "cultural_background": "Haziq speaks Malay at home, joins Friday prayers at the mosque and looks "
            "forward to visiting relatives at Hari Raya.",
            "skills_and_expertise": "Radio signalling, basic car repair and keeping a group's spirits up.",
            "skills_and_expertise_list": ["radio signalling", "car repair", "video editing"],
            "hobbies_and_interests": "Futsal, comedy videos, beatboxing and motorbike magazines.",
            "hobbies_and_interests_list": ["futsal", "comedy videos", "beatboxing"],
            "career_goals_and_ambitions": "He wants to study automotive engineering after his service and one "
            "day open a workshop.",
        },
    ),
)

#: Examples of earlier prompt versions (no longer shown): the one worked example of ``2026-11-25.4``.
RETIRED_EXAMPLES: tuple[WorkedExample, ...] = (
    WorkedExample(
        "goh_kok_wei",
        {
            "full_name": "Goh Kok Wei",
            "first_name": "Kok Wei",
            "last_name": "Goh",
            "preferred_english_name": "Kelvin",
            "age": 47,
            "sex": "Male",
            "marital_status": "Married",
            "religion": "Taoism",
            "language_at_home": "Chinese",
            "education_level": "Secondary",
            "labour_force_status": "Employed",
            "occupation": "Plant & Machine Operators & Assemblers",
            "industry": "Transportation & Storage",
            "planning_area": "Jurong West",
            "dwelling_type": "HDB 4-Room Flats",
            "life_stage": "mid-career",
            "big_five": _b5("low", "high", "average", "high", "low"),
        },
        {
            "persona": "Kelvin Goh Kok Wei is a steady crane operator from Jurong West who likes routines, keeps "
            "his promises and rarely loses his temper.",
            "professional_persona": "Kelvin Goh operates a quay crane at the port, where his careful checklists "
            "have made him the operator new hires are paired with.",
            "sports_persona": "Kok Wei walks round Jurong Lake Gardens most evenings and plays badminton at the "
            "community centre on Sundays.",
            "arts_persona": "Kelvin Goh enjoys getai shows during the seventh lunar month and hums old Hokkien "
            "songs while he cooks.",
            "travel_persona": "Goh Kok Wei prefers short, well-planned trips, like the yearly family drive to Malacca.",
            "culinary_persona": "Kelvin Goh is proud of his peppery bak kut teh and knows the best fishball noodle "
            "stall near his block.",
            "family_persona": "Kok Wei and his wife share a four-room flat with their two teenage sons and visit "
            "his mother every Sunday.",
            "cultural_background": "Kok Wei's late grandmother taught him Hokkien and the Qing Ming rites; he "
            "still burns joss paper for her at the columbarium each April.",
            "skills_and_expertise": "Crane and forklift operation, strict safety procedures and practical "
            "troubleshooting of hydraulic faults.",
            "skills_and_expertise_list": ["crane operation", "forklift licence", "safety checklists"],
            "hobbies_and_interests": "Evening walks, weekend badminton, cooking soups and following Premier "
            "League football.",
            "hobbies_and_interests_list": ["badminton", "evening walks", "cooking soups"],
            "career_goals_and_ambitions": "He wants to be trusted with training the port's new operators, and to "
            "take the family to Taiwan once the boys finish school.",
        },
    ),
)

#: Every example a model may have seen: what the copy rule and the anchoring figure check.
ALL_EXAMPLES: tuple[WorkedExample, ...] = (*EXAMPLES, *RETIRED_EXAMPLES)
EXAMPLES_BY_KEY: dict[str, WorkedExample] = {e.key: e for e in ALL_EXAMPLES}


def choose_example(uuid: str) -> WorkedExample:
    """The worked example shown to the record ``uuid``: a seeded choice (a hash of the uuid), stable across
    attempts and runs, each example about equally often."""
    digest = hashlib.sha256(f"worked-example/{uuid}".encode()).digest()
    return EXAMPLES[int.from_bytes(digest[:4], "little") % len(EXAMPLES)]
