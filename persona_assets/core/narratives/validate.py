"""Rule checks of a generated narrative against its record. Each failed rule gives a short reason
(``"<rule>: <field>"``); an empty list means the narrative is accepted.

Rules (deliberately conservative: they catch clear contradictions, not style; ``RULES`` lists them in order):

- ``parse``: a JSON object with every field; list fields are lists of 3-8 short strings;
- ``length``: every text within its prompt profile's bounds (``compact``: 40-500 characters; ``full``: persona
  texts 80-800, attribute texts 150-1,500);
- ``name``: every persona text names the person (full name, given name, surname + given, or English name);
- ``sex``: in a persona text, pronouns of the other sex outnumber the person's own;
- ``age``: an explicit age of the person (``34-year-old``, ``aged 34``, ``in her thirties``) more than 2 years (or
  a decade) off; an age followed by a relation (``her 10-year-old son``) is someone else's;
- ``marital``: a current spouse for someone single, widowed or divorced (``late`` spouses and denied ones, ``has no
  wife``, are fine), or ``single``/``unmarried``/``a single mother``/``is a … widow``/``is divorced`` for someone
  married;
- ``religion``: an adherent word of another religion (``a devout Muslim`` for a Buddhist) describing the person, not
  a relative or friend (``her grandmother, a devout Catholic``), or the person going to another religion's place of
  worship (``practices Buddhism at church``, ``prays at the mosque`` for a Hindu: church, cathedral or chapel
  for Christians, mosque, masjid or surau for Muslims, gurdwara for Sikhs; a temple is left alone, being Buddhist,
  Taoist, Hindu or Sikh); Buddhist and Taoist practice mix freely;
- ``occupation``: a job (``works as``, ``works at a library``, ``the family's breadwinner``, ``is a quiet
  librarian``) for someone not working (``works as a national serviceman`` is the status, not a job), or the
  person retired while employed;
- ``profession``: in a field about life outside work (sport, arts, travel, food, family, culture, hobbies), a
  present claim of a food, arts, sports or teaching profession or of running a food business (``is a talented
  chef``, ``runs a restaurant``, ``a professional dancer``, ``is a music teacher``) that the occupation and
  industry do not bear out (food work needs the food-services industry; any job claim contradicts a non-working
  status); past jobs (``a retired chef``), pastimes (``a home cook``), dreams (``hopes to open a café``) and
  relatives' jobs (``her mother is a teacher``) are fine;
- ``life_event``: events the age rules out: own children under 18, teenage children under 28 or from 70, adult
  children under 34, grandchildren under 38, a single parent under 18, the person's retirement under 45 (or
  retired for so long that it began before 45), a working life of N years longer than age - 14, a marriage of N
  years longer than age - 16;
- ``travel``: travel *to* Singapore or a visit to Singapore (the person lives there), a "small town" or "village"
  in Singapore;
- ``place``: a university or polytechnic named after a planning area (none is), a beach in an inland area
  (``Bishan Beach``), a planning area misspelt (``Tanlin``; ``places.py``);
- ``education``: a degree claimed by someone whose highest qualification is not a degree; university study or a
  graduate profession (lawyer, doctor …) by someone below post-secondary; "no formal education" for someone with
  secondary education or more;
- ``dwelling``: a condominium or landed home for an HDB resident, an HDB flat for a condominium or landed
  resident (any flat for a landed one), or a flat of the wrong size (``a four-room flat`` or ``a one-bedroom
  flat`` in an HDB 3-room record);
- ``planning_area``: ``lives in`` / ``living in`` / ``home in`` another planning area;
- ``placeholder``: a text or list item that says nothing (``none``, ``not specified``, ``N/A``);
- ``duplicate``: the same text in two fields, or a list with repeated items;
- ``copy``: a text or list copied from a worked example (any run of 10 words in common with any example, shown
  now or earlier: ``examples.py``);
- ``anchor``: a text that reuses at least two distinctive terms of the same field of the worked example the
  record's prompt showed (``compact``; the measure of the narrative report, ``metrics.py``): the example's
  crane and port reworded into someone else's working life;
- ``race``: a race named as such (``Chinese woman``, ``Malay heritage``, ``ethnicity``, ``race``), against the
  guardrail to convey heritage through practice;
- ``near_duplicate``: not checked here (it compares records, not a record with its facts): a text that repeats an
  earlier record's text of the same field, found by the engine's revision pass (``repeats.py``).

``tests/fixtures/narratives/labelled_texts.jsonl`` holds hand-labelled texts from real generations;
``tests/test_rule_precision.py`` measures each rule's false-positive rate on it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from persona_assets.core.model.derived import STATUSES
from persona_assets.core.narratives.examples import ALL_EXAMPLES, choose_example
from persona_assets.core.narratives.metrics import (
    ANCHOR_MIN_TERMS,
    distinctive_terms,
    find_terms,
    list_name_tokens,
    match_terms,
    split_words,
)
from persona_assets.core.narratives.places import find_invented_institutions, find_misspelt_areas, list_places
from persona_assets.core.narratives.prompts import COMPACT, PromptProfile
from persona_assets.core.schema import (
    LIST_FIELDS,
    LLM_FIELDS,
    MAX_ITEM_CHARS,
    PERSONA_FIELDS,
    TEXT_FIELDS,
)

RULES = (
    "parse",
    "length",
    "name",
    "sex",
    "age",
    "marital",
    "religion",
    "occupation",
    "profession",
    "life_event",
    "travel",
    "place",
    "education",
    "dwelling",
    "planning_area",
    "placeholder",
    "duplicate",
    "copy",
    "anchor",
    "race",
    "near_duplicate",
)

PRONOUNS = {"Male": r"\b(he|him|his|himself)\b", "Female": r"\b(she|her|hers|herself)\b"}
OTHER = {"Male": "Female", "Female": "Male"}
RELIGION_WORDS = {
    "Buddhism": r"\bbuddhis[tm]s?\b",
    "Taoism": r"\btaois[tm]s?\b",
    "Islam": r"\b(muslims?|islam|islamic)\b",
    "Hinduism": r"\bhindus?\b|\bhinduism\b",
    "Sikhism": r"\bsikhs?\b|\bsikhism\b",
    "Christian": r"\b(christians?|christianity|catholics?|protestants?|methodists?|anglicans?)\b",
}
#: going to a religion's place of worship (``attends church``, ``prays at the mosque``, ``an active member of her
#: local church``): practising it
_GOING = (
    r"\b(?:attends?|attending|goes to|going to|go to|went to|worships? at|prays? at|members? of|belongs? to|"
    r"joined|at|to)\s+"
    r"(?:(?:the|a|her|his|their|local|nearby|sunday|weekly|friday)\s+)*"
)
WORSHIP_PLACES = {
    "Christian": _GOING + r"(?:church|cathedral|chapel)\b",
    "Islam": _GOING + r"(?:mosque|masjid|surau)\b",
    "Sikhism": _GOING + r"gurdwara\b",
}
#: every sign of practising a religion, by religion (built once: the validator reads every text of every call)
PRACTICE_PATTERNS = (*RELIGION_WORDS.items(), *WORSHIP_PLACES.items())
OWN_RELIGION = {
    "Buddhism": {"Buddhism", "Taoism"},
    "Taoism": {"Taoism", "Buddhism"},
    "Islam": {"Islam"},
    "Hinduism": {"Hinduism"},
    "Sikhism": {"Sikhism"},
    "Catholic": {"Christian"},
    "Other Christians": {"Christian"},
    "Other Religions": set(RELIGION_WORDS),
    "No Religion": set(),
}
NOT_WORKING = set(STATUSES)
JOB = (
    r"\b(works as|working as|employed as|job as|career as a|his job|her job|at (his|her) (office|workplace)|"
    r"works (?:full-time |part-time )?at (?:a|an|the) (?!age\b)|"
    r"(sole|main|family's) breadwinner)\b(?!\s+(?:an?\s+)?(?:full-time\s+)?(?:national serv\w+|nsf|student|homemaker|"
    r"housewife|volunteer)\b)"
)
#: "<Name> is a quiet, independent librarian": a present job title said of the person (``is a/an``, up to four
#: words before it). Titles only (``writer``, ``author``, ``artist``, ``cook`` are also pastimes and are left out);
#: ``retired``/``former``/``ex-``/``aspiring``/``future``/``trainee`` before the title, a past or hoped-for clause
#: or a relative's job (``_is_past_or_dream``) are no claim.
JOB_TITLE = re.compile(
    r"\bis\s+(?:a|an)\s+((?:[\w,'-]+\s+){0,4}?)(librarian|engineer|nurse|teacher|accountant|doctor|physician|"
    r"lawyer|manager|clerk|cashier|(?:bus|taxi|lorry|truck|delivery) driver|technician|programmer|software developer|"
    r"architect|pharmacist|salesperson|salesman|saleswoman|secretary|receptionist|mechanic|electrician|plumber|"
    r"consultant|analyst|banker|executive|administrator|supervisor|lecturer|professor|scientist|researcher|"
    r"journalist|cleaner|security guard|civil servant|police officer|social worker|real estate agent|"
    r"property agent|insurance agent)s?\b"
)
_NO_JOB_CLAIM = re.compile(r"\b(retired|former|ex-\w+|aspiring|future|trainee|would-be|student|budding)\b")
SPOUSE = re.compile(r"\b(?<!late )(wife|husband|spouse)\b|\bmarried to\b")
#: A spouse denied (``has no wife``, ``without a husband or spouse``): no claim of one.
NO_SPOUSE = re.compile(r"\b(no|without(?:\s+a|\s+any)?|not\s+have\s+a|never\s+had\s+a|nor\s+a|or)\s*$")
RELATIVES = re.compile(
    r"\b(mother|father|parents?|grand(?:mother|father|parents?)|wife|husband|spouse|son|daughter|brother|sister|"
    r"friends?|neighbours?|colleagues?|in-laws?|relatives?|family|uncle|aunt|cousins?)\b"
)
RACE = (
    r"\b(chinese|malay|indian|eurasian)\s+(man|woman|person|people|community|heritage|descent|background|"
    r"ethnicity|origin|roots|male|female|lady|gentleman|boy|girl)\b|\b(race|racial|ethnic|ethnicity)\b"
)
PLACEHOLDER = re.compile(
    r"^\W*(none|n/?a|nil|null|unknown|not (specified|applicable|available|mentioned|provided))\b", re.IGNORECASE
)
COPY_WORDS = 10
RELATIONS = (
    r"(son|sons|daughter|daughters|child|children|kid|kids|grandson|granddaughter|grandchild|brother|sister|"
    r"nephew|niece|cousin|dog|cat|pet|boy|girl|twins?)"
)
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "a few": 3,
    "several": 3,
    "many": 10,
}
_NUM = r"(\d{1,2}|" + "|".join(NUMBER_WORDS) + r")"

#: Fields about life outside work: a profession claimed here is suspect (``profession`` rule).
LEISURE_FIELDS = (
    "sports_persona",
    "arts_persona",
    "travel_persona",
    "culinary_persona",
    "family_persona",
    "cultural_background",
    "hobbies_and_interests",
)
_HOBBY_MODIFIERS = r"(home|amateur|aspiring|self-taught|weekend|hobby|budding|enthusiastic home|keen home)"
FOOD_JOB = re.compile(
    r"\b(?:is|as|became|becoming|works as|working as)\s+(?:a|an)\s+((?:[\w-]+\s+){0,5}?)"
    r"(chef|sous-chef|restaurateur|caterer|culinary (?:master|expert|professional)|hawker(?!\s+(?:centre|center|"
    r"centres|stalls?|food|fare|dish|dishes|favourites?)))\b"
)
FOOD_BUSINESS = re.compile(
    r"\b(runs|ran|owns|owned|opened|has opened|recently opened|manages|operates|started)\s+"
    r"(?:a|an|his|her|their|the family's)\s+(?:own\s+)?(?:[\w-]+\s+){0,2}?"
    r"(restaurant|caf[eé]|bakery|food stall|hawker stall|catering (?:business|company)|eatery|bistro|food truck)\b"
)
ARTS_SPORTS_JOB = re.compile(
    r"\b(?:is|as|became|works as|working as)\s+(?:a|an)\s+professional\s+"
    r"(dancer|musician|singer|athlete|footballer|photographer|artist|painter|golfer|swimmer|cyclist|actor|actress|"
    r"pianist|violinist|guitarist|boxer|runner)\b"
)
TEACHING_JOB = re.compile(
    r"\b(?:is|as|became|works as|working as)\s+(?:a|an)\s+(?:[\w-]+\s+){0,2}?"
    r"(teacher|instructor|coach|tutor|lecturer)\b"
)
PAST_OR_DREAM = re.compile(
    r"\b(former|formerly|retired|used to|once|years ago|hopes?|hoping|dreams?|dreaming|wants?|wish(?:es)?|plans?|"
    r"planning|would like|someday|one day|aspires?|aspiring|goal|ambition|was|were)\b"
)
#: Industries where a claim of each kind of profession can be true.
PROFESSION_INDUSTRIES = {
    "food": {"Accommodation & Food Services"},
    "arts_sports": {
        "Arts, Entertainment & Recreation",
        "Public Administration & Education",
        "Information & Communications",
    },
    "teaching": {
        "Public Administration & Education",
        "Arts, Entertainment & Recreation",
        "Other Community, Social & Personal Services",
    },
}
SIBLINGS = r"(?!\s+(?:brothers?|sisters?|siblings?|cousins?|nephews?|nieces?)\b)"
OWN_CHILD = re.compile(
    r"\b(?:his|her)\s+(?:(?:[\w-]+)\s+){0,2}?(sons?|daughters?|children|kids|child|baby|toddler)\b"
    + SIBLINGS
    + r"|\b(?:has|have|had|with|raising|raises)\s+(?:a|an|one|two|three|four|five|\d)\s+(?:[\w-]+\s+)?"
    r"(sons?|daughters?|children|kids|child)\b"
    r"|\b(mother|father|parent)\s+of\s+(?:a|an|one|two|three|four|five|\d)\b"
    r"|\bsingle\s+(mother|father|parent|mum|mom|dad)\b"
)
SINGLE_PARENT = re.compile(r"\bsingle\s+(mother|father|parent|mum|mom|dad)\b")
TEEN_CHILD = re.compile(r"\b(?:his|her|their|two|three|\d)\s+teenage\s+(sons?|daughters?|children|kids|boys|girls)\b")
ADULT_CHILD = re.compile(
    r"\b(?:his|her|their)\s+(?:adult|grown-up|grown|married|working)\s+(sons?|daughters?|children|kids)\b"
)
GRANDCHILD = re.compile(
    r"\b(?:his|her|their|has|have|with)\s+(?:(?:[\w-]+)\s+){0,2}?(grandchildren|grandchild|grandsons?|"
    r"granddaughters?|grandkids)\b|\b(?:is|as|a)\s+(?:proud\s+|doting\s+|loving\s+)?(grandfather|grandmother|"
    r"grandparent|grandpa|grandma)\b(?!['’]s)"
)
#: The person's own retirement (``he``/``she`` or their name as subject; someone else's parents may be retired).
#: Group 1 is the word before the verb: a claim only where the text up to its end ends with one of the person's
#: names (``find_subject_start``), so that one compiled pattern serves every record (a pattern per record's
#: names cost ~1-2 ms to compile, once per record: minutes at 148,000 records).
RETIRED = re.compile(
    r"(?<!\S)(\S++)\s+(?:is|has|had|was)?\s*(?:now\s+|already\s+|recently\s+|happily\s+)?retired\b"
    # "Gerard is a retired professional" (verbatim, an employed professional): the subject's last word, as above
    r"|(?<!\S)(\S++)\s+(?:is|was)\s+(?:a|an)\s+(?:[\w-]+\s+){0,2}?retired\b"
    r"|\bsince\s+(?:his|her)\s+retirement\b|\bin\s+(?:his|her)\s+retirement\b|\b(?:a|as a)\s+retiree\b"
    r"|\benjoys\s+(?:his\s+|her\s+)?retirement\b"
)
WORK_YEARS = re.compile(
    r"\b" + _NUM + r"\s+(years|decades)\s+"
    r"(?:of\s+(?:experience|service|work)|in\s+(?:the|this|his|her)\s+(?:industry|field|trade|job|profession|"
    r"business|company|role))"
    r"|\b(?:career|experience)\s+(?:of|spanning)\s+" + _NUM + r"\s+(years|decades)\b"
    r"|\b(?:worked|has worked|been working|working)\s+(?:\w+\s+){0,4}?for\s+(?:over\s+|nearly\s+|almost\s+)?"
    + _NUM
    + r"\s+(years|decades)\b"
    r"|\b(decades)\s+of\s+experience\b"
    r"|\bspent\s+(?:the\s+(?:last|past)\s+|over\s+|nearly\s+|almost\s+|more than\s+)?" + _NUM + r"\s+(years|decades)\s+"
    r"(?:working|in\s+(?:a|an|the)\s+(?:kitchen|factory|office|company|firm|industry|shop|workshop)|at\s+(?:the|a|an|his|her)\s+"
    r"(?:company|firm|factory|office|shop|workshop))"
)
RETIRED_YEARS = re.compile(
    r"\b(?:retired|in retirement)\b[^.;]{0,30}?\bfor\s+"
    r"(?:over\s+|nearly\s+|almost\s+|more than\s+|the\s+(?:last|past)\s+)?" + _NUM + r"\s+(years|decades)\b"
)
MARRIED_YEARS = re.compile(
    r"\bmarried\s+for\s+(?:over\s+|nearly\s+|almost\s+|more than\s+)?" + _NUM + r"\s+(years|decades)\b"
)
#: "Singapore" not followed by a possessive or another name (``Singapore Zoo``, ``Singapore's museums``).
_SINGAPORE = r"\bSingapore\b(?!['’]s)(?!\s+[A-Z])"
TO_SINGAPORE = re.compile(
    r"(?i:\b(travel(?:s|led|ling|ed|ing)?|trips?|holidays?|vacations?|fl(?:y|ies|ew|ying)|tour(?:s|ed|ing)?|"
    r"journey(?:s|ed)?|go(?:es)?|went|going|takes?|took|taking|brings?|brought|bringing)\b([^.;!?]{0,50}?)"
    r"\bto\s+)(?:[A-Z][\w' -]{1,30}?\s+and\s+)?" + _SINGAPORE
)
VISIT_SINGAPORE = re.compile(
    r"(?i:\b(visit(?:s|ed|ing)?|(?:a\s+|the\s+)?(?:trip|holiday|vacation)s?\s+(?:to|in))\s+)" + _SINGAPORE
)
NOT_A_TRIP = re.compile(r"\b(return\w*|back|home|came|come|moved|move|migrat\w*|relocat\w*|settl\w*|from)\b")
SMALL = r"(?:small|little|tiny|quiet|sleepy|rural)\s+(?:town|village|hamlet)"
DEGREE_HELD = re.compile(
    r"\b(?:holds?|held|has|had|earned|obtained|received|completed|got|with)\s+(?:a|an|his|her)\s+"
    r"(?:[\w'-]+\s+){0,3}?(degree(?!\s+of\b)|bachelor'?s|master'?s|masters|phd|ph\.d\.|doctorate|mba)\b"
    r"|\b(?:graduated|a graduate)\s+(?:from|of|with)\s+(?:[\w'&-]+\s+){0,5}?(university|nus|ntu|smu|sutd|suss|"
    r"degree)\b"
    r"|\b(university graduate|degree holder)\b"
    r"|\b(bachelor'?s|master'?s|doctoral)\s+degree\b",
    re.IGNORECASE,
)
UNIVERSITY_STUDY = re.compile(
    r"\b(?:studied|studies|studying|study|graduated|enrolled|a student|undergraduate)\b[^.;]{0,30}?"
    r"\b(university|nus|ntu|smu|sutd|suss)\b|\b(undergraduate|university student)\b",
    re.IGNORECASE,
)
FUTURE = re.compile(
    r"\b(pursu\w*|working towards?|hopes?|hoping|plans?|planning|wants?|wanting|aims?|dreams?|wish\w*|would like|"
    r"someday|one day|goal|aspir\w*|intends?|to earn|to get|to obtain|to complete|to study|to take|apply\w*|"
    r"consider\w*|future|become)\b"
)
HOME = r"(?:lives?|living|stays?|staying|resides?|residing|home|moved\s+into|shares?|sharing|owns?|family)"
CONDO_HOME = re.compile(
    rf"\b{HOME}\b[^.;]{{0,40}}?\b(condo\w*|landed\s+(?:house|home|property)|terrace[d]?\s+house|semi-detached|"
    r"bungalow|penthouse|private\s+(?:apartment|estate|property))\b"
    r"|\b(?:his|her|their)\s+(?:[\w-]+\s+)?(condo|condominium|bungalow|landed\s+house|terrace[d]?\s+house|"
    r"semi-detached\s+house|penthouse)\b"
)
LANDED_HOME = re.compile(
    rf"\b{HOME}\b[^.;]{{0,40}}?\b(landed\s+(?:house|home|property)|terrace[d]?\s+house|semi-detached|bungalow)\b"
    r"|\b(?:his|her|their)\s+(?:[\w-]+\s+)?(bungalow|landed\s+house|terrace[d]?\s+house|semi-detached\s+house)\b"
)
CONDO_ONLY = re.compile(
    rf"\b{HOME}\b[^.;]{{0,40}}?\b(condo|condominium)\b|\b(?:his|her|their)\s+(?:[\w-]+\s+)?(condo|condominium)\b"
)
HDB_HOME = re.compile(
    rf"\b{HOME}\b[^.;]{{0,40}}?\b(hdb|(?:one|two|three|four|five|[1-5])-room\s+(?:hdb\s+)?flat|executive\s+flat)\b"
    r"|\b(?:his|her|their)\s+(?:[\w-]+\s+)?(hdb\s+flat|hdb\s+home)\b"
)
ROOMS = re.compile(
    rf"\b{HOME}\b[^.;]{{0,40}}?\b(one|two|three|four|five|[1-5])-room\s+(?:hdb\s+)?flat\b"
    r"|\b(?:his|her|their|a|an)\s+(one|two|three|four|five|[1-5])-room\s+(?:hdb\s+)?flat\b"
)
BEDROOMS = re.compile(
    rf"\b{HOME}\b[^.;]{{0,40}}?\b(one|two|three|four|five|[1-5])-bedroom\s+(?:hdb\s+)?(?:flat|apartment|home|unit)\b"
    r"|\b(?:his|her|their|a|an)\s+(one|two|three|four|five|[1-5])-bedroom\s+(?:hdb\s+)?(?:flat|apartment|home|unit)\b"
)
#: Bedrooms of each HDB flat type (2-room: 1; 3-room: 2; 4-room: 3; 5-room: 3; executive: 3-4).
DWELLING_BEDROOMS = {
    "HDB 1- and 2-Room Flats": {1},
    "HDB 3-Room Flats": {2},
    "HDB 4-Room Flats": {3},
    "HDB 5-Room and Executive Flats": {3, 4},
}
FLAT_HOME = re.compile(rf"\b{HOME}\b[^.;]{{0,40}}?\b(?:flat|hdb)\b|\b(?:his|her|their)\s+(?:[\w-]+\s+)?(flat|hdb)\b")
DWELLING_ROOMS = {
    "HDB 1- and 2-Room Flats": {1, 2},
    "HDB 3-Room Flats": {3},
    "HDB 4-Room Flats": {4},
    "HDB 5-Room and Executive Flats": {5},
}
DECADES = {
    "teens": 10,
    "twenties": 20,
    "thirties": 30,
    "forties": 40,
    "fifties": 50,
    "sixties": 60,
    "seventies": 70,
    "eighties": 80,
    "nineties": 90,
}


def _shingles(text: str, n: int = COPY_WORDS) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


EXAMPLE_SHINGLES = set().union(*(_shingles(v) for e in ALL_EXAMPLES for v in e.answer.values() if isinstance(v, str)))
EXAMPLE_LISTS = {f: [[x.lower() for x in e.answer[f]] for e in ALL_EXAMPLES] for f in LIST_FIELDS}


def parse_answer(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object in a model's answer (tolerating a code fence), or an error reason."""
    body = text.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", body, re.DOTALL)
    if fence:
        body = fence.group(1)
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        return None, "parse: no JSON object"
    try:
        obj = json.loads(body[start : end + 1])
    except json.JSONDecodeError as exc:
        return None, f"parse: invalid JSON ({exc.msg})"
    if not isinstance(obj, dict):
        return None, "parse: not an object"
    return obj, None


