"""The scale bench's bureau databases, generated inside PostgreSQL (`INSERT … SELECT … FROM
generate_series`): every value follows from the row number, so nothing crosses the wire.

Residents are numbered k = 0 … N/10 − 1; a resident's ID (region, birth date, sequence, GB 11643
check digit computed in SQL), name, phone and address follow from k, so a visit of resident k
and a settlement of that visit carry the same person. Visits spread uniformly over the days;
one settlement per visit; notes on 5 % of visits (as bench/deid.py). Defects like the demo's,
at its rates, by row number: bad check digits, missing IDs, future birth dates, mismatched
genders and duplicate keys (quarantined); 15-digit IDs and odd phone formats (standardized).

Each table is partitioned by its day column into slices of RANGE_DAYS days (a backfill run's
range); `Release` empties a slice once all its days are collected, so the sources shrink as the
lake grows (at 100 M rows they are about 45 GB with indexes and the lake 33 GB: both at once would
not fit the 80 GB this disk has free).
"""

import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from ycpipelines.catalog import Catalog
from ycpipelines.demo.people import DISTRICTS, GIVEN, MOBILE_PREFIXES, SURNAMES
from ycpipelines.demo.servers import server_table
from ycpipelines.demo.sources import DIAGNOSES, HOSPITALS, INSURANCE_TYPES
from ycpipelines.foundation.ranges import RANGE_DAYS

FIRST_DAY = date(2025, 1, 1)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
DATES = 88 * 12 * 28  # birth dates a resident's number maps to: 1936..2023, days 1..28
SPREAD = 2654435761  # Knuth's multiplicative hash: which resident a visit is
REGIONS = list(DISTRICTS)
WEIGHTED = [d for d in DIAGNOSES for _ in range(d[3])]
GENERATED = ("residents", "outpatient_visits", "settlements")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def text_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def pick(values: list[str], index: str) -> str:
    return f"({text_array(values)})[1 + ({index}) % {len(values)}]"


def digit_sum(value: str, width: int, weights: tuple[int, ...]) -> str:
    """The weighted sum of an integer's `width` decimal digits, most significant first."""
    return " + ".join(
        f"{w} * (({value}) / {10 ** (width - 1 - i)} % 10)" for i, w in enumerate(weights)
    )


def person_columns() -> str:
    """From k: region index, birth year/month/day, sequence (odd = male); one person per k
    below 6 × 2 × DATES × 500 (177 M residents)."""
    day = f"(k / 12 % {DATES})"
    return (
        f"k, k % 6 AS ri, 1936 + {day} % 88 AS y, 1 + {day} / 88 % 12 AS m, "
        f"1 + {day} / 1056 AS d, (k / 12 / {DATES}) % 500 * 2 + (k / 6) % 2 AS seq"
    )


def check_columns() -> str:
    """The 17-digit body and its GB 11643 check sum (mod 11), computed on integers."""
    region_sums = [sum(int(c) * w for c, w in zip(r, WEIGHTS[:6], strict=True)) for r in REGIONS]
    ymd = "(y * 10000 + m * 100 + d)"
    total = (
        f"(ARRAY{region_sums})[1 + ri] + {digit_sum(ymd, 8, WEIGHTS[6:14])} + "
        f"{digit_sum('seq', 3, WEIGHTS[14:])}"
    )
    body = f"{pick(REGIONS, 'ri')} || {ymd}::text || lpad(seq::text, 3, '0')"
    birth = "make_date(y::int, m::int, d::int)"
    return f"{body} AS body, (({total}) % 11)::int AS sum11, {birth} AS birth"


def person_from(k: str, extra: str, source: str) -> str:
    """Rows of `source` (which names `g`) with resident `k`'s parts computed once each."""
    return (
        f"(SELECT *, {check_columns()} FROM (SELECT {extra}, {person_columns()} FROM "
        f"(SELECT {extra}, {k} AS k FROM {source}) s0 OFFSET 0) s1 OFFSET 0) p"
    )


def id_number(bucket: str) -> str:
    """The resident ID, with the defects of its row's bucket (0..999)."""
    good = "body || substr('10X98765432', 1 + sum11, 1)"
    return (
        f"CASE WHEN {bucket} < 10 THEN body || substr('10X98765432', 1 + (sum11 + 1) % 11, 1) "
        f"WHEN {bucket} < 20 THEN NULL "
        f"WHEN {bucket} BETWEEN 35 AND 54 AND y < 2000 "
        f"THEN substr(body, 1, 6) || substr(body, 9, 9) ELSE {good} END"
    )


