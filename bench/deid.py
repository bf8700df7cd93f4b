"""脱敏 benchmark: de-identify outpatient visits with the stage's function vs presidio-structured.

The table is the catalog's outpatient visits plus three more identifiers (a bank card, an
e-mail address, an emergency contact's mobile): 8 structured PII columns, and a free-text note
on 5 % of rows. ycpipelines de-identifies every row with `deidentify` (the catalog's policies
as DuckDB SQL over Parquet); its free text goes through `redact_texts` once per distinct note
after the row's own identifiers are replaced in SQL, timed on its own. The peer is
presidio-structured (PandasAnalysisBuilder + StructuredEngine, one operator per entity, built on
our analyzer and recognizers) on a 20,000-row sample of the same table, measured in the same
run. Recall on the sample: the share of PII cells each one transformed.
Usage: python bench/deid.py [ROWS]
"""

import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from common import measure

from ycpipelines.demo.people import DISTRICTS, GIVEN, MOBILE_PREFIXES, SURNAMES
from ycpipelines.demo.sources import DIAGNOSES, HOSPITALS

if TYPE_CHECKING:
    import duckdb

    from ycpipelines.catalog import Dataset
    from ycpipelines.deid.pseudonym import PseudonymKey

SAMPLE = 20_000
ANALYSIS_SAMPLE = 1_000  # rows PandasAnalysisBuilder analyzes to choose each column's entity
NOTE_SHARE = 20  # one row in 20 carries a note
# The std/ columns that identify a person (their safe/ column: None when dropped).
PII = {
    "patient_name": None,
    "id_number": "person_pid",
    "phone": None,
    "birth_date": "birth_year",
    "address": "county",
    "bank_card": "bank_card",
    "email": None,
    "emergency_phone": "emergency_phone",
}
EXTRA_FIELDS = [
    {"name": "bank_card", "label": "银行卡号", "standard": "bank_card", "level": "L3"},
    {"name": "email", "label": "电子邮箱", "standard": "email", "level": "L3"},
    {"name": "emergency_phone", "label": "紧急联系人电话", "standard": "phone", "level": "L3"},
]


def quiet(con: "duckdb.DuckDBPyConnection") -> "duckdb.DuckDBPyConnection":
    con.execute("SET enable_progress_bar = false")
    return con


def bench_dataset(notes: bool) -> "Dataset":
    """The catalog's outpatient visits with three more identifiers; notes dropped unless asked."""
    from ycpipelines.catalog import Policy, SourceField, load_catalog

    visits = load_catalog().dataset("outpatient_visits")
    fields = [
        f if notes or f.name != "note" else f.model_copy(update={"policy": Policy.DROP})
        for f in visits.fields
    ]
    extra = [
        SourceField.model_validate({"category": "个人信息/联系方式", "policy": "mask", **e})
        if e["name"] == "bank_card"
        else SourceField.model_validate({"category": "个人信息/联系方式", **e})
        for e in EXTRA_FIELDS
    ]
    return visits.model_copy(update={"fields": fields + extra})


def key() -> "PseudonymKey":
    from ycpipelines.deid.pseudonym import PseudonymKey

    return PseudonymKey("bench", "bench-pseudonym-key")


def pick(values: list[str], salt: int, i: str = "i") -> str:
    return f"{values}[1 + CAST(hash({i}, {salt}) % {len(values)} AS INTEGER)]"


def char(chars: str, salt: int) -> str:
    return f"substr('{chars}', 1 + CAST(hash(i, {salt}) % {len(chars)} AS INTEGER), 1)"


def mobile(salt: int) -> str:
    digits = f"lpad(CAST(hash(i, {salt}) % 100000000 AS VARCHAR), 8, '0')"
    return f"{pick(MOBILE_PREFIXES, salt + 1)} || {digits}"


