"""Column policies as SQL over a Parquet partition, and the catalog rules that choose them."""

from datetime import date
from pathlib import Path

import duckdb
import pytest

from ycpipelines.catalog import CatalogError, Dataset, Policy, Role, load_catalog
from ycpipelines.deid.policies import deidentify, safe_outputs
from ycpipelines.deid.pseudonym import PseudonymKey, pseudonym
from ycpipelines.deid.regions import NINGXIA_COUNTIES

KEY = PseudonymKey("v7", "policy-test-key")
ID = "640122197203045511"


def dataset(**overrides: object) -> Dataset:
    """A small dataset with one field per policy; `overrides` replace field entries by name."""
    fields = {
        "id_number": {"standard": "resident_id", "level": "L4", "derive": ["region", "birth_year"]},
        "name": {"standard": "person_name", "level": "L4"},
        "phone": {"standard": "phone", "level": "L3"},
        "birth_date": {"type": "date", "role": "quasi", "level": "L3"},
        "born": {"type": "date", "role": "quasi", "level": "L3", "policy": "birth_year"},
        "address": {"role": "quasi", "level": "L3", "policy": "county"},
        "ethnicity": {"role": "quasi", "level": "L3", "policy": "suppress"},
        "note": {"standard": "text", "role": "sensitive", "level": "L4"},
    }
    for name, entry in overrides.items():
        fields[name] = entry  # type: ignore[assignment]
    return Dataset.model_validate(
        {
            "id": "people",
            "label": "测试",
            "bureau": "population",
            "description": "policy test",
            "source": {"kind": "files", "system": "s", "inbox": "i", "pattern": "p_%Y%m%d.csv"},
            "primary_key": ["id_number"],
            "quarantine_threshold": 0.5,
            "k": 3,
            "fields": [
                {"name": n, "label": n, "category": "个人信息", **entry}
                for n, entry in fields.items()
            ],
        }
    )


