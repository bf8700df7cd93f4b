"""PERSON in Chinese free text: surname table, name shape, jieba's segmentation and cue words.

A name is a known surname (compound first) and one or two given-name characters. Next to a
cue (患者, 姓名, 开户人 … before; 先生, 女士, `，男，` … after) the shape alone is enough,
whatever the segmenter made of it. Without a cue, the segments must agree: a segment that is
itself surname + given name and that the dictionary does not know as an ordinary word (高血压
starts with the surname 高 but is a word), or a surname standing alone followed by a short
segment (侯/志成). Transliterated names are joined by a middle dot (阿依古丽·买买提).
"""

import re

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from ycpipelines.deid.nlp import dictionary_tag, in_dictionary, word_frequency
from ycpipelines.deid.recognizers.boundaries import HAN
from ycpipelines.deid.recognizers.results import finding
from ycpipelines.deid.recognizers.surnames import FREQUENT, GIVEN_CHARS, surname_of
from ycpipelines.deid.recognizers.tokens import Token, is_han, tokens_of

CUE_WORDS = (
    "患者|病人|患儿|病员|伤者|就诊人|姓名|名字|叫|家属|联系人|监护人|户主|法定代表人|法人代表|法人"
    "|负责人|经办人|申请人|委托人|代理人|收件人|收货人|寄件人|持卡人|开户人|开户名|参保人|被保险人"
    "|投保人|驾驶人|驾驶员|车主|当事人|持照人|旅客|乘客|租户|房东|业主|员工|职工|学生|市民|居民"
    "|村民|客户|医生|医师|大夫|护士|主任|主治|接诊|签名|签字|丈夫|妻子|爱人|儿子|女儿|父亲|母亲"
    "|同事|邻居|朋友|老人|据|被告人|被告|原告|证人|嫌疑人|投诉人|举报人|来访人|报案人|受害人"
    "|经手人|审核人|复核人|填表人|签发人|办理人|承办人|操作员|同学|患者家属|本人|我叫|名叫"
    "|来电人|来电者|致电人|反映人|诉求人|求助人|咨询人|陪护人|收款人|付款人|缴费人|户名|领取人"
)
CUE_BEFORE = re.compile(CUE_WORDS)
CUE_AFTER = re.compile(
    r"(?:先生|女士|同志|医生|医师|大夫|护士|主任|老师|教授|师傅|阿姨|夫妇|本人|之子|之女"
    r"|[，,、\s]*[男女](?:性|士)?[，,\s）)。;；]|[，,]\s*\d{1,3}岁|[（(][男女])"
)
# The dictionary's tags for names; some names are also village names there (马建国, ns): a
# real place also found as LOCATION outscores the name.
PERSON_TAGS = {"nr", "nrfg", "nrt"}
NAME_TAGS = PERSON_TAGS | {"ns"}
NOT_GIVEN = set("某氏")  # 王某, 李氏: already anonymous
# Titles and kin after a surname (张医生, 孙女): not given names.
TITLES = {
    *("医生", "医师", "大夫", "护士", "主任", "老师", "教授", "先生", "女士", "师傅", "阿姨"),
    *("同志", "局长", "科长", "院长", "经理", "老板", "某某", "总", "工", "姐", "哥", "叔"),
    *("女", "儿"),
}
# A dictionary word tagged as a place but counted more often than this is no person's name
# (江湖); name-tagged words must have given-name characters (孙女, 许可证 are tagged nr).
NAME_FREQUENCY_MAX = 30
# Roles (申请人, 管理员) and places (金凤区, 兴庆路, 王家庄) end so; names hardly ever do.
NOT_LAST = set("人者员师区县市省州镇乡村路街巷庄屯营堡寨湾沟坡岭桥店集")
# Characters that end a name: what usually follows a name in a sentence.
STOPS = set(
    "因于在等和与及的说诉来到就自主男女是为已今昨入出称陪同将把被向从对给也都还又岁驾开反通提"
    "现住申行前回去系拨致电看持签确经由加未不无没非很较更最曾正再均"
)
ENDS_NAME = rf"(?=[^{HAN}]|$|[{''.join(sorted(STOPS))}]|先生|女士|同志|医生|夫妇)"
# Characters of transliterated names (Uyghur, Kazakh, foreign: 阿依古丽·买买提, 约翰·史密斯);
# the words around such a name (患者, 入院) are not written with them.
TRANSLITERATION = set(
    "阿艾爱安奥巴拜班邦贝比彼波伯博布查达代戴丹道德迪蒂丁东杜多厄恩尔法凡菲费芬弗福伏盖甘"
    "戈格根古哈海汗罕豪赫亨洪胡怀惠霍基吉加贾杰金喀卡凯坎康考柯科克肯库夸奎拉莱兰朗劳勒雷蕾"
    "黎里丽莉利连林琳玲娜柳龙卢鲁伦罗洛马玛迈买麦曼梅美蒙米敏明摩莫默姆穆木纳奈南内尼妮努诺"
    "帕潘佩彭皮珀普奇齐恰乔切琴丘热茹瑞萨塞赛桑森沙莎珊尚舍什施史斯松苏索塔泰坦汤唐特提图"
    "托瓦万威韦维温沃乌吾武西希夏谢辛休雅亚扬耶伊依尤约扎泽詹兹孜祖佐则合江帕乃曲甫吐"
)
_T = "".join(sorted(TRANSLITERATION))
MIDDLE_DOT_NAME = re.compile(rf"[{_T}]{{1,6}}(?:[·•・][{_T}]{{1,8}}){{1,2}}")
# Words that continue into a drug, product or organization name (苏黄止咳胶囊, 张仲景大药房).
PRODUCT = re.compile(
    rf"[{HAN}]{{0,4}}?(?:胶囊|颗粒|注射液|口服液|滴丸|丸|糖浆|合剂|软膏|乳膏|贴|喷雾剂|冲剂|片剂"
    r"|医院|诊所|药房|药店|公司|集团|商行|酒店)"
)
CUE_SCORE = 0.9
VALUE_SCORE = 0.5
NAME_SCORE = 0.6
TRANSLITERATED_SCORE = 0.7


