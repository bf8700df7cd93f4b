"""Chinese surnames (姓氏): the common single-character ones and the compound ones.

`COMMON` covers well over 95 % of the population; `FUNCTION_LIKE` are real surnames that are
also everyday function characters (于 "at", 向 "towards"), trusted only next to a name cue.
"""

COMMON = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔汤尤易常乔赖文施洪辛柯庄温樊牛康殷颜倪季晏邢欧岳齐沙伍聂霍"
    "单鲁葛耿邓甘阎韩祝左瞿缪包卜车成池褚丛单狄丰封伏符傅盖宫谷关桂郭海杭郝衡虎"
    "华纪吉冀蓟简焦揭靳荆居阚柯寇蓝郎劳乐冷栗连练梁廉蔺凌柳娄芦鲁栾罗麻满蒙米苗闵穆"
    "宁农欧庞裴蒲浦戚祁钱强秦丘裘曲屈冉饶阮桑商佘申盛师舒帅水税司宋粟隋孙索谈汤陶滕童"
    "涂屠万危卫魏温翁邬巫伍奚席习夏鲜冼相项萧谢辛邢熊胥宣荀闫严燕阳杨仰姚叶伊尹游尤于"
    "虞禹郁喻元袁岳云臧查翟詹湛章甄郑支仲钟周邹祖纳撒哈敬母"
)
# The hundred most frequent: trusted without a cue when the segmenter isolates them (侯/志成).
FREQUENT = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝"
    "顾龚邵覃武钱戴严"
)
FUNCTION_LIKE = "于向从全应能司"
COMPOUND = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "宇文",
    "司徒",
    "夏侯",
    "轩辕",
    "令狐",
    "西门",
    "南宫",
    "端木",
    "独孤",
    "呼延",
    "万俟",
    "澹台",
    "申屠",
)
SINGLE = frozenset(COMMON) | frozenset(FUNCTION_LIKE)


def surname_of(word: str, common_only: bool = False) -> str | None:
    """The surname `word` starts with, preferring a compound one, or None."""
    if word[:2] in COMPOUND:
        return word[:2]
    if word[:1] in COMMON or (not common_only and word[:1] in FUNCTION_LIKE):
        return word[:1]
    return None
