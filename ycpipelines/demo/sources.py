"""`ycp demo sources`: bureau databases (SQLite through SQLAlchemy) and a GBK CSV inbox.

Each generated row carries at most one defect, drawn at seeded rates, and `manifest.json`
records how many of each were injected so tests can reconcile quarantine against them.
"""

import csv
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import create_engine, text

from ycpipelines.demo.people import DISTRICTS, Person, credit_code, legacy_id, mobile, person
from ycpipelines.foundation.files import private_umask

HOSPITALS = [
    "宁夏医科大学总医院",
    "宁夏回族自治区人民医院",
    "银川市第一人民医院",
    "银川市中医医院",
    "宁夏回族自治区中医医院",
    "银川市妇幼保健院",
]
# (ICD-10, diagnosis, department, weight)
DIAGNOSES = [
    ("J06.9", "急性上呼吸道感染", "呼吸内科", 18),
    ("I10", "原发性高血压", "心血管内科", 12),
    ("E11.9", "2型糖尿病", "内分泌科", 9),
    ("K29.7", "胃炎", "消化内科", 8),
    ("M54.5", "腰痛", "骨科", 6),
    ("J20.9", "急性支气管炎", "呼吸内科", 6),
    ("I25.1", "动脉粥样硬化性心脏病", "心血管内科", 4),
    ("J44.9", "慢性阻塞性肺疾病", "呼吸内科", 3),
    ("I63.9", "脑梗死", "神经内科", 2),
    ("N18.9", "慢性肾脏病", "肾内科", 2),
    ("C34.9", "支气管或肺恶性肿瘤", "肿瘤科", 1),
    ("Z00.0", "一般医学检查", "全科医学科", 5),
]
INDUSTRIES = [
    "批发和零售业",
    "制造业",
    "信息传输、软件和信息技术服务业",
    "住宿和餐饮业",
    "农、林、牧、渔业",
]
INSURANCE_TYPES = ["职工基本医疗保险", "城乡居民基本医疗保险"]
# Rates per row; "standardized" defects are fixed by the govern stage, the rest are quarantined.
DEFECT_RATES = {
    "bad_checksum": 0.01,
    "legacy_15_digit_id": 0.02,
    "phone_format": 0.03,
    "duplicate": 0.01,
    "missing_required": 0.01,
    "future_date": 0.005,
    "gender_mismatch": 0.01,
}
STANDARDIZED = {"legacy_15_digit_id", "phone_format"}
CHUNK_ROWS = 50_000
Row = dict[str, object]


class Sink(Protocol):
    """Where a generated dataset is written, a chunk of rows at a time."""

    location: Path

    def write(self, dataset: str, rows: list[Row]) -> None: ...


@dataclass
class Table:
    """One generated source dataset, written in chunks, and the defects injected into it."""

    bureau: str
    dataset: str
    key: str  # the primary key column, to name the rows a defect was put into
    sink: Sink
    count: int = 0
    pending: list[Row] = field(default_factory=list)
    defects: Counter = field(default_factory=Counter)
    broken: list[object] = field(default_factory=list)  # keys of rows that must be quarantined

    def add(self, row: Row) -> None:
        self.pending.append(row)
        self.count += 1
        if len(self.pending) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.sink.write(self.dataset, self.pending)
            self.pending = []

    def manifest(self) -> dict:
        return {
            "bureau": self.bureau,
            "rows": self.count,
            "defects": dict(sorted(self.defects.items())),
            "expected_quarantined": len(self.broken),
            "quarantined_keys": sorted(self.broken, key=str),
            "location": str(self.sink.location),
        }


class Defects:
    """Seeded defect injection: at most one defect per row, each kind at its own rate."""

    def __init__(self, rng: random.Random, scale: float) -> None:
        self.rng = rng
        self.scale = scale

    def draw(self, kinds: list[str]) -> str | None:
        roll = self.rng.random()
        for kind in kinds:
            roll -= DEFECT_RATES[kind] * self.scale
            if roll < 0:
                return kind
        return None

    def apply(self, table: Table, row: Row, kinds: list[str], fixes: dict[str, Callable]) -> None:
        kind = self.draw(kinds)
        if kind == "duplicate":
            table.add(dict(row))
        elif kind and fixes[kind](row) is False:
            kind = None  # not applicable to this row (e.g. no 15-digit form after 1999)
        table.add(row)
        if kind:
            table.defects[kind] += 1
            if kind not in STANDARDIZED:
                table.broken.append(row[table.key])


