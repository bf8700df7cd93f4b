"""Chinese recognizers for Presidio, usable outside the pipeline too.

`chinese_recognizers()` is the whole set; add them to any `RecognizerRegistry` whose NLP engine
segments Chinese into words with lemmas (see `ycpipelines.deid.nlp.JiebaNlpEngine`).
"""

from presidio_analyzer import EntityRecognizer

from ycpipelines.deid.recognizers.bank_card import BankCardRecognizer, is_bank_card
from ycpipelines.deid.recognizers.email import EmailRecognizer
from ycpipelines.deid.recognizers.license_plate import LicensePlateRecognizer, is_plate
from ycpipelines.deid.recognizers.location import ChineseLocationRecognizer
from ycpipelines.deid.recognizers.passport import PassportRecognizer
from ycpipelines.deid.recognizers.person import ChinesePersonRecognizer
from ycpipelines.deid.recognizers.person_forms import PersonFormsRecognizer
from ycpipelines.deid.recognizers.phone import PhoneRecognizer, is_cn_phone
from ycpipelines.deid.recognizers.resident_id import ResidentIdRecognizer, is_resident_id
from ycpipelines.deid.recognizers.statistical import ModelRecognizer
from ycpipelines.deid.recognizers.uscc import UsccRecognizer


def chinese_recognizers(language: str = "zh") -> list[EntityRecognizer]:
    """One recognizer per entity type reported for Chinese public data."""
    return [
        ResidentIdRecognizer(language),
        PhoneRecognizer(language),
        BankCardRecognizer(language),
        UsccRecognizer(language),
        EmailRecognizer(language),
        LicensePlateRecognizer(language),
        PassportRecognizer(language),
        ChinesePersonRecognizer(language),
        PersonFormsRecognizer(language),
        ChineseLocationRecognizer(language),
        ModelRecognizer(language),
    ]


__all__ = [
    "BankCardRecognizer",
    "ChineseLocationRecognizer",
    "ChinesePersonRecognizer",
    "EmailRecognizer",
    "LicensePlateRecognizer",
    "ModelRecognizer",
    "PassportRecognizer",
    "PersonFormsRecognizer",
    "PhoneRecognizer",
    "ResidentIdRecognizer",
    "UsccRecognizer",
    "chinese_recognizers",
    "is_bank_card",
    "is_cn_phone",
    "is_plate",
    "is_resident_id",
]
