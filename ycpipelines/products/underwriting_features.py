"""智能核保 Underwriting features: one row per registered person, under a pseudonym."""

from collections.abc import Mapping

from ycpipelines.catalog import Product

# ICD-10 ranges of the chronic conditions an underwriter asks about.
CHRONIC_CONDITIONS = {
    "has_hypertension": "^I1[0-5]",
    "has_diabetes": "^E1[0-4]",
    "has_coronary_heart_disease": "^I2[0-5]",
    "has_cerebrovascular_disease": "^I6",
    "has_copd": "^J44",
    "has_chronic_kidney_disease": "^N18",
    "has_malignant_tumor": "^C",
}
AGE_BANDS = [
    (18, "0-17"),
    (30, "18-29"),
    (40, "30-39"),
    (50, "40-49"),
    (60, "50-59"),
    (70, "60-69"),
]


def age_band(age: str) -> str:
    """SQL of the age band (年龄段) of an age expression."""
    bands = " ".join(f"WHEN {age} < {limit} THEN '{band}'" for limit, band in AGE_BANDS)
    return f"CASE {bands} ELSE '70+' END"


def _people(inputs: Mapping[str, str]) -> str:
    """CTEs `window_end` and `people`: each registered person's latest gender and age."""
    return f"""
    window_end AS (SELECT max(visit_time) AS moment FROM {inputs["safe/outpatient_visits"]}),
    people AS (
        SELECT person_pid, gender, year((SELECT moment FROM window_end)) - birth_year AS age
        FROM {inputs["safe/residents"]}
        QUALIFY row_number() OVER (PARTITION BY person_pid ORDER BY updated_at DESC) = 1
    )"""


def population(inputs: Mapping[str, str]) -> str:
    """The population register's people under the product's quasi-identifiers (journalist risk)."""
    band = age_band("age")
    return f"WITH {_people(inputs)} SELECT person_pid, {band} AS age_band, gender FROM people"


def build(inputs: Mapping[str, str], product: Product) -> str:
    """SQL of the product over the safe/ relations in `inputs`, 12 months to the newest visit."""
    visits = inputs["safe/outpatient_visits"]
    settlements = inputs["safe/settlements"]
    flags = ",\n".join(
        f"coalesce(bool_or(regexp_matches(icd10_code, '{pattern}')), false) AS {name}"
        for name, pattern in CHRONIC_CONDITIONS.items()
    )
    return f"""
    WITH {_people(inputs)},
    recent_visits AS (
        SELECT * FROM {visits}
        WHERE visit_time > (SELECT moment FROM window_end) - INTERVAL 12 MONTH
    ),
    visit_features AS (
        SELECT person_pid, {flags}, count(DISTINCT visit_pid) AS visits_12m,
               sum(fee) AS fee_12m
        FROM recent_visits GROUP BY person_pid
    ),
    payment_features AS (
        SELECT person_pid, sum(fund_paid) AS fund_paid_12m, sum(self_paid) AS self_paid_12m
        FROM {settlements}
        WHERE settle_time > (SELECT moment FROM window_end) - INTERVAL 12 MONTH
        GROUP BY person_pid
    )
    SELECT p.person_pid,
           {age_band("age")} AS age_band,
           p.gender,
           {", ".join(f"coalesce(v.{n}, false) AS {n}" for n in CHRONIC_CONDITIONS)},
           coalesce(v.visits_12m, 0) AS visits_12m,
           coalesce(v.fee_12m, 0) AS fee_12m,
           coalesce(f.fund_paid_12m, 0) AS fund_paid_12m,
           coalesce(f.self_paid_12m, 0) AS self_paid_12m
    FROM people p
    LEFT JOIN visit_features v USING (person_pid)
    LEFT JOIN payment_features f USING (person_pid)
    ORDER BY p.person_pid
    """