def phone_variant(rng: random.Random, phone: str) -> str:
    if not phone.startswith("1"):
        return phone.replace("-", " ")
    return rng.choice(
        [
            f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}",
            f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
            f"0086{phone}",
            f"86-{phone}",
        ]
    )


def bad_checksum(id_number: str) -> str:
    check = "0123456789X"
    return id_number[:17] + check[(check.index(id_number[17]) + 1) % 11]


def flip_gender(gender: str) -> str:
    return "女" if gender == "男" else "男"


def note(rng: random.Random, p: Person, diagnosis: str, day: date) -> str:
    age = (day - p.birth_date).days // 365
    parts = [
        f"患者{p.name},{p.gender},{age}岁。" if rng.random() < 0.7 else "患者自述",
        f"因{diagnosis}就诊,症状{rng.randrange(1, 15)}天。",
    ]
    if rng.random() < 0.3:
        parts.append(f"身份证号{p.id_number}。")
    if rng.random() < 0.4:
        parts.append(f"联系电话{p.phone}。")
    if rng.random() < 0.2:
        parts.append(f"现住{p.address}。")
    parts.append(rng.choice(["查体未见明显异常。", "建议复诊。", "予对症处理。"]))
    return "".join(parts)


def fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Period:
    """The generated days, and random moments in them drawn from the one seeded generator."""

    rng: random.Random
    first: date
    days: int

    def moment(self) -> datetime:
        return datetime.combine(self.first, datetime.min.time()) + timedelta(
            seconds=self.rng.randrange(self.days * 86400)
        )


