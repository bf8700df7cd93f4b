"""The de-identification stage run through Dagster on hand-made std/ partitions: pseudonyms
per key version, a key that never shows, a planted identifier that blocks, risk figures."""

import hashlib
import os
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ycpipelines.catalog import Catalog, Dataset, load_catalog
from ycpipelines.deid.assets import safe_asset
from ycpipelines.deid.population import journalist_check, register_columns
from ycpipelines.deid.pseudonym import KEY_ENV, key_versions, pseudonym
from ycpipelines.deid.resources import DeidResource
from ycpipelines.demo.run import QUIET, partition_tags
from ycpipelines.foundation.keys import safe_key
from ycpipelines.foundation.lake import Lake, Partition
from ycpipelines.foundation.metadata import SQL_TYPES
from ycpipelines.foundation.partitions import partition_key
from ycpipelines.foundation.resources import LakeResource
from ycpipelines.products.assets import product_asset

from helpers import checks, failures, materializations

DAY, PLANTED_DAY = "2025-06-30", "2025-06-29"
KEYS = {"v1": "first-generation-key-4d1c9a", "v2": "second-generation-key-77e0b3"}
P1, P2, P3 = "64010419720304011X", "640106198005060221", "640104197208090335"
STRANGER = "64012119900102044X"  # a person in no row of the partition
RESIDENTS = [  # gender codes as governed: 1 male, 2 female
    {"id_number": P1, "name": "张伟", "gender": "1", "birth_date": date(1972, 3, 4)},
    {"id_number": P2, "name": "李娜", "gender": "2", "birth_date": date(1980, 5, 6)},
    {"id_number": P3, "name": "王强", "gender": "1", "birth_date": date(1972, 8, 9)},
]
ADDRESSES = {
    P1: "宁夏银川市兴庆区解放西街1号",
    P2: "银川市金凤区北京中路2号",
    P3: "兴庆区文化街3号",
}


def write_std(lake: Lake, dataset: Dataset, day: str, rows: list[dict]) -> None:
    """A std/ partition as the govern stage writes it: typed fields and the bureau column."""
    columns = [(f.name, SQL_TYPES[f.type]) for f in dataset.fields] + [("_bureau", "VARCHAR")]
    path = lake.file("std", dataset.id, Partition(dataset.bureau, day))
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE std({', '.join(f'{n} {t}' for n, t in columns)})")
    con.executemany(
        f"INSERT INTO std VALUES ({', '.join('?' for _ in columns)})",
        [[{**row, "_bureau": dataset.bureau}.get(n) for n, _ in columns] for row in rows],
    )
    con.execute(f"COPY std TO '{path}' (FORMAT parquet)")


def residents(day: str) -> list[dict]:
    at = datetime.fromisoformat(f"{day} 09:00:00")
    return [
        {**r, "ethnicity": "汉族", "household_address": ADDRESSES[r["id_number"]], "updated_at": at}
        for r in RESIDENTS
    ]


def visits(day: str, diagnosis: str = "原发性高血压") -> list[dict]:
    """P1 twice, P2 once; notes carry the patient's own and a stranger's identifiers."""
    rows = []
    for n, person in enumerate([RESIDENTS[0], RESIDENTS[0], RESIDENTS[1]]):
        rows.append(
            {
                **{k: person[k] for k in ("id_number", "gender", "birth_date")},
                "visit_id": f"MZ{day.replace('-', '')}{n:08d}",
                "patient_name": person["name"],
                "phone": "13812345678",
                "address": ADDRESSES[person["id_number"]],
                "hospital": "银川市第一人民医院",
                "department": "心内科",
                "icd10_code": "I10",
                "diagnosis": diagnosis if n == 0 else "原发性高血压",
                "note": f"患者{person['name']},身份证{person['id_number']},"
                f"陪同家属身份证{STRANGER},主诉头痛。",
                "visit_time": datetime.fromisoformat(f"{day} 10:0{n}:00"),
                "fee": 120,
                "updated_at": datetime.fromisoformat(f"{day} 18:00:00"),
            }
        )
    return rows


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def lake(yc_home: Path, catalog: Catalog) -> Lake:
    lake = Lake(yc_home / "lake")
    for day in (DAY, PLANTED_DAY):
        write_std(lake, catalog.dataset("residents"), day, residents(day))
        write_std(lake, catalog.dataset("outpatient_visits"), day, visits(day))
    return lake


