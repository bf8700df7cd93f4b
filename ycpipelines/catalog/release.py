"""Release forms of health data (GB/T 39725-2020 健康医疗数据安全指南) and their thresholds."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Thresholds(BaseModel):
    """What a release must meet: smallest class size k and prosecutor re-identification risk."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int = Field(ge=2)
    max_risk: float = Field(gt=0, le=1)  # largest 1/class size of any row
    average_risk: float = Field(gt=0, le=1)  # mean 1/class size over the rows


class ReleaseForm(StrEnum):
    """How a health product leaves the domain (数据发布形式)."""

    PUBLIC = "完全公开"  # anyone may obtain it
    CONTROLLED = "受控公开"  # named recipients under an agreement
    ENCLAVE = "领地公开"  # used only inside a controlled environment

    @property
    def thresholds(self) -> Thresholds:
        return RELEASE_THRESHOLDS[self]


# The project's defaults: the wider the release, the lower the risk it may carry (the public
# figure 0.05 is the strict end of the risk thresholds commonly used for health data release);
# a manifest may set stricter ones.
RELEASE_THRESHOLDS = {
    ReleaseForm.PUBLIC: Thresholds(k=20, max_risk=0.05, average_risk=0.05),
    ReleaseForm.CONTROLLED: Thresholds(k=5, max_risk=0.2, average_risk=0.1),
    ReleaseForm.ENCLAVE: Thresholds(k=3, max_risk=0.34, average_risk=0.2),
}