def list_names(record: dict[str, Any]) -> list[str]:
    """The forms of the person's name a text may use, lower case."""
    out = [record.get("full_name"), record.get("first_name"), record.get("preferred_english_name")]
    if isinstance(record.get("middle_name"), str) and record["middle_name"].strip():
        out.append(record["middle_name"].split()[0])  # Malay and Indian names: often called by the second name
    if record.get("last_name") and record.get("first_name"):
        out.append(f"{record['last_name']} {record['first_name']}")
        out.append(str(record["first_name"]).split()[0])
    return [n.lower() for n in out if isinstance(n, str) and n.strip()]


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS.get(word, 0)


def _age_reasons(text: str, age: int, field: str) -> list[str]:
    reasons = []
    for m in re.finditer(
        r"\b(\d{2})[- ]year[- ]old\b(?!\s+(?:\w+\s+)?" + RELATIONS + r"\b)|\baged (\d{2})\b|\bage of (\d{2})\b", text
    ):
        stated = int(next(g for g in m.groups() if g))
        if abs(stated - age) > 2:
            reasons.append(f"age: {field}")
    for m in re.finditer(r"\bin (?:his|her|their) (?:early |mid-|mid |late )?(" + "|".join(DECADES) + r")\b", text):
        lo = DECADES[m.group(1)]
        if not lo <= age < lo + 10:
            reasons.append(f"age: {field}")
    return reasons


