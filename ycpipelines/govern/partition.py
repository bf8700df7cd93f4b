"""One governing run (治理) over a dataset's bureau × day partition, outside Dagster: standardize
and route the rows, run the quality gate, commit or keep aside, then sync feedback tickets."""

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.foundation.feedback import quarantine_findings
from ycpipelines.foundation.keys import Layer
from ycpipelines.foundation.lake import Lake, Partition, commit_or_reject, duck
from ycpipelines.govern.checks import passed, shrink_gate
from ycpipelines.govern.gate import previous_rows, validate
from ycpipelines.govern.records import Governed
from ycpipelines.govern.standardize import route
from ycpipelines.govern.suites import Suite
from ycpipelines.registry import Registry


def govern_partition(
    catalog: Catalog,
    dataset: Dataset,
    suite: Suite,
    partition: Partition,
    *,
    lake: Lake,
    store: Registry,
    run_id: str,
) -> Governed:
    """Govern one partition; it is committed only when the gate, the quarantined share and the
    reconciliation all pass, and its tickets close only then."""
    committed = lake.file(Layer.STD, dataset.id, partition)
    with duck() as con, lake.staging(run_id) as stage:
        std_path = stage.path(committed)
        quarantine_path = stage.path(lake.file(Layer.QUARANTINE, dataset.id, partition, "govern"))
        routed = route(
            con,
            catalog,
            dataset,
            raw=lake.file(Layer.RAW, dataset.id, partition),
            day=partition.date,
            std_path=std_path,
            quarantine_path=quarantine_path,
            run_id=run_id,
        )
        findings = quarantine_findings(con, quarantine_path, dataset)
        gate = validate(
            std_path, suite, dataset, partition, previous_rows(lake, dataset.id, partition)
        )
        gate, accepted = shrink_gate(gate, store, dataset, partition, committed)
        clean = passed(gate, routed, dataset)
        outcome = commit_or_reject(stage, clean)
    if accepted and outcome["committed"]:
        store.accept_shrink(layer=Layer.STD, run_id=run_id, **accepted)
    tickets = store.sync_tickets(
        dataset=dataset.id,
        bureau=partition.bureau,
        day=partition.date,
        stage="govern",
        run_id=run_id,
        found=findings,
        clean=clean,
    )
    return Governed(routed=routed, gate=gate, outcome=outcome, tickets=tickets)
