"""Chinese surnames (姓氏), single and compound, and the characters given names are made of.

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


# Characters common in given names (名): a segment the dictionary does not know is taken for a
# name without a cue only when its given part is made of these (高盐, 段未见 are not names).
GIVEN_CHARS = frozenset(
    "然敏蕾涵"
    "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清"
    "飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善"
    "厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家"
    "致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春"
    "菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦"
    "黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭"
    "冰爽琬茗羽希欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可舒影丽阳妮宝贝初程梵罡恒鸿桦骅剑娇"
    "纪宽灵玛媚琪晴容睿烁堂唯威韦雯苇萱阅彦宇雨洋忠宗曼紫逸贤蝶菡蓝小轩兵卫革援朝喜禄寿财金银"
    "铁钢柱根满双二三大冬夏桃杏瑛花锋晖炜玮瑜璇婧姝嫣孝礼智恩慈运鹤鹰虎豹骏驰跃奋立正直猛悟觉"
    "耀煌炳焕烨晔昕晟昱晗皓璟瑄琅珂玥珺桐梓柏杉芙萌蔓芮苒茹霖霜霏曦夕宙坤乾一书画棋诗歌舞音声"
    "语诺意怀念想望愿盼期甜蜜京津川蜀湘豫冀晋鲁皖苏浙赣陕甘藏蒙辽吉港澳台设传继代汉唐宋远向高"
    "尧舜禹汤周秦翼鑫淼森焱垚犇品众凯帆昊斐奕煜熙铭瀚沐宸锐钰铎镇锡镕颢灏骁骞骥驹骐琨祺祯禧祎"
    "祁岑峥嵘巍崇峻岳屹嵩峦岱岗岭崧杨柳槐樟梧椿楷模桢杭柯栩棠淳渊源潇漫滨溢澈澎湃渤涌泓洪沁沛"
    "汐汀淇淞渝濠娉姗嫒嫚孜孟季韬略谋"
)
