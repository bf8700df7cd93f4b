"""Launches through the proxied Dagster UI (经控制台发起的运行): what the proxy lets through to the
webserver's GraphQL API.

Dagster's GraphQL schema takes no run id from the caller, so a launch of one run
(`launchRun`, `launchPipelineExecution`, each of `launchMultipleRuns`, `launchRunReexecution` by
execution or re-execution params) is recorded in the registry as the signed-in operator's under a
fresh `launch-…` token before it is forwarded; the run is tagged `ycp/launch` with the token and
`ycp/launched_by` with the operator (whatever the browser sent), and once the webserver made it
the proxy binds the token to its run id (`Registry.bind_launch`). Backfills
(`launchPartitionBackfill`, `reexecutePartitionBackfill`, `resumePartitionBackfill`) start many
runs later, from the daemon: their tags are overwritten and a `backfill.launched` audit entry is
written; their runs have no recorded launcher, so no operator may review what they build.

Mutations are allowed by name (白名单), not by shape: an operator may also send those of `OTHERS`
(stop runs and backfills, start and stop sensors and schedules, reload code, two UI
housekeeping ones), each audited (`dagster.mutation`) with its name and the identifiers it names
(run ids, selectors), never other values. Everything else is refused, notably the reports of
events outside any run (`report*`: forged check results), `wipeAssets`, run deletion, sensor
cursors and resets, dry runs, components, `shutdownRepositoryLocation`, auto-materialize and
concurrency settings. A launch whose arguments are not request variables, two launches in one
request, and every mutation on the read-only webserver are refused."""

import uuid
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, parse
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.utilities import value_from_ast_untyped

from ycpipelines.egress.review import LAUNCHED_BY
from ycpipelines.foundation.partitions import BUREAU_TAG
from ycpipelines.registry import Registry
from ycpipelines.registry.identity import LAUNCH_TOKEN, OPERATOR

RUNS = frozenset(
    {
        "launchPipelineExecution",
        "launchRun",
        "launchMultipleRuns",
        "launchPipelineReexecution",
        "launchRunReexecution",
    }
)
BACKFILLS = frozenset(
    {"launchPartitionBackfill", "reexecutePartitionBackfill", "resumePartitionBackfill"}
)
OTHERS: dict[str, tuple[str, ...]] = {  # allowed to operators, audited with these arguments
    "terminateRun": ("runId", "terminatePolicy"),
    "terminateRuns": ("runIds", "terminatePolicy"),
    "cancelPartitionBackfill": ("backfillId",),
    "startSensor": ("sensorSelector",),
    "stopSensor": ("id", "jobOriginId", "jobSelectorId"),
    "startSchedule": ("scheduleSelector",),
    "stopRunningSchedule": ("id", "scheduleOriginId", "scheduleSelectorId"),
    "reloadWorkspace": (),
    "reloadRepositoryLocation": ("repositoryLocationName",),
    "setNuxSeen": (),
    "logTelemetry": ("action",),
}
ALLOWED = RUNS | BACKFILLS | OTHERS.keys() | {"__typename"}
LAUNCH_TAG = "ycp/launch"  # the token a run launched through the console carries
MAX_DEPTH = 8  # fragments nested at the root, deeper is refused


class Refused(Exception):
    """A GraphQL request the proxy does not forward; the message says why, never a value."""


@dataclass(frozen=True)
class Operation:
    """The operation a request runs: its kind and the root fields it selects."""

    kind: str  # query | mutation | subscription
    fields: tuple[FieldNode, ...]


def root_fields(
    selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], depth: int = 0
) -> list[FieldNode]:
    """The fields at the root, through fragments spread or inlined there."""
    if depth > MAX_DEPTH:
        raise Refused("fragments nested too deep")
    found: list[FieldNode] = []
    for node in selections.selections:
        if isinstance(node, FieldNode):
            found.append(node)
        elif isinstance(node, InlineFragmentNode):
            found += root_fields(node.selection_set, fragments, depth + 1)
        elif isinstance(node, FragmentSpreadNode):
            if node.name.value not in fragments:
                raise Refused("unknown fragment")
            found += root_fields(fragments[node.name.value].selection_set, fragments, depth + 1)
    return found


def operation(query: object, name: object = None) -> Operation:
    """The one operation of a GraphQL document that a request runs; a mutation must be its
    document's only operation."""
    if not isinstance(query, str):
        raise Refused("no GraphQL query")
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        raise Refused("not a GraphQL document") from None
    found = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    kinds = {op.operation.value for op in found}
    if len(found) > 1 and kinds - {"query"}:
        raise Refused("a mutation or subscription must be its document's only operation")
    chosen = [op for op in found if name is None or (op.name and op.name.value == name)]
    if len(chosen) != 1:
        raise Refused("which operation to run is not clear")
    defaults = [v for v in chosen[0].variable_definitions or () if v.default_value is not None]
    if defaults and chosen[0].operation.value != "query":
        raise Refused("a mutation's variables take no default: send them")
    return Operation(
        chosen[0].operation.value, tuple(root_fields(chosen[0].selection_set, fragments))
    )


def tagged(tags: object, actor: str, token: str | None = None) -> list[dict[str, Any]]:
    """The tags with `ycp/launched_by` set to `actor` and `ycp/launch` to `token` (or removed),
    whatever was sent."""
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(t, dict) for t in tags):
        raise Refused("tags must be a list of key/value pairs")
    ours = {LAUNCHED_BY: actor} | ({LAUNCH_TAG: token} if token else {})
    kept = [t for t in tags if t.get("key") not in (LAUNCHED_BY, LAUNCH_TAG)]
    return kept + [{"key": k, "value": v} for k, v in ours.items()]


