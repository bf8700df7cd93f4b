"""The code location: merges each stage's Definitions and binds resources once, by key."""

import dagster as dg

from ycpipelines.catalog import Catalog, load_catalog
from ycpipelines.collect.defs import collect_defs
from ycpipelines.deid.defs import deid_defs
from ycpipelines.egress.defs import egress_defs
from ycpipelines.foundation.files import private_umask
from ycpipelines.foundation.settings import Settings
from ycpipelines.govern.defs import govern_defs
from ycpipelines.jobs import jobs
from ycpipelines.ops.defs import ops_defs
from ycpipelines.ops.environments import require_production
from ycpipelines.ops.executor import step_executor
from ycpipelines.ops.freshness import with_freshness
from ycpipelines.products.defs import product_defs
from ycpipelines.registry.schema import upgrade, upgrades_implicitly
from ycpipelines.resources import resources
from ycpipelines.schedules import schedules
from ycpipelines.sensors import sensors


def build_definitions(
    catalog: Catalog | None = None, settings: Settings | None = None
) -> dg.Definitions:
    """Every stage's definitions, with the resources and the step executor bound from one
    `Settings`."""
    settings = settings or Settings()
    catalog = catalog or load_catalog(settings.catalog)
    require_production(catalog, settings=settings)
    merged = dg.Definitions.merge(
        collect_defs(catalog),
        govern_defs(catalog),
        deid_defs(catalog),
        product_defs(catalog),
        egress_defs(catalog),
        ops_defs(),
        dg.Definitions(
            jobs=jobs(catalog),
            schedules=schedules(catalog, settings),
            sensors=sensors(catalog, settings),
            resources=resources(settings),
            executor=step_executor(settings),
        ),
    )
    return with_freshness(merged, catalog)


private_umask()  # the code server and the runs it launches write private files
SETTINGS = Settings()  # read once, where the code location loads
if upgrades_implicitly(SETTINGS.registry):  # the embedded development registry only; production
    upgrade(SETTINGS.registry)  # migrates by `ycp registry upgrade` before the services start
defs = build_definitions(settings=SETTINGS)