@pytest.fixture
def run(
    lake: Lake, catalog: Catalog, instance: dg.DagsterInstance
) -> Iterator[Callable[..., dg.ExecuteInProcessResult]]:
    """`run(dataset, version, day)`: materialize one safe/ partition with that key generation,
    the key read from the environment as in production."""
    saved = os.environ[KEY_ENV]

    def materialize(
        dataset_id: str, version: str, day: str = DAY, **changes: object
    ) -> dg.ExecuteInProcessResult:
        dataset = catalog.dataset(dataset_id).model_copy(update=changes)
        os.environ[KEY_ENV] = KEYS[version]
        return dg.materialize(
            [safe_asset(catalog, dataset)],
            partition_key=partition_key(dataset.bureau, day),
            instance=instance,
            resources={
                "lake": LakeResource(root=str(lake.root)),
                "deid": DeidResource(
                    pseudonym_key=dg.EnvVar(KEY_ENV), pseudonym_key_version=version
                ),
            },
            run_config=QUIET,
            raise_on_error=False,
        )

    yield materialize
    os.environ[KEY_ENV] = saved


def read(lake: Lake, dataset: str, column: str, day: str = DAY) -> list[str]:
    path = lake.file("safe", dataset, Partition(dataset_bureau(dataset), day))
    return [r[0] for r in duckdb.connect().execute(f"SELECT {column} FROM '{path}'").fetchall()]


def dataset_bureau(dataset: str) -> str:
    return {"residents": "population", "outpatient_visits": "health"}[dataset]


def latest(instance: dg.DagsterInstance, dataset: str, day: str = DAY) -> dict:
    by_partition = materializations(instance, dg.AssetKey(["safe", dataset]))
    return by_partition[partition_key(dataset_bureau(dataset), day)]


def secret_forms(key: str) -> list[str]:
    """The key as text and every byte form the HMAC computation handles (hex, padded hex)."""
    padded = key.encode().ljust(64, b"\0")
    forms = [key, key.encode().hex(), hashlib.sha256(key.encode()).hexdigest()]
    forms += [bytes(b ^ pad for b in padded).hex() for pad in (0x36, 0x5C)]
    return forms + [f.upper() for f in forms[1:]]