NAME_COLUMNS = ("full_name", "first_name", "middle_name", "last_name", "preferred_english_name")


def find_anchoring(field: str, text: str, record: dict[str, Any], profile: PromptProfile = COMPACT) -> set[str]:
    """The distinctive terms of the worked example shown to this record (same field) that ``text`` reuses, when
    there are at least ``ANCHOR_MIN_TERMS`` of them; empty otherwise, and for profiles without an example."""
    if not profile.shows_example or not record.get("uuid"):
        return set()
    terms = distinctive_terms()[choose_example(str(record["uuid"])).key].get(field, frozenset())
    if not terms:
        return set()
    words = split_words(text, list_name_tokens(record.get(c) for c in NAME_COLUMNS))
    found = match_terms(find_terms(words, terms), terms)
    return found if len(found) >= ANCHOR_MIN_TERMS else set()


def check_spouse(low: str) -> bool:
    """A current spouse claimed (not a late one, and not one denied: ``has no wife``)."""
    for m in SPOUSE.finditer(low):
        before = re.sub(r"((wife|husband|spouse)\s*,?\s*(or|nor|and)?\s*)+$", "", low[: m.start()])
        if not NO_SPOUSE.search(before):
            return True
    return False


#: "is a quiet, caring widow", "is divorced": widowhood or divorce said of the person (seen verbatim for a married
#: woman); a relative's or neighbour's (``her neighbour, who is a widow``) is no claim.
WIDOWHOOD = re.compile(
    r"\bis\s+(?:(?:a|an)\s+(?:(?!(?:of|for|to|with|from|a|an|the)\b)[\w,'-]+\s+){0,3}?(?:widow|widower|divorcee)\b|"
    r"(?:now\s+)?(?:widowed\b|divorced\b(?!\s+from\s+(?!(?:her|his)\s+(?:husband|wife|spouse)\b))))"
)


