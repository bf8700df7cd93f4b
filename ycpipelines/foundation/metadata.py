"""Asset metadata every stage reports: schema, row counts, column lineage, reconciliation, and
what the step's process used."""

import resource
from collections.abc import Mapping, Sequence

import dagster as dg

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


def lineage(deps: Mapping[str, Sequence[tuple[dg.AssetKey, str]]]) -> dg.TableColumnLineage:
    """`dagster/column_lineage`: each output column from its (asset, column) inputs."""
    return dg.TableColumnLineage(
        deps_by_column={
            column: [dg.TableColumnDep(asset_key=key, column_name=name) for key, name in inputs]
            for column, inputs in deps.items()
        }
    )


RECONCILED = "reconciled"


def reconciliation(read: int, parts: Mapping[str, int]) -> dg.AssetCheckResult:
    """The blocking check that counts add up (in = out + quarantined, 对账), judged on the staged
    files before they are committed; its metadata states the equation either way."""
    total = sum(parts.values())
    terms = " + ".join(f"{n} {name}" for name, n in parts.items())
    equation = f"{read} = {terms}" if total == read else f"{read} ≠ {terms} = {total}"
    return dg.AssetCheckResult(
        check_name=RECONCILED,
        passed=total == read,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"reconciliation": dg.MetadataValue.text(equation)},
    )


def process_usage(since: Mapping[str, float] | None = None) -> dict[str, float]:
    """What this process has used (进程资源), with the children it waited for:
    `ycp/cpu_seconds` (user + system) since the reading `since` (a step's start; else since the
    process began) and `ycp/peak_rss_mib`, the process's peak so far (a run's steps share its
    process, so a later step's peak covers the earlier ones')."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    cpu = sum(u.ru_utime + u.ru_stime for u in (own, children))
    return {
        "ycp/cpu_seconds": round(cpu - (since or {}).get("ycp/cpu_seconds", 0.0), 3),
        "ycp/peak_rss_mib": round(max(own.ru_maxrss, children.ru_maxrss) / 1024, 1),
    }