def person_values(bucket: str) -> dict[str, str]:
    """Name, gender, birth date, phone and address of resident k (defects by bucket)."""
    district = f"({text_array([d for d, _ in DISTRICTS.values()])})[1 + ri]"
    streets = [s for _, ss in DISTRICTS.values() for s in ss]
    phone = f"{pick(MOBILE_PREFIXES, 'k')} || lpad((k * 7919 % 100000000)::text, 8, '0')"
    return {
        "name": f"{pick(list(SURNAMES), 'k / 7')} || {pick(list(GIVEN), 'k / 3')}"
        f" || CASE WHEN k % 2 = 0 THEN {pick(list(GIVEN), 'k / 5')} ELSE '' END",
        "gender": f"CASE WHEN (seq % 2 = 1) = ({bucket} BETWEEN 25 AND 34) THEN '女' ELSE '男' END",
        "birth_date": f"CASE WHEN {bucket} BETWEEN 20 AND 24 THEN DATE '2031-01-01' ELSE birth END",
        "phone": f"CASE WHEN {bucket} BETWEEN 55 AND 84 THEN '+86 ' || {phone} ELSE {phone} END",
        "address": f"'宁夏回族自治区银川市' || {district} || {pick(streets, 'k / 11')} || "
        "(1 + k % 399)::text || '号' || (1 + k / 13 % 29)::text || '栋' || (1 + k % 5)::text "
        "|| '单元' || (1 + k / 17 % 27)::text || '0' || (1 + k % 4)::text || '室'",
    }


def moment(g: str, days: int, rows: int) -> str:
    """A time on day ⌊g × days / (rows + 1)⌋: rows numbered in order fill the days in order, as
    a source system's table fills (a day's rows spread over the whole table would make each
    day's read touch most of its pages: O(table) per partition, a benchmark artifact)."""
    return (
        f"(TIMESTAMP '{FIRST_DAY} 00:00:00' + (({g}) * {days} / {rows + 1}) * INTERVAL '1 day' "
        f"+ (({g}) * 7919 % 86400) * INTERVAL '1 second')"
    )


def resident_select(days: int, rows: int) -> dict[str, str]:
    person = person_values("(k * 7 % 1000)")
    return {
        "id_number": id_number("(k * 7 % 1000)"),
        **{c: person[c] for c in ("name", "gender", "birth_date", "phone")},
        "ethnicity": "CASE WHEN k % 100 < 62 THEN '汉族' WHEN k % 100 < 97 THEN '回族' "
        "ELSE '满族' END",
        "household_division": pick(REGIONS, "k / 19"),
        "household_address": person["address"],
        "updated_at": moment("k", days, rows),
    }


def visit_select(days: int, rows: int) -> dict[str, str]:
    person = person_values("(g % 1000)")
    diagnosis = f"(g * 31 % {len(WEIGHTED)})"
    note = (
        f"'患者' || {person['name']} || ',' || {person['gender']} || ',因' || "
        f"{pick([d[1] for d in WEIGHTED], diagnosis)} || '就诊,症状' || (1 + g % 14)::text || "
        "'天。' || CASE WHEN g % 3 = 0 THEN '联系电话' || "
        + person["phone"]
        + " || '。' ELSE '' END"
    )
    return {
        "visit_id": "'MZ' || lpad(g::text, 10, '0')",
        "patient_name": person["name"],
        "id_number": id_number("(g % 1000)"),
        **{c: person[c] for c in ("phone", "gender", "birth_date", "address")},
        "hospital": pick(HOSPITALS, "g / 7"),
        "department": pick([d[2] for d in WEIGHTED], diagnosis),
        "icd10_code": pick([d[0] for d in WEIGHTED], diagnosis),
        "diagnosis": pick([d[1] for d in WEIGHTED], diagnosis),
        "note": f"CASE WHEN g % 20 = 3 THEN {note} END",
        "visit_time": moment("g", days, rows),
        "fee": "round(20 + (g * 7919 % 200000) / 100.0, 2)",
        "updated_at": f"{moment('g', days, rows)} + (g % 3600) * INTERVAL '1 second'",
    }


def settlement_select(days: int, rows: int) -> dict[str, str]:
    person = person_values("(g % 1000)")
    fee = "round(20 + (g * 7919 % 200000) / 100.0, 2)"
    fund = f"round({fee} * (50 + g % 30) / 100.0, 2)"
    at = moment("g", days, rows)
    return {
        "settlement_id": "'JS' || lpad(g::text, 10, '0')",
        "id_number": id_number("CASE WHEN g % 1000 < 20 THEN g % 1000 ELSE 999 END"),
        "name": person["name"],
        "insurance_type": pick(INSURANCE_TYPES, "g / 3"),
        "visit_id": "'MZ' || lpad(g::text, 10, '0')",
        "total": fee,
        "fund_paid": fund,
        "self_paid": f"{fee} - {fund}",
        "settle_time": f"LEAST({at} + (5 + g % 85) * INTERVAL '1 minute', "
        f"date_trunc('day', {at}) + INTERVAL '86399 seconds')",
    }


def insert(url: str, table: str, columns: dict[str, str], k: str, source: str) -> None:
    """One `INSERT … SELECT` of `columns` over `source` (rows numbered g), resident `k`."""
    engine = sa.create_engine(url)
    names = ", ".join(columns)
    values = ", ".join(columns.values())
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SET synchronous_commit = off"))
            conn.execute(
                sa.text(
                    f"INSERT INTO {table} ({names}) SELECT {values} FROM "
                    + person_from(k, "g", source)
                )
            )
    except sa.exc.DBAPIError as error:  # the statement is long: its error alone
        raise RuntimeError(f"generating {table}: {error.orig}") from None
    finally:
        engine.dispose()


