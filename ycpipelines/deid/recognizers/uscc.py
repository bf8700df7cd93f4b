"""CN_USCC: 统一社会信用代码 (GB 32100), 18 characters with a mod-31 check character."""

from presidio_analyzer import Pattern, PatternRecognizer
from stdnum.cn import uscc

from ycpipelines.deid.recognizers.boundaries import bounded
from ycpipelines.deid.recognizers.divisions import province_codes

CONTEXT = ["信用代码", "社会信用", "统一代码", "uscc", "credit_code"]
CHARS = "0-9A-HJ-NPQRTUWXY"
# Registering authority and organization kind (GB 32100, table 1): 1x 机构编制, 5x 民政,
# 9x 工商 (companies, sole traders, cooperatives), others by the authorities that use them.
KINDS = {
    *(f"1{k}" for k in "1239"),
    *(f"2{k}" for k in "19"),
    *(f"3{k}" for k in "12345679"),
    *(f"4{k}" for k in "19"),
    *(f"5{k}" for k in "1239"),
    *(f"6{k}" for k in "129"),
    *(f"7{k}" for k in "129"),
    *(f"8{k}" for k in "19"),
    *(f"9{k}" for k in "123"),
    *(f"A{k}" for k in "19"),
    *(f"N{k}" for k in "12349"),
    "Y1",
}


def is_uscc(value: str) -> bool:
    """Check character, registering authority and kind, and a region code of a known province
    (or 10, national): an order number that happens to pass mod 31 rarely passes all three."""
    return (
        value == value.upper()
        and value[:2] in KINDS
        and (value[2:4] in province_codes() or value[2:4] == "10")
        and uscc.is_valid(value)
    )


class UsccRecognizer(PatternRecognizer):
    """Candidates by shape; python-stdnum validates the check character."""

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entity="CN_USCC",
            supported_language=supported_language,
            patterns=[Pattern("uscc", bounded(rf"[{CHARS}]{{2}}\d{{6}}[{CHARS}]{{10}}"), 0.4)],
            context=CONTEXT,
        )

    def validate_result(self, pattern_text: str) -> bool:
        return is_uscc(pattern_text)