def recorded_text(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> str:
    """Everything the instance keeps about a run: its record and every event, serialized."""
    run = instance.get_run_by_id(result.run_id)
    events = instance.all_logs(result.run_id)
    return "\n".join([dg.serialize_value(run), *(dg.serialize_value(e) for e in events)])


def test_pseudonyms_join_across_datasets_and_change_with_the_key_version(
    run, lake: Lake, instance: dg.DagsterInstance
) -> None:
    for dataset in ("residents", "outpatient_visits"):
        assert run(dataset, "v1").success
    people = read(lake, "residents", "person_pid")
    patients = read(lake, "outpatient_visits", "person_pid")
    assert people == [pseudonym(KEYS["v1"], p) for p in (P1, P2, P3)]
    assert set(patients) == set(people[:2]), "the same person, the same pseudonym"

    assert run("outpatient_visits", "v1").success
    assert read(lake, "outpatient_visits", "person_pid") == patients, "stable across runs"
    meta = latest(instance, "outpatient_visits")
    assert meta["pseudonym_key_version"] == "v1"

    assert run("outpatient_visits", "v2").success
    rotated = read(lake, "outpatient_visits", "person_pid")
    assert set(rotated).isdisjoint(patients)
    assert rotated == [pseudonym(KEYS["v2"], p) for p in (P1, P1, P2)]
    meta = latest(instance, "outpatient_visits")
    assert meta["pseudonym_key_version"] == "v2"
    described = {c.name: c.description for c in meta["dagster/column_schema"].columns}
    assert "(key v2)" in described["person_pid"] and "key" not in described["gender"]
    # The files say which generation they hold: a product over both would not join, and fails.
    relations = [
        f"read_parquet('{lake.glob('safe', d)}')" for d in ("residents", "outpatient_visits")
    ]
    assert key_versions(duckdb.connect(), relations) == ["v1", "v2"]


def test_the_key_never_appears_in_metadata_logs_or_errors(
    run, lake: Lake, catalog: Catalog, instance: dg.DagsterInstance, capfd, caplog
) -> None:
    passed = run("residents", "v1")
    visits_dataset = catalog.dataset("outpatient_visits")
    write_std(lake, visits_dataset, "2025-06-28", visits("2025-06-28"))
    # A std/ file whose identifier column has the wrong type: the pseudonym SQL fails to bind.
    path = lake.file("std", "outpatient_visits", Partition("health", "2025-06-28"))
    wrong = path.with_name("wrong.parquet")
    duckdb.connect().execute(
        f"COPY (SELECT * REPLACE (42 AS visit_id) FROM '{path}') TO '{wrong}' (FORMAT parquet)"
    )
    wrong.replace(path)
    failed = run("outpatient_visits", "v1", "2025-06-28")
    assert passed.success and not failed.success
    error = failures(failed)
    assert "yc_pseudonym" in error or "encode" in error, error  # the failure is the HMAC's
    captured = capfd.readouterr()
    texts = {
        "error": error,
        "records": recorded_text(instance, passed) + recorded_text(instance, failed),
        "console": captured.out + captured.err + caplog.text,
        "safe file": (lake.root / "safe")
        .joinpath("residents", "bureau=population", f"date={DAY}", "data.parquet")
        .read_bytes()
        .decode("latin-1"),
    }
    assert texts["records"] and "v1" in texts["records"]
    for form in secret_forms(KEYS["v1"]):
        for where, text in texts.items():
            assert form not in text, f"a form of the key appears in the {where}"


def test_a_planted_identifier_blocks_the_partition(
    run, lake: Lake, catalog: Catalog, instance: dg.DagsterInstance
) -> None:
    dataset = catalog.dataset("outpatient_visits")
    # The diagnosis is free text kept as written; a clerk typed a raw ID number into one.
    write_std(lake, dataset, PLANTED_DAY, visits(PLANTED_DAY, f"原发性高血压 复诊人{STRANGER}"))
    safe = lake.file("safe", dataset.id, Partition("health", PLANTED_DAY))
    safe.unlink(missing_ok=True)
    rejected_root = lake.root / "rejected" / "safe" / dataset.id

    def rejected() -> set:  # other tests of the module may reject other days first
        return set(rejected_root.rglob(f"date={PLANTED_DAY}/*.parquet"))

    before = rejected()
    result = run(dataset.id, "v1", PLANTED_DAY)
    assert not result.success
    assert checks(result)["no_residual_identifiers"] is False
    assert "no_residual_identifiers" in failures(result)
    evaluation = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "no_residual_identifiers"
    )
    # Only the diagnosis leaks: the notes' own and strangers' IDs were redacted.
    assert evaluation.metadata["rows_with_identifiers"].value == {"diagnosis": 1}
    assert not safe.exists()
    assert len(rejected() - before) == 1, "the staged partition was set aside, once"

    write_std(lake, dataset, PLANTED_DAY, visits(PLANTED_DAY))
    fixed = run(dataset.id, "v1", PLANTED_DAY)
    assert fixed.success and safe.exists()
    notes = read(lake, dataset.id, "note", PLANTED_DAY)
    assert all(STRANGER not in n and "<CN_RESIDENT_ID>" in n for n in notes)


