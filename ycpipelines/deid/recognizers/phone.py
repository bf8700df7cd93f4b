"""PHONE_NUMBER: mainland mobiles (+86, spaces, dashes) and landlines with area code."""

import phonenumbers
from presidio_analyzer import Pattern, PatternRecognizer


def is_cn_phone(value: str) -> bool:
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and number.country_code == 86


class PhoneRecognizer(PatternRecognizer):
    """Candidates by pattern (digits may touch Chinese text); validity by libphonenumber."""

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            supported_language=supported_language,
            patterns=[
                Pattern(
                    "cn_mobile",
                    r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)",
                    0.4,
                ),
                Pattern("cn_landline", r"(?<![\d+])0\d{2,3}[\s-]?\d{7,8}(?!\d)", 0.3),
            ],
            context=["电话", "手机", "联系电话", "联系方式", "手机号"],
        )

    def validate_result(self, pattern_text: str) -> bool:
        return is_cn_phone(pattern_text)
