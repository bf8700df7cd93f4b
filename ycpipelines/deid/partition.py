"""One de-identification run (脱敏) over a dataset's bureau × day partition, outside Dagster:
apply the column policies, scan for residual identifiers, measure k-anonymity, then commit or
keep aside."""

from dataclasses import replace

from ycpipelines.catalog import Dataset, Role
from ycpipelines.deid.anonymity import anonymity
from ycpipelines.deid.checks import passed, scanned_columns
from ycpipelines.deid.policies import deidentify
from ycpipelines.deid.privacy import residual_identifiers
from ycpipelines.deid.pseudonym import PseudonymKey
from ycpipelines.deid.records import Deidentified
from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.lake import Lake, Partition, commit_or_reject, duck


def deidentify_partition(
    dataset: Dataset, partition: Partition, *, lake: Lake, key: PseudonymKey, run_id: str
) -> Deidentified:
    """De-identify one partition; it is committed only when its privacy checks and the
    reconciliation pass."""
    std = lake.file(Layer.STD, dataset.id, partition)
    with duck() as con, lake.staging(run_id) as stage:
        safe = stage.path(lake.file(Layer.SAFE, dataset.id, partition))
        std_rows = con.execute(f"SELECT count(*) FROM read_parquet('{std}')").fetchone()[0]
        rows = deidentify(con, dataset, std, safe, key)
        scanned = residual_identifiers(con, safe, scanned_columns(dataset))
        figures = anonymity(
            con,
            f"read_parquet('{safe}')",
            dataset.safe_columns_with(Role.QUASI),
            dataset.k,
            subject=dataset.subject,
        )
        found = Deidentified(
            std_rows=std_rows,
            rows=rows,
            key_version=key.version,
            leaks={c: n for c, n in scanned.items() if n},
            figures=figures,
        )
        return replace(found, outcome=commit_or_reject(stage, passed(found, dataset)))
