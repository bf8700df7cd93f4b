"""Deliveries as partitions (交付对象): `published/<scenario>` has one dynamic partition per
consumer ever authorized for the scenario, so each consumer's deliveries have a history of
their own. A partition is added where an authorization meets Dagster: the review sensor."""

from collections.abc import Iterable

import dagster as dg

from ycpipelines.foundation.keys import published_key


def consumer_partitions(scenario: str) -> dg.DynamicPartitionsDefinition:
    """The consumers of one scenario: a consumer authorized for another one is not listed."""
    return dg.DynamicPartitionsDefinition(name=f"consumers_{scenario}")


def delivered_to(instance: dg.DagsterInstance, scenario: str) -> list[str]:
    """The consumers a version of `published/<scenario>` was delivered to: its materialized
    partitions."""
    return sorted(instance.get_materialized_partitions(published_key(scenario)))


def open_deliveries(
    instance: dg.DagsterInstance, scenario: str, consumers: Iterable[str]
) -> list[str]:
    """Add the consumers not yet partitions of `published/<scenario>`; returns those added.
    Partitions are never removed: a revoked consumer's delivery history stays."""
    name = consumer_partitions(scenario).name
    assert name is not None
    new = sorted(set(consumers) - set(instance.get_dynamic_partitions(name)))
    if new:
        instance.add_dynamic_partitions(name, new)
    return new