def people_sql(people: int) -> str:
    """`people` residents with valid ID and card check digits, generated in SQL."""
    codes = list(DISTRICTS)
    districts = [name for name, _ in DISTRICTS.values()]
    streets = [street for _, names in DISTRICTS.values() for street in names]
    return f"""CREATE TABLE people AS SELECT i AS person, name, phone, emergency_phone, address,
            email, gender, birth_date, body || yc_id_check(body) AS id_number,
            card || CAST((10 - list_sum(list_transform(range(15), lambda j: CASE WHEN j % 2 = 0
                THEN CAST(substr('0246813579', CAST(substr(card, 15 - j, 1) AS INTEGER) + 1, 1)
                AS INTEGER) ELSE CAST(substr(card, 15 - j, 1) AS INTEGER) END)) % 10) % 10
                AS VARCHAR) AS bank_card
        FROM (SELECT i, {codes}[1 + d] AS region, {districts}[1 + d] AS district,
            DATE '1935-01-01' + CAST(hash(i, 2) % 32000 AS INTEGER) AS birth_date,
            lpad(CAST(hash(i, 3) % 1000 AS VARCHAR), 3, '0') AS seq,
            region || strftime(birth_date, '%Y%m%d') || seq AS body,
            {char(SURNAMES, 4)} || {char(GIVEN, 5)}
                || CASE WHEN hash(i, 6) % 2 = 0 THEN {char(GIVEN, 7)} ELSE '' END AS name,
            {mobile(8)} AS phone, {mobile(10)} AS emergency_phone,
            '宁夏银川市' || district || {pick(streets, 12)} || (1 + hash(i, 13) % 200) || '号'
                AS address,
            '622202' || lpad(CAST(hash(i, 14) % 1000000000 AS VARCHAR), 9, '0') AS card,
            'p' || i || '@example.com' AS email,
            CASE WHEN CAST(right(seq, 1) AS INTEGER) % 2 = 1 THEN '1' ELSE '2' END AS gender
        FROM (SELECT i, CAST(hash(i, 1) % {len(codes)} AS INTEGER) AS d
              FROM range({people}) t(i)))"""


DIAGNOSIS = f"{[d[1] for d in DIAGNOSES]}[1 + k]"


def note_sql() -> str:
    """A clinical note for one visit in `NOTE_SHARE`, some carrying the row's identifiers."""
    return f"""CASE WHEN hash(i, 20) % {NOTE_SHARE} = 0 THEN
        CASE WHEN hash(i, 21) % 10 < 7 THEN '患者' || name || ',' || CASE gender WHEN '1' THEN '男'
            ELSE '女' END || ',' || (2025 - year(birth_date)) || '岁。' ELSE '患者自述' END
        || '因' || {DIAGNOSIS} || '就诊,症状' || (1 + hash(i, 22) % 14) || '天。'
        || CASE WHEN hash(i, 23) % 10 < 3 THEN '身份证号' || id_number || '。' ELSE '' END
        || CASE WHEN hash(i, 24) % 10 < 4 THEN '联系电话' || phone || '。' ELSE '' END
        || CASE WHEN hash(i, 25) % 10 < 2 THEN '现住' || address || '。' ELSE '' END
        || {pick(["查体未见明显异常。", "建议复诊。", "予对症处理。"], 26)} END"""


def visits_sql(path: Path, rows: int, people: int) -> str:
    """`rows` visits of the generated people, written to `path`."""
    return f"""COPY (SELECT 'MZ' || lpad(CAST(i AS VARCHAR), 16, '0') AS visit_id,
            name AS patient_name, id_number, phone, gender, birth_date, address,
            {pick(HOSPITALS, 27)} AS hospital, {[d[2] for d in DIAGNOSES]}[1 + k] AS department,
            {[d[0] for d in DIAGNOSES]}[1 + k] AS icd10_code, {DIAGNOSIS} AS diagnosis,
            {note_sql()} AS note,
            TIMESTAMP '2025-06-30' + to_seconds(CAST(hash(i, 28) % 86400 AS BIGINT))
                AS visit_time,
            CAST((hash(i, 29) % 100000) / 100 AS DECIMAL(14, 2)) AS fee,
            TIMESTAMP '2025-06-30 23:00:00' AS updated_at,
            bank_card, email, emergency_phone, 'health' AS _bureau
        FROM (SELECT i, CAST(hash(i, 9) % {people} AS BIGINT) AS person,
                     CAST(hash(i, 30) % {len(DIAGNOSES)} AS INTEGER) AS k
              FROM range({rows}) t(i)) JOIN people USING (person)
        ) TO '{path}' (FORMAT parquet)"""


def write_visits(path: Path, sample: Path, rows: int) -> int:
    """`rows` visits of `rows // 5` people, generated in SQL (IDs and cards carry valid checks),
    and a sample of them."""
    import duckdb

    from ycpipelines.govern.standards import install_macros

    people = max(rows // 5, 1000)
    con = quiet(duckdb.connect())
    install_macros(con)
    con.execute(people_sql(people))
    con.execute(visits_sql(path, rows, people))
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{path}') USING SAMPLE {SAMPLE} ROWS (reservoir, 7)) "
        f"TO '{sample}' (FORMAT parquet)"
    )
    return rows


def ycp_structured(std: Path, safe: Path) -> int:
    """The stage's de-identification of every row (free text aside: timed on its own)."""
    from ycpipelines.deid.policies import deidentify
    from ycpipelines.foundation.lake import duck

    with duck() as con:
        return deidentify(con, bench_dataset(notes=False), std, safe, key())