def population(rng: random.Random, rows: int, end: date) -> list[Person]:
    """Distinct residents, a quarter as many as visits (at least 50)."""
    unique: dict[str, Person] = {}
    while len(unique) < max(50, rows // 4):
        p = person(rng, end)
        unique.setdefault(p.id_number, p)
    return list(unique.values())


def write_residents(people: list[Person], period: Period, defects: Defects, sink: Sink) -> Table:
    """The population register (人口库), one row per resident."""
    rng = period.rng
    residents = Table("population", "residents", "id_number", sink)
    for p in people:
        row: Row = {
            "id_number": p.id_number,
            "name": p.name,
            "gender": p.gender,
            "ethnicity": p.ethnicity,
            "birth_date": p.birth_date.isoformat(),
            # Most systems send the code; some still send the district's name.
            "household_division": p.division if rng.random() < 0.9 else DISTRICTS[p.division][0],
            "household_address": p.address,
            "phone": p.phone,
            "updated_at": fmt(period.moment()),
        }
        defects.apply(residents, row, list(DEFECT_RATES), _person_fixes(rng, p, "birth_date"))
    return residents


def visit_row(n: int, p: Person, period: Period) -> tuple[Row, datetime, float]:
    """The n-th outpatient visit (门诊就诊) of a resident, when it happened and its fee."""
    rng = period.rng
    code, diagnosis, department, _ = rng.choices(DIAGNOSES, [d[3] for d in DIAGNOSES])[0]
    at = period.moment()
    fee = round(rng.lognormvariate(5.0, 0.8), 2)
    row: Row = {
        "visit_id": f"MZ{at:%Y%m%d}{n:08d}",
        "patient_name": p.name,
        "id_number": p.id_number,
        "phone": p.phone,
        "gender": p.gender,
        "birth_date": p.birth_date.isoformat(),
        "address": p.address,
        "hospital": rng.choice(HOSPITALS),
        "department": department,
        "icd10_code": code,
        "diagnosis": diagnosis,
        "note": note(rng, p, diagnosis, at.date()),
        "visit_time": fmt(at),
        "fee": fee,
        "updated_at": fmt(at + timedelta(seconds=rng.randrange(3600))),
    }
    return row, at, fee


def settlement_row(
    rng: random.Random, n: int, p: Person, visit: Row, at: datetime, fee: float
) -> Row:
    """The medical-insurance settlement (医保结算) of a visit, settled the same day."""
    fund = round(fee * rng.uniform(0.5, 0.8), 2)
    return {
        "settlement_id": f"JS{at:%Y%m%d}{n:08d}",
        "id_number": p.id_number,
        "name": p.name,
        "insurance_type": rng.choice(INSURANCE_TYPES),
        "visit_id": visit["visit_id"],
        "total": fee,
        "fund_paid": fund,
        "self_paid": round(fee - fund, 2),
        "settle_time": fmt(
            min(
                at + timedelta(minutes=rng.randrange(5, 90)),
                datetime.combine(at.date(), datetime.max.time()),
            )
        ),
    }


def write_visits(
    rows: int, people: list[Person], period: Period, defects: Defects, sink: Callable[[str], Sink]
) -> tuple[Table, Table]:
    """`rows` outpatient visits, most of them settled by medical insurance."""
    rng = period.rng
    visits = Table("health", "outpatient_visits", "visit_id", sink("health"))
    settlements = Table(
        "medical_insurance", "settlements", "settlement_id", sink("medical_insurance")
    )
    for n in range(rows):
        p = rng.choice(people)
        row, at, fee = visit_row(n, p, period)
        defects.apply(visits, row, list(DEFECT_RATES), _person_fixes(rng, p, "birth_date"))
        if rng.random() < 0.85:
            defects.apply(
                settlements,
                settlement_row(rng, n, p, row, at, fee),
                ["bad_checksum", "duplicate", "missing_required"],
                _person_fixes(rng, p, None),
            )
    return visits, settlements


def enterprise_row(rng: random.Random, people: list[Person], end: date, period: Period) -> Row:
    """A registered enterprise (市场主体) with one of the residents as its legal representative."""
    rep = rng.choice(people)
    region = rng.choice(list(DISTRICTS))
    district, streets = DISTRICTS[region]
    registered = end - timedelta(days=rng.randrange(30, 25 * 365))
    return {
        "uscc": credit_code(rng, region),
        "name": f"银川{rng.choice('宏鑫华泰瑞丰盛达')}"
        f"{rng.choice('源通远祥和兴')}{rng.choice(['商贸', '科技', '餐饮', '农业'])}有限公司",
        "legal_rep": rep.name,
        "legal_rep_id": rep.id_number,
        "address": f"宁夏回族自治区银川市{district}{rng.choice(streets)}{rng.randrange(1, 300)}号",
        "phone": mobile(rng),
        "industry": rng.choice(INDUSTRIES),
        "registration_date": registered.isoformat(),
        "updated_at": fmt(period.moment()),
    }


def write_enterprises(
    rows: int, people: list[Person], end: date, period: Period, defects: Defects, sink: Sink
) -> Table:
    """The enterprise register, a twentieth as many as visits (at least 20)."""
    rng = period.rng
    enterprises = Table("market_regulation", "enterprises", "uscc", sink)
    fixes: dict[str, Callable[[Row], object]] = {
        "bad_checksum": lambda r: r.update(legal_rep_id=bad_checksum(str(r["legal_rep_id"]))),
        "phone_format": lambda r: r.update(phone=phone_variant(rng, str(r["phone"]))),
        "missing_required": lambda r: r.update(legal_rep_id=None),
        "future_date": lambda r: r.update(
            registration_date=(end + timedelta(days=400)).isoformat()
        ),
    }
    for _ in range(max(20, rows // 20)):
        row = enterprise_row(rng, people, end, period)
        defects.apply(enterprises, row, [*fixes, "duplicate"], fixes)
    return enterprises


def generate(
    rows: int,
    seed: int,
    days: int,
    end: date,
    sink: Callable[[str], Sink],
    defect_scale: float = 1.0,
) -> list[Table]:
    """Generate and write the four bureaus' datasets: `rows` outpatient visits over `days` days
    to `end`; `sink(bureau)` says where each bureau's data goes."""
    rng = random.Random(seed)
    defects = Defects(rng, defect_scale)
    period = Period(rng, end - timedelta(days=days - 1), days)
    people = population(rng, rows, end)
    residents = write_residents(people, period, defects, sink("population"))
    visits, settlements = write_visits(rows, people, period, defects, sink)
    enterprises = write_enterprises(rows, people, end, period, defects, sink("market_regulation"))
    tables = [residents, visits, settlements, enterprises]
    for table in tables:
        table.flush()
    return tables


def _person_fixes(rng: random.Random, p: Person, birth_field: str | None) -> dict[str, Callable]:
    fixes: dict[str, Callable[[Row], object]] = {
        "bad_checksum": lambda r: r.update(id_number=bad_checksum(p.id_number)),
        "missing_required": lambda r: r.update(id_number=None),
    }
    if birth_field:
        fixes |= {
            "legacy_15_digit_id": lambda r: (
                p.birth_date.year < 2000 and r.update(id_number=legacy_id(p.id_number))
            ),
            "phone_format": lambda r: r.update(phone=phone_variant(rng, p.phone)),
            "future_date": lambda r: r.update(
                **{birth_field: date(2031, 1 + rng.randrange(12), 1).isoformat()}
            ),
            "gender_mismatch": lambda r: r.update(gender=flip_gender(p.gender)),
        }
    return fixes


class SqliteSink:
    """One SQLite database per bureau, reached like any bureau database through SQLAlchemy."""

    def __init__(self, out: Path, bureau: str) -> None:
        self.location = out / f"{bureau}.sqlite"
        self.engine = create_engine(f"sqlite:///{self.location}")
        self.created: set[str] = set()

    def write(self, dataset: str, rows: list[Row]) -> None:
        columns = list(rows[0])
        with self.engine.begin() as conn:
            if dataset not in self.created:
                typed = [
                    f"{c} {'REAL' if isinstance(v, float) else 'TEXT'}" for c, v in rows[0].items()
                ]
                conn.execute(text(f"DROP TABLE IF EXISTS {dataset}"))
                conn.execute(text(f"CREATE TABLE {dataset} ({', '.join(typed)})"))
                self.created.add(dataset)
            conn.execute(
                text(f"INSERT INTO {dataset} VALUES ({', '.join(':' + c for c in columns)})"), rows
            )


class InboxSink:
    """Daily GBK CSV deliveries, `<dataset>_YYYYMMDD.csv`, into the bureau's inbox folder."""

    def __init__(self, out: Path, bureau: str) -> None:
        self.location = out / "inbox" / bureau
        self.location.mkdir(parents=True, exist_ok=True)
        for old in self.location.glob("*.csv"):
            old.unlink()

    def write(self, dataset: str, rows: list[Row]) -> None:
        by_day: dict[str, list[Row]] = {}
        for row in rows:
            by_day.setdefault(str(row["updated_at"])[:10].replace("-", ""), []).append(row)
        columns = [c for c in rows[0] if c != "updated_at"]
        for day, delivered in by_day.items():
            path = self.location / f"{dataset}_{day}.csv"
            new = not path.exists()
            with open(path, "a", encoding="gbk", newline="") as f:
                writer = csv.DictWriter(f, columns, extrasaction="ignore")
                if new:
                    writer.writeheader()
                writer.writerows(delivered)


def write_sources(
    rows: int, seed: int, out: Path, days: int = 7, end: date = date(2025, 6, 30)
) -> dict:
    """Generate and write every demo source (raw resident rows: private files); return (and
    save) the manifest."""
    private_umask()
    out.mkdir(parents=True, exist_ok=True)
    sinks: dict[str, Sink] = {}

    def sink(bureau: str) -> Sink:
        if bureau not in sinks:
            files = bureau == "market_regulation"  # the bureau that delivers files
            sinks[bureau] = InboxSink(out, bureau) if files else SqliteSink(out, bureau)
        return sinks[bureau]

    tables = generate(rows, seed, days, end, sink)
    manifest = {
        "seed": seed,
        "rows": rows,
        "days": days,
        "end": end.isoformat(),
        "first": (end - timedelta(days=days - 1)).isoformat(),
        "datasets": {table.dataset: table.manifest() for table in tables},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest
