"""k-anonymity, ℓ-diversity and re-identification risk against a table small enough to check
by hand; release forms and the checks that apply them."""

import duckdb
import pytest

from ycpipelines.catalog import ReleaseForm, Thresholds
from ycpipelines.deid.anonymity import anonymity, k_anonymity_check, l_diversity_check

# Three classes over (age_band, gender):
#   A 30-39 男: people p1 p2 p3, one row each, diagnoses I10 E11 I10 → 3 people, ℓ = 2
#   B 30-39 女: people p4 p5, one row each, J44 J44                  → 2 people, ℓ = 1
#   C 40-49 男: person p6 twice, C50 and I10                          → 1 person, 2 rows, ℓ = 2
ROWS = [
    ("p1", "30-39", "男", "I10"),
    ("p2", "30-39", "男", "E11"),
    ("p3", "30-39", "男", "I10"),
    ("p4", "30-39", "女", "J44"),
    ("p5", "30-39", "女", "J44"),
    ("p6", "40-49", "男", "C50"),
    ("p6", "40-49", "男", "I10"),
]
# The population register under the same quasi-identifiers: A 10, B 4, C 5 people, and a class
# the table does not have.
POPULATION = {("30-39", "男"): 10, ("30-39", "女"): 4, ("40-49", "男"): 5, ("50-59", "女"): 7}
QUASI = ["age_band", "gender"]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE t(pid VARCHAR, age_band VARCHAR, gender VARCHAR, diag VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", ROWS)
    con.execute("CREATE TABLE pop(age_band VARCHAR, gender VARCHAR)")
    for (band, gender), n in POPULATION.items():
        con.executemany("INSERT INTO pop VALUES (?, ?)", [(band, gender)] * n)
    return con


def test_figures_count_people_when_rows_repeat(con) -> None:
    f = anonymity(
        con, "t", QUASI, 3, subject="pid", sensitive="diag", population="SELECT * FROM pop"
    )
    assert (f.rows, f.subjects, f.classes, f.smallest_class) == (7, 6, 3, 1)
    assert f.rows_below_k == 4  # B (2 rows) and C (2 rows) are under k = 3
    assert f.max_risk == 1.0  # p6 is alone in C
    assert f.average_risk == pytest.approx(3 / 6, abs=1e-6)  # classes / people
    # Journalist: 1/10, 1/4, 1/5 per person → max 1/4; mean (3·0.1 + 2·0.25 + 1·0.2) / 6.
    assert f.journalist_max_risk == pytest.approx(0.25)
    assert f.journalist_average_risk == pytest.approx(1.0 / 6, abs=1e-6)
    assert (f.smallest_l, f.rows_below_l) == (1, 2)  # B holds only J44


def test_figures_count_rows_without_a_subject(con) -> None:
    f = anonymity(con, "t", QUASI, 2)
    assert (f.subjects, f.smallest_class, f.rows_below_k) == (7, 2, 0)
    assert f.average_risk == pytest.approx(3 / 7, abs=1e-6)
    assert f.max_risk == 0.5
    assert f.journalist_max_risk is None and f.smallest_l is None
    assert "journalist_max_risk" not in f.metadata()


def test_a_class_larger_than_in_the_population_counts_its_own_size(con) -> None:
    con.execute("DELETE FROM pop WHERE gender = '女'")  # B is missing from the register
    f = anonymity(con, "t", QUASI, 2, subject="pid", population="SELECT * FROM pop")
    assert f.journalist_max_risk == pytest.approx(0.5)  # B's own 2 people


def test_an_empty_table_and_no_quasi_identifiers(con) -> None:
    empty = anonymity(con, "(SELECT * FROM t WHERE false)", QUASI, 5)
    assert (empty.rows, empty.classes, empty.smallest_class, empty.max_risk) == (0, 0, 0, 0)
    assert k_anonymity_check(empty, QUASI, Thresholds(k=5, max_risk=0.2, average_risk=0.1)).passed
    whole = anonymity(con, "t", [], 5, subject="pid")
    assert (whole.classes, whole.smallest_class, whole.max_risk) == (
        1,
        6,
        pytest.approx(1 / 6, abs=1e-6),
    )


def test_checks_apply_the_release_forms_thresholds(con) -> None:
    f = anonymity(con, "(SELECT * FROM t WHERE age_band = '30-39')", QUASI, 2, subject="pid")
    assert (f.smallest_class, f.max_risk, f.average_risk) == (2, 0.5, pytest.approx(0.4))
    enclave = ReleaseForm.ENCLAVE.thresholds
    controlled = ReleaseForm.CONTROLLED.thresholds
    assert not k_anonymity_check(f, QUASI, controlled).passed
    assert not k_anonymity_check(f, QUASI, enclave).passed  # k = 3 > 2
    result = k_anonymity_check(f, QUASI, Thresholds(k=2, max_risk=0.5, average_risk=0.4))
    assert result.passed and result.metadata["smallest_class"].value == 2
    # Measured but not enforced (an in-domain safe/ dataset): reported, never blocking.
    assert k_anonymity_check(f, QUASI, controlled, enforced=False).passed
    assert ReleaseForm.PUBLIC.thresholds.k > controlled.k > enclave.k


def test_l_diversity_check(con) -> None:
    f = anonymity(con, "t", QUASI, 2, subject="pid", sensitive="diag")
    failed = l_diversity_check(f, "diag", 2)
    assert not failed.passed and failed.metadata["rows_below_l"].value == 2
    without_b = anonymity(con, "(SELECT * FROM t WHERE gender = '男')", QUASI, 2, sensitive="diag")
    assert l_diversity_check(without_b, "diag", 2).passed
    assert not l_diversity_check(without_b, "diag", 3).passed
