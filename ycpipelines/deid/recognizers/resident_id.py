"""CN_RESIDENT_ID: 公民身份号码 (GB 11643), 18 digits with check character, or legacy 15 digits."""

from datetime import datetime

from presidio_analyzer import Pattern, PatternRecognizer
from stdnum.cn import ric


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
    """Checksum and birth date decide; the region code is not checked (historical codes exist)."""
    value = value.upper()
    if len(value) == 15 and value.isdigit():
        return _is_date("19" + value[6:12])
    return (
        len(value) == 18
        and value[:17].isdigit()
        and check_character(value) == value[17]
        and _is_date(value[6:14])
    )


class ResidentIdRecognizer(PatternRecognizer):
    """Finds resident IDs in text, also when glued to Chinese characters (`身份证640104…`)."""

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entity="CN_RESIDENT_ID",
            supported_language=supported_language,
            patterns=[
                Pattern("resident_id_18", r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])", 0.4),
                Pattern("resident_id_15", r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])", 0.2),
            ],
            context=["身份证", "身份证号", "公民身份号码", "证件号", "身份号码"],
        )

    def validate_result(self, pattern_text: str) -> bool:
        return is_resident_id(pattern_text)
