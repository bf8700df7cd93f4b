"""An invalid expectation suite fails loading definitions, naming the file and the expectation."""

import json
from pathlib import Path

import pytest

from ycpipelines.catalog import CatalogError, load_catalog
from ycpipelines.definitions import build_definitions

from helpers import edited_suite

NOT_NULL = "expect_column_values_to_not_be_null"


@pytest.mark.parametrize(
    ("expectation", "message"),
    [
        ({"type": "expect_column_values_to_be_purple", "kwargs": {"column": "fee"}}, "not found"),
        ({"type": NOT_NULL, "kwargs": {}}, "column"),
        ({"type": NOT_NULL, "kwargs": {"column": "fee", "mostly": 3}}, "mostly"),
        ({"type": NOT_NULL, "kwargs": {"column": "shoe_size"}}, "['shoe_size']"),
        (
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "phone", "regex": r"^(?=1)\d+$"},
            },
            "regex not accepted by DuckDB",
        ),
    ],
)
def test_an_invalid_expectation_fails_loading_named(
    catalog_copy: Path, expectation: dict, message: str
) -> None:
    with (
        edited_suite(
            catalog_copy, "outpatient_visits", lambda s: s["expectations"].append(expectation)
        ) as path,
        pytest.raises(CatalogError) as error,
    ):
        build_definitions(load_catalog())
    n = len(json.loads(path.read_text())["expectations"]) - 1
    assert f"{path}: expectation #{n} '{expectation['type']}'" in str(error.value)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "setting", [{"min_share_of_previous_rows": 1.5}, {"failing_value_samples": 50}]
)
def test_a_gate_setting_out_of_range_fails_loading(catalog_copy: Path, setting: dict) -> None:
    with (
        edited_suite(catalog_copy, "outpatient_visits", lambda s: s["meta"].update(setting)),
        pytest.raises(CatalogError, match=rf"outpatient_visits.json: meta.{next(iter(setting))}"),
    ):
        build_definitions(load_catalog())