def find_widowhood(low: str) -> bool:
    """Widowhood or divorce said of the person (``WIDOWHOOD``), not of a relative, friend or neighbour named in the
    six words before (commas included: ``her neighbour, who is a widow``)."""
    for m in WIDOWHOOD.finditer(low):
        before = " ".join(re.split(r"[.;!?]", low[: m.start()])[-1].split()[-6:])
        if not RELATIVES.search(before):
            return True
    return False


def check_other_religion(low: str, allowed: set[str]) -> bool:
    """An adherent word of another religion, or going to its place of worship, that describes the person, not a
    relative or friend (``her grandmother, who was a Taoist``, ``takes her mother to church``)."""
    for rel, pattern in PRACTICE_PATTERNS:
        if rel in allowed:
            continue
        for m in re.finditer(pattern, low):
            clause = re.split(r"[.;!?]|\band\b", low[: m.start()])[-1]
            if not RELATIVES.search(" ".join(clause.split()[-6:])):
                return True
    return False


def _clause_before(text: str, start: int) -> str:
    """The clause before ``start``, up to 6 words."""
    return " ".join(re.split(r"[.;!?,]|\band\b", text[:start])[-1].split()[-6:])


def _is_past_or_dream(text: str, start: int) -> bool:
    """Whether the clause before ``start`` (up to 6 words) makes a claim past or hoped-for, not present, or about a
    relative or friend (``her mother is a teacher``) rather than the person."""
    before = _clause_before(text, start)
    return bool(PAST_OR_DREAM.search(before) or RELATIVES.search(before))


