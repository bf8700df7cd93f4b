"""The demo bureau databases on a real server (PostgreSQL, MariaDB), typed as the catalog says,
for trying and testing the connectors that production bureaus use."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from ycpipelines.catalog import Catalog, Dataset
from ycpipelines.catalog.models import SqlSource

CHUNK_ROWS = 20_000
SERVER_TYPES = {
    "string": sa.Text,
    "integer": sa.BigInteger,
    "decimal": lambda: sa.Numeric(14, 2),
    "date": sa.Date,
    "timestamp": sa.DateTime,
}
PARSE = {
    "integer": int,
    "decimal": lambda v: Decimal(str(v)),
    "date": date.fromisoformat,
    "timestamp": datetime.fromisoformat,
}


def server_table(dataset: Dataset, metadata: sa.MetaData) -> sa.Table:
    assert isinstance(dataset.source, SqlSource)
    return sa.Table(
        dataset.source.table,
        metadata,
        *[sa.Column(f.name, SERVER_TYPES[f.type]()) for f in dataset.fields],
        sa.Index(f"ix_{dataset.id}_day", dataset.source.partition_column),
    )


def typed(dataset: Dataset, row: sa.Row) -> dict:
    values = row._mapping
    return {
        f.name: None if values[f.name] is None else PARSE.get(f.type, str)(values[f.name])
        for f in dataset.fields
    }


def load_into(url: str, sources: Path, catalog: Catalog) -> dict[str, int]:
    """Copy every demo SQL dataset from its SQLite file into the server at `url`."""
    target = sa.create_engine(url)
    loaded = {}
    try:
        for dataset in catalog.datasets:
            if not isinstance(dataset.source, SqlSource):
                continue
            metadata = sa.MetaData()
            table = server_table(dataset, metadata)
            metadata.drop_all(target)
            metadata.create_all(target)
            origin = sa.create_engine(f"sqlite:///{sources / f'{dataset.bureau}.sqlite'}")
            try:
                with origin.connect() as read, target.begin() as write:
                    result = read.execution_options(yield_per=CHUNK_ROWS).execute(
                        sa.text(f"SELECT * FROM {dataset.source.table}")
                    )
                    loaded[dataset.id] = 0
                    for rows in result.partitions():
                        write.execute(table.insert(), [typed(dataset, r) for r in rows])
                        loaded[dataset.id] += len(rows)
            finally:
                origin.dispose()
    finally:
        target.dispose()
    return loaded