def distinct_notes(std: Path, out: Path) -> int:
    """What `deidentify` hands to Presidio: each distinct note, the row's own identifiers
    already replaced in SQL."""
    from ycpipelines.deid.policies import pre_redacted
    from ycpipelines.foundation.lake import copy_to_parquet, duck

    dataset = bench_dataset(notes=True)
    with duck() as con:
        expression = pre_redacted(dataset, dataset.field("note"))
        return copy_to_parquet(
            con,
            f"SELECT DISTINCT {expression} AS text FROM read_parquet('{std}') "
            "WHERE note IS NOT NULL",
            out,
        )


def ycp_notes(notes: Path) -> int:
    import pyarrow.parquet as pq

    from ycpipelines.deid.analyzer import close, redact_texts

    texts = pq.read_table(notes).column("text").to_pylist()
    redacted = len(redact_texts(texts))
    close()  # the workers are reaped, so their CPU time and peak are measured
    return redacted


def presidio_structured(sample: Path, out: Path, timings: Path) -> int:
    """presidio-structured's documented usage on our analyzer: analyze a sample of rows to pick
    each column's entity, then anonymize the table with one operator per entity."""
    import time

    import pyarrow.parquet as pq
    from presidio_anonymizer.entities import OperatorConfig
    from presidio_structured import PandasAnalysisBuilder, StructuredEngine

    from ycpipelines.deid.analyzer import LANGUAGE, analyzer

    df = pq.read_table(sample).drop_columns(["note"]).to_pandas().astype("string")
    started = time.perf_counter()
    analysis = PandasAnalysisBuilder(analyzer=analyzer()).generate_analysis(
        df, n=ANALYSIS_SAMPLE, language=LANGUAGE
    )
    analyzed = time.perf_counter()
    operators = {
        "CN_RESIDENT_ID": OperatorConfig("hash", {"hash_type": "sha256"}),
        "PHONE_NUMBER": OperatorConfig(
            "mask", {"masking_char": "*", "chars_to_mask": 4, "from_end": True}
        ),
        "PERSON": OperatorConfig("replace", {"new_value": "<PERSON>"}),
        "LOCATION": OperatorConfig("replace", {"new_value": "<LOCATION>"}),
    }
    anonymized = StructuredEngine().anonymize(df, analysis, operators)
    done = time.perf_counter()
    anonymized.to_parquet(out)
    timings.write_text(
        json.dumps(
            {
                "analysis_s": analyzed - started,
                "anonymize_s": done - analyzed,
                "columns": analysis.entity_mapping,
            }
        )
    )
    return len(df)


def ycp_recall(sample: Path) -> float:
    """Share of the sample's PII cells the stage transformed (a dropped column: all of them)."""
    import duckdb

    from ycpipelines.deid.policies import deidentify
    from ycpipelines.deid.pseudonym import install_pseudonym

    safe = sample.with_name("sample_safe.parquet")
    con = quiet(duckdb.connect())
    deidentify(con, bench_dataset(notes=False), sample, safe, key())
    install_pseudonym(con, key().secret)
    changed = " + ".join(
        f"count(*) FILTER (CAST(s.{out} AS VARCHAR) IS DISTINCT FROM CAST(std.{col} AS VARCHAR))"
        if out
        else "count(*)"
        for col, out in PII.items()
    )
    return con.execute(
        f"SELECT ({changed}) / {len(PII)} / count(*) FROM read_parquet('{sample}') std "
        f"JOIN read_parquet('{safe}') s ON s.visit_pid = yc_pseudonym(std.visit_id)"
    ).fetchone()[0]


def peer_recall(sample: Path, out: Path) -> float:
    import pyarrow.parquet as pq

    before = pq.read_table(sample).to_pandas().astype("string")
    after = pq.read_table(out).to_pandas()
    changed = sum(int((before[c] != after[c].astype("string")).sum()) for c in PII)
    return changed / (len(PII) * len(before))


