"""Asset metadata every stage reports: schema, row counts, column lineage, reconciliation."""

from collections.abc import Mapping, Sequence

import dagster as dg

from ycpipelines.catalog import Dataset

SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DECIMAL(14,2)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def schema(columns: Sequence[tuple[str, str, str]]) -> dg.TableSchema:
    """`dagster/column_schema` from (name, type, description) triples."""
    return dg.TableSchema(
        columns=[dg.TableColumn(name, type, description=label) for name, type, label in columns]
    )


def source_columns(dataset: Dataset, typed: bool) -> list[tuple[str, str, str]]:
    return [
        (
            f.name,
            SQL_TYPES[f.type] if typed else "VARCHAR",
            f"{f.label} · {f.category} · {f.level} {f.level.label}",
        )
        for f in dataset.fields
    ]


def lineage(deps: Mapping[str, Sequence[tuple[dg.AssetKey, str]]]) -> dg.TableColumnLineage:
    """`dagster/column_lineage`: each output column from its (asset, column) inputs."""
    return dg.TableColumnLineage(
        deps_by_column={
            column: [dg.TableColumnDep(asset_key=key, column_name=name) for key, name in inputs]
            for column, inputs in deps.items()
        }
    )


def reconciled(read: int, parts: Mapping[str, int]) -> dict[str, object]:
    """Counts that must add up (in = out + quarantined), stated in metadata, or an error."""
    total = sum(parts.values())
    if total != read:
        raise dg.Failure(
            f"row counts do not reconcile: read {read} but {' + '.join(parts)} = {total}"
        )
    equation = f"{read} = " + " + ".join(f"{n} {name}" for name, n in parts.items())
    return {"reconciliation": dg.MetadataValue.text(equation)}