#: "retired" that describes the person (``is a retired woman who is the sole breadwinner``), not the job's end
#: (``retired from her career as a teacher``, ``retired after``); "once a week" is a habit, not the past.
_NOT_PAST = re.compile(r"\bretired\b(?!(?:\s+\w+){0,2}\s+(?:from|after)\b)|\bonce\s+(?:a|an|every|or)\b")
#: a job lost, left or retired from (``lost her job``, ``after retiring from her job``): no present job
_JOB_ENDED = re.compile(r"\b(?:lost|left|quit|losing|leaving|quitting|between|retir\w*(?:\s+\w+){0,2}\s+from)\s*$")


def find_job(low: str) -> bool:
    """A present job said of the person (``JOB``: ``works as``, ``her job``, ``career as a``), not a past one
    (``retired from her career as a teacher``, ``used to work as``), a hoped-for one or a relative's. The clause
    ends at ``but`` too (``retired from nursing but works as a tutor`` is a present job); a breadwinner is the
    person's claim whoever the sentence names (``supports her family as the sole breadwinner``)."""
    for m in re.finditer(JOB, low):
        before = " ".join(re.split(r"[.;!?,]|\b(?:and|but)\b", low[: m.start()])[-1].split()[-6:])
        if PAST_OR_DREAM.search(_NOT_PAST.sub(" ", before)) or _JOB_ENDED.search(low[: m.start()]):
            continue
        if RELATIVES.search(before) and "breadwinner" not in m.group(0):
            continue
        return True
    return False


