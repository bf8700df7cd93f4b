"""Masking (掩码) of values shown in quality output: enough to recognize a pattern, never enough
to identify a person or a company. Tickets, conflicts, gate results and error messages all show
values through `mask`."""

from typing import Protocol

from ycpipelines.foundation.levels import Level


class MaskedField(Protocol):
    """What masking needs of a catalog field: its standard and its level."""

    @property
    def standard(self) -> str | None: ...

    @property
    def level(self) -> Level: ...


def mask(value: object, field: MaskedField | None) -> str:
    """A value as quality output may show it, by the field's standard and level; a value of no
    known field (e.g. a data row read where a header was expected) keeps its first character."""
    if value is None:
        return "∅"
    text = str(value)
    if field is None:
        return quarter(text)
    match field.standard:
        case "resident_id":
            return ends(text, 4, 2, 15)
        case "phone":
            return ends(text, 3, 2, 11)
        case "uscc":  # registration authority, type and province; check character
            return ends(text, 4, 2, 18)
        case "person_name":
            return text[:1] + "*" * max(len(text) - 1, 1)
        case "date" | "datetime":
            return text[:4] + "-**-**"
        case _:
            return text if field.level.rank <= Level.L2.rank else "*" * len(text)


def quarter(text: str) -> str:
    """At most a quarter of a value's characters, from its start; the rest starred."""
    shown = len(text) // 4
    return text[:shown] + "*" * max(len(text) - shown, 1)


def ends(text: str, head: int, tail: int, full: int) -> str:
    """Head and tail of an identifier that has its standard's length (`full` characters or
    more); anything shorter is no such identifier, and shows a quarter at most."""
    if len(text) < full:
        return quarter(text)
    return text[:head] + "*" * (len(text) - head - tail) + text[-tail:]
