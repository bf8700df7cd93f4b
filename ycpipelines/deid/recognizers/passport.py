"""CN_PASSPORT: 护照号码: ordinary E + 8 digits or E + letter + 7 digits, older G + 8 digits;
public affairs, service and diplomatic passports P/S/D (+E) + 7 digits."""

import re

from presidio_analyzer import Pattern, PatternRecognizer

from ycpipelines.deid.recognizers.boundaries import bounded

CONTEXT = ["护照", "passport", "出入境", "签证"]
ORDINARY = re.compile(r"[EG]\d{8}|E[A-HJ-NP-Z]\d{7}")
OFFICIAL = re.compile(r"(?:[PSD]E?|SE|DE|PE)\d{7}")


class PassportRecognizer(PatternRecognizer):
    """Ordinary passports stand on their shape; the official ones need a context word."""

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entity="CN_PASSPORT",
            supported_language=supported_language,
            patterns=[
                Pattern("passport_ordinary", bounded(ORDINARY.pattern), 0.6),
                Pattern("passport_official", bounded(OFFICIAL.pattern), 0.1),
            ],
            context=CONTEXT,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        if ORDINARY.fullmatch(pattern_text):
            return True
        return None if OFFICIAL.fullmatch(pattern_text) else False