def find_job_title(low: str) -> bool:
    """A present job title said of the person (``JOB_TITLE``): for someone not working, an occupation error."""
    for m in JOB_TITLE.finditer(low):
        if _NO_JOB_CLAIM.search(m.group(1) or "") or _is_past_or_dream(low, m.start()):
            continue
        return True
    return False


def check_profession(low: str, record: dict[str, Any]) -> bool:
    """A present profession claim in a leisure text that the occupation and industry do not bear out."""
    occupation, industry = record.get("occupation"), record.get("industry")
    not_working = occupation in NOT_WORKING
    for m in FOOD_JOB.finditer(low):
        modifiers = m.group(1) or ""
        if re.search(rf"\b({_HOBBY_MODIFIERS}|former|retired|ex-\w+)\b", modifiers) or _is_past_or_dream(
            low, m.start()
        ):
            continue
        if not_working or industry not in PROFESSION_INDUSTRIES["food"]:
            return True
    for m in FOOD_BUSINESS.finditer(low):
        if m.group(1) in ("ran", "owned") or _is_past_or_dream(low, m.start()):
            continue
        if not_working or industry not in PROFESSION_INDUSTRIES["food"]:
            return True
    for pattern, kind in ((ARTS_SPORTS_JOB, "arts_sports"), (TEACHING_JOB, "teaching")):
        for m in pattern.finditer(low):
            if _is_past_or_dream(low, m.start()) or "volunteer" in m.group(0):
                continue
            if not_working or industry not in PROFESSION_INDUSTRIES[kind]:
                return True
    return False