def realtext() -> dict[str, dict[str, list[float]]]:
    """Recall and precision of names and places on each genre of the real-text development
    set (tests/deid/realtext), found by the same analyzer the notes went through."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "deid"))
    from realtext_set import GENRES, load, score

    from ycpipelines.deid.analyzer import find

    scores = {}
    for genre in GENRES:
        records = load(genre)
        found = [[(r.start, r.end, r.entity_type) for r in find(x.text)] for x in records]
        scores[genre] = {
            label: [round(v, 3) for v in score(found, records, [label])]
            for label in ("PERSON", "LOCATION")
        }
    return scores


def measured(rows: int) -> dict:
    """Every figure of one run: ours (structured, free text) and the peer's, with recall."""
    with tempfile.TemporaryDirectory() as tmp:
        std, sample = Path(tmp) / "std.parquet", Path(tmp) / "sample.parquet"
        # Preparation runs in child processes too: a child's peak RSS would otherwise include
        # this process's memory at the time it was started.
        measure(write_visits, std, sample, rows)
        ours = measure(ycp_structured, std, Path(tmp) / "safe.parquet")
        notes_file = Path(tmp) / "notes.parquet"
        distinct = measure(distinct_notes, std, notes_file)["rows"]
        notes = measure(ycp_notes, notes_file)
        timings = Path(tmp) / "peer.json"
        peer = measure(presidio_structured, sample, Path(tmp) / "peer.parquet", timings)
        split = json.loads(timings.read_text())
        recall = {
            "ycp": ycp_recall(sample),
            "peer": peer_recall(sample, Path(tmp) / "peer.parquet"),
        }
    return {
        "realtext": realtext(),
        "ours": ours,
        "distinct": distinct,
        "notes": notes,
        "peer": peer,
        "split": split,
        "recall": recall,
        "noted": rows // NOTE_SHARE,
        "peer_anonymize": peer["rows"] / split["anonymize_s"],
        "combined": rows / (ours["seconds"] + notes["seconds"]),
    }


def report(rows: int, m: dict) -> None:
    """The figures for people."""
    ours, notes, peer, noted = m["ours"], m["notes"], m["peer"], m["noted"]
    print(f"visits: {rows:,} rows, ~{noted:,} notes ({m['distinct']:,} distinct after SQL pass)")
    print(
        f"ycpipelines structured: {ours['rows_per_s']:,.0f} rows/s, peak {ours['peak_mib']:.0f} MiB"
    )
    print(
        f"free text (redact_texts): {notes['rows_per_s']:,.0f} distinct notes/s, "
        f"{noted / notes['seconds']:,.0f} notes/s counting repeats ({notes['seconds']:.1f} s), "
        f"peak {notes['peak_mib']:.0f} MiB, {notes['cpu_seconds']:.1f} CPU s"
    )
    for genre, figures in m["realtext"].items():
        print(f"real text, {genre}: (recall, precision) {figures}")
    print(f"ycpipelines with free text: {m['combined']:,.0f} rows/s")
    print(
        f"presidio-structured ({SAMPLE:,}-row sample): {peer['rows_per_s']:,.0f} rows/s "
        f"analysis+anonymize, {m['peer_anonymize']:,.0f} rows/s anonymize alone, "
        f"peak {peer['peak_mib']:.0f} MiB; columns it found: {m['split']['columns']}"
    )
    print(
        f"ratio (structured, vs the peer's anonymize step alone): "
        f"{ours['rows_per_s'] / m['peer_anonymize']:,.1f}x; recall of PII cells: "
        f"ycpipelines {m['recall']['ycp']:.4f}, peer {m['recall']['peer']:.4f}"
    )


def summary(rows: int, m: dict) -> dict:
    """The JSON line."""
    ours, notes, peer = m["ours"], m["notes"], m["peer"]
    return {
        "bench": "deid",
        "peer": "presidio-structured 0.0.10",
        "rows": rows,
        "peer_rows": peer["rows"],
        "ycp_rows_per_s": round(ours["rows_per_s"]),
        "ycp_with_text_rows_per_s": round(m["combined"]),
        "peer_rows_per_s": round(peer["rows_per_s"]),
        "peer_anonymize_rows_per_s": round(m["peer_anonymize"]),
        "speed_ratio": round(ours["rows_per_s"] / m["peer_anonymize"], 1),
        "speed_ratio_vs_peer_total": round(ours["rows_per_s"] / peer["rows_per_s"], 1),
        "notes": m["noted"],
        "distinct_notes": m["distinct"],
        "notes_per_s": round(notes["rows_per_s"]),
        "notes_per_s_all": round(m["noted"] / notes["seconds"]),
        "notes_per_cpu_s": round(m["distinct"] / notes["cpu_seconds"]),
        "realtext_recall_precision": m["realtext"],
        "ycp_recall": round(m["recall"]["ycp"], 4),
        "peer_recall": round(m["recall"]["peer"], 4),
        "ycp_peak_mib": round(ours["peak_mib"]),
        "notes_peak_mib": round(notes["peak_mib"]),
        "peer_peak_mib": round(peer["peak_mib"]),
    }


def main(rows: int) -> None:
    figures = measured(rows)
    report(rows, figures)
    print(json.dumps(summary(rows, figures)))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000)
