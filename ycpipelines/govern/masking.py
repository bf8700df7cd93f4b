"""Masking (掩码) of values shown in quality output: enough to recognize a pattern, never enough
to identify a person or a company. Tickets, conflicts, gate results and error messages all show
values through `mask`."""

from ycpipelines.catalog import Level, SourceField


def mask(value: object, field: SourceField | None) -> str:
    """A value as quality output may show it, by the field's standard and level; a value of no
    known field (e.g. a data row read where a header was expected) keeps its first character."""
    if value is None:
        return "∅"
    text = str(value)
    if field is None:
        return text[:1] + "*" * max(len(text) - 1, 1)
    match field.standard:
        case "resident_id":
            return text[:4] + "*" * max(len(text) - 6, 0) + text[-2:]
        case "phone":
            return text[:3] + "*" * max(len(text) - 5, 0) + text[-2:]
        case "uscc":  # registration authority, type and province; check character
            return text[:4] + "*" * max(len(text) - 6, 0) + text[-2:]
        case "person_name":
            return text[:1] + "*" * max(len(text) - 1, 1)
        case "date" | "datetime":
            return text[:4] + "-**-**"
        case _:
            return text if field.level.rank <= Level.L2.rank else "*" * len(text)
