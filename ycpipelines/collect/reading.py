"""What a source reader reports besides its rows: counts, set-aside lines, columns and types."""

from dataclasses import dataclass, field

import pyarrow as pa

from ycpipelines.catalog import Dataset


class SchemaDriftError(RuntimeError):
    """The source no longer matches what the catalog and the last committed load expect."""


@dataclass
class Reading:
    """Filled in by a reader while it streams one partition."""

    dataset: Dataset
    where: str  # table, query or file, for messages
    source_count: int | None = None
    bad_lines: list[dict] = field(default_factory=list)
    new_columns: list[str] = field(default_factory=list)
    families: dict[str, str] = field(default_factory=dict)  # source type family per column

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.dataset.fields]

    def text_schema(self) -> pa.Schema:
        return pa.schema([(c, pa.string()) for c in self.columns] + [("_line", pa.int64())])

    def check_columns(self, found: list[str]) -> None:
        """Fail on a catalog column the source lacks; note columns the catalog does not list."""
        missing = [c for c in self.columns if c not in found]
        if missing:
            raise SchemaDriftError(
                f"dataset {self.dataset.id}: column(s) {missing} expected by the catalog are "
                f"missing from {self.where} (found {found})"
            )
        self.new_columns = [c for c in found if c not in self.columns]

    def check_families(self, baseline: dict[str, str]) -> None:
        """Fail on a column whose type family changed since the last committed load."""
        for column in self.columns:
            before, now = baseline.get(column), self.families.get(column)
            if before and now and before != now:
                raise SchemaDriftError(
                    f"dataset {self.dataset.id}: column {column} changed type in {self.where}: "
                    f"expected {before}, found {now}"
                )
