"""LOCATION in Chinese free text: administrative divisions from cpca's table, extended by the
street, house and room parts of an address; organization names (医院, 大学, 公司 …) that begin
with a place are not places of a person and are left alone.
"""

import re

import cpca
from cpca.matcher import MatchInfo
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from ycpipelines.deid.nlp import dictionary_tag, word_frequency
from ycpipelines.deid.recognizers.boundaries import HAN
from ycpipelines.deid.recognizers.results import finding
from ycpipelines.deid.recognizers.tokens import Token, tokens_of

FULL_NAME_END = ("省", "市", "区", "县", "州", "盟", "旗", "自治区", "特别行政区")
NUMBER = r"[0-9０-９一二三四五六七八九十百零〇甲乙丙丁A-Za-z]+(?:[\-－][0-9]+)*"
UNIT = r"号院|号楼|号|栋|幢|座|单元|层|楼|室|户|组|队|弄|巷|里"
PLACE = (
    r"街道|大街|大道|路|街|巷|胡同|镇|乡|村|社区|小区|花园|家园|新村|公寓|大厦|广场|苑|庄|屯"
    r"|开发区|园区|园|区|道|城|湾|岛"
)
# A character of a place's own name: not a particle or preposition of the sentence around it.
NAME_CHAR = rf"(?![的地得了着过是在与及或被把])[{HAN}]"
# A character of a compound's name: Chinese, or a block's letter or number (阅海万家D区).
PART_CHAR = rf"(?:{NAME_CHAR}|[0-9A-Za-z])"
# After a division: named places (…路, …小区) and numbered parts (12号, 3栋, 501室), in any order.
TAIL = re.compile(rf"(?:{PART_CHAR}{{0,7}}?(?:{PLACE})|{NAME_CHAR}{{0,10}}?{NUMBER}(?:{UNIT}))+")
# What right after a short name shows it is a place (灵武东塔镇, 合作路12号).
ADDRESS_NEXT = re.compile(
    rf"{NAME_CHAR}{{0,4}}?(?:路|街|大街|大道|巷|胡同|镇|乡|村|小区)|{NUMBER}(?:{UNIT})"
)
# An address without a division, introduced by a cue word.
ADDRESS_CUES = "现住|家住|住址|地址|住在|居住于|居住在|住于|户籍地|籍贯|寄往|送至|位于|住"
CUE = re.compile(rf"(?:{ADDRESS_CUES})[:：\s]*")
# Before a short place name: the same words and those of coming and going.
PLACE_CUE = re.compile(rf"(?:{ADDRESS_CUES}|来自|出生于|生于|迁往|前往|返回|去往)[:：\s]*$")
STREET = re.compile(rf"{NAME_CHAR}{{2,8}}?(?:{PLACE})(?:{TAIL.pattern})?")
ORGANIZATION = re.compile(
    rf"[{HAN}0-9]{{0,10}}?(?:医院|卫生院|卫生室|卫生所|卫生服务中心|保健院|诊所|医科大学|大学|学院"
    r"|学校|中学|小学|幼儿园|公司|集团|银行|政府|法院|检察院|委员会|研究院|研究所|疾控中心|中心|协会"
    r"|管理局|局|厅|办公室|车站|机场|火车站|酒店|宾馆|超市|药店|药房|门诊部|组织|合作社|联合会"
    r"|基金会|商会|工会|研究会|党委|人大|政协)"
)
FORBIDDEN_IN_ORGANIZATION = re.compile(rf"{NUMBER}(?:{UNIT})|路|街|巷|村|小区")
PLACE_TAG = "ns"
# jieba's count of a word above which a short city name is mostly an everyday word (合作).
EVERYDAY_FREQUENCY = 5_000
EVERYDAY_FREQUENCY_COUNTY = 300  # 安宁 "peaceful" (502) is a county-level city too
DIVISION_SCORE = 0.85
CUE_SCORE = 0.7


def address_end(text: str, end: int) -> int:
    """Where an address that reaches `end` (a division, a road) ends: past the community,
    building, unit, room and house number that follow it (to the door)."""
    tail = TAIL.match(text, end)
    return tail.end() if tail else end


def _is_place(match: MatchInfo, text: str, words: list[Token]) -> bool:
    """Full names are places. A short name is one when an address part follows, or names a
    province, or a prefecture that is neither inside a longer word nor an everyday word
    (吴忠, 包头; not 合作 in 合作社); a county's short name only as a dictionary place name."""
    name, start, end = match.origin_value, match.start_index, match.end_index + 1
    if (name.endswith(FULL_NAME_END) and len(name) > 2) or ADDRESS_NEXT.match(text, end):
        return True
    if PLACE_CUE.search(text, max(0, start - 4), start):
        return True  # 来自灵武, 籍贯天水
    if any(
        w.start <= start
        and end <= w.end
        and len(w.text) > len(name)
        and dictionary_tag(w.text) != PLACE_TAG
        for w in words
    ):
        return False  # inside a longer word
    rank = min(info.rank for info in match.attr_infos)
    if rank == cpca.AddrInfo.RANK_PROVINCE:
        return True
    if rank == cpca.AddrInfo.RANK_CITY:
        return word_frequency(name) < EVERYDAY_FREQUENCY
    return (
        any(w.start == start and w.end == end for w in words) and dictionary_tag(name) == PLACE_TAG
    )


class ChineseLocationRecognizer(EntityRecognizer):
    """LOCATION: divisions (full names, or short names the segmenter tags as places) and the
    address parts that follow them; street addresses after a cue word (现住, 地址 …)."""

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entities=["LOCATION"],
            supported_language=supported_language,
            name="ChineseLocationRecognizer",
            context=["住址", "地址", "现住", "家住", "户籍", "address", "addr"],
        )

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        words = tokens_of(nlp_artifacts) if nlp_artifacts else []
        spans = self._divisions(text, words) + self._cued_streets(text)
        return [finding(self, start, end, score, "address") for start, end, score in spans]

    def _divisions(self, text: str, words: list[Token]) -> list[tuple[int, int, float]]:
        runs: list[list[int]] = []
        for match in cpca.matcher.iter(text):
            start, end = match.start_index, match.end_index + 1
            if not _is_place(match, text, words):
                continue
            if runs and start == runs[-1][1]:
                runs[-1][1] = end  # 宁夏回族自治区银川市兴庆区: one run
            else:
                runs.append([start, end])
        spans = []
        for start, end in runs:
            if self._names_organization(text, end):
                continue
            spans.append((start, address_end(text, end), DIVISION_SCORE))
        return spans

    @staticmethod
    def _names_organization(text: str, end: int) -> bool:
        organization = ORGANIZATION.match(text, end)
        return organization is not None and not FORBIDDEN_IN_ORGANIZATION.search(
            organization.group()
        )

    @staticmethod
    def _cued_streets(text: str) -> list[tuple[int, int, float]]:
        spans = []
        for cue in CUE.finditer(text):
            street = STREET.match(text, cue.end())
            if street:
                spans.append((street.start(), street.end(), CUE_SCORE))
        return spans
