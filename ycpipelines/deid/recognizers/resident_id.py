"""CN_RESIDENT_ID: 公民身份号码 (GB 11643), 18 digits with check character, or legacy 15 digits."""

from datetime import datetime

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from stdnum.cn import ric

from ycpipelines.deid.recognizers.boundaries import bounded
from ycpipelines.deid.recognizers.divisions import division_codes, province_codes

CONTEXT = ["身份证", "身份号码", "证件号", "公民身份", "证号", "id_number", "id_card", "idcard"]
# A county code missing from today's table lowers the score only: old IDs keep historical codes.
UNKNOWN_REGION_SCORE = 0.85
LEGACY_SCORE = 0.6


def _is_date(yyyymmdd: str) -> bool:
    try:
        datetime.strptime(yyyymmdd, "%Y%m%d")
    except ValueError:
        return False
    return True


def check_character(body: str) -> str:
    """GB 11643 check character of the first 17 digits."""
    return ric.calc_check_digit(body[:17] + "0")  # python-stdnum expects a placeholder digit


def is_resident_id(value: str) -> bool:
    """Checksum and birth date decide; the region code is not checked (historical codes exist).
    A legacy 15-digit number needs a valid birth date and a known province."""
    value = value.upper()
    if len(value) == 15 and value.isdigit():
        return _is_date("19" + value[6:12]) and value[:2] in province_codes()
    return (
        len(value) == 18
        and value[:17].isdigit()
        and check_character(value) == value[17]
        and _is_date(value[6:14])
        and value[6:8] in ("18", "19", "20")
    )


class ResidentIdRecognizer(PatternRecognizer):
    """Finds resident IDs in text, also when glued to Chinese characters (`身份证640104…`)."""

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entity="CN_RESIDENT_ID",
            supported_language=supported_language,
            patterns=[
                Pattern("resident_id_18", bounded(r"\d{17}[\dXx]"), 0.5),
                Pattern("resident_id_15", bounded(r"\d{15}"), 0.3),
                # Grouped as written on forms: 6-8-4 or in fours (640104 19800101 1234).
                Pattern(
                    "resident_id_grouped",
                    bounded(r"\d{6}[ \-]\d{8}[ \-]\d{3}[\dXx]|\d{4}(?: \d{4}){3} \d[\dXx]"),
                    0.5,
                ),
            ],
            context=CONTEXT,
        )

    def validate_result(self, pattern_text: str) -> bool:
        return is_resident_id(pattern_text.replace(" ", "").replace("-", ""))

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:
            digits = text[result.start : result.end].replace(" ", "").replace("-", "")
            if len(digits) == 15:
                result.score = LEGACY_SCORE
            elif digits[:6] not in division_codes():
                result.score = UNKNOWN_REGION_SCORE
        return results