def _given(text: str, start: int) -> str:
    """Up to two given-name characters from `start`, ending before a stop character."""
    given = ""
    for ch in text[start : start + 2]:
        if not is_han(ch) or ch in STOPS or ch in NOT_GIVEN:
            break
        given += ch
    return "" if given and given[-1] in NOT_LAST else given


def _after_cue(text: str, cue_end: int, words: dict[int, str]) -> tuple[int, int] | None:
    """The name right after a cue; where a dictionary word starts at its second given-name
    character and runs past it (诸葛亮/建议), the name ends before that word."""
    surname = surname_of(text[cue_end : cue_end + 2], common_only=True)
    if surname is None:
        return None
    given = _given(text, cue_end + len(surname))
    second = words.get(cue_end + len(surname) + 1, "")
    if len(given) == 2 and len(second) > 1 and in_dictionary(second):
        given = given[:1]
    if not given or given in TITLES or _ordinary_word(surname + given):
        return None
    return cue_end, cue_end + len(surname) + len(given)


def _ordinary_word(word: str) -> bool:
    """A dictionary word not tagged as a name (高热, 高血压)."""
    return in_dictionary(word) and dictionary_tag(word) not in NAME_TAGS


def _name_like(given: str) -> bool:
    return 1 <= len(given) <= 2 and given not in TITLES and set(given) <= GIVEN_CHARS


def _before_cue(text: str, cue_start: int) -> tuple[int, int] | None:
    for length in (3, 4, 2):
        start = cue_start - length
        candidate = text[max(0, start) : cue_start]
        surname = surname_of(candidate, common_only=length != 4)
        if start < 0 or surname is None or not is_han(candidate):
            continue
        given = candidate[len(surname) :]
        if 1 <= len(given) <= 2 and not (NOT_GIVEN | STOPS) & set(given):
            return start, cue_start
    return None


def _cued_names(text: str, words: dict[int, str]) -> list[tuple[int, int]]:
    spans = []
    for cue in CUE_BEFORE.finditer(text):
        end = cue.end()
        while end < len(text) and text[end] in ":： ":
            end += 1
        if span := _after_cue(text, end, words):
            spans.append(span)
    for cue in CUE_AFTER.finditer(text):
        if span := _before_cue(text, cue.start()):
            spans.append(span)
    return spans


def _whole_value_name(text: str) -> tuple[int, int] | None:
    """A value that is nothing but a name (a name column's cell: 萧伟)."""
    value = text.strip()
    surname = surname_of(value)
    if surname is None or not is_han(value) or _ordinary_word(value):
        return None
    given = value[len(surname) :]
    if not 1 <= len(given) <= 2 or given in TITLES or (STOPS | NOT_GIVEN) & set(given):
        return None
    start = text.index(value)
    return start, start + len(value)


def _segment_name(tokens: list[Token], i: int, text: str) -> tuple[int, int] | None:
    """A name the segments agree on, without a cue: a segment the dictionary does not know
    (张华凯, or 龙睿永在: a name glued to what follows), one it lists as a name with one of the
    hundred most frequent surnames, or such a surname standing alone before its given name
    (侯/志成, 王/小/明, 杨/健在: 杨健 + 在)."""
    token = tokens[i]
    surname = surname_of(token.text, common_only=True)
    if surname is None or PRODUCT.match(text, token.end):
        return None
    frequent = len(surname) == 2 or surname in FREQUENT
    rest = token.text[len(surname) :]
    if rest:
        frequency = word_frequency(token.text)
        given = _given(token.text, len(surname)) if not frequency else rest
        tag = dictionary_tag(token.text)
        listed = tag in PERSON_TAGS or (tag in NAME_TAGS and frequency <= NAME_FREQUENCY_MAX)
        if (
            _name_like(given)
            and given[-1] not in NOT_LAST
            and (not frequency or (listed and frequent))
        ):
            return token.start, token.start + len(surname) + len(given)
        return None
    given = _given(text, token.end)
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    if (
        not frequent
        or not _name_like(given)
        or following is None
        or len(following.text) > 2
        or not is_han(following.text)
        or PRODUCT.match(text, token.end + len(given))
    ):
        return None
    return token.start, token.end + len(given)


class ChinesePersonRecognizer(EntityRecognizer):
    """PERSON from cue words and the jieba segments in the NLP artifacts."""

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(
            supported_entities=["PERSON"],
            supported_language=supported_language,
            name="ChinesePersonRecognizer",
            context=["姓名", "name"],  # cue words next to a name are weighed above
        )

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        found: dict[tuple[int, int], tuple[float, str]] = {}
        tokens = tokens_of(nlp_artifacts) if nlp_artifacts else []
        for i, token in enumerate(tokens):
            if is_han(token.text) and (span := _segment_name(tokens, i, text)):
                found[span] = (NAME_SCORE, "surname + given name in the segments")
        if span := _whole_value_name(text):
            found.setdefault(span, (VALUE_SCORE, "a value that is a whole name"))
        for span in _cued_names(text, {t.start: t.text for t in tokens}):
            found[span] = (CUE_SCORE, "surname + given name next to a cue word")
        for match in MIDDLE_DOT_NAME.finditer(text):
            found[match.span()] = (TRANSLITERATED_SCORE, "transliterated name with middle dot")
        return [
            finding(self, start, end, score, rule) for (start, end), (score, rule) in found.items()
        ]