def in_parallel(jobs: list[tuple], workers: int) -> None:
    """The jobs (insert's arguments), `workers` at a time, each on its own connection."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done in [pool.submit(insert, *job) for job in jobs]:
            done.result()  # the first error raised


def split(first: int, last: int, parts: int) -> list[str]:
    """`generate_series` sources covering first..last in `parts` ranges."""
    size = (last - first + 1 + parts - 1) // parts
    return [
        f"generate_series({a}::bigint, {min(a + size - 1, last)}) g"
        for a in range(first, last + 1, size)
    ]


def slices(days: int) -> list[tuple[date, date]]:
    """The source tables' partitions, [first, end): RANGE_DAYS days each from FIRST_DAY."""
    return [
        (FIRST_DAY + timedelta(a), FIRST_DAY + timedelta(min(a + RANGE_DAYS, days)))
        for a in range(0, days, RANGE_DAYS)
    ]


def slice_name(table: str, index: int) -> str:
    return f"{table}_s{index:02d}"


def create_tables(engine: sa.Engine, catalog: Catalog, days: int) -> dict[str, sa.Table]:
    """The generated datasets' tables, partitioned by day into UNLOGGED slices, no indexes yet."""
    metadata = sa.MetaData()
    tables = {}
    for dataset in (d for d in catalog.datasets if d.id in GENERATED):
        table = tables[dataset.id] = server_table(dataset, metadata)
        table.dialect_kwargs["postgresql_partition_by"] = (
            f"RANGE ({dataset.source.partition_column})"
        )
    metadata.create_all(engine)
    with engine.begin() as conn:
        for table in tables.values():
            for index in table.indexes:
                conn.execute(sa.text(f"DROP INDEX {index.name}"))
            for i, (first, end) in enumerate(slices(days)):
                conn.execute(
                    sa.text(
                        f"CREATE UNLOGGED TABLE {slice_name(table.name, i)} PARTITION OF "
                        f"{table.name} FOR VALUES FROM ('{first}') TO ('{end}')"
                    )
                )
    return tables


def generate(url: str, catalog: Catalog, visits: int, days: int, parts: int = 2) -> dict:
    """The three bureaus' tables (day slices, partition columns indexed after loading,
    analyzed): `visits` visits over `days` days from FIRST_DAY, their settlements, a tenth as
    many residents; duplicates (1 %) on top. Returns rows per table and the seconds taken."""
    started = time.perf_counter()
    residents = max(visits // 10, 100)
    spread = f"(g * {SPREAD}) % {residents}"
    plans = {
        "residents": (resident_select(days, residents), "g", residents - 1, 0),
        "outpatient_visits": (visit_select(days, visits), spread, visits, 1),
        "settlements": (settlement_select(days, visits), spread, visits, 1),
    }
    engine = sa.create_engine(url)
    tables = create_tables(engine, catalog, days)
    jobs = []
    for name, (columns, k, last, first) in plans.items():
        table = tables[name].name
        jobs += [(url, table, columns, k, s) for s in split(first, last, parts)]
        jobs.append(
            (url, table, columns, k, f"generate_series({first + 50}::bigint, {last}, 100) g")
        )
    in_parallel(jobs, parts)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables.values():
            for index in table.indexes:
                index.create(conn)
            conn.execute(sa.text(f"ANALYZE {table.name}"))
        counts = {
            name: conn.execute(sa.text(f"SELECT count(*) FROM {t.name}")).scalar_one()
            for name, t in tables.items()
        }
    engine.dispose()
    return {"rows": counts, "seconds": time.perf_counter() - started}


def collected_days(committed: Iterable[tuple[str, str]]) -> dict[str, set[date]]:
    """Dataset → its days among raw partitions committed (asset key, partition key)."""
    found: dict[str, set[date]] = {}
    for key, partition in committed:
        if day := DAY.search(partition):
            found.setdefault(key.rsplit("/", 1)[-1], set()).add(date.fromisoformat(day.group()))
    return found


@dataclass
class Release:
    """Empties (TRUNCATE) each source slice whose days are all collected: called with the raw
    partitions committed so far, as the bench polls the backfills."""

    url: str
    catalog: Catalog
    days: int
    emptied: set[str] = field(default_factory=set)

    def __call__(self, committed: Iterable[tuple[str, str]]) -> list[str]:
        """The slices emptied by this call."""
        collected = collected_days(committed)
        due = []
        for dataset in (d for d in self.catalog.datasets if d.id in GENERATED):
            days = collected.get(dataset.id, set())
            for i, (first, end) in enumerate(slices(self.days)):
                name = slice_name(dataset.source.table, i)
                whole = {first + timedelta(n) for n in range((end - first).days)}
                if name not in self.emptied and whole <= days:
                    due.append(name)
        if due:
            engine = sa.create_engine(self.url)
            with engine.begin() as conn:
                for name in due:
                    conn.execute(sa.text(f"TRUNCATE {name}"))
            engine.dispose()
            self.emptied.update(due)
        return due
