"""Chinese recognizers for Presidio, usable outside the pipeline too."""

from ycpipelines.deid.recognizers.phone import PhoneRecognizer, is_cn_phone
from ycpipelines.deid.recognizers.resident_id import ResidentIdRecognizer, is_resident_id

__all__ = ["PhoneRecognizer", "ResidentIdRecognizer", "is_cn_phone", "is_resident_id"]