def test_level_and_entity_choose_the_default_policy() -> None:
    d = dataset()
    policies = {f.name: f.policy for f in d.fields}
    assert policies == {
        "id_number": Policy.PSEUDONYMIZE,
        "name": Policy.DROP,
        "phone": Policy.MASK,
        "birth_date": Policy.BIRTH_BAND,
        "born": Policy.BIRTH_YEAR,
        "address": Policy.COUNTY,
        "ethnicity": Policy.SUPPRESS,
        "note": Policy.REDACT_TEXT,
    }
    assert {f.name for f in d.fields if f.role == Role.DIRECT} == {"id_number", "name", "phone"}
    mobile_at_l4 = dataset(phone={"standard": "phone", "level": "L4"}).field("phone")
    assert mobile_at_l4.policy == Policy.DROP


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"standard": "phone", "level": "L3", "policy": "keep"}, "direct identifier"),
        ({"standard": "phone", "level": "L2", "policy": "suppress"}, "direct identifier"),
        ({"standard": "phone", "level": "L3", "role": "other"}, "is a direct identifier"),
        ({"standard": "resident_id", "level": "L4", "policy": "keep"}, "graded L4"),
        ({"standard": "text", "level": "L4", "role": "quasi", "policy": "suppress"}, "graded L4"),
        ({"standard": "phone", "level": "L3", "derive": ["region"]}, "only a resident ID"),
    ],
)
def test_identifiers_and_l4_values_are_never_left_in_clear(entry: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataset(phone=entry)


def test_policies_run_as_sql_over_parquet(tmp_path: Path) -> None:
    d = dataset()
    std, safe = tmp_path / "std.parquet", tmp_path / "safe.parquet"
    people = [
        (ID, "张伟", "13812345678", date(1972, 3, 4), "宁夏银川市兴庆区解放西街1号", "回族"),
        ("640104198012120021", "李娜", "0951-5012345", date(1980, 12, 12), "金凤区某路", "汉族"),
        ("640181200001010011", "王芳", None, date(2000, 1, 1), "灵武市", "汉族"),
        ("640105199906060030", "赵强", "13900001111", date(1999, 6, 6), "西夏区", "汉族"),
    ]
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE std(id_number VARCHAR, name VARCHAR, phone VARCHAR, birth_date DATE, "
        "born DATE, address VARCHAR, ethnicity VARCHAR, note VARCHAR, _bureau VARCHAR)"
    )
    con.executemany(
        "INSERT INTO std VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'population')",
        [
            (i, n, p, b, b, a, e, f"患者{n},电话{p},主诉头痛" if p else None)
            for i, n, p, b, a, e in people
        ],
    )
    con.execute(f"COPY std TO '{std}' (FORMAT parquet)")
    assert deidentify(con, d, std, safe, KEY) == 4
    out = con.execute(f"SELECT * FROM read_parquet('{safe}') ORDER BY born").fetchall()
    columns = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM '{safe}'").fetchall()]
    safe_names = [name for _, name, _, _ in safe_outputs(d)]
    assert columns == [*safe_names, "_pseudonym_version", "_bureau"]
    assert "name" not in columns
    first = dict(zip(columns, out[0], strict=True))
    assert first == {
        "id_number": pseudonym(KEY.secret, ID),
        "id_number_region": "640100",
        "id_number_birth_year": 1972,
        "phone": "138****5678",
        "birth_date": "1970-1974",
        "born": 1972,
        "address": "兴庆区",
        "ethnicity": None,  # 回族 once, under k = 3: suppressed; 汉族 three times: kept
        "note": "患者<PERSON>,电话<PHONE_NUMBER>,主诉头痛",
        "_bureau": "population",
        "_pseudonym_version": "v7",
    }
    assert [r[columns.index("phone")] for r in out] == [
        "138****5678",
        "095*****2345",
        "139****1111",
        None,
    ]
    assert [r[columns.index("ethnicity")] for r in out] == [None, "汉族", "汉族", "汉族"]
    assert [r[columns.index("birth_date")] for r in out][2:] == ["1995-1999", "2000-2004"]


def test_health_products_name_a_release_form_within_its_thresholds(catalog_copy: Path) -> None:
    manifest = catalog_copy / "assets" / "products" / "underwriting_features.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("release_form: 受控公开", "# none"), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"reads health data.*release_form"):
        load_catalog(catalog_copy / "assets")
    looser = "release_form: 受控公开\nthresholds: {k: 3, max_risk: 0.34, average_risk: 0.2}"
    manifest.write_text(text.replace("release_form: 受控公开", looser), encoding="utf-8")
    with pytest.raises(CatalogError, match="looser than 受控公开"):
        load_catalog(catalog_copy / "assets")
    stricter = "release_form: 完全公开\nthresholds: {k: 25, max_risk: 0.04, average_risk: 0.04}"
    manifest.write_text(text.replace("release_form: 受控公开", stricter), encoding="utf-8")
    products = {p.scenario: p for p in load_catalog(catalog_copy / "assets").products}
    assert products["underwriting_features"].required.k == 25
    manifest.write_text(text.replace("k: 5\n", "k: 5\nsensitive: diagnosis\n"), encoding="utf-8")
    with pytest.raises(CatalogError, match="sensitive attribute 'diagnosis' is not in its field"):
        load_catalog(catalog_copy / "assets")


def test_the_shipped_catalog_declares_roles_and_release_form() -> None:
    catalog = load_catalog()
    visits = catalog.dataset("outpatient_visits")
    assert visits.safe_columns_with(Role.QUASI) == ["gender", "birth_year", "county"]
    assert visits.subject == "person_pid"
    assert catalog.population is catalog.dataset("residents")
    product = next(p for p in catalog.products if p.scenario == "underwriting_features")
    assert str(product.release_form) == "受控公开"
    assert (product.required.k, product.required.max_risk) == (5, 0.2)


def test_counties_are_generalized_to_the_division_standard() -> None:
    """Govern validates division codes against the catalog's standard; de-identification
    generalizes addresses to cpca's counties. The two tables must name the same counties."""
    division = load_catalog().standards["division"]
    counties = {c.code: c.label for c in division.codes if not c.code.endswith("00")}
    assert counties == NINGXIA_COUNTIES
