"""Classification and grading (分类分级): sensitivity levels and what each level allows."""

from enum import StrEnum


class Level(StrEnum):
    """Sensitivity level of a field; drives the de-identification policy."""

    L1 = "L1"  # 公开 public
    L2 = "L2"  # 内部 internal
    L3 = "L3"  # 敏感 sensitive
    L4 = "L4"  # 敏感个人信息 sensitive personal information
    PROHIBITED = "prohibited"  # 禁止开放 never open, never authorized

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]

    @property
    def rank(self) -> int:
        return list(Level).index(self)


LEVEL_LABELS = {
    Level.L1: "公开",
    Level.L2: "内部",
    Level.L3: "敏感",
    Level.L4: "敏感个人信息",
    Level.PROHIBITED: "禁止开放",
}


def highest(levels: list[Level]) -> Level:
    """The most sensitive of several levels: a derived value inherits it."""
    return max(levels, key=lambda level: level.rank)
