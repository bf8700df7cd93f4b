"""The asset graph as a reviewed snapshot: any change to keys, groups, deps, partitions, checks,
jobs, sensors or schedules shows as a diff of `__snapshots__/test_graph_snapshot.ambr`.

Update it deliberately (`pytest tests/test_graph_snapshot.py --snapshot-update`), then review
the diff.
"""

import dagster as dg
from syrupy.assertion import SnapshotAssertion

from ycpipelines.definitions import build_definitions


def partitions(definition: dg.PartitionsDefinition | None) -> str | None:
    """A partitions definition by kind and shape, not by the days that have passed."""
    if definition is None:
        return None
    if isinstance(definition, dg.MultiPartitionsDefinition):
        dims = ", ".join(
            f"{d.name}={partitions(d.partitions_def)}" for d in definition.partitions_defs
        )
        return f"multi({dims})"
    if isinstance(definition, dg.DynamicPartitionsDefinition):
        return f"dynamic({definition.name})"
    if isinstance(definition, dg.TimeWindowPartitionsDefinition):
        return f"{definition.cron_schedule} from {definition.start:%Y-%m-%d} {definition.timezone}"
    if isinstance(definition, dg.StaticPartitionsDefinition):
        return f"static({', '.join(definition.get_partition_keys())})"
    return type(definition).__name__


def assets(defs: dg.Definitions) -> dict[str, dict]:
    graph = defs.resolve_asset_graph()
    found = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        found[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "partitions": partitions(node.partitions_def),
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "code_version": node.code_version,
            "checks": sorted(
                (c.name, getattr(graph.get(c), "blocking", None)) for c in node.check_keys
            ),
        }
    return found


def jobs(defs: dg.Definitions) -> dict[str, dict]:
    repo = defs.get_repository_def()
    found = {}
    for job in sorted(repo.get_all_jobs(), key=lambda j: j.name):
        if job.name.startswith("__"):  # Dagster's implicit asset job
            continue
        layer = job.asset_layer
        found[job.name] = {
            "assets": sorted(k.to_user_string() for k in layer.selected_asset_keys),
            "checks": sorted(c.to_user_string() for c in layer.asset_graph.asset_check_keys),
            "partitions": partitions(job.partitions_def),
            "tags": {k: v for k, v in sorted(job.tags.items()) if not k.startswith("dagster/")},
        }
    return found


def test_asset_graph_matches_its_snapshot(snapshot: SnapshotAssertion) -> None:
    defs = build_definitions()
    repo = defs.get_repository_def()
    summary = {
        "assets": assets(defs),
        "jobs": jobs(defs),
        "sensors": sorted(s.name for s in repo.sensor_defs),
        "schedules": sorted(s.name for s in repo.schedule_defs),
    }
    assert summary == snapshot
