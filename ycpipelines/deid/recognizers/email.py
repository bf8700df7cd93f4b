"""EMAIL_ADDRESS without the network: Presidio's own recognizer fetches a suffix list on first
use (tldextract); this one checks the shape offline."""

from presidio_analyzer import Pattern, PatternRecognizer

CONTEXT = ["邮箱", "电子邮件", "邮件", "email", "mail"]
LOCAL = r"[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,63})"
DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"


class EmailRecognizer(PatternRecognizer):
    """An address ends where ASCII ends, so `邮箱a@163.com联系` is cut right."""

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entity="EMAIL_ADDRESS",
            supported_language=supported_language,
            patterns=[
                Pattern("email", rf"(?<![A-Za-z0-9._%+\-]){LOCAL}@{DOMAIN}(?![A-Za-z0-9\-])", 0.5)
            ],
            context=CONTEXT,
        )

    def validate_result(self, pattern_text: str) -> bool:
        local = pattern_text.rsplit("@", 1)[0]
        return ".." not in pattern_text and not local.endswith(".")