def test_risk_is_measured_against_the_population_register(
    run, lake: Lake, catalog: Catalog, instance: dg.DagsterInstance
) -> None:
    assert run("residents", "v1").success
    result = run("outpatient_visits", "v1")
    assert result.success and checks(result)["k_anonymity"] is True  # measured, not enforced
    figures = latest(instance, "outpatient_visits")["reidentification"]
    # Visits: P1 (male, 1972, 兴庆区) twice and P2 (female, 1980, 金凤区): two classes of one
    # person each. The register holds P1 and P3 in P1's class and P2 alone in hers.
    prosecutor = {
        "rows": 3,
        "subjects": 2,
        "classes": 2,
        "smallest_class": 1,
        "rows_below_k": 3,
        "max_risk": 1.0,
        "average_risk": 1.0,
    }
    assert figures == prosecutor, "the step reads no other dataset"
    # The register is another dataset: its comparison is a check declaring it, run apart.
    dataset = catalog.dataset("outpatient_visits")
    check = journalist_check(catalog, dataset, register_columns(catalog, dataset) or [])
    only_check = dg.Definitions(
        assets=[dg.AssetSpec(safe_key(d)) for d in (dataset, catalog.dataset("residents"))],
        asset_checks=[check],
        jobs=[dg.define_asset_job("measure", selection=dg.AssetSelection.checks(check))],
        resources={"lake": LakeResource(root=str(lake.root))},
    )
    measured = only_check.resolve_job_def("measure").execute_in_process(
        tags=partition_tags(dataset.bureau, DAY), instance=instance, run_config=QUIET
    )
    [evaluation] = measured.get_asset_check_evaluations()
    assert {k: v.value for k, v in evaluation.metadata.items()} == {
        "compared": True,
        "enforced": False,
        **prosecutor,
        "journalist_max_risk": 1.0,
        "journalist_average_risk": 0.75,
    }


def test_a_dataset_that_enforces_k_is_blocked_below_it(
    run, lake: Lake, instance: dg.DagsterInstance
) -> None:
    assert run("outpatient_visits", "v1").success  # a committed version, whatever ran before
    safe = lake.file("safe", "outpatient_visits", Partition("health", DAY))
    before = safe.read_bytes()
    blocked = run("outpatient_visits", "v1", enforce_k=True)
    assert not blocked.success and checks(blocked)["k_anonymity"] is False
    assert safe.read_bytes() == before, "the previous version stays in place"
    assert run("outpatient_visits", "v1", enforce_k=True, k=2).success is False
    # Every class here holds one person: only k-anonymity over no quasi-identifiers passes.
    passed = run(
        "outpatient_visits",
        "v1",
        enforce_k=True,
        k=2,
        fields=[
            f.model_copy(update={"role": "other"}) if f.role == "quasi" else f
            for f in load_catalog().dataset("outpatient_visits").fields
        ],
    )
    assert passed.success and checks(passed)["k_anonymity"] is True


def test_a_product_needs_one_key_generation_and_its_release_forms_k(
    run, lake: Lake, catalog: Catalog, instance: dg.DagsterInstance
) -> None:
    settlement = {
        "settlement_id": "JS0001",
        "id_number": P1,
        "name": "张伟",
        "insurance_type": "城乡居民基本医疗保险",
        "visit_id": "MZ2025063000000000",
        "total": 120,
        "fund_paid": 70,
        "self_paid": 50,
        "settle_time": datetime.fromisoformat(f"{DAY} 11:00:00"),
    }
    write_std(lake, catalog.dataset("settlements"), DAY, [settlement])
    for dataset in ("residents", "outpatient_visits", "settlements"):  # one generation, v1
        assert run(dataset, "v1").success
    assert run("outpatient_visits", "v2", PLANTED_DAY).success
    product = next(p for p in catalog.products if p.scenario == "underwriting_features")

    def build() -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [product_asset(catalog, product)],
            instance=instance,
            resources={"lake": LakeResource(root=str(lake.root))},
            run_config=QUIET,
            raise_on_error=False,
        )

    mixed = build()
    assert not mixed.success and "key versions ['v1', 'v2']" in failures(mixed)
    assert run("outpatient_visits", "v1", PLANTED_DAY).success
    blocked = build()
    assert not blocked.success and checks(blocked)["k_anonymity"] is False
    assert not lake.product_file(product.scenario).exists()
    evaluation = next(
        e for e in blocked.get_asset_check_evaluations() if e.check_name == "k_anonymity"
    )
    figures = {name: value.value for name, value in evaluation.metadata.items()}
    # Three registered people: P1 and P3 (men aged 50-59), P2 (a woman aged 40-49). The product
    # is the register itself, so the journalist sees the prosecutor's classes.
    assert figures["k"] == 5 and figures["max_risk_allowed"] == 0.2  # 受控公开
    assert (figures["smallest_class"], figures["rows_below_k"], figures["max_risk"]) == (1, 3, 1)
    assert figures["average_risk"] == pytest.approx(2 / 3, abs=1e-6)
    assert figures["journalist_average_risk"] == figures["average_risk"]
