"""The code location loads, validates, and its graph reads as the pilot's lifecycle."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from ycpipelines.catalog import CatalogError, load_catalog
from ycpipelines.definitions import build_definitions
from ycpipelines.foundation.settings import PROJECT_ROOT

LAYERS = ["raw", "std", "safe", "product", "published"]


def test_dagster_validates_the_workspace() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YC_")}
    done = subprocess.run(
        [
            Path(sys.executable).parent / "dagster",
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful" in done.stdout + done.stderr


def test_every_source_reaches_the_published_product_through_each_layer() -> None:
    graph = build_definitions().resolve_asset_graph()
    published = dg.AssetKey(["published", "underwriting_features"])
    for dataset in ("residents", "outpatient_visits", "settlements"):
        path = [published]
        while graph.get(path[-1]).parent_keys:
            parents = [
                k
                for k in graph.get(path[-1]).parent_keys
                if k.path[-1] in (dataset, "underwriting_features")
            ]
            assert len(parents) == 1, (path[-1], parents)
            path.append(parents[0])
        assert [k.path[0] for k in reversed(path)] == LAYERS, path
        assert all(graph.get(k).group_name == k.path[0] for k in path)


def test_assets_carry_owners_kinds_versions_and_schema() -> None:
    defs = build_definitions()
    for spec in defs.resolve_all_asset_specs():
        assert spec.owners and spec.kinds and spec.description, spec.key
        assert spec.group_name == spec.key.path[0]
        if spec.key.path[0] in ("raw", "std", "safe"):
            assert spec.code_version and "dagster/column_schema" in spec.metadata, spec.key
            # Source data is partitioned by bureau × day; master data (主数据) is whole.
            assert (spec.partitions_def is None) == (spec.key.path[-1] == "person_master")


def write(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_product_reading_standardized_data_does_not_load(catalog_copy: Path) -> None:
    manifest = catalog_copy / "assets" / "products" / "underwriting_features.yaml"
    write(manifest, "inputs: [safe/residents,", "inputs: [std/residents,")
    with pytest.raises(CatalogError, match=r"underwriting_features.*std/residents.*only safe/"):
        load_catalog(catalog_copy / "assets")


def test_a_field_outside_the_list_or_graded_prohibited_does_not_load(catalog_copy: Path) -> None:
    manifest = catalog_copy / "assets" / "products" / "underwriting_features.yaml"
    write(
        manifest,
        "derived_from: [safe/residents.gender]",
        "derived_from: [safe/residents.ethnicity_code]",
    )
    with pytest.raises(CatalogError, match=r"field 'gender'.*unknown or dropped"):
        load_catalog(catalog_copy / "assets")

    manifest.write_text(manifest.read_text().replace("ethnicity_code", "gender"))
    residents = catalog_copy / "assets" / "datasets" / "residents.yaml"
    write(residents, "level: L2, policy: keep}", "level: prohibited, policy: drop}")
    with pytest.raises(CatalogError, match=r"field 'gender'.*unknown or dropped"):
        load_catalog(catalog_copy / "assets")

    write(residents, "level: prohibited, policy: drop}", "level: L2, policy: keep}")
    write(
        manifest,
        "{name: gender, label: 性别, level: L2,",
        "{name: gender, label: 性别, level: prohibited,",
    )
    with pytest.raises(CatalogError, match=r"field 'gender' is graded 禁止开放"):
        load_catalog(catalog_copy / "assets")


def test_an_identifier_kept_in_clear_does_not_load(catalog_copy: Path) -> None:
    visits = catalog_copy / "assets" / "datasets" / "outpatient_visits.yaml"
    write(
        visits, "level: L4, policy: pseudonymize, safe_name: person_pid", "level: L4, policy: keep"
    )
    with pytest.raises(CatalogError, match=r"(?s)outpatient_visits.yaml.*id_number.*graded L4"):
        load_catalog(catalog_copy / "assets")


def test_a_derived_field_cannot_be_graded_below_its_inputs(catalog_copy: Path) -> None:
    manifest = catalog_copy / "assets" / "products" / "underwriting_features.yaml"
    write(
        manifest,
        "{name: person_pid, label: 个人假名标识, level: L3,",
        "{name: person_pid, label: 个人假名标识, level: L1,",
    )
    with pytest.raises(CatalogError, match=r"person_pid.*declared L1 but inherits L3"):
        load_catalog(catalog_copy / "assets")
