"""Pattern edges that work in Chinese text: `\\b` does not separate a Chinese character from a
digit (`卡号6222…`), so identifiers are bounded by "no ASCII letter or digit" on either side."""

NOT_AFTER_ALNUM = r"(?<![0-9A-Za-z])"
NOT_BEFORE_ALNUM = r"(?![0-9A-Za-z])"
HAN = r"\u4e00-\u9fff"


def bounded(pattern: str) -> str:
    """`pattern` not glued to further ASCII letters or digits (Chinese characters may touch it)."""
    return f"{NOT_AFTER_ALNUM}(?:{pattern}){NOT_BEFORE_ALNUM}"