def check_life_event(low: str, age: int, names: list[str] | tuple[str, ...] = ()) -> bool:
    """An event the person's age rules out (``names``: the person's names, lower case)."""
    if age < 18 and (OWN_CHILD.search(low) or SINGLE_PARENT.search(low)):
        return True
    if (age < 28 or age >= 70) and TEEN_CHILD.search(low):
        return True
    if age < 34 and ADULT_CHILD.search(low):
        return True
    if age < 38 and GRANDCHILD.search(low):
        return True
    if age < 45:
        for start in find_retirement(low, tuple(names)):
            if not _future_before(low, start):
                return True
    for m in WORK_YEARS.finditer(low):
        groups = [g for g in m.groups() if g]
        unit = next((g for g in groups if g in ("years", "decades")), "years")
        number = next((g for g in groups if g not in ("years", "decades")), "")
        years = 20 if number == "" and unit == "decades" else _number(number) * (10 if unit == "decades" else 1)
        if years > age - 14:
            return True
    for m in RETIRED_YEARS.finditer(low):
        if age - _number(m.group(1)) * (10 if m.group(2) == "decades" else 1) < 45:
            return True
    for m in MARRIED_YEARS.finditer(low):
        years = _number(m.group(1)) * (10 if m.group(2) == "decades" else 1)
        if years > age - 16:
            return True
    return False


@cache
def _lives_in_pattern(areas: tuple[str, ...]) -> re.Pattern[str]:
    alt = "|".join(re.escape(a.lower()) for a in sorted(areas, key=len, reverse=True))
    return re.compile(rf"\b(lives in|living in|home in|resident of)\s+({alt})\b")


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def find_subject_start(low: str, end: int, names: tuple[str, ...]) -> int | None:
    """Where the person is named as the subject ending at ``end`` of ``low``: the start of ``he``, ``she`` or the
    longest of ``names`` (lower case) that ``low[:end]`` ends with, beginning at a word boundary; None when the
    subject is someone or something else. The same as a ``\\b(?:he|she|<names, longest first>)`` alternative
    compiled per record."""
    for n in (*sorted(names, key=len, reverse=True), "he", "she"):
        start = end - len(n)
        boundary = start == 0 or (start > 0 and _is_word(low[start - 1]) != _is_word(n[:1]))
        if n and start >= 0 and boundary and low.startswith(n, start):
            return start
    return None


def find_retirement(low: str, names: tuple[str, ...]) -> list[int]:
    """Where ``low`` claims the person's own retirement (start of each claim: of its subject where it has one)."""
    starts: list[int] = []
    if "retire" not in low:  # every alternative has it: most texts are done here
        return starts
    pos = 0
    while (m := RETIRED.search(low, pos)) is not None:
        subject = 1 if m.group(1) is not None else 2 if m.group(2) is not None else 0
        if not subject:
            starts.append(m.start())
        elif (start := find_subject_start(low, m.end(subject), names)) is not None:
            starts.append(start)
        else:  # not the person: the words it spans may hold a claim ("the is a lawyer she retired")
            pos = m.start() + 1
            continue
        pos = m.end()
    return starts


@cache
def _small_town_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A small town or village *in* (or *called*) a Singapore place, or a Singapore place *described as* one."""
    places = "|".join(re.escape(p.lower()) for p in ("Singapore", *list_places()))
    return (
        re.compile(rf"\b{SMALL}\s+(?:in|of|called|named|near|like)\s+(?:the\s+)?({places})\b"),
        re.compile(rf"\b({places})\s*,\s*(?:a|an|the)\s+{SMALL}\b|\b({places})\s+is\s+a\s+{SMALL}\b"),
    )


def check_travel(text: str, low: str) -> bool:
    """Travel to or a visit to Singapore, or a small town or village in Singapore."""
    for m in TO_SINGAPORE.finditer(text):
        if not NOT_A_TRIP.search(m.group(2).lower()):
            return True
    if VISIT_SINGAPORE.search(text):
        return True
    return bool(re.search(SMALL, low)) and any(p.search(low) for p in _small_town_patterns())


NO_SCHOOLING = re.compile(r"\b(no formal (?:education|schooling)|never (?:went to|attended|finished) school)\b")
#: A graduate profession claimed for the person (group 1: the subject's last word, as in ``RETIRED``).
DEGREE_PROFESSION = re.compile(
    r"(?<!\S)(\S++)\s+(?:is|was)\s+(?:a|an)\s+(?:[\w-]+\s+){0,2}?"
    r"(lawyer|doctor|dentist|pharmacist|architect|professor|lecturer|surgeon|physician)\b"
)


def check_education(text: str, low: str, education: str | None, names: tuple[str, ...] = ()) -> bool:
    """A degree claimed below a degree, university study or a graduate profession (lawyer, doctor …) below
    post-secondary, or no schooling at all for someone with secondary education or more."""
    if not education:
        return False
    if education != "Below Secondary" and NO_SCHOOLING.search(low):
        return True
    if education in ("Below Secondary", "Secondary") and any(
        find_subject_start(low, m.end(1), names) is not None for m in DEGREE_PROFESSION.finditer(low)
    ):
        return True
    if education != "Degree":
        for m in DEGREE_HELD.finditer(low):
            if not _future_before(low, m.start()):
                return True
    if education in ("Below Secondary", "Secondary"):
        for m in UNIVERSITY_STUDY.finditer(low):
            if not _future_before(low, m.start()):
                return True
    return False


def _future_before(low: str, start: int) -> bool:
    before = re.split(r"[.;!?]", low[:start])[-1]
    return bool(FUTURE.search(" ".join(before.split()[-6:])))


def check_dwelling(low: str, dwelling: str | None) -> bool:
    """A home of another type than the record's."""
    if not dwelling:
        return False
    if dwelling.startswith("HDB"):
        if CONDO_HOME.search(low):
            return True
        for pattern, sizes in ((ROOMS, DWELLING_ROOMS), (BEDROOMS, DWELLING_BEDROOMS)):
            for m in pattern.finditer(low):
                word = next(g for g in m.groups() if g)
                if _number(word) not in sizes.get(dwelling, set()):
                    return True
        return False
    if dwelling == "Condominiums and Other Apartments":
        return bool(HDB_HOME.search(low) or LANDED_HOME.search(low))
    if dwelling == "Landed Properties":
        return bool(HDB_HOME.search(low) or CONDO_ONLY.search(low) or FLAT_HOME.search(low))
    return False


