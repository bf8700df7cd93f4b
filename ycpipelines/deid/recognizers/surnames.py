"""Chinese surnames (姓氏), single and compound, and the characters given names are made of.

`SINGLE` holds the single-character surnames of the 百家姓 and the Hui surnames common in
Ningxia (纳, 撒, 哈, 冶, 闪, 勉, 拜, 锁 …); `FUNCTION_LIKE` are those among them that are far
more often everyday function words (于 "at", 时 "time"), trusted only as a whole value;
`COMMON` is the rest.
"""

SINGLE = frozenset(
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛"
    "奚范彭郎鲁韦昌马苗凤花方俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常乐于时傅皮卞齐康"
    "伍余元卜顾孟平黄和穆萧尹姚邵湛汪祁毛禹狄米贝明臧计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵"
    "席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍虞万支柯昝管卢莫经房裘缪干解应宗"
    "丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁荀羊惠甄曲家封芮羿储靳汲邴糜松井段富巫乌"
    "焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫宁仇栾暴甘厉戎祖武符刘景詹束龙叶幸司韶郜黎蓟薄印宿"
    "白怀蒲邰从鄂索咸籍赖卓蔺屠蒙池乔阴郁胥能苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍璩桑桂濮牛寿"
    "通边扈燕冀郏浦尚农温别庄晏柴瞿阎充慕连茹习宦艾鱼容向古易慎戈廖庾终暨居衡步都耿满弘匡国文"
    "寇广禄阙东欧殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛阚那简饶空曾沙乜养鞠须丰巢关蒯相查后荆红"
    "游竺权逯盖益桓公肖闫付覃亢赫冼佘帅税粟隋涂母纳撒哈海虎马岳丛揭栗练芦丘商鲜阳敬"
    "冶闪勉拜锁脱喜卯妥摆铁剡冒拓刀赛者朵线买南"
)
FUNCTION_LIKE = frozenset("时和从能向应相后都别空养须益终越利公双步计经路通全司者线买南")
COMMON = SINGLE - FUNCTION_LIKE
# The hundred most frequent: trusted without a cue when the segmenter isolates them (侯/志成).
FREQUENT = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝"
    "顾龚邵覃武钱戴严"
)
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
    if word[:1] in (COMMON if common_only else SINGLE):
        return word[:1]
    return None


# Characters common in given names (名): a segment the dictionary does not know is taken for a
# name without a cue only when its given part is made of these (高盐, 段未见 are not names).
GIVEN_CHARS = frozenset(
    "然敏蕾涵伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发"
    "武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐"
    "绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰"
    "士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬"
    "芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋"
    "珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯"
    "毓悦昭冰爽琬茗羽希欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可舒影丽阳妮宝贝初程梵罡恒鸿桦"
    "骅剑娇纪宽灵玛媚琪晴容睿烁堂唯威韦雯苇萱阅彦宇雨洋忠宗曼紫逸贤蝶菡蓝小轩兵卫革援朝喜禄寿"
    "财金银铁钢柱根满双二三大冬夏桃杏瑛花锋晖炜玮瑜璇婧姝嫣孝礼智恩慈运鹤鹰虎豹骏驰跃奋立正直"
    "猛悟觉耀煌炳焕烨晔昕晟昱晗皓璟瑄琅珂玥珺桐梓柏杉芙萌蔓芮苒茹霖霜霏曦夕宙坤乾一书画棋诗歌"
    "舞音声语诺意怀念想望愿盼期甜蜜京津川湘鲁苏浙吉设传继代汉唐宋远向高尧舜禹汤周秦翼鑫淼森焱"
    "垚犇品众凯帆昊斐奕煜熙铭瀚沐宸锐钰铎镇锡镕颢灏骁骞骥驹骐琨祺祯禧祎祁岑峥嵘巍崇峻岳屹嵩峦"
    "岱岗岭崧杨柳槐樟梧椿楷模桢杭柯栩棠淳渊源潇漫滨溢澈澎湃渤涌泓洪沁沛汐汀淇淞濠娉姗嫒嫚孜孟"
    "季韬略谋畅莹珏恺恬悠妙丰颂铮烽堃奎魁宪"
)
