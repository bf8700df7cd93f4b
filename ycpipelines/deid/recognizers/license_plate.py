"""CN_LICENSE_PLATE: 机动车号牌 (GA 36), incl. 8-character new-energy plates (`宁AD12345`)."""

import re

from presidio_analyzer import Pattern, PatternRecognizer

CONTEXT = ["车牌", "号牌", "牌照", "车辆", "驾驶", "plate", "vehicle"]
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
LETTER = "A-HJ-NP-Z"
SEPARATOR = r"[·•・\s\-]?"
PLATE = re.compile(
    rf"[{PROVINCES}][A-Z]{SEPARATOR}"  # the issuing office: any letter (O for police)
    rf"(?:[DF][{LETTER}0-9]\d{{4}}|\d{{5}}[DF]"  # new energy: small / large vehicles
    rf"|[{LETTER}0-9]{{4}}[{LETTER}0-9挂学警港澳领试超])"
)


def is_plate(value: str) -> bool:
    """Exact shape (case-sensitive), and at least three digits in the serial."""
    if PLATE.fullmatch(value) is None:
        return False
    serial = value[2:].lstrip("·•・ -")
    return sum(ch.isdigit() for ch in serial) >= 3


class LicensePlateRecognizer(PatternRecognizer):
    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entity="CN_LICENSE_PLATE",
            supported_language=supported_language,
            patterns=[Pattern("plate", PLATE.pattern + r"(?![0-9A-Za-z])", 0.5)],
            context=CONTEXT,
        )

    def validate_result(self, pattern_text: str) -> bool:
        return is_plate(pattern_text)