def _check_lists(obj: dict[str, Any], profile: PromptProfile) -> list[str]:
    lo, hi = profile.list_items
    reasons = []
    for f in LIST_FIELDS:
        v = obj[f]
        if not isinstance(v, list) or not all(isinstance(x, str) and 0 < len(x.strip()) <= MAX_ITEM_CHARS for x in v):
            reasons.append(f"parse: {f} is not a list of short strings")
        elif not lo <= len(v) <= hi:
            reasons.append(f"length: {f}")
        elif len({x.strip().lower() for x in v}) < len(v):
            reasons.append(f"duplicate: {f}")
        elif any(PLACEHOLDER.match(x) for x in v):
            reasons.append(f"placeholder: {f}")
        elif [x.strip().lower() for x in v] in EXAMPLE_LISTS[f]:
            reasons.append(f"copy: {f}")
    return reasons


def check_text(
    field: str, text: str, record: dict[str, Any], areas: tuple[str, ...] = (), profile: PromptProfile = COMPACT
) -> list[str]:  # noqa: C901 - one branch per rule, in RULES order
    """Reasons one text contradicts its record (every rule that applies to a single text)."""
    reasons: list[str] = []
    low = text.lower()
    sex, age = record.get("sex"), int(record.get("age") or 0)
    marital, religion = record.get("marital_status"), record.get("religion")
    occupation, area = record.get("occupation"), record.get("planning_area")
    lo, hi = profile.text_bounds(field)
    if not lo <= len(text.strip()) <= hi:
        reasons.append(f"length: {field}")
    if PLACEHOLDER.match(text):
        reasons.append(f"placeholder: {field}")
    if _shingles(text) & EXAMPLE_SHINGLES:
        reasons.append(f"copy: {field}")
    elif find_anchoring(field, text, record, profile):
        reasons.append(f"anchor: {field}")
    names = list_names(record)
    if field in PERSONA_FIELDS and names and not any(n in low for n in names):
        reasons.append(f"name: {field}")
    if field in PERSONA_FIELDS and sex in PRONOUNS:
        own = len(re.findall(PRONOUNS[sex], low))
        other = len(re.findall(PRONOUNS[OTHER[sex]], low))
        if other > own:
            reasons.append(f"sex: {field}")
    if age:
        reasons += _age_reasons(low, age, field)
    if marital in ("Single", "Widowed", "Divorced/Separated") and check_spouse(low):
        reasons.append(f"marital: {field}")
    if marital == "Married" and (
        re.search(r"\b(is single|unmarried|never married|a bachelor|single (mother|father|parent|mum|mom|dad))\b", low)
        or find_widowhood(low)
    ):
        reasons.append(f"marital: {field}")
    if religion in OWN_RELIGION and check_other_religion(low, OWN_RELIGION[religion]):
        reasons.append(f"religion: {field}")
    if occupation in NOT_WORKING and (find_job(low) or find_job_title(low)):
        reasons.append(f"occupation: {field}")
    if occupation not in NOT_WORKING and occupation and find_retirement(low, tuple(names)):
        reasons.append(f"occupation: {field}")
    if field in LEISURE_FIELDS and occupation and check_profession(low, record):
        reasons.append(f"profession: {field}")
    if age and check_life_event(low, age, names):
        reasons.append(f"life_event: {field}")
    if check_travel(text, low):
        reasons.append(f"travel: {field}")
    person = [record.get(k) for k in ("full_name", "preferred_english_name")]
    if find_invented_institutions(text) or find_misspelt_areas(text, [n for n in person if isinstance(n, str)]):
        reasons.append(f"place: {field}")
    if check_education(text, low, record.get("education_level"), tuple(names)):
        reasons.append(f"education: {field}")
    if check_dwelling(low, record.get("dwelling_type")):
        reasons.append(f"dwelling: {field}")
    if areas and any(m.group(2) != str(area).lower() for m in _lives_in_pattern(tuple(areas)).finditer(low)):
        reasons.append(f"planning_area: {field}")
    if re.search(RACE, low):
        reasons.append(f"race: {field}")
    return reasons


def validate_narrative(
    obj: dict[str, Any] | None,
    record: dict[str, Any],
    areas: tuple[str, ...] = (),
    profile: PromptProfile = COMPACT,
) -> list[str]:
    """Reasons the narrative contradicts its record (empty when it passes every rule)."""
    if obj is None:
        return ["parse: empty"]
    missing = [f for f in LLM_FIELDS if f not in obj]
    if missing:
        return [f"parse: missing {missing[0]}"]
    reasons = _check_lists(obj, profile)
    texts = [obj[f].strip().lower() for f in TEXT_FIELDS if isinstance(obj[f], str)]
    if len(set(texts)) < len(texts):
        reasons.append("duplicate: texts")
    for f in TEXT_FIELDS:
        if not isinstance(obj[f], str):
            reasons.append(f"parse: {f} is not text")
            continue
        reasons += check_text(f, obj[f], record, areas, profile)
    return reasons
