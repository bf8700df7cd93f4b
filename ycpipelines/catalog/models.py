"""Typed models of the declarative catalog in `assets/`."""

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, model_validator

from ycpipelines.catalog.release import ReleaseForm, Thresholds
from ycpipelines.catalog.standards import Standard
from ycpipelines.foundation.keys import AssetRef, ColumnRef
from ycpipelines.foundation.levels import Level
from ycpipelines.foundation.metadata import SQL_TYPES


def _parsed(kind: type[AssetRef] | type[ColumnRef]) -> PlainValidator:
    """Validate a catalog reference string into `kind`, once, when the catalog loads."""
    return PlainValidator(lambda value: value if isinstance(value, kind) else kind.parse(value))


# "safe/<dataset>" or "product/<scenario>"; written back as that string.
AssetInput = Annotated[AssetRef, _parsed(AssetRef), PlainSerializer(str, return_type=str)]
# "safe/<dataset>.<column>" or "product/<scenario>.<column>"
ColumnInput = Annotated[ColumnRef, _parsed(ColumnRef), PlainSerializer(str, return_type=str)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bureau(Strict):
    """A data-providing department (数据提供部门)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    name_en: str
    owner: str = Field(pattern=r"^team:[a-z0-9_-]+$")
    # When the daily collection (自动归集) of yesterday's partition starts, HH:MM Asia/Shanghai.
    collect_at: str = Field(default="01:30", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

    @property
    def collect_cron(self) -> str:
        """`collect_at` as a daily cron schedule (minute hour * * *)."""
        hour, minute = self.collect_at.split(":")
        return f"{int(minute)} {int(hour)} * * *"


class Policy(StrEnum):
    """How a field is treated by de-identification (脱敏)."""

    KEEP = "keep"
    DROP = "drop"
    PSEUDONYMIZE = "pseudonymize"  # keyed HMAC-SHA256, stable across datasets
    MASK = "mask"  # characters hidden, the ends kept: 138****5678
    BIRTH_YEAR = "birth_year"  # date → year
    BIRTH_BAND = "birth_band"  # date → 5-year band of birth years, e.g. 1970-1974
    COUNTY = "county"  # address → county/district (区县)
    SUPPRESS = "suppress"  # values held by fewer than the dataset's k rows → NULL (局部抑制)
    REDACT_TEXT = "redact_text"  # free text → PII replaced by entity tags


class Role(StrEnum):
    """Role of a column in re-identification (GB/T 37964-2019 个人信息去标识化指南)."""

    DIRECT = "direct"  # 直接标识符: identifies a person on its own
    QUASI = "quasi"  # 准标识符: identifies a person combined with others
    SENSITIVE = "sensitive"  # 敏感属性: what must not be learned about a person
    OTHER = "other"  # 其他属性


POLICIES_ALLOWED_AT = {
    Level.L1: set(Policy),
    Level.L2: set(Policy),
    Level.L3: set(Policy),
    Level.L4: set(Policy) - {Policy.KEEP, Policy.SUPPRESS},  # both leave values in clear
    Level.PROHIBITED: {Policy.DROP},
}

# Level a value carries after its policy; KEEP, PSEUDONYMIZE and SUPPRESS keep linkability.
LEVEL_AFTER = {
    Policy.PSEUDONYMIZE: Level.L3,
    Policy.MASK: Level.L3,
    Policy.BIRTH_YEAR: Level.L2,
    Policy.BIRTH_BAND: Level.L2,
    Policy.COUNTY: Level.L2,
    Policy.REDACT_TEXT: Level.L3,
}

# Standards whose values identify a person on their own (entity types of the recognizers).
DIRECT_STANDARDS = {"resident_id", "phone", "person_name", "email", "bank_card", "passport"}
# What a resident ID may additionally be generalized to, only where the catalog asks for it.
IdPart = Literal["region", "birth_year"]


def default_policy(level: Level, role: Role, standard: str | None, type_: str) -> Policy:
    """The policy a field gets when the catalog names none: level and entity decide."""
    if level == Level.PROHIBITED:
        return Policy.DROP
    if role == Role.DIRECT:
        if standard == "resident_id":
            return Policy.PSEUDONYMIZE
        return Policy.MASK if standard == "phone" and level != Level.L4 else Policy.DROP
    if role == Role.QUASI and type_ == "date":
        return Policy.BIRTH_BAND
    if level == Level.L4:
        return Policy.REDACT_TEXT if standard in (None, "text") else Policy.DROP
    return Policy.KEEP


class SourceField(Strict):
    """One element of a source dataset, with its standard, grade, role and policy.

    Role defaults from the standard (direct identifiers) and policy from level and entity.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    type: Literal["string", "integer", "decimal", "date", "timestamp"] = "string"
    standard: str | None = None
    required: bool = False
    category: str
    level: Level
    role: Role = Role.OTHER
    policy: Policy = Policy.KEEP
    safe_name: str | None = None
    derive: list[IdPart] = []  # a resident ID's generalized parts, as extra safe/ columns
    # Longest value collection accepts, in characters; a longer one sets its row aside.
    max_chars: int = Field(default=10_000, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "role" not in data and data.get("standard") in DIRECT_STANDARDS:
            data["role"] = Role.DIRECT
        if "policy" not in data and "level" in data:
            data["policy"] = default_policy(
                Level(data["level"]),
                Role(data.get("role", Role.OTHER)),
                data.get("standard"),
                data.get("type", "string"),
            )
        return data

    @model_validator(mode="after")
    def _policy_fits_level(self) -> "SourceField":
        if self.policy not in POLICIES_ALLOWED_AT[self.level]:
            raise ValueError(
                f"field {self.name!r} is graded {self.level} ({self.level.label}); "
                f"policy {self.policy} is not allowed at that level"
            )
        if self.standard in DIRECT_STANDARDS and self.role != Role.DIRECT:
            raise ValueError(f"field {self.name!r} ({self.standard}) is a direct identifier")
        if self.role == Role.DIRECT and self.policy in (Policy.KEEP, Policy.SUPPRESS):
            raise ValueError(
                f"field {self.name!r} is a direct identifier (直接标识符); "
                f"policy {self.policy} would publish it"
            )
        if self.derive and self.standard != "resident_id":
            raise ValueError(f"field {self.name!r}: only a resident ID has parts to derive")
        return self

    @property
    def safe_column(self) -> str:
        return self.safe_name or self.name

    @property
    def safe_level(self) -> Level:
        return LEVEL_AFTER.get(self.policy, self.level)

    @property
    def derived_columns(self) -> list[str]:
        """Names of the safe/ columns derived from this field besides its own."""
        return [f"{self.name}_{part}" for part in self.derive]


class SqlSource(Strict):
    """A bureau database reached through SQLAlchemy; the URL comes from `connection_env`."""

    kind: Literal["sql"]
    system: str
    connection_env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    table: str | None = None
    query: str | None = None  # instead of a table: a SELECT the partition filter wraps
    partition_column: str  # maps a row to its day partition
    watermark_column: str | None = None  # row modification time, for incremental re-reads
    freshness_hours: int = Field(default=24, gt=0)

    @model_validator(mode="after")
    def _table_or_query(self) -> "SqlSource":
        if (self.table is None) == (self.query is None):
            raise ValueError("a sql source names exactly one of `table` and `query`")
        return self

    @property
    def where(self) -> str:
        return self.table or "query"


class FileSource(Strict):
    """Files a bureau drops into its inbox, one per day."""

    kind: Literal["files"]
    system: str
    inbox: str
    pattern: str  # strftime pattern of one day's delivery, e.g. enterprises_%Y%m%d.csv
    format: Literal["csv", "xlsx", "jsonl"] = "csv"
    encoding: str = "auto"  # auto: UTF-8, else GB18030 (a superset of GBK)
    freshness_hours: int = Field(default=24, gt=0)

    @property
    def where(self) -> str:
        return self.pattern


class ElementRef(Strict):
    """A shared data element (共享数据元) this dataset carries for the person in `key`."""

    element: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    field: str
    key: str
    authoritative: bool = False


class RowRule(Strict):
    """A row-level rule across fields, by name (see govern.rules)."""

    rule: str
    fields: list[str]


class Dataset(Strict):
    """A bureau's source dataset as it is collected and governed."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    bureau: str
    description: str
    source: SqlSource | FileSource = Field(discriminator="kind")
    primary_key: list[str]
    quarantine_threshold: float = Field(gt=0, le=1)
    fields: list[SourceField]
    rules: list[RowRule] = []
    elements: list[ElementRef] = []
    # Smallest class size over the quasi-identifiers: `suppress` removes values rarer than it;
    # the safe/ k-anonymity check measures it always and blocks only when `enforce_k` is set
    # (safe/ stays inside the domain; products enforce k before anything leaves).
    k: int = Field(default=5, ge=2)
    enforce_k: bool = False

    @model_validator(mode="after")
    def _references_exist(self) -> "Dataset":
        names = {f.name for f in self.fields}
        referenced = set(self.primary_key) | {n for r in self.rules for n in r.fields}
        referenced |= {n for e in self.elements for n in (e.field, e.key)}
        if isinstance(self.source, SqlSource):
            referenced.add(self.source.partition_column)
            referenced |= {self.source.watermark_column} - {None}
        missing = sorted(referenced - names)
        if missing:
            raise ValueError(f"dataset {self.id!r} references unknown fields {missing}")
        return self

    def field(self, name: str) -> SourceField:
        return next(f for f in self.fields if f.name == name)

    def source_columns(self, typed: bool) -> list[tuple[str, str, str]]:
        """(name, type, description) of each source field: SQL types, or text as delivered."""
        return [
            (
                f.name,
                SQL_TYPES[f.type] if typed else "VARCHAR",
                f"{f.label} · {f.category} · {f.level} {f.level.label}",
            )
            for f in self.fields
        ]

    def safe_columns_with(self, role: Role) -> list[str]:
        """safe/ columns of the fields declared with `role` (dropped fields have none)."""
        return [f.safe_column for f in self.fields if f.role == role and f.policy != Policy.DROP]

    @property
    def subject(self) -> str | None:
        """The safe/ pseudonym of the person a row is about, when the dataset has one."""
        return next(
            (
                f.safe_column
                for f in self.fields
                if f.standard == "resident_id" and f.policy == Policy.PSEUDONYMIZE
            ),
            None,
        )


class ProductField(Strict):
    """One column of a product's field list (一清单)."""

    name: str
    label: str
    level: Level
    derived_from: list[ColumnInput]
    transform: Literal["copy", "aggregate", "generalize"] = "copy"


class Product(Strict):
    """A scenario product manifest: one scenario, one field list, one review."""

    scenario: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    description: str
    consumer: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    consumer_label: str
    purpose: str
    legal_basis: str
    inputs: list[AssetInput]
    fields: list[ProductField]
    quasi_identifiers: list[str]  # empty for aggregate products, which suppress small cells
    k: int = Field(default=5, ge=2)
    suppress_below: int | None = Field(default=None, ge=2)  # counts under it are released empty
    sensitive: str | None = None  # the sensitive attribute (敏感属性) that needs ℓ-diversity
    l_diversity: int = Field(default=2, ge=2)  # distinct sensitive values per class
    subject: str | None = None  # column naming the person a row is about, when rows repeat
    release_form: ReleaseForm | None = None  # required of health products (GB/T 39725-2020)
    thresholds: Thresholds | None = None  # stricter than the release form's, when set
    population: str | None = None  # "module:function": the population's quasi-identifiers
    retention_days: int = Field(gt=0)
    format: Literal["parquet", "csv"] = "parquet"
    price: Decimal = Field(ge=0, decimal_places=2)  # yuan per delivery (收益分配)
    revenue_weights: dict[str, float] = {}  # bureau -> weight of its contributed rows
    builder: str  # "module:function" returning the product's SQL

    @model_validator(mode="after")
    def _protected(self) -> "Product":
        if not self.quasi_identifiers and self.suppress_below is None:
            raise ValueError(
                f"product {self.scenario!r} declares neither quasi_identifiers (k-anonymity) "
                "nor suppress_below (aggregates)"
            )
        return self

    @property
    def price_cents(self) -> int:
        return int(self.price * 100)

    @property
    def required(self) -> Thresholds:
        """The thresholds the product's k-anonymity check applies."""
        if self.thresholds:
            return self.thresholds
        if self.release_form:
            form = self.release_form.thresholds
            return form.model_copy(update={"k": max(self.k, form.k)})
        return Thresholds(k=self.k, max_risk=1 / self.k, average_risk=1.0)


class Catalog(Strict):
    """Everything under `assets/`, validated."""

    start_date: date
    bureaus: list[Bureau]
    datasets: list[Dataset]
    products: list[Product]
    standards: dict[str, Standard]
    versions: dict[str, str]  # content hash of each YAML document, used as code_version

    def bureau(self, bureau_id: str) -> Bureau:
        return next(b for b in self.bureaus if b.id == bureau_id)

    def datasets_of(self, bureau_id: str) -> list[Dataset]:
        """The datasets a bureau delivers, in catalog order."""
        return [d for d in self.datasets if d.bureau == bureau_id]

    def standard(self, field: SourceField) -> Standard:
        return self.standards[field.standard or "text"]

    def dataset(self, dataset_id: str) -> Dataset:
        return next(d for d in self.datasets if d.id == dataset_id)

    @property
    def population(self) -> Dataset | None:
        """The population register: the authoritative source of a person's elements."""
        return next(
            (
                d
                for d in self.datasets
                if any(r.authoritative and r.element.startswith("person.") for r in d.elements)
            ),
            None,
        )

    def authority(self, element: str) -> tuple[Dataset, ElementRef]:
        """The one authoritative source of a shared element, and its reference there."""
        return next(
            (d, ref)
            for d in self.datasets
            for ref in d.elements
            if ref.element == element and ref.authoritative
        )
