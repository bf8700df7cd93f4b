"""主数据 Person master: `std/person_master`, one row per resident ID across all sources.

Each shared element (`person.name`, `person.gender`, …) is taken from the source the catalog
names authoritative (一数一源); only when that source does not know the person does the newest
value from another source fill in. Every value records the dataset it came from.
"""

import dagster as dg

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.foundation.keys import AssetRef, Layer, std_key
from ycpipelines.foundation.lake import (
    Lake,
    commit_or_reject,
    copy_to_parquet,
    duck,
    quoted,
    sql_literal,
)
from ycpipelines.foundation.metadata import lineage, schema
from ycpipelines.foundation.resources import LakeResource

MASTER = "person_master"
PERSON = "person."


def master_key() -> dg.AssetKey:
    return AssetRef(Layer.STD, MASTER).key


def person_keys(dataset: Dataset) -> list[str]:
    """The fields of a dataset that identify a person."""
    return [f.name for f in dataset.fields if f.standard == "resident_id"]


def elements(catalog: Catalog) -> list[str]:
    """The person elements some source carries, e.g. `person.gender`."""
    return sorted(
        {r.element for d in catalog.datasets for r in d.elements if r.element.startswith(PERSON)}
    )


def mentions_sql(dataset: Dataset, lake: Lake) -> list[str]:
    """SELECTs of (person, element, value) rows a dataset's std/ partitions carry; a person key
    without elements still counts the person as seen."""
    files = lake.glob(Layer.STD, dataset.id)
    selects = []
    for key in person_keys(dataset):
        refs = [r for r in dataset.elements if r.key == key and r.element.startswith(PERSON)]
        values = [
            (sql_literal(r.element), f"CAST({quoted(r.field)} AS VARCHAR)", str(r.authoritative))
            for r in refs
        ] or [("NULL", "NULL", "false")]
        selects += [
            f"SELECT {quoted(key)} AS person, {element} AS element, {value} AS value, "
            f"{authoritative} AS authoritative, {sql_literal(dataset.id)} AS source, _day, "
            f"_loaded_at FROM read_parquet('{files}')"
            for element, value, authoritative in values
        ]
    return selects


def master_columns(catalog: Catalog) -> list[tuple[str, str, str]]:
    """(name, type, description) of the person master's columns."""
    columns = [("resident_id", "VARCHAR", "公民身份号码 · 个人信息/身份 · L4")]
    for element in elements(catalog):
        authority, ref = catalog.authority(element)
        field = authority.field(ref.field)
        name = element.removeprefix(PERSON)
        columns += [
            (name, catalog.standard(field).type, f"{field.label} · {field.level}"),
            (f"{name}_source", "VARCHAR", f"dataset the {name} was taken from"),
        ]
    return [
        *columns,
        ("sources", "VARCHAR[]", "every dataset that mentions the person"),
        ("last_seen", "DATE", "newest partition day mentioning the person"),
    ]


def master_sql(catalog: Catalog, lake: Lake) -> str:
    mentions = [
        select
        for d in catalog.datasets
        if lake.any_committed(Layer.STD, d.id)
        for select in mentions_sql(d, lake)
    ]
    columns = []
    for element in elements(catalog):
        authority, ref = catalog.authority(element)
        kind = catalog.standard(authority.field(ref.field)).type
        name = element.removeprefix(PERSON)
        columns += [
            f"TRY_CAST(max(value) FILTER (element = {sql_literal(element)}) AS {kind}) AS {name}",
            f"max(source) FILTER (element = {sql_literal(element)}) AS {name}_source",
        ]
    # One pass of hash aggregation: memory grows with persons × elements, not with the
    # partitions (history) that mention them. A value is chosen by `rank`: the authority first,
    # then the newest day and load, then the source's and the value's order (ties decided).
    return f"""
        WITH mentions AS ({" UNION ALL ".join(mentions)}),
        ranked AS (
            SELECT *, (NOT authoritative, DATE '1970-01-01' - _day, -epoch_us(_loaded_at),
                       source, value) AS rank
            FROM mentions WHERE person IS NOT NULL
        ),
        chosen AS (
            SELECT person, element,
                   arg_min(value, rank) FILTER (value IS NOT NULL) AS value,
                   arg_min(source, rank) FILTER (value IS NOT NULL) AS source,
                   list(DISTINCT source) AS sources, max(_day) AS last_seen
            FROM ranked GROUP BY person, element
        )
        SELECT person AS resident_id, {", ".join(columns)},
               list_sort(list_distinct(flatten(list(sources)))) AS sources,
               max(last_seen) AS last_seen
        FROM chosen GROUP BY person
        ORDER BY resident_id
    """


def person_master_asset(catalog: Catalog) -> dg.AssetsDefinition:
    carriers = [d for d in catalog.datasets if person_keys(d)]
    names = [e.removeprefix(PERSON) for e in elements(catalog)]

    @dg.asset(
        key=master_key(),
        deps=[std_key(d) for d in carriers],
        group_name=Layer.STD.value,
        owners=["team:governance"],
        kinds={"duckdb", "parquet"},
        code_version="-".join(catalog.versions[d.id] for d in carriers),
        description="主数据 Person master: one row per resident ID across all sources; each "
        "element from its authoritative source (一数一源), with the source of every value.",
        metadata={"dagster/column_schema": schema(master_columns(catalog))},
    )
    def person_master(
        context: dg.AssetExecutionContext, lake: LakeResource
    ) -> dg.MaterializeResult:
        if not any(lake.lake.any_committed(Layer.STD, d.id) for d in carriers):
            raise dg.Failure("no standardized data yet: run the ingest jobs first")
        with duck() as con, lake.lake.staging(context.run_id) as stage:
            path = stage.path(lake.lake.master_file(MASTER))
            persons = copy_to_parquet(con, master_sql(catalog, lake.lake), path)
            by_source = {
                name: dict(
                    con.execute(
                        f"SELECT {name}_source, count(*) FROM read_parquet('{path}') "
                        "GROUP BY ALL ORDER BY ALL"
                    ).fetchall()
                )
                for name in names
            }
            outcome = commit_or_reject(stage, True)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": persons,
                "values_by_source": dg.MetadataValue.json(
                    {n: {str(s): c for s, c in counts.items()} for n, counts in by_source.items()}
                ),
                **outcome,
                "dagster/column_lineage": lineage(
                    {
                        element.removeprefix(PERSON): [
                            (std_key(d), r.field)
                            for d in carriers
                            for r in d.elements
                            if r.element == element
                        ]
                        for element in elements(catalog)
                    }
                ),
            }
        )

    return person_master
