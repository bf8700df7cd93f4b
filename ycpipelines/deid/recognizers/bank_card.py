"""CN_BANK_CARD: 银行卡号, 16–19 digits, plain or grouped (`6222 0212 3456 7890 123`)."""

import re

from presidio_analyzer import Pattern, PatternRecognizer
from stdnum import luhn

from ycpipelines.deid.recognizers.boundaries import bounded
from ycpipelines.deid.recognizers.resident_id import is_resident_id

CONTEXT = [
    "卡号",
    "医保卡",
    "社保卡",
    "医保卡号",
    "社保卡号",
    "银行卡",
    "储蓄卡",
    "信用卡",
    "借记卡",
    "账号",
    "帐号",
    "开户",
    "card",
    "account",
]
# Issuer prefixes of cards used in China: UnionPay 62, bank BINs 60/65/68/9 (domestic debit),
# Visa 4, Mastercard 51–55 and 2221–2720, JCB 35, American Express 34/37, Diners 30/36/38.
BIN = re.compile(r"6[0258]|9|4|5[1-5]|222[1-9]|22[3-9]|2[3-6]|27[01]|2720|35|3[47]|3[068]")
GROUPED = (
    r"\d{4}(?:[ \-]\d{4}){3}(?:[ \-]?\d{1,3})?|\d{6}[ \-]\d{12,13}"
    r"|\d{6}(?:[ \-]\d{4}){3}(?:[ \-]?\d{1,3})?"
)


def _card_shaped(digits: str) -> bool:
    return (
        16 <= len(digits) <= 19
        and BIN.match(digits) is not None
        and not is_resident_id(digits)  # an 18-digit ID wins over a Luhn coincidence
    )


def is_bank_card(value: str) -> bool:
    digits = re.sub(r"[ \-]", "", value)
    return _card_shaped(digits) and luhn.is_valid(digits)


class BankCardRecognizer(PatternRecognizer):
    """Luhn and issuer prefix decide; digits may be grouped by spaces or dashes. A number of a
    card's length that fails them (old domestic cards, 医保卡) needs a context word."""

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entity="CN_BANK_CARD",
            supported_language=supported_language,
            patterns=[
                Pattern("card_plain", bounded(r"\d{16,19}"), 0.1),
                Pattern("card_grouped", bounded(GROUPED), 0.1),
            ],
            context=CONTEXT,
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Luhn and prefix: a card. Otherwise a card's length (a 医保卡号 of another issuer, an
        old card failing Luhn) counts next to a context word."""
        if is_bank_card(pattern_text):
            return True
        digits = re.sub(r"[ \-]", "", pattern_text)
        return None if 16 <= len(digits) <= 19 and not is_resident_id(digits) else False