def with_bureau(tags: list[dict[str, Any]], names: object) -> list[dict[str, Any]]:
    """The tags with `ycp/bureau` set when the backfill's partitions are all of one bureau, so
    the queue's per-bureau limit holds for its runs over ranges of days (they carry no
    partition tags); other backfills keep the tags sent."""
    bureaus = {str(n).split("|", 1)[0] for n in names} if isinstance(names, list) else set()
    if len(bureaus) != 1:
        return tags
    return [t for t in tags if t.get("key") != BUREAU_TAG] + [
        {"key": BUREAU_TAG, "value": bureaus.pop()}
    ]


def params(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Refused("launch parameters must be an object")
    return value


def record(actor: str, job: str, registry: Registry) -> str:
    """A launch recorded under a fresh token, before the run exists."""
    token = f"{LAUNCH_TOKEN}{uuid.uuid4()}"
    registry.record_launch(actor, token, job)
    return token


def record_run(value: object, actor: str, registry: Registry) -> str:
    """Execution params: the launch recorded, the run's tags overwritten; the token."""
    found = params(value)
    metadata = params(found.get("executionMetadata") or {})
    selector = params(found.get("selector") or {})
    token = record(actor, str(selector.get("jobName") or selector.get("pipelineName")), registry)
    found["executionMetadata"] = {**metadata, "tags": tagged(metadata.get("tags"), actor, token)}
    return token


def record_reexecution(value: object, actor: str, registry: Registry) -> str:
    """Re-execution params: the launch recorded, the tags the new run takes overwritten."""
    found = params(value)
    token = record(actor, f"reexecution of {found.get('parentRunId')}", registry)
    found["extraTags"] = tagged(found.get("extraTags"), actor, token)
    return token


def record_backfill(
    name: str, value: object, tags_key: str | None, actor: str, registry: Registry
) -> None:
    """A backfill: its tags overwritten, its launch audited (its runs come later)."""
    found = params(value) if tags_key else {}
    if tags_key:
        found[tags_key] = with_bureau(
            tagged(found.get(tags_key), actor), found.get("partitionNames")
        )
    registry.require(actor, OPERATOR, name)
    parent = str(found.get("parentRunId") or "") or None
    registry.audit(actor, "backfill.launched", f"dagster/{name}", {"parent": parent})


def launch(
    field: FieldNode, variables: dict[str, Any], actor: str, registry: Registry
) -> list[str]:
    """Rewrite the variables of one launch mutation and record it, or refuse it; the tokens
    of the runs it launches."""
    name = field.name.value
    arguments: dict[str, Any] = {}
    for argument in field.arguments:
        if not isinstance(argument.value, VariableNode):
            raise Refused("a launch's arguments must be request variables")
        value = variables.get(argument.value.name.value)
        if value is not None:  # a variable not sent is null: the argument is absent
            arguments[argument.name.value] = value
    if len(arguments) > 1:
        raise Refused(f"the mutation {name} takes one set of parameters")
    if name in BACKFILLS:
        value = arguments.get("backfillParams", arguments.get("reexecutionParams"))
        key = "tags" if "backfillParams" in arguments else "extraTags" if value else None
        record_backfill(name, value, key, actor, registry)
        return []
    if "executionParams" in arguments:
        return [record_run(arguments["executionParams"], actor, registry)]
    if "reexecutionParams" in arguments:
        return [record_reexecution(arguments["reexecutionParams"], actor, registry)]
    batch = arguments.get("executionParamsList")
    if not isinstance(batch, list):
        raise Refused(f"the mutation {name} is sent without its parameters")
    return [record_run(each, actor, registry) for each in batch]


def audited(field: FieldNode, variables: dict[str, Any], actor: str, registry: Registry) -> None:
    """An allowed mutation other than a launch, audited with the identifiers it names."""
    name = field.name.value
    if name == "__typename":
        return
    registry.require(actor, OPERATOR, name)
    named = {a.name.value: value_from_ast_untyped(a.value, variables) for a in field.arguments}
    detail = {k: v for k, v in named.items() if k in OTHERS[name] and v is not None}
    registry.audit(actor, "dagster.mutation", f"dagster/{name}", {"mutation": name} | detail)


def checked(body: object, actor: str, registry: Registry | None) -> list[str]:
    """Check (and rewrite in place) the GraphQL request body `actor` sends; the tokens of the
    runs it launches. `registry` None is the read-only webserver: no mutation at all."""
    if not isinstance(body, dict):
        raise Refused("one GraphQL operation per request, as a JSON object")
    found = operation(body.get("query"), body.get("operationName"))
    if found.kind != "mutation":
        return []
    if registry is None:
        raise Refused("the auditors' webserver is read-only: no mutation")
    refused = sorted({f.name.value for f in found.fields} - ALLOWED)
    if refused:
        raise Refused(f"the mutation {refused[0]} is not one the console forwards")
    launches = [f for f in found.fields if f.name.value in RUNS | BACKFILLS]
    if len(launches) > 1:
        raise Refused("one launch per request")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise Refused("variables must be a JSON object")
    body["variables"] = variables
    tokens = launch(launches[0], variables, actor, registry) if launches else []
    for field in found.fields:
        if field.name.value not in RUNS | BACKFILLS:
            audited(field, variables, actor, registry)
    return tokens
