"""The snapshot's tables: what each is, where it comes from, and how it is parsed and reconciled.

Where two sources disagree in year or coverage, the newer official source wins for the field it grounds
(SPEC section 4); older tables are kept only where they are the sole source of a breakdown (GHS 2015 by
planning area for marital status, qualification, occupation, industry, income and persons by dwelling).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from census_sources.errors import SourceTableError
from census_sources.names import POSITIONS
from census_sources.parsers import datagovsg as dg
from census_sources.parsers import mom, other
from census_sources.parsers.common import ETHNICITY, INDUSTRY, OCCUPATION, SEX, TOTAL
from census_sources.parsers.spreadsheets import (
    HDB_OTHER,
    NOT_SHOWN,
    parse_ghs_t1,
    parse_ghs_t9,
    parse_mom_block_sheet,
)
from census_sources.spec import PLANNING_AREAS, SUBZONES, TableSpec

SINGSTAT = "Department of Statistics Singapore (SingStat)"
MOM = "Ministry of Manpower (MOM), Manpower Research & Statistics Department"
URA = "Urban Redevelopment Authority (URA)"
CEA = "Council for Estate Agencies (CEA)"

DATAGOVSG = "https://data.gov.sg"
TABLEBUILDER = "https://tablebuilder.singstat.gov.sg"
CENSUS2020 = "https://www.singstat.gov.sg/publications/reference/cop2020/cop2020-sr1"
GHS2015 = "https://www.singstat.gov.sg/publications/ghs/ghs2015content"
RESPOP = "https://www.singstat.gov.sg/find-data/search-by-theme/population/geographic-distribution/latest-data"
LFS2024 = "https://stats.mom.gov.sg/Pages/Labour-Force-In-Singapore-2024.aspx"

MOM_YEAR = "2024"

#: Key values of the source tables' sex and ethnicity columns: the record's categories and the publishers' total.
SEX_KEYS = ("Male", "Female", TOTAL)
ETHNICITY_KEYS = ("Chinese", "Malay", "Indian", "Others", TOTAL)

# Closed value sets of the keys (TableSpec.key_values): a label outside its set is an error at build and at load.
BOTH_SEXES = ("Male", "Female")
ETHNIC_GROUPS = ("Chinese", "Malay", "Indian", "Others")
SINGLE_AGES = tuple(str(age) for age in range(91))  # 90 = 90 and over
GHS_AGE_GROUPS = (TOTAL, *(f"{a}-{a + 4}" for a in range(0, 85, 5)), "85+")
_WORKING_AGES = tuple(f"{a}-{a + 4}" for a in range(15, 65, 5))
MOM_AGE_GROUPS_65 = (TOTAL, *_WORKING_AGES, "65+")
MOM_AGE_GROUPS_70 = (TOTAL, *_WORKING_AGES, "65-69", "70+")
LF_AGE_GROUPS = (*_WORKING_AGES, "65-69", "70+")
OCCUPATIONS = tuple(dict.fromkeys(OCCUPATION.values()))  # the SSOC major groups, "Others" and Total
OCCUPATIONS_SSOC = tuple(o for o in OCCUPATIONS if o not in (TOTAL, "Others"))
INDUSTRIES = tuple(dict.fromkeys(INDUSTRY.values()))
REGIONS = ("Central", "East", "North", "North-East", "West")
REGION_CODES = ("CR", "ER", "NR", "NER", "WR")
LF_STATUSES = ("employed", "unemployed", "outside_labour_force")


def _raw(raw: Path, rel: str) -> Path:
    return raw / rel


# ---------------------------------------------------------------------------------------------- parse helpers


def _census_ethnicity(raw: Path) -> pd.DataFrame:
    cols: dict[str, dict[str, str]] = {}
    for eth in ("Total", "Chinese", "Malays", "Indians", "Others"):
        for sx in ("Total", "Males", "Females"):
            cols[f"{eth}_{sx}"] = {"ethnicity": ETHNICITY[eth.lower()], "sex": SEX[sx.lower()]}
    return dg.parse_wide(_raw(raw, SPEC_FILES["census2020_ethnicity_sex"]), cols, geography="subzone")


RELIGION_COLS = {
    "Total": "Total",
    "NoReligion": "No Religion",
    "Buddhism": "Buddhism",
    "Taoism1": "Taoism",
    "Islam": "Islam",
    "Hinduism": "Hinduism",
    "Sikhism": "Sikhism",
    "Christianity_Catholic": "Catholic",
    "Christianity_OtherChristians": "Other Christians",
    "OtherReligions": "Other Religions",
}


def _census_religion(raw: Path) -> pd.DataFrame:
    cols = {c: {"religion": v} for c, v in RELIGION_COLS.items()}
    return dg.parse_wide(_raw(raw, SPEC_FILES["census2020_religion_pa"]), cols)


LANGUAGE_KEEP = {
    "Total": "Total",
    "English_Total": "English",
    "Mandarin_Total1": "Mandarin",
    "ChineseDialects_Total1": "Chinese Dialects",
    "Malay_Total1": "Malay",
    "IndianLanguages_Tamil_Total1": "Tamil",
    "IndianLanguages_OtherIndianLanguages_Total1": "Other Indian Languages",
    "OtherLanguages_Total1": "Others",
}
ENGLISH_SUBS = [
    "English_EnglishOnly",
    "English_EnglishandMandarin",
    "English_EnglishandChineseDialect",
    "English_EnglishandMalay",
    "English_EnglishandTamil",
    "English_EnglishandOtherIndianLanguage",
    "English_EnglishandOtherLanguage",
]
LANGUAGE_DROP = [
    *ENGLISH_SUBS,
    "Mandarin_MandarinOnly",
    "Mandarin_MandarinandEnglish",
    "Mandarin_MandarinandChineseDialect",
    "ChineseDialects_ChineseDialectOnly",
    "ChineseDialects_ChineseDialectandEnglish",
    "ChineseDialects_ChineseDialectandMandarin",
    "Malay_MalayOnly",
    "Malay_MalayandEnglish",
    "IndianLanguages_Total",
    "IndianLanguages_Tamil_TamilOnly",
    "IndianLanguages_Tamil_TamilandEnglish",
    "IndianLanguages_OtherIndianLanguages_OtherIndianLanguageandEnglish",
    "OtherLanguages_OtherLanguageandEnglish",
]


def _census_language(raw: Path) -> pd.DataFrame:
    cols: dict[str, dict[str, str]] = {c: {"language": v} for c, v in LANGUAGE_KEEP.items()}
    cols.update({c: {} for c in LANGUAGE_DROP})
    checks = dg.all_checks(
        dg.check_sum("English_Total", ENGLISH_SUBS, tolerance=2),
        dg.check_sum(
            "IndianLanguages_Total",
            ["IndianLanguages_Tamil_Total1", "IndianLanguages_OtherIndianLanguages_Total1"],
            tolerance=2,
        ),
    )
    return dg.parse_wide(_raw(raw, SPEC_FILES["census2020_language_pa"]), cols, checks=checks)


DWELLING_COLS = {
    "Total": "Total",
    "HDBDwellings_1_and2_RoomFlats1": "HDB 1- and 2-Room Flats",
    "HDBDwellings_3_RoomFlats": "HDB 3-Room Flats",
    "HDBDwellings_4_RoomFlats": "HDB 4-Room Flats",
    "HDBDwellings_5_RoomandExecutiveFlats": "HDB 5-Room and Executive Flats",
    "CondominiumsandOtherApartments": "Condominiums and Other Apartments",
    "LandedProperties": "Landed Properties",
    "Others": "Others",
}
DWELLING_TYPES = tuple(DWELLING_COLS.values())
GHS_RELIGIONS = (
    "Buddhism",
    "Taoism",
    "Islam",
    "Hinduism",
    "Sikhism",
    "Christianity",
    "Other Religions",
    "No Religion",
)


def _census_dwelling(raw: Path) -> pd.DataFrame:
    cols: dict[str, dict[str, str]] = {c: {"dwelling_type": v} for c, v in DWELLING_COLS.items()}
    cols["HDBDwellings_Total"] = {}
    hdb = [c for c in DWELLING_COLS if c.startswith("HDBDwellings_")]
    return dg.parse_wide(
        _raw(raw, SPEC_FILES["census2020_dwelling_households_pa"]),
        cols,
        checks=dg.check_sum("HDBDwellings_Total", hdb, tolerance=2),
    )


def _income_label(col: str) -> str:
    if col == "Total":
        return TOTAL
    if col == "NoEmployedPerson":
        return "No Employed Person"
    if col.startswith("Below_"):
        return "Below " + col.removeprefix("Below_").replace("_", ",")
    if col.endswith("andOver"):
        return col.removesuffix("andOver").replace("_", ",") + " & Over"
    parts = col.split("_")
    half = len(parts) // 2
    return f"{','.join(parts[:half])}-{','.join(parts[half:])}"


#: The income columns of the two data.gov.sg income tables, exactly (a recased or new column is an error).
CENSUS_INCOME_COLUMNS = (
    "Total",
    "NoEmployedPerson",
    "Below_1_000",
    *(f"{a}_000_{a}_999" for a in range(1, 15)),
    "15_000_17_499",
    "17_500_19_999",
    "20_000andOver",
)
GHS_INCOME_COLUMNS = (
    "Total",
    "Below_1_000",
    "1_000_1_499",
    "1_500_1_999",
    "2_000_2_499",
    "2_500_2_999",
    *(f"{a}_000_{a}_999" for a in range(3, 12)),
    "12_000andOver",
)
CENSUS_INCOME_BANDS = tuple(_income_label(c) for c in CENSUS_INCOME_COLUMNS)
GHS_INCOME_BANDS = tuple(_income_label(c) for c in GHS_INCOME_COLUMNS)


def _census_income(raw: Path) -> pd.DataFrame:
    cols = {c: {"income_band": _income_label(c)} for c in CENSUS_INCOME_COLUMNS}
    return dg.parse_wide(_raw(raw, SPEC_FILES["census2020_income_households_pa"]), cols)


def _ghs_income(raw: Path) -> pd.DataFrame:
    cols = {c: {"income_band": _income_label(c)} for c in GHS_INCOME_COLUMNS}
    return dg.parse_wide(_raw(raw, SPEC_FILES["ghs2015_income_employed_pa"]), cols, label_col="Thousands", scale=1000)


def _label(mapping: dict[str, str] | None, what: str):
    def norm(label: str) -> str:
        if mapping is None:
            return label
        key = label.strip().lower()
        if key not in mapping:
            raise SourceTableError(what, f"unknown label {label!r}")
        return mapping[key]

    return norm


def _const(value: str):
    def norm(label: str) -> str:
        if label.strip().strip('"') != value:
            raise SourceTableError("level", f"expected {value!r}, found {label!r}")
        return value

    return norm


MARITAL = {
    "total": TOTAL,
    "single": "Single",
    "married": "Married",
    "widowed": "Widowed",
    "divorced/separated": "Divorced/Separated",
}
HQA_GHS = {
    k.lower(): k
    for k in (
        "Total",
        "No Qualification",
        "Primary",
        "Lower Secondary",
        "Secondary",
        "Post-Secondary (Non-Tertiary)",
        "Polytechnic",
        "Professional Qualification and Other Diploma",
        "University",
    )
}


def _ghs_pair(raw: Path, name: str, levels: dict) -> pd.DataFrame:
    pa_file, total_file = SPEC_FILES[name].split("|")
    return dg.parse_long_thousands(raw / pa_file, raw / total_file, levels)


def _mom_occupation_age(raw: Path) -> pd.DataFrame:
    files = dict(zip((TOTAL, "Male", "Female"), SPEC_FILES["mom_employed_occupation_age_sex"].split("|"), strict=True))
    return pd.concat([mom.occupation_age(raw / f, sex, MOM_YEAR) for sex, f in files.items()], ignore_index=True)


def _mom_industry_age(raw: Path) -> pd.DataFrame:
    files = dict(zip(("Male", "Female"), SPEC_FILES["mom_employed_industry_age_sex"].split("|"), strict=True))
    return pd.concat([mom.industry_age(raw / f, sex, MOM_YEAR) for sex, f in files.items()], ignore_index=True)


HQA_MOM = {"Total": TOTAL, **{v: v for v in mom.HQA_LF.values()}}
MARITAL_MOM = {"Total": TOTAL, "Single": "Single", "Married": "Married", "Widowed / Divorced": "Widowed/Divorced"}


def _lfs_sheet(raw: Path, name: str, sheet: str, key: str, cats: dict[str, str], percent: bool) -> pd.DataFrame:
    df = parse_mom_block_sheet(
        raw / SPEC_FILES[name],
        sheet,
        category_key=key,
        categories=cats,
        scale=1 if percent else 1000,
        integer=not percent,
    )
    return df if percent else df.rename(columns={"value": "count"})


def _cea_tokens(raw: Path) -> pd.DataFrame:
    from census_sources.names import read_register_names, register_tokens

    df, _ = register_tokens(read_register_names(raw / SPEC_FILES["cea_name_tokens"]))
    return df


def _cea_hashes(raw: Path) -> pd.DataFrame:
    from census_sources.names import read_register_names, register_hashes

    return register_hashes(read_register_names(raw / SPEC_FILES["cea_name_hashes"]))


# ---------------------------------------------------------------------------------------------- the tables

SPEC_FILES: dict[str, str] = {
    "respop_2025": "singstat_respop/respopagesex2025.csv",
    "census2020_ethnicity_sex": "census2020/ResidentPopulationbyPlanningAreaSubzoneofResidenceEthnicGroupandSexCensusofPopulation2020.csv",  # noqa: E501
    "census2020_religion_pa": "census2020/census2020_PA_religion_residents15plus_datagovsg.csv",
    "census2020_language_pa": "census2020/census2020_PA_language_most_freq_spoken_home_residents5plus_datagovsg.csv",
    "census2020_dwelling_households_pa": "census2020/ResidentHouseholdsbyPlanningAreaofResidenceandTypeofDwellingCensusofPopulation2020.csv",  # noqa: E501
    "census2020_income_households_pa": "census2020/ResidentHouseholdsbyPlanningAreaofResidenceandMonthlyHouseholdIncomefromWorkCensusOfPopulation2020.csv",  # noqa: E501
    "ghs2015_age_ethnicity_sex": "ghs2015/GHS2015_BasicDemographicCharacteristics_t1-9.xls",
    "ghs2015_dwelling_persons_pa": "ghs2015/GHS2015_BasicDemographicCharacteristics_t1-9.xls",
    "ghs2015_religion_ethnicity": "ghs2015_derived/GHS2015_religion_by_ethnic_group_residents15plus_derived.csv",
    "ghs2015_marital_sex_pa": "ghs2015_datagovsg_pa/resident-population-aged-15-years-and-over-by-planning-area-marital-status-and-sex.csv|ghs2015_datagovsg_pa/resident-population-aged-15-years-and-over-by-planning-area-total-marital-status-and-sex.csv",  # noqa: E501
    "ghs2015_education_pa": "ghs2015_datagovsg_pa/resident-population-aged-15-years-and-over-by-planning-area-and-hqa.csv|ghs2015_datagovsg_pa/resident-population-aged-15-years-and-over-by-planning-area-total-and-hqa.csv",  # noqa: E501
    "ghs2015_occupation_pa": "ghs2015_datagovsg_pa/resident-working-persons-aged-15-years-and-over-by-planning-area-and-occupation.csv|ghs2015_datagovsg_pa/resident-working-persons-aged-15-years-and-over-by-planning-area-total-and-occupation.csv",  # noqa: E501
    "ghs2015_industry_pa": "timlrx_sgmapping/SG_region_data_PA_GHS2015_Census2010_Census2000_from_rds.csv",
    "ghs2015_income_employed_pa": "ghs2015_datagovsg_pa/ResidentWorkingPersonsAged15YearsandOverbyPlanningAreaandGrossMonthlyIncomefromWorkGeneralHouseholdSurvey2015.csv",  # noqa: E501
    "mom_employed_occupation_age_sex": "mom_tablebuilder/M182171.csv|mom_tablebuilder/M182181.csv|mom_tablebuilder/M182191.csv",  # noqa: E501
    "mom_employed_industry_age_sex": "mom_tablebuilder/M182141.csv|mom_tablebuilder/M182151.csv",
    "mom_employed_industry_occupation": "mom_tablebuilder/M182081.csv",
    "mom_labour_force_education_sex": "mom_tablebuilder/M182271.csv",
    "mom_employed_education_age_sex": "mom_lfs2024/LFR2024_SectionG_MedianAge_DemographicProfile.xlsx",
    "mom_employed_marital_age_sex": "mom_lfs2024/LFR2024_SectionG_MedianAge_DemographicProfile.xlsx",
    "mom_employment_rate_age_sex_marital": "mom_lfs2024/LFR2024_SectionB_EmploymentRate.xlsx",
    "mom_labour_force_status_age_sex": "mom_datagovsg/ResidentLabourForceAged15YearsandOverbyLabourForceStatusAgeAndSex.csv",  # noqa: E501
    "mom_median_income_occupation_sex": "mom_tablebuilder/M920131.csv",
    "ura_planning_areas": "ura_mp2019/MasterPlan2019PlanningAreaBoundaryNoSea.geojson|ura_mp2019/MasterPlan2019SubzoneBoundaryNoSeaGEOJSON.geojson",  # noqa: E501
    "ura_subzones": "ura_mp2019/MasterPlan2019SubzoneBoundaryNoSeaGEOJSON.geojson",
    "chinese_surnames_2000": "names_sg/common_chinese_surnames_singapore_2000_transcribed.csv",
    "cea_name_tokens": "cea/CEASalespersonInformation.csv",
    "cea_name_hashes": "cea/CEASalespersonInformation.csv",
}


def _files(name: str) -> tuple[str, ...]:
    return tuple(SPEC_FILES[name].split("|"))


_SPECS: list[TableSpec] = [
    TableSpec(
        name="respop_2025",
        title="Singapore Residents by Planning Area / Subzone, Single Year of Age and Sex, June 2025",
        agency=SINGSTAT,
        reference="June 2025",
        url=RESPOP,
        raw_files=_files("respop_2025"),
        parse=lambda raw: other.parse_respop(raw / SPEC_FILES["respop_2025"], "2025"),
        keys=("planning_area", "subzone", "age", "sex"),
        rounding_unit=10,
        key_values={"sex": ("Male", "Female"), "age": SINGLE_AGES},
        complete=("age", "sex"),
        coverage=SUBZONES,
        drop_zero_rows=True,
        expected_total=4_217_720,
        recorded_in="PROVENANCE.md 1.1: sum of Pop over 60,424 rows",
        universe="Singapore residents (citizens and PRs), all ages; age 90 means 90 and over; rows with zero "
        "residents are omitted",
        quirks=(
            "CRLF line endings (a UTF-8 BOM, present in other SingStat downloads, is stripped if there)",
            "figures rounded to the nearest 10",
            "age '90_and_Over' stored as 90 (= 90+)",
            "zero rows dropped (totals unchanged)",
        ),
        grounds=("planning_area", "subzone", "age", "sex"),
    ),
    TableSpec(
        name="census2020_ethnicity_sex",
        title="Resident Population by Planning Area/Subzone of Residence, Ethnic Group and Sex "
        "(Census of Population 2020)",
        agency=SINGSTAT,
        reference="June 2020",
        url=f"{DATAGOVSG}/datasets/d_e7ae90176a68945837ad67892b898466",
        raw_files=_files("census2020_ethnicity_sex"),
        parse=_census_ethnicity,
        keys=("planning_area", "subzone", "ethnicity", "sex"),
        totals={"planning_area": TOTAL, "subzone": TOTAL, "ethnicity": TOTAL, "sex": TOTAL},
        rounding_unit=10,
        dash_allowance=50,
        key_values={"ethnicity": ETHNICITY_KEYS, "sex": SEX_KEYS},
        complete=("ethnicity", "sex"),
        coverage=SUBZONES,
        universe="Singapore residents, all ages",
        grounds=("ethnicity",),
        quirks=(
            "'<PA> - Total' rows open each planning area; 'Changi- Total' lacks a space",
            "figures rounded to the nearest 10",
            "small cells published as '-' (stored as 0) can hide up to ~50 persons: e.g. Singapore "
            "Polytechnic subzone total 100 with both sexes '-'; reconciliation allows 50 per dash",
        ),
    ),
    TableSpec(
        name="census2020_religion_pa",
        title="Resident Population Aged 15 Years and Over by Planning Area of Residence and Religion "
        "(Census of Population 2020)",
        agency=SINGSTAT,
        reference="June 2020",
        url=DATAGOVSG,
        raw_files=_files("census2020_religion_pa"),
        parse=_census_religion,
        keys=("planning_area", "religion"),
        totals={"planning_area": TOTAL, "religion": TOTAL},
        rounding_unit=2,
        key_values={"religion": tuple(RELIGION_COLS.values())},
        complete=("religion",),
        pooled=True,
        universe="Residents aged 15+; the 25 smallest planning areas are pooled as 'Others'",
        grounds=("religion",),
        quirks=(
            "transcribed copy (see PROVENANCE.md 2.6)",
            "footnote digit in 'Taoism1'",
            "random rounding: each published cell may be off by 1, so totals and their parts differ by a few",
        ),
    ),
    TableSpec(
        name="census2020_language_pa",
        title="Resident Population Aged 5 Years and Over by Planning Area of Residence and Language Most "
        "Frequently Spoken at Home (Census of Population 2020)",
        agency=SINGSTAT,
        reference="June 2020",
        url=f"{DATAGOVSG}/datasets/d_21f546492a87dec38391fc72eb4c7890",
        raw_files=_files("census2020_language_pa"),
        parse=_census_language,
        keys=("planning_area", "language"),
        totals={"planning_area": TOTAL, "language": TOTAL},
        rounding_unit=2,
        key_values={"language": tuple(LANGUAGE_KEEP.values())},
        complete=("language",),
        pooled=True,
        universe="Residents aged 5+, excluding persons unable to speak and persons in one-person or "
        "unrelated-person households; 25 smallest planning areas pooled as 'Others'",
        grounds=("language_at_home",),
        quirks=(
            "transcribed copy (see PROVENANCE.md 2.7)",
            "footnote digits glued to column names",
            "second-language sub-columns are incomplete by design and are not kept",
        ),
    ),
    TableSpec(
        name="census2020_dwelling_households_pa",
        title="Resident Households by Planning Area of Residence and Type of Dwelling (Census of Population 2020)",
        agency=SINGSTAT,
        reference="June 2020",
        url=DATAGOVSG,
        raw_files=_files("census2020_dwelling_households_pa"),
        parse=_census_dwelling,
        keys=("planning_area", "dwelling_type"),
        unit="households",
        totals={"planning_area": TOTAL, "dwelling_type": TOTAL},
        rounding_unit=2,
        key_values={"dwelling_type": DWELLING_TYPES},
        complete=("dwelling_type",),
        pooled=True,
        universe="Resident households (not persons); 25 smallest planning areas pooled as 'Others'",
        grounds=("dwelling_type",),
        quirks=("HDB total checked against its flat types, then dropped",),
    ),
    TableSpec(
        name="census2020_income_households_pa",
        title="Resident Households by Planning Area of Residence and Monthly Household Income from Work "
        "(Census of Population 2020)",
        agency=SINGSTAT,
        reference="June 2020",
        url=DATAGOVSG,
        raw_files=_files("census2020_income_households_pa"),
        parse=_census_income,
        keys=("planning_area", "income_band"),
        unit="households",
        totals={"planning_area": TOTAL, "income_band": TOTAL},
        rounding_unit=2,
        key_values={"income_band": CENSUS_INCOME_BANDS},
        complete=("income_band",),
        pooled=True,
        universe="Resident households; income bands in SGD per month; 25 smallest planning areas pooled",
        grounds=("monthly_income_band",),
    ),
    TableSpec(
        name="ghs2015_age_ethnicity_sex",
        title="General Household Survey 2015, Table 1: Resident Population by Age Group, Ethnic Group, Sex and "
        "Residential Status",
        agency=SINGSTAT,
        reference="June 2015",
        url=GHS2015,
        raw_files=_files("ghs2015_age_ethnicity_sex"),
        parse=lambda raw: parse_ghs_t1(raw / SPEC_FILES["ghs2015_age_ethnicity_sex"]),
        keys=("age_group", "ethnicity", "sex"),
        totals={"age_group": TOTAL, "ethnicity": TOTAL, "sex": TOTAL},
        slack=2,
        key_values={"age_group": GHS_AGE_GROUPS, "ethnicity": ETHNICITY_KEYS, "sex": SEX_KEYS},
        complete=("age_group", "ethnicity", "sex"),
        universe="Singapore residents, national; the 'Total' residential-status block",
        grounds=("ethnicity",),
        quirks=("legacy .xls print layout with repeated page headers", "age labels padded with spaces"),
    ),
    TableSpec(
        name="ghs2015_dwelling_persons_pa",
        title="General Household Survey 2015, Table 9: Resident Population by Planning Area/Subzone and Type of "
        "Dwelling",
        agency=SINGSTAT,
        reference="June 2015",
        url=GHS2015,
        raw_files=_files("ghs2015_dwelling_persons_pa"),
        parse=lambda raw: parse_ghs_t9(raw / SPEC_FILES["ghs2015_dwelling_persons_pa"]),
        keys=("planning_area", "dwelling_type"),
        totals={"dwelling_type": TOTAL},
        rounding_unit=10,
        key_values={"dwelling_type": (*DWELLING_TYPES, HDB_OTHER, NOT_SHOWN)},
        complete=("dwelling_type",),
        coverage=PLANNING_AREAS,
        universe="Singapore residents (persons), all 55 planning areas (MP2014 boundaries)",
        grounds=("dwelling_type",),
        quirks=(
            "'-' = nil",
            "figures rounded to 10",
            "subzone rows not kept",
            "footnote 1/: Total HDB exceeds its four flat types; the difference is kept as its own category",
            "national row checked against the sum of planning areas, then dropped",
        ),
    ),
    TableSpec(
        name="ghs2015_religion_ethnicity",
        title="Resident Population Aged 15 Years and Over by Religion and Ethnic Group, General Household Survey "
        "2015 (derived from data.gov.sg 'Residents by Religion, Ethnic Group and Sex')",
        agency=SINGSTAT,
        reference="June 2015",
        url=DATAGOVSG,
        raw_files=_files("ghs2015_religion_ethnicity"),
        parse=lambda raw: other.parse_simple_wide(
            raw / SPEC_FILES["ghs2015_religion_ethnicity"],
            "Ethnic",
            "ethnicity",
            ETHNICITY,
            "religion",
            {r: r for r in GHS_RELIGIONS},
        ),
        keys=("ethnicity", "religion"),
        rounding_unit=100,
        key_values={"ethnicity": ETHNIC_GROUPS, "religion": GHS_RELIGIONS},
        complete=("ethnicity", "religion"),
        universe="Residents aged 15+, national, both sexes",
        grounds=("religion",),
        quirks=(
            "derived by a third party from the official file (PROVENANCE.md 14.1); Catholic and other "
            "Christians merged",
        ),
    ),
    TableSpec(
        name="ghs2015_marital_sex_pa",
        title="Resident Population Aged 15 Years and Over by Planning Area, Marital Status and Sex, 2015",
        agency=SINGSTAT,
        reference="June 2015",
        url=DATAGOVSG,
        raw_files=_files("ghs2015_marital_sex_pa"),
        parse=lambda raw: _ghs_pair(
            raw,
            "ghs2015_marital_sex_pa",
            {"marital_status": _label(MARITAL, "marital"), "sex": _label(SEX, "sex"), "_total": _const(TOTAL)},
        ),
        keys=("marital_status", "sex", "planning_area"),
        totals={"marital_status": TOTAL, "sex": TOTAL, "planning_area": TOTAL},
        rounding_unit=100,
        key_values={"marital_status": tuple(MARITAL.values()), "sex": SEX_KEYS},
        complete=("marital_status", "sex"),
        pooled=True,
        universe="Residents aged 15+; 28 planning areas (MP2014) + 'Others'",
        grounds=("marital_status",),
        quirks=("values in thousands → persons", "national rows in a separate 'total' file"),
    ),
    TableSpec(
        name="ghs2015_education_pa",
        title="Resident Population Aged 15 Years and Over by Planning Area and Highest Qualification Attained, 2015",
        agency=SINGSTAT,
        reference="June 2015",
        url=DATAGOVSG,
        raw_files=_files("ghs2015_education_pa"),
        parse=lambda raw: _ghs_pair(
            raw, "ghs2015_education_pa", {"education": _label(HQA_GHS, "qualification"), "_total": _const(TOTAL)}
        ),
        keys=("education", "planning_area"),
        totals={"education": TOTAL, "planning_area": TOTAL},
        rounding_unit=100,
        key_values={"education": tuple(HQA_GHS.values())},
        complete=("education",),
        pooled=True,
        universe="Non-student residents aged 15+; 28 planning areas + 'Others'",
        grounds=("education_level",),
        quirks=("values in thousands → persons",),
    ),
    TableSpec(
        name="ghs2015_occupation_pa",
        title="Resident Working Persons Aged 15 Years and Over by Planning Area and Occupation, 2015",
        agency=SINGSTAT,
        reference="June 2015",
        url=DATAGOVSG,
        raw_files=_files("ghs2015_occupation_pa"),
        parse=lambda raw: _ghs_pair(
            raw, "ghs2015_occupation_pa", {"occupation": _label(OCCUPATION, "occupation"), "_total": _const(TOTAL)}
        ),
        keys=("occupation", "planning_area"),
        totals={"occupation": TOTAL, "planning_area": TOTAL},
        rounding_unit=100,
        key_values={"occupation": OCCUPATIONS},
        complete=("occupation",),
        pooled=True,
        universe="Working residents aged 15+; 28 planning areas + 'Others'",
        grounds=("occupation",),
        quirks=("values in thousands → persons", "SSOC 2010 group names mapped"),
    ),
    TableSpec(
        name="ghs2015_industry_pa",
        title="Resident Working Persons Aged 15 Years and Over by Planning Area and Industry, 2015",
        agency=SINGSTAT,
        reference="June 2015",
        url=DATAGOVSG,
        raw_files=_files("ghs2015_industry_pa"),
        parse=lambda raw: _industry_pa(raw),
        keys=("planning_area", "industry"),
        totals={"planning_area": TOTAL, "industry": TOTAL},
        rounding_unit=100,
        key_values={"industry": INDUSTRIES},
        complete=("industry",),
        pooled=True,
        universe="Working residents aged 15+; 28 planning areas + 'Others'",
        grounds=("industry",),
        quirks=(
            "converted from an R .rds compilation (PROVENANCE.md 12.1)",
            "values in thousands → persons",
            "'Services- Total' sub-total dropped",
        ),
    ),
    TableSpec(
        name="ghs2015_income_employed_pa",
        title="Resident Working Persons Aged 15 Years and Over by Planning Area and Gross Monthly Income from "
        "Work (General Household Survey 2015)",
        agency=SINGSTAT,
        reference="June 2015",
        url=DATAGOVSG,
        raw_files=_files("ghs2015_income_employed_pa"),
        parse=_ghs_income,
        keys=("planning_area", "income_band"),
        totals={"planning_area": TOTAL, "income_band": TOTAL},
        rounding_unit=100,
        key_values={"income_band": GHS_INCOME_BANDS},
        complete=("income_band",),
        pooled=True,
        universe="Working residents aged 15+; SGD per month; 28 planning areas + 'Others'",
        grounds=("monthly_income_band",),
        quirks=("values in thousands → persons",),
    ),
    TableSpec(
        name="mom_employed_occupation_age_sex",
        title="Employed Residents Aged 15 Years And Over By Occupation And Age Group, (June), Annual "
        "(M182171; male M182181, female M182191)",
        agency=MOM,
        reference=f"June {MOM_YEAR}",
        url=TABLEBUILDER,
        raw_files=_files("mom_employed_occupation_age_sex"),
        parse=_mom_occupation_age,
        keys=("sex", "age_group", "occupation"),
        nullable=True,
        totals={"sex": TOTAL, "age_group": TOTAL, "occupation": TOTAL},
        rounding_unit=100,
        key_values={"sex": SEX_KEYS, "age_group": MOM_AGE_GROUPS_65, "occupation": OCCUPATIONS},
        complete=("sex", "age_group", "occupation"),
        universe="Employed residents aged 15+",
        grounds=("occupation",),
        quirks=("Table Builder layout", "values in thousands → persons", "'na' kept as a flag"),
    ),
    TableSpec(
        name="mom_employed_industry_age_sex",
        title="Employed Male / Female Residents Aged 15 Years And Over By Industry And Age Group, (June), Annual "
        "(M182141, M182151)",
        agency=MOM,
        reference=f"June {MOM_YEAR}",
        url=TABLEBUILDER,
        raw_files=_files("mom_employed_industry_age_sex"),
        parse=_mom_industry_age,
        keys=("sex", "age_group", "industry"),
        nullable=True,
        totals={"age_group": TOTAL, "industry": TOTAL},
        rounding_unit=100,
        key_values={"sex": ("Male", "Female"), "age_group": MOM_AGE_GROUPS_65, "industry": INDUSTRIES},
        complete=("sex", "age_group", "industry"),
        universe="Employed residents aged 15+",
        grounds=("industry",),
        quirks=("Services sub-total checked against its parts, then dropped", "values in thousands → persons"),
    ),
    TableSpec(
        name="mom_employed_industry_occupation",
        title="Employed Residents Aged 15 Years And Over By Industry And Occupation, (June), Annual (M182081)",
        agency=MOM,
        reference=f"June {MOM_YEAR}",
        url=TABLEBUILDER,
        raw_files=_files("mom_employed_industry_occupation"),
        parse=lambda raw: mom.industry_occupation(raw / SPEC_FILES["mom_employed_industry_occupation"], MOM_YEAR),
        keys=("occupation", "industry"),
        nullable=True,
        totals={"occupation": TOTAL, "industry": TOTAL},
        rounding_unit=100,
        key_values={"occupation": OCCUPATIONS, "industry": INDUSTRIES},
        complete=("occupation", "industry"),
        universe="Employed residents aged 15+",
        grounds=("industry", "occupation"),
    ),
    TableSpec(
        name="mom_labour_force_education_sex",
        title="Resident Labour Force Aged 15 Years And Over By Highest Qualification Attained And Sex, End June, "
        "Annual (M182271)",
        agency=MOM,
        reference=f"June {MOM_YEAR}",
        url=TABLEBUILDER,
        raw_files=_files("mom_labour_force_education_sex"),
        parse=lambda raw: mom.labour_force_hqa(raw / SPEC_FILES["mom_labour_force_education_sex"], MOM_YEAR),
        keys=("sex", "education"),
        totals={"sex": TOTAL, "education": TOTAL},
        rounding_unit=100,
        key_values={"sex": SEX_KEYS, "education": tuple(HQA_MOM.values())},
        complete=("sex", "education"),
        universe="Resident labour force aged 15+",
        grounds=("education_level",),
    ),
    TableSpec(
        name="mom_employed_education_age_sex",
        title="Labour Force in Singapore 2024, Table G4: Employed Residents Aged Fifteen Years and Over by Highest "
        "Qualification Attained, Age and Sex, 2024",
        agency=MOM,
        reference="June 2024",
        url=LFS2024,
        raw_files=_files("mom_employed_education_age_sex"),
        parse=lambda raw: _lfs_sheet(raw, "mom_employed_education_age_sex", "G4", "education", HQA_MOM, False),
        keys=("sex", "age_group", "education"),
        nullable=True,
        totals={"sex": TOTAL, "age_group": TOTAL, "education": TOTAL},
        rounding_unit=100,
        key_values={"sex": SEX_KEYS, "age_group": MOM_AGE_GROUPS_70, "education": tuple(HQA_MOM.values())},
        complete=("sex", "age_group", "education"),
        universe="Employed residents aged 15+",
        grounds=("education_level",),
    ),
    TableSpec(
        name="mom_employed_marital_age_sex",
        title="Labour Force in Singapore 2024, Table G7: Employed Residents Aged Fifteen Years and Over by Marital "
        "Status, Age and Sex, 2024",
        agency=MOM,
        reference="June 2024",
        url=LFS2024,
        raw_files=_files("mom_employed_marital_age_sex"),
        parse=lambda raw: _lfs_sheet(raw, "mom_employed_marital_age_sex", "G7", "marital_status", MARITAL_MOM, False),
        keys=("sex", "age_group", "marital_status"),
        nullable=True,
        totals={"sex": TOTAL, "age_group": TOTAL, "marital_status": TOTAL},
        rounding_unit=100,
        key_values={"sex": SEX_KEYS, "age_group": MOM_AGE_GROUPS_70, "marital_status": tuple(MARITAL_MOM.values())},
        complete=("sex", "age_group", "marital_status"),
        universe="Employed residents aged 15+",
        grounds=("marital_status",),
    ),
    TableSpec(
        name="mom_employment_rate_age_sex_marital",
        title="Labour Force in Singapore 2024, Table B2: Resident Employment Rate by Age, Sex and Marital Status, 2024",
        agency=MOM,
        reference="June 2024",
        url=LFS2024,
        raw_files=_files("mom_employment_rate_age_sex_marital"),
        parse=lambda raw: _lfs_sheet(
            raw, "mom_employment_rate_age_sex_marital", "B2", "marital_status", MARITAL_MOM, True
        ),
        keys=("sex", "age_group", "marital_status"),
        value="value",
        unit="per cent",
        integer=False,
        nullable=True,
        key_values={"sex": SEX_KEYS, "age_group": MOM_AGE_GROUPS_70, "marital_status": tuple(MARITAL_MOM.values())},
        complete=("sex", "age_group", "marital_status"),
        universe="Residents aged 15+ (employment rate = employed / population)",
        grounds=("marital_status", "labour_force_status"),
        quirks=("'s' = suppressed (small sample) kept as a flag", "aggregate age rows (15-24 …) dropped"),
    ),
    TableSpec(
        name="mom_labour_force_status_age_sex",
        title="Resident Labour Force Aged 15 Years and Over by Labour Force Status, Age and Sex",
        agency=MOM,
        reference="June 2023",
        url=DATAGOVSG,
        raw_files=_files("mom_labour_force_status_age_sex"),
        parse=lambda raw: other.parse_lf_status(raw / SPEC_FILES["mom_labour_force_status_age_sex"], "2023"),
        keys=("sex", "age_group", "labour_force_status"),
        rounding_unit=100,
        key_values={
            "sex": ("Male", "Female"),
            "age_group": LF_AGE_GROUPS,
            "labour_force_status": LF_STATUSES,
        },
        complete=("sex", "age_group", "labour_force_status"),
        universe="Residents aged 15+; latest year in the file (2023)",
        grounds=("labour_force_status",),
        quirks=("persons rounded to 100", "'70_and_over' → '70+'"),
    ),
    TableSpec(
        name="mom_median_income_occupation_sex",
        title="Median Gross Monthly Income From Employment (Including Employer CPF) Of Full-Time Employed "
        "Residents By Occupations And Sex, End June, Annual (M920131)",
        agency=MOM,
        reference="June 2023",
        url=TABLEBUILDER,
        raw_files=_files("mom_median_income_occupation_sex"),
        parse=lambda raw: mom.median_income(raw / SPEC_FILES["mom_median_income_occupation_sex"], "2023"),
        keys=("occupation", "sex"),
        value="value",
        unit="SGD per month",
        integer=False,
        nullable=True,
        key_values={"occupation": OCCUPATIONS_SSOC, "sex": BOTH_SEXES},
        complete=("occupation", "sex"),
        universe="Full-time employed residents (latest year in the file: 2023)",
        grounds=("monthly_income_band",),
    ),
    TableSpec(
        name="mom_median_income_occupation_sex_2015",
        title="Median Gross Monthly Income From Employment (Including Employer CPF) Of Full-Time Employed "
        "Residents By Occupations And Sex, End June, Annual (M920131), 2015 column",
        agency=MOM,
        reference="June 2015",
        url=TABLEBUILDER,
        raw_files=_files("mom_median_income_occupation_sex"),
        parse=lambda raw: mom.median_income(raw / SPEC_FILES["mom_median_income_occupation_sex"], "2015"),
        keys=("occupation", "sex"),
        value="value",
        unit="SGD per month",
        integer=False,
        nullable=True,
        key_values={"occupation": OCCUPATIONS_SSOC, "sex": BOTH_SEXES},
        complete=("occupation", "sex"),
        universe="Full-time employed residents, 2015 (the year of the GHS 2015 income-band tables)",
        grounds=("monthly_income_band",),
    ),
    TableSpec(
        name="ura_planning_areas",
        title="Master Plan 2019 Planning Area Boundary (No Sea)",
        agency=URA,
        reference="2019",
        url=f"{DATAGOVSG}/datasets?query=master+plan+2019+planning+area",
        raw_files=_files("ura_planning_areas"),
        parse=lambda raw: other.parse_ura_planning_areas(*(raw / f for f in _files("ura_planning_areas"))),
        keys=("planning_area", "planning_area_code", "region", "region_code"),
        unit="subzones",
        key_values={"region": REGIONS, "region_code": REGION_CODES},
        open_keys=("planning_area", "planning_area_code"),  # the reference list itself
        expected_rows=55,
        recorded_in="PROVENANCE.md 1.1: 55 planning areas",
        universe="The 55 URA MP2019 planning areas; value = number of MP2019 subzones",
        grounds=("region",),
        quirks=("names upper-case in the source; stored in SingStat's title case",),
    ),
    TableSpec(
        name="ura_subzones",
        title="Master Plan 2019 Subzone Boundary (No Sea)",
        agency=URA,
        reference="2019",
        url=f"{DATAGOVSG}/datasets?query=master+plan+2019+subzone",
        raw_files=_files("ura_subzones"),
        parse=lambda raw: other.parse_ura_subzones(raw / SPEC_FILES["ura_subzones"]),
        keys=("planning_area", "subzone", "subzone_code"),
        unit="subzones",
        open_keys=("subzone", "subzone_code"),  # the reference list itself
        expected_rows=332,
        recorded_in="PROVENANCE.md 1.1: 332 subzones",
        universe="The 332 URA MP2019 subzones",
        grounds=("subzone",),
    ),
    TableSpec(
        name="cea_name_tokens",
        title="CEA Salesperson Information (name tokens derived by sg-personas)",
        agency=CEA,
        reference="February 2026 (newest registration start date 2026-02-21)",
        url=f"{DATAGOVSG}/datasets?query=cea+salesperson",
        raw_files=_files("cea_name_tokens"),
        parse=_cea_tokens,
        keys=("position", "ethnicity", "sex", "token"),
        key_values={
            "position": POSITIONS,
            "ethnicity": ("Chinese", "Malay", "Indian", "unclassified"),
            "sex": ("Male", "Female", "unknown"),
        },
        located=False,  # counts and digests over the whole register, not rows of it
        open_keys=("token",),
        universe="37,571 registered real-estate salespersons (adults in one trade); token counts only, never full "
        "names; ethnicity and sex inferred by the rules in census_sources/names.py",
        grounds=("first_name", "middle_name", "last_name", "full_name", "preferred_english_name"),
        quirks=(
            "aliases in parentheses and English names after a comma",
            "BIN/BINTE/BTE/BINTI and S/O, D/O patronymics",
            "romanised Chinese syllables (pinyin, Hokkien, Hakka, Cantonese spellings), joined pinyin",
            "characters lost to '?' in the source are dropped",
        ),
    ),
    TableSpec(
        name="cea_name_hashes",
        title="CEA Salesperson Information (one-way hashes of registered full names, derived by sg-personas)",
        agency=CEA,
        reference="February 2026",
        url=f"{DATAGOVSG}/datasets?query=cea+salesperson",
        raw_files=_files("cea_name_hashes"),
        parse=_cea_hashes,
        keys=("kind", "hash"),
        key_values={"kind": ("full_name", "token_set")},
        located=False,  # counts and digests over the whole register, not rows of it
        open_keys=("hash",),
        universe="SHA-256 (first 48 bits) of every normalised registered full-name form and token set: lets the "
        "privacy "
        "gate check synthetic names against the register without storing any name",
        grounds=("full_name",),
    ),
    TableSpec(
        name="chinese_surnames_2000",
        title="Most common Chinese surnames in Singapore, Census of Population 2000 (top 20)",
        agency=SINGSTAT,
        reference="2000",
        url="https://en.wikipedia.org/wiki/List_of_common_Chinese_surnames_in_Singapore",
        raw_files=_files("chinese_surnames_2000"),
        parse=lambda raw: other.parse_surnames(raw / SPEC_FILES["chinese_surnames_2000"]),
        keys=("surname",),
        licence="Census figures (SingStat); transcription from Wikipedia (CC BY-SA 4.0)",
        licence_url="https://creativecommons.org/licenses/by-sa/4.0/",
        rounding_unit=100,
        open_keys=("surname",),
        expected_rows=20,
        recorded_in="the Census 2000 top 20",
        universe="Chinese residents, 2000; dialect romanisation as registered",
        grounds=("last_name",),
        quirks=("transcribed by hand from a secondary source (PROVENANCE.md 15.1)",),
    ),
]


def _industry_pa(raw: Path) -> pd.DataFrame:
    df = other.parse_timlrx_industry(raw / SPEC_FILES["ghs2015_industry_pa"])
    df["industry"] = df["industry"].map(lambda s: _INDUSTRY_GHS.get(s.strip(), s.strip()))
    return df


_INDUSTRY_GHS = {
    "Services - Wholesale & Retail Trade": "Wholesale & Retail Trade",
    "Services - Transportation & Storage": "Transportation & Storage",
    "Services - Accommodation & Food Services": "Accommodation & Food Services",
    "Services - Information & Communications": "Information & Communications",
    "Services - Financial & Insurance Services": "Financial & Insurance Services",
    "Services - Real Estate Services": "Real Estate Services",
    "Services - Professional Services": "Professional Services",
    "Services - Administrative & Support Services": "Administrative & Support Services",
    "Services - Public Administration & Education": "Public Administration & Education",
    "Services - Health & Social Services": "Health & Social Services",
    "Services - Arts, Entertainment & Recreation": "Arts, Entertainment & Recreation",
    "Services - Other Community, Social & Personal Services": "Other Community, Social & Personal Services",
}


# ---------------------------------------------------------------------------------------------- joint cross-tabs
# Official cross-tabulations that tie two or three record fields together (issue 15): dwelling by the
# qualification, occupation and marital status of the household head, persons by dwelling x religion x sex,
# households by household income from work x dwelling, and the 2015 labour force by qualification.

SPEC_FILES.update(
    {
        "ghs2015_dwelling_education_households": "ghs2015_datagovsg_pa/resident-households-by-type-of-dwelling-total-and-hqa-of-head-of-household.csv|ghs2015_datagovsg_pa/resident-households-by-type-of-dwelling-hdb-and-hqa-of-head-of-household.csv",  # noqa: E501
        "ghs2015_dwelling_occupation_households": "ghs2015_datagovsg_pa/resident-households-by-type-of-dwelling-total-and-occupation-of-head-of-household.csv|ghs2015_datagovsg_pa/resident-households-by-type-of-dwelling-hdb-and-occupation-of-head-of-household.csv",  # noqa: E501
        "ghs2015_dwelling_marital_tenancy_households": "ghs2015_datagovsg_pa/type-of-dwelling-total-marital-status-of-head-of-household-and-tenancy.csv|ghs2015_datagovsg_pa/type-of-dwelling-hdb-marital-status-of-head-of-household-and-tenancy.csv",  # noqa: E501
        "ghs2015_dwelling_religion_sex": "ghs2015_datagovsg_pa/resident-population-aged-15-years-and-over-by-type-of-dwelling-broad-religion-and-sex.csv|ghs2015_datagovsg_pa/resident-population-aged-15-years-and-over-by-type-of-dwelling-hdb-religion-and-sex.csv",  # noqa: E501
        "census2020_income_dwelling_households": "census2020/ResidentHouseholdsbyMonthlyHouseholdIncomefromWorkandTypeofDwellingCensusofPopulation2020_tablebuilder.csv",  # noqa: E501
        "mom_labour_force_education_sex_2015": "mom_tablebuilder/M182271.csv",
    }
)

HDB_DWELLINGS = "HDB Dwellings"
#: Broad dwelling labels of the GHS 2015 long-format files (lower-cased) -> the project's labels.
GHS_BROAD_DWELLING = {
    "total": TOTAL,
    "hdb dwellings": HDB_DWELLINGS,
    "condominiums and other apartments": "Condominiums and Other Apartments",
    "landed properties": "Landed Properties",
    "others": "Others",
}
#: HDB flat types as the GHS 2015 "hdb" files spell them (two spellings per type occur).
GHS_FLAT_TYPES = {
    "1- and 2-room flats": "HDB 1- and 2-Room Flats",
    "1-and 2-room flats": "HDB 1- and 2-Room Flats",
    "3-room flats": "HDB 3-Room Flats",
    "4-room flats": "HDB 4-Room Flats",
    "5-room and executive flats": "HDB 5-Room and Executive Flats",
    "5-room & executive flats": "HDB 5-Room and Executive Flats",
}
DWELLING_WITH_HDB_OTHER = (*DWELLING_TYPES, HDB_OTHER)
TENANCY = {"total": TOTAL, "owner": "Owner", "non-owner": "Non-Owner"}
RELIGION_GHS_DWELLING = {
    "total": TOTAL,
    "no religion": "No Religion",
    "buddhism": "Buddhism",
    "taoism": "Taoism",
    "islam": "Islam",
    "hinduism": "Hinduism",
    "sikhism": "Sikhism",
    "christianity- catholic": "Catholic",
    "christianity- other christians": "Other Christians",
    "other religions": "Other Religions",
}
GHS_DWELLING_QUIRKS = (
    "values in thousands → households or persons",
    "two files: broad dwelling types, and HDB split by flat type",
    "the publisher's HDB total exceeds its four flat types: the difference is kept as its own category",
    "cells absent from the long-format download are the publisher's nil ('-') and are stored as 0",
    "the derived HDB-other cells carry the rounding of five published figures each: reconciliation allows "
    "200 more per derived cell (slack = 200 x the categories of the widest other key)",
)


def _ghs_dwelling(raw: Path, name: str, levels: dict) -> pd.DataFrame:
    broad_file, hdb_file = _files(name)
    return dg.parse_long_dwelling(
        raw / broad_file,
        raw / hdb_file,
        levels,
        broad=GHS_BROAD_DWELLING,
        flat_types=GHS_FLAT_TYPES,
        hdb=HDB_DWELLINGS,
        hdb_other=HDB_OTHER,
    )


#: Column headings of the Census 2020 income x dwelling Table Builder export -> dwelling labels (None: the HDB
#: total, checked against its flat types and dropped).
INCOME_DWELLING_COLUMNS: dict[str, str | None] = {
    "Total": TOTAL,
    "HDB Dwellings / Total": None,
    "HDB Dwellings / 1- & 2- Room Flats2/": "HDB 1- and 2-Room Flats",
    "HDB Dwellings / 3-Room Flats": "HDB 3-Room Flats",
    "HDB Dwellings / 4-Room Flats": "HDB 4-Room Flats",
    "HDB Dwellings / 5-Room & Executive Flats": "HDB 5-Room and Executive Flats",
    "Condominiums & Other Apartments": "Condominiums and Other Apartments",
    "Landed Properties": "Landed Properties",
    "Others": "Others",
}
HOUSEHOLD_INCOME_BANDS = (
    TOTAL,
    "No Employed Person",
    "Below 1,000",
    *(f"{lo:,}-{lo + 999:,}" for lo in range(1000, 15000, 1000)),
    "15,000-17,499",
    "17,500-19,999",
    "20,000 & Over",
)
INCOME_ROW_VARIABLE = "Monthly Household Income from Work"


def _census_income_dwelling(raw: Path) -> pd.DataFrame:
    from census_sources.errors import WHERE, located
    from census_sources.parsers.tablebuilder import read_crosstab

    path = raw / SPEC_FILES["census2020_income_dwelling_households"]
    tab = read_crosstab(path, INCOME_ROW_VARIABLE, INCOME_DWELLING_COLUMNS)
    if tab.unit != "Number":
        raise SourceTableError(path, f"expected figures in 'Number' (households), found unit {tab.unit!r}")
    hdb_parts = [c for c, v in INCOME_DWELLING_COLUMNS.items() if v and v.startswith("HDB ")]
    check = dg.check_sum("HDB Dwellings / Total", hdb_parts, tolerance=2)
    at = located(path, {"income_band": INCOME_ROW_VARIABLE})
    records = []
    for line, label, values in tab.rows:
        band = label.replace(" - ", "-")
        if band not in HOUSEHOLD_INCOME_BANDS:
            raise SourceTableError(path, f"unknown income band {label!r}", row=line, column=INCOME_ROW_VARIABLE)
        check(values, line, path)
        for col, dwelling in INCOME_DWELLING_COLUMNS.items():
            if dwelling is not None:
                records.append(
                    {"income_band": band, "dwelling_type": dwelling, "count": values[col], WHERE: at(line, col)}
                )
    return pd.DataFrame.from_records(records)


_SPECS += [
    TableSpec(
        name="ghs2015_dwelling_education_households",
        title="Resident Households by Type of Dwelling and Highest Qualification Attained of Head of Household, "
        "2015 (General Household Survey 2015)",
        agency=SINGSTAT,
        reference="June 2015",
        url=DATAGOVSG,
        raw_files=_files("ghs2015_dwelling_education_households"),
        parse=lambda raw: _ghs_dwelling(
            raw, "ghs2015_dwelling_education_households", {"education": _label(HQA_GHS, "qualification")}
        ),
        keys=("education", "dwelling_type"),
        unit="households",
        totals={"education": TOTAL, "dwelling_type": TOTAL},
        rounding_unit=100,
        slack=200 * 9,
        key_values={"education": tuple(HQA_GHS.values()), "dwelling_type": DWELLING_WITH_HDB_OTHER},
        complete=("education", "dwelling_type"),
        universe="Resident households, national, by the highest qualification attained of the head of household "
        "(household heads, not persons)",
        grounds=("dwelling_type",),  # the dwelling table conditions on the other fields; it does not ground them
        quirks=GHS_DWELLING_QUIRKS,
    ),
    TableSpec(
        name="ghs2015_dwelling_occupation_households",
        title="Resident Households by Type of Dwelling and Occupation of Head of Household, 2015 "
        "(General Household Survey 2015)",
        agency=SINGSTAT,
        reference="June 2015",
        url=DATAGOVSG,
        raw_files=_files("ghs2015_dwelling_occupation_households"),
        parse=lambda raw: _ghs_dwelling(
            raw, "ghs2015_dwelling_occupation_households", {"occupation": _label(OCCUPATION, "occupation")}
        ),
        keys=("occupation", "dwelling_type"),
        unit="households",
        totals={"occupation": TOTAL, "dwelling_type": TOTAL},
        rounding_unit=100,
        slack=200 * 10,
        key_values={"occupation": tuple(dict.fromkeys(OCCUPATION.values())), "dwelling_type": DWELLING_WITH_HDB_OTHER},
        complete=("occupation", "dwelling_type"),
        universe="Resident households whose head is working, national, by the head's occupation (SSOC 2010 major "
        "groups; household heads, not persons)",
        grounds=("dwelling_type",),  # the dwelling table conditions on the other fields; it does not ground them
        quirks=(*GHS_DWELLING_QUIRKS, "SSOC 2010 group names mapped"),
    ),
    TableSpec(
        name="ghs2015_dwelling_marital_tenancy_households",
        title="Resident Households by Type of Dwelling, Marital Status of Head of Household and Tenancy, 2015 "
        "(General Household Survey 2015)",
        agency=SINGSTAT,
        reference="June 2015",
        url=DATAGOVSG,
        raw_files=_files("ghs2015_dwelling_marital_tenancy_households"),
        parse=lambda raw: _ghs_dwelling(
            raw,
            "ghs2015_dwelling_marital_tenancy_households",
            {"marital_status": _label(MARITAL, "marital"), "tenancy": _label(TENANCY, "tenancy")},
        ),
        keys=("marital_status", "tenancy", "dwelling_type"),
        unit="households",
        totals={"marital_status": TOTAL, "tenancy": TOTAL, "dwelling_type": TOTAL},
        rounding_unit=100,
        slack=200 * 5,
        key_values={
            "marital_status": tuple(MARITAL.values()),
            "tenancy": tuple(TENANCY.values()),
            "dwelling_type": DWELLING_WITH_HDB_OTHER,
        },
        complete=("marital_status", "tenancy", "dwelling_type"),
        universe="Resident households, national, by the marital status of the head of household and tenancy "
        "(owner / non-owner of the dwelling; household heads, not persons); compared with the sample in the fit "
        "report, not fitted",
        grounds=(),
        quirks=GHS_DWELLING_QUIRKS,
    ),
    TableSpec(
        name="ghs2015_dwelling_religion_sex",
        title="Resident Population Aged 15 Years and Over by Type of Dwelling, Religion and Sex, 2015 "
        "(General Household Survey 2015)",
        agency=SINGSTAT,
        reference="June 2015",
        url=DATAGOVSG,
        raw_files=_files("ghs2015_dwelling_religion_sex"),
        parse=lambda raw: _ghs_dwelling(
            raw,
            "ghs2015_dwelling_religion_sex",
            {"religion": _label(RELIGION_GHS_DWELLING, "religion"), "sex": _label(SEX, "sex")},
        ),
        keys=("religion", "sex", "dwelling_type"),
        totals={"religion": TOTAL, "sex": TOTAL, "dwelling_type": TOTAL},
        rounding_unit=100,
        slack=200 * 10,
        key_values={
            "religion": tuple(RELIGION_GHS_DWELLING.values()),
            "sex": SEX_KEYS,
            "dwelling_type": DWELLING_WITH_HDB_OTHER,
        },
        complete=("religion", "sex", "dwelling_type"),
        universe="Residents aged 15+ (persons), national",
        grounds=("dwelling_type",),  # the dwelling table conditions on the other fields; it does not ground them
        quirks=(*GHS_DWELLING_QUIRKS, "'Christianity- Catholic' / '- Other Christians' mapped"),
    ),
    TableSpec(
        name="census2020_income_dwelling_households",
        title="Resident Households by Monthly Household Income from Work and Type of Dwelling "
        "(Census of Population 2020)",
        agency=SINGSTAT,
        reference="June 2020",
        url=TABLEBUILDER,
        raw_files=_files("census2020_income_dwelling_households"),
        parse=_census_income_dwelling,
        keys=("income_band", "dwelling_type"),
        unit="households",
        totals={"income_band": TOTAL, "dwelling_type": TOTAL},
        rounding_unit=2,
        key_values={"income_band": HOUSEHOLD_INCOME_BANDS, "dwelling_type": DWELLING_TYPES},
        complete=("income_band", "dwelling_type"),
        universe="Resident households, national; household income from work (including employer CPF) in SGD per "
        "month, 2020 dollars (households, not persons); compared with the sample in the fit report, not fitted",
        grounds=(),
        quirks=(
            "Table Builder layout with a two-level column header and footnotes",
            "footnote marker in '1- & 2- Room Flats2/' (includes HDB studio apartments)",
            "HDB total checked against its flat types, then dropped",
            "income labels '1,000 - 1,999' stored as '1,000-1,999' (the planning-area table's labels)",
        ),
    ),
    TableSpec(
        name="mom_labour_force_education_sex_2015",
        title="Resident Labour Force Aged 15 Years And Over By Highest Qualification Attained And Sex, End June, "
        "Annual (M182271), 2015 column",
        agency=MOM,
        reference="June 2015",
        url=TABLEBUILDER,
        raw_files=_files("mom_labour_force_education_sex_2015"),
        parse=lambda raw: mom.labour_force_hqa(raw / SPEC_FILES["mom_labour_force_education_sex_2015"], "2015"),
        keys=("sex", "education"),
        totals={"sex": TOTAL, "education": TOTAL},
        rounding_unit=100,
        key_values={"sex": SEX_KEYS, "education": tuple(HQA_MOM.values())},
        complete=("sex", "education"),
        universe="Resident labour force aged 15+, 2015 (the year of the GHS 2015 qualification table)",
        grounds=("education_level",),
    ),
]

TABLES: dict[str, TableSpec] = {s.name: s for s in _SPECS}


def get_spec(name: str) -> TableSpec:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown census table {name!r}; known: {', '.join(TABLES)}") from None


__all__ = ["TABLES", "TableSpec", "get_spec"]
