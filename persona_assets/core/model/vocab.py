"""Category lists of the network's variables (codes are positions in these tuples; keep them dense)."""

from __future__ import annotations

SEXES = ("Male", "Female")

#: Age groups used as parents. 15+ only; the MOM tables' groups (``70+`` is open-ended).
AGE_GROUPS = (
    "15-19",
    "20-24",
    "25-29",
    "30-34",
    "35-39",
    "40-44",
    "45-49",
    "50-54",
    "55-59",
    "60-64",
    "65-69",
    "70+",
)
#: All-ages groups used only inside the ethnicity harmonisation (GHS 2015 T1 has children too).
ALL_AGE_GROUPS = ("0-4", "5-9", "10-14", *AGE_GROUPS)

ETHNICITIES = ("Chinese", "Malay", "Indian", "Others")

RELIGIONS = (
    "Buddhism",
    "Taoism",
    "Islam",
    "Hinduism",
    "Sikhism",
    "Catholic",
    "Other Christians",
    "Other Religions",
    "No Religion",
)

LANGUAGES = ("English", "Mandarin", "Chinese Dialects", "Malay", "Tamil", "Other Indian Languages", "Others")

MARITAL = ("Single", "Married", "Widowed", "Divorced/Separated")

LABOUR_FORCE = ("Employed", "Unemployed", "Outside Labour Force")

EDUCATION = (
    "Below Secondary",
    "Secondary",
    "Post-Secondary (Non-Tertiary)",
    "Diploma & Professional Qualification",
    "Degree",
)

OCCUPATIONS = (
    "Managers & Administrators",
    "Professionals",
    "Associate Professionals & Technicians",
    "Clerical Support Workers",
    "Service & Sales Workers",
    "Craftsmen & Related Trades Workers",
    "Plant & Machine Operators & Assemblers",
    "Cleaners, Labourers & Related Workers",
    "Others",
)

INDUSTRIES = (
    "Manufacturing",
    "Construction",
    "Wholesale & Retail Trade",
    "Transportation & Storage",
    "Accommodation & Food Services",
    "Information & Communications",
    "Financial & Insurance Services",
    "Real Estate Services",
    "Professional Services",
    "Administrative & Support Services",
    "Public Administration & Education",
    "Health & Social Services",
    "Arts, Entertainment & Recreation",
    "Other Community, Social & Personal Services",
    "Others",
)

INCOME_BANDS = (
    "Below 1,000",
    "1,000-1,499",
    "1,500-1,999",
    "2,000-2,499",
    "2,500-2,999",
    "3,000-3,999",
    "4,000-4,999",
    "5,000-5,999",
    "6,000-6,999",
    "7,000-7,999",
    "8,000-8,999",
    "9,000-9,999",
    "10,000-10,999",
    "11,000-11,999",
    "12,000 & Over",
)
#: Lower edges in SGD of the bands above (the last is open-ended).
INCOME_EDGES = (0, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 11000, 12000)

#: Ages whose own qualification and job do not enter the dwelling table (most live in their parents' home).
YOUNG_AGE_GROUPS = ("15-19", "20-24")
NOT_EMPLOYED_25 = "Not Employed (25+)"
AGED_15_24 = "Aged 15-24"
#: A recode that the dwelling table conditions on (not a record field): the occupation of employed residents
#: aged 25+, one group for other residents aged 25+, one for residents aged 15-24.
ACTIVITIES = (*OCCUPATIONS, NOT_EMPLOYED_25, AGED_15_24)

DWELLINGS = (
    "HDB 1- and 2-Room Flats",
    "HDB 3-Room Flats",
    "HDB 4-Room Flats",
    "HDB 5-Room and Executive Flats",
    "Condominiums and Other Apartments",
    "Landed Properties",
    "Others",
)


def age_group_of(age: int) -> str:
    if age >= 70:
        return "70+"
    lo = (age // 5) * 5
    return f"{lo}-{lo + 4}"
