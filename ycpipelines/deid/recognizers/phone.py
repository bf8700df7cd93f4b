"""PHONE_NUMBER: mainland mobiles (+86, spaces, dashes) and landlines with area code."""

import re

import phonenumbers
from presidio_analyzer import Pattern, PatternRecognizer

from ycpipelines.deid.recognizers.boundaries import bounded

CONTEXT = ["电话", "手机", "联系", "致电", "来电", "座机", "号码", "phone", "mobile", "tel"]
SEPARATOR = r"[\s\-－]?"
MOBILE = re.compile(r"(?:\+?86|0086)?1[3-9]\d{9}")


def is_cn_phone(value: str) -> bool:
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and number.country_code == 86


class PhoneRecognizer(PatternRecognizer):
    """Candidates by pattern (digits may touch Chinese text); validity by libphonenumber."""

    def __init__(self, supported_language: str = "zh") -> None:
        country = rf"(?:(?:\+|00)?86{SEPARATOR}|[(（](?:\+|00)?86[)）]{SEPARATOR})?"
        super().__init__(
            supported_entity="PHONE_NUMBER",
            supported_language=supported_language,
            patterns=[
                Pattern(
                    "cn_mobile",
                    rf"(?<![\d+]){country}1[3-9]\d(?:{SEPARATOR}\d{{4}}){{2}}(?!\d)",
                    0.3,
                ),
                Pattern(
                    "cn_landline",
                    bounded(
                        rf"{country}(?:0\d{{2,3}}|[(（]0\d{{2,3}}[)）]){SEPARATOR}[2-9]\d{{6,7}}"
                        rf"(?:{SEPARATOR}(?:转|ext\.?|-)\d{{1,5}})?"
                    ),
                    0.3,
                ),
            ],
            context=CONTEXT,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Valid numbers count, except a landline written as bare digits: 0851 85408402 could
        as well be an invoice code (085185408402), so that one needs a context word."""
        number = pattern_text.replace("－", "-").split("转")[0]
        mobile = MOBILE.fullmatch(re.sub(r"[\s\-]", "", number)) is not None
        if not is_cn_phone(number):
            # A mobile's shape in a range libphonenumber does not list (149 data cards)
            # counts next to a context word (手机, 电话).
            return None if mobile else False
        return None if pattern_text.isdigit() and pattern_text[0] == "0" and not mobile else True
