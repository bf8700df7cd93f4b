"""Build `generated.jsonl` and `faker.jsonl`: labelled sentences from varied templates, seeded.

Names follow the frequency of Chinese surnames (census shares, incl. the Hui surnames common in
Ningxia) and common given-name characters; places are real divisions (provinces, cities and
counties of GB/T 2260) with streets, houses and rooms. Every sentence also carries decoys that
must not be reported: order numbers, amounts, dates, invoice codes, ICD-10 codes, hospital,
department and drug names. `faker.jsonl` fills the same templates with values from Faker's
zh_CN provider; `hard.jsonl` is `hard.txt`, hand-written, with its marks turned into spans.
Run `python tests/deid/corpus/generate.py [FOLDER]` to rebuild all three (here, or into FOLDER).
"""

import json
import random
import re
import string
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from stdnum import luhn
from stdnum.cn import uscc

HERE = Path(__file__).parent
OUT, FAKER_OUT, HARD_OUT = "generated.jsonl", "faker.jsonl", "hard.jsonl"
HARD_IN = HERE / "hard.txt"
MARKED = re.compile(r"\[\[([A-Z_]+):(.+?)\]\]")
SEED = 20250630
SENTENCES = 1_200
FAKER_SENTENCES = 600

# Shares in per mille of the population (rounded census figures), then a rare tail.
SURNAMES = {
    "王": 71,
    "李": 70,
    "张": 68,
    "刘": 54,
    "陈": 49,
    "杨": 32,
    "黄": 25,
    "赵": 23,
    "吴": 21,
    "周": 20,
    "徐": 17,
    "孙": 15,
    "马": 14,
    "朱": 13,
    "胡": 13,
    "郭": 12,
    "何": 12,
    "林": 10,
    "高": 10,
    "罗": 9,
    "郑": 9,
    "梁": 8,
    "谢": 7,
    "宋": 6,
    "唐": 6,
    "许": 6,
    "韩": 5,
    "邓": 5,
    "冯": 5,
    "曹": 5,
    "彭": 5,
    "曾": 5,
    "肖": 5,
    "田": 4,
    "董": 4,
    "潘": 4,
    "袁": 4,
    "蔡": 4,
    "蒋": 4,
    "余": 4,
    "于": 4,
    "杜": 3,
    "叶": 3,
    "程": 3,
    "魏": 3,
    "苏": 3,
    "吕": 3,
    "丁": 3,
    "任": 3,
    "卢": 3,
    "姚": 3,
    "沈": 3,
    "钟": 3,
    "姜": 3,
    "崔": 3,
    "谭": 3,
    "陆": 2,
    "范": 2,
    "汪": 2,
    "廖": 2,
    "石": 2,
    "金": 2,
    "韦": 2,
    "贾": 2,
    "夏": 2,
    "付": 2,
    "方": 2,
    "邹": 2,
    "熊": 2,
    "白": 2,
    "孟": 2,
    "秦": 2,
    "邱": 2,
    "侯": 2,
    "江": 2,
    "尹": 2,
    "薛": 2,
    "闫": 2,
    "段": 2,
    "雷": 2,
    "龙": 2,
    "黎": 2,
    "史": 2,
    "陶": 2,
    "贺": 2,
    "毛": 2,
    "郝": 2,
    "顾": 2,
    "龚": 2,
    "邵": 2,
    "万": 1,
    "覃": 1,
    "武": 1,
    "钱": 1,
    "戴": 1,
    "严": 1,
    "海": 1,
    "纳": 1,
    "虎": 1,
    "撒": 1,
    "欧阳": 1,
    "司马": 1,
    "上官": 1,
    "诸葛": 1,
    "慕容": 1,
}
MALE = (
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭龙林阳"
    "建国志文海东成峰亮新永春学晨博子睿轩然泽航锦昊诚"
)
FEMALE = "芳娜敏静丽艳娟霞秀英玉兰萍红燕雪梅婷琳倩颖慧佳欣怡悦雅雯晶洁丹蕾薇琴云莉璐瑶涵萱琪"
TRANSLITERATED = [
    "阿依古丽·买买提",
    "艾力·吐尔逊",
    "古丽娜尔·阿不都",
    "巴特尔·其其格",
    "迪丽拜尔·热合曼",
]
PROVINCES = {
    "宁夏回族自治区": {
        "银川市": ["兴庆区", "西夏区", "金凤区", "永宁县", "贺兰县", "灵武市"],
        "石嘴山市": ["大武口区", "惠农区", "平罗县"],
        "吴忠市": ["利通区", "青铜峡市"],
        "固原市": ["原州区", "西吉县"],
        "中卫市": ["沙坡头区", "中宁县"],
    },
    "甘肃省": {"兰州市": ["城关区", "七里河区", "安宁区"], "天水市": ["秦州区", "麦积区"]},
    "陕西省": {"西安市": ["雁塔区", "碑林区", "未央区"], "宝鸡市": ["渭滨区", "金台区"]},
    "内蒙古自治区": {"包头市": ["昆都仑区", "青山区"], "呼和浩特市": ["新城区", "赛罕区"]},
    "河南省": {"郑州市": ["金水区", "二七区"], "洛阳市": ["西工区", "涧西区"]},
    "山东省": {"济南市": ["历下区", "市中区"], "青岛市": ["市南区", "崂山区"]},
    "四川省": {"成都市": ["武侯区", "锦江区", "青羊区"]},
    "北京市": {"北京市": ["朝阳区", "海淀区", "东城区"]},
    "上海市": {"上海市": ["浦东新区", "徐汇区", "静安区"]},
}
SHORT = {
    "宁夏回族自治区": "宁夏",
    "内蒙古自治区": "内蒙古",
    "甘肃省": "甘肃",
    "陕西省": "陕西",
    "河南省": "河南",
    "山东省": "山东",
    "四川省": "四川",
    "北京市": "北京",
    "上海市": "上海",
}
STREETS = [
    "解放",
    "人民",
    "中山",
    "建设",
    "文化",
    "和平",
    "胜利",
    "友谊",
    "新华",
    "黄河",
    "北京",
    "长城",
    "民族",
    "凤凰",
    "清和",
    "正源",
    "宁安",
    "贺兰山",
    "光明",
    "幸福",
    "团结",
    "朝阳",
]
STREET_KINDS = ["路", "街", "大街", "东路", "西路", "南路", "北街", "中路", "巷"]
COMMUNITIES = [
    "阳光花园",
    "金色家园",
    "丽景苑",
    "锦绣华庭",
    "湖畔嘉园",
    "康居小区",
    "新华小区",
    "丰庆苑",
    "塞上骄子",
    "世纪花园",
]
VILLAGES = ["杨和镇", "望远镇", "习岗镇", "金贵镇", "闽宁镇福宁村", "梧桐树乡", "通贵乡河滩村"]
HOSPITALS = [
    "宁夏医科大学总医院",
    "宁夏回族自治区人民医院",
    "银川市第一人民医院",
    "银川市中医医院",
    "兰州大学第二医院",
    "西安交通大学第一附属医院",
    "北京协和医院",
    "灵武市人民医院",
    "贺兰县中医医院",
    "金凤区社区卫生服务中心",
]
DEPARTMENTS = [
    "心血管内科",
    "呼吸内科",
    "内分泌科",
    "消化内科",
    "骨科",
    "神经内科",
    "肾内科",
    "全科医学科",
    "急诊科",
    "儿科",
    "妇产科",
    "眼科",
    "皮肤科",
]
DRUGS = [
    "马来酸依那普利片",
    "阿莫西林胶囊",
    "苏黄止咳胶囊",
    "硝苯地平控释片",
    "二甲双胍缓释片",
    "阿托伐他汀钙片",
    "黄连上清丸",
    "金银花颗粒",
    "复方丹参滴丸",
    "布洛芬缓释胶囊",
    "丁桂儿脐贴",
    "连花清瘟胶囊",
    "甘草片",
    "板蓝根颗粒",
    "白加黑",
]
DIAGNOSES = [
    ("J06.9", "急性上呼吸道感染"),
    ("I10", "原发性高血压"),
    ("E11.9", "2型糖尿病"),
    ("K29.7", "胃炎"),
    ("M54.5", "腰痛"),
    ("I63.9", "脑梗死"),
    ("N18.9", "慢性肾脏病"),
]
MOBILE_PREFIXES = [
    "130",
    "133",
    "135",
    "136",
    "138",
    "139",
    "147",
    "150",
    "151",
    "153",
    "158",
    "166",
    "173",
    "177",
    "180",
    "181",
    "186",
    "187",
    "189",
    "191",
    "198",
    "199",
]
AREA_CODES = ["0951", "0952", "0953", "0954", "0955", "010", "021", "029", "0931", "028"]
CARD_BINS = [
    "622202",
    "621700",
    "622848",
    "621661",
    "622588",
    "622609",
    "621226",
    "623058",
    "625966",
    "436742",
    "518710",
    "601382",
    "620522",
    "622700",
    "356833",
]
EMAIL_DOMAINS = [
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "gmail.com",
    "foxmail.com",
    "hotmail.com",
    "yinchuan.gov.cn",
    "nxu.edu.cn",
    "nxws.com.cn",
    "yeah.net",
]
PLATE_PROVINCES = "宁甘陕蒙京沪豫鲁川青新"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


class Sentence:
    """A sentence built piece by piece; labelled pieces record their spans."""

    def __init__(self) -> None:
        self.text = ""
        self.spans: list[dict] = []

    def add(self, piece: str, entity: str | None = None) -> "Sentence":
        if entity:
            self.spans.append(
                {"entity_type": entity, "start": len(self.text), "end": len(self.text) + len(piece)}
            )
        self.text += piece
        return self


def weighted(rng: random.Random, table: dict[str, int]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def name(rng: random.Random) -> str:
    if rng.random() < 0.03:
        return rng.choice(TRANSLITERATED)
    given = MALE if rng.random() < 0.5 else FEMALE
    return weighted(rng, SURNAMES) + "".join(rng.choices(given, k=rng.choice([1, 2, 2, 2])))


def birth(rng: random.Random) -> date:
    return date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 85))


def county_code(rng: random.Random) -> str:
    return rng.choice(
        [
            "640104",
            "640105",
            "640106",
            "640121",
            "640122",
            "640181",
            "640102",
            "620102",
            "610113",
            "150203",
            "410105",
            "370102",
            "510107",
            "110105",
            "310115",
            "640302",
            "640402",
            "640502",
            "642222",
            "620503",
        ]
    )


def resident_id(rng: random.Random) -> str:
    body = f"{county_code(rng)}{birth(rng):%Y%m%d}{rng.randrange(1000):03d}"
    check = "10X98765432"[
        sum(
            int(d) * w
            for d, w in zip(
                body, [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], strict=True
            )
        )
        % 11
    ]
    value = body + check
    if check == "X" and rng.random() < 0.2:
        value = value[:17] + "x"
    if rng.random() < 0.12 and value[6:8] == "19":
        return value[:6] + value[8:17]  # legacy 15 digits
    return value


def phone(rng: random.Random) -> str:
    if rng.random() < 0.25:
        area = rng.choice(AREA_CODES)
        digits = 7 if len(area) == 3 else 6
        number = f"{rng.randrange(2, 9)}{rng.randrange(10**digits):0{digits}d}"
        return rng.choice(
            [
                f"{area}-{number}",
                f"({area}){number}",
                f"{area} {number}",
                f"{area}{number}",
                f"（{area}）{number}",
            ]
        )
    m = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    return rng.choice(
        [
            m,
            m,
            m,
            f"{m[:3]}-{m[3:7]}-{m[7:]}",
            f"{m[:3]} {m[3:7]} {m[7:]}",
            f"+86 {m}",
            f"+86-{m[:3]}-{m[3:7]}-{m[7:]}",
            f"0086{m}",
            f"(+86){m}",
            f"+86 {m[:3]} {m[3:7]} {m[7:]}",
            f"86-{m}",
        ]
    )


def bank_card(rng: random.Random) -> str:
    prefix = rng.choice(CARD_BINS)
    length = 16 if prefix[0] in "345" else rng.choice([16, 19, 19])
    body = prefix + "".join(rng.choices(string.digits, k=length - len(prefix) - 1))
    card = body + luhn.calc_check_digit(body)
    style = rng.random()
    if style < 0.3:
        return " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    if style < 0.4:
        return "-".join(card[i : i + 4] for i in range(0, len(card), 4))
    return card


def credit_code(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = rng.choice(["91", "92", "93", "12", "11", "51", "52"]) + county_code(rng)
    body += "".join(rng.choices(alphabet, k=9))
    return body + uscc.calc_check_digit(body)


def email(rng: random.Random) -> str:
    pinyin = [
        "zhangwei",
        "wangfang",
        "li.na",
        "liuyang",
        "chen_jie",
        "yang.min",
        "huangli",
        "zhaolei",
        "ma_xiaohong",
        "sunqiang",
        "nxdata",
        "hr",
        "service",
    ]
    local = rng.choice(pinyin) + rng.choice(
        ["", str(rng.randrange(1, 9999)), "_" + str(rng.randrange(80, 100))]
    )
    if rng.random() < 0.2:
        local = str(rng.randrange(10**5, 10**10))  # QQ number
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def plate(rng: random.Random) -> str:
    head = rng.choice(PLATE_PROVINCES) + rng.choice("ABCDEFGHJK")
    roll = rng.random()
    if roll < 0.25:
        serial = (
            rng.choice("DF")
            + rng.choice(PLATE_LETTERS + string.digits)
            + f"{rng.randrange(10**4):04d}"
        )
    elif roll < 0.3:
        serial = f"{rng.randrange(10**5):05d}" + rng.choice("DF")
    else:
        chars = [rng.choice(string.digits) for _ in range(5)]
        for i in rng.sample(range(5), rng.choice([0, 1, 1, 2])):
            chars[i] = rng.choice(PLATE_LETTERS)
        serial = "".join(chars)
    separator = rng.choice(["", "", "", "·", " "])
    return head + separator + serial


def passport(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.6:
        return f"E{rng.randrange(10**8):08d}"
    if roll < 0.8:
        return f"E{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{rng.randrange(10**7):07d}"
    if roll < 0.9:
        return f"G{rng.randrange(10**8):08d}"
    return f"{rng.choice(['P', 'S', 'D', 'SE', 'DE'])}{rng.randrange(10**7):07d}"


def address(rng: random.Random) -> str:
    province = rng.choice(list(PROVINCES))
    city = rng.choice(list(PROVINCES[province]))
    county = rng.choice(PROVINCES[province][city])
    street = rng.choice(STREETS) + rng.choice(STREET_KINDS) + f"{rng.randrange(1, 400)}号"
    if rng.random() < 0.3 and province == "宁夏回族自治区":
        street = rng.choice(VILLAGES) + (f"{rng.randrange(1, 9)}组" if rng.random() < 0.5 else "")
    if rng.random() < 0.5:
        street += rng.choice(COMMUNITIES) + f"{rng.randrange(1, 30)}号楼"
    if rng.random() < 0.6:
        street += f"{rng.randrange(1, 6)}单元{rng.randrange(1, 28)}0{rng.randrange(1, 5)}室"
    head = rng.choice(
        [
            province + (city if city != province else "") + county,
            (SHORT[province] if rng.random() < 0.5 else "") + city + county,
            city + county,
            county,
        ]
    )
    return head + street


def place(rng: random.Random) -> str:
    province = rng.choice(list(PROVINCES))
    city = rng.choice(list(PROVINCES[province]))
    joined = SHORT[province] + city if SHORT[province] != city.rstrip("市") else city
    return rng.choice([SHORT[province], province, city, city.rstrip("市"), joined])


def decoys(rng: random.Random) -> dict[str, str]:
    day = date(2024, 1, 1) + timedelta(days=rng.randrange(600))
    code, diagnosis = rng.choice(DIAGNOSES)
    return {
        "order": f"{day:%Y%m%d}{rng.randrange(10**10):010d}",
        "amount": f"{rng.randrange(10, 20000)}.{rng.randrange(100):02d}",
        "date": rng.choice(
            [f"{day:%Y-%m-%d}", f"{day:%Y年%m月%d日}", f"{day:%Y/%m/%d}", f"{day:%Y%m%d}"]
        ),
        "invoice_code": f"{rng.choice(['0', '1'])}{rng.randrange(10**11):011d}",
        "invoice_no": f"{rng.randrange(10**8):08d}",
        "icd": code,
        "diagnosis": diagnosis,
        "hospital": rng.choice(HOSPITALS),
        "department": rng.choice(DEPARTMENTS),
        "drug": rng.choice(DRUGS),
        "visit": f"MZ{day:%Y%m%d}{rng.randrange(10**8):08d}",
        "batch": f"{rng.choice('ABCDEFGH')}{rng.randrange(10**6):06d}",
    }


# Templates: literal text with {SLOT}s; upper-case slots are entities, lower-case are decoys.
TEMPLATES = [
    "患者{PERSON}，{sex}，{age}岁，身份证号{CN_RESIDENT_ID}，因{diagnosis}（{icd}）于{date}到{hospital}{department}就诊，费用{amount}元。",
    "{PERSON}，{sex}，{age}岁。主诉头晕{n}天，既往{diagnosis}病史，予{drug}口服。联系电话：{PHONE_NUMBER}。",
    "现住{LOCATION}，联系人{PERSON}，电话{PHONE_NUMBER}。",
    "姓名：{PERSON} 证件号码：{CN_RESIDENT_ID} 手机：{PHONE_NUMBER} 住址：{LOCATION}",
    "{date}，{PERSON}在{hospital}缴费{amount}元，订单号{order}，发票代码{invoice_code}，发票号码{invoice_no}。",
    "请将退款{amount}元转入银行卡{CN_BANK_CARD}，开户人{PERSON}。",
    "客户{PERSON}的储蓄卡号为{CN_BANK_CARD}，预留手机{PHONE_NUMBER}，邮箱{EMAIL_ADDRESS}。",
    "企业统一社会信用代码{CN_USCC}，法定代表人{PERSON}，住所{LOCATION}。",
    "{CN_USCC}号企业于{date}变更经营范围，注册资本{amount}万元。",
    "车主{PERSON}驾驶{CN_LICENSE_PLATE}号小型汽车在{place}被查，驾驶证{CN_RESIDENT_ID}。",
    "新能源车{CN_LICENSE_PLATE}于{date}驶入停车场，停车费{amount}元，订单{order}。",
    "旅客{PERSON}，护照号码{CN_PASSPORT}，出生日期{date}，籍贯{place}。",
    "出入境记录：持照人{PERSON}（护照{CN_PASSPORT}）自{place}出境。",
    "如有疑问请发邮件至{EMAIL_ADDRESS}或致电{PHONE_NUMBER}。",
    "12345热线：市民{PERSON}反映{LOCATION}附近噪音扰民，回访号码{PHONE_NUMBER}。",
    "{PERSON}的家属{PERSON}陪同就诊，诊断{icd} {diagnosis}，处方{drug}，批号{batch}。",
    "{hospital}{department}{PERSON}医生接诊，就诊流水号{visit}，结算金额{amount}元。",
    "据{PERSON}讲述，其于{date}从{place}来到{place}务工，现住{LOCATION}。",
    "申请人：{PERSON}，身份证{CN_RESIDENT_ID}，开户行账号{CN_BANK_CARD}。",
    "收件人{PERSON}，{PHONE_NUMBER}，{LOCATION}。",
    "{place}市民{PERSON}通过邮箱{EMAIL_ADDRESS}提交材料，受理编号{order}。",
    "患者于{date}在{hospital}行{diagnosis}复查，{drug}继续服用，费用{amount}元，医保结算号{order}。",
    "{PERSON}女士来电咨询，身份证号码{CN_RESIDENT_ID}，来电号码{PHONE_NUMBER}。",
    "车辆{CN_LICENSE_PLATE}（车主{PERSON}，联系方式{PHONE_NUMBER}）违停于{LOCATION}。",
    "{PERSON}先生的护照{CN_PASSPORT}与身份证{CN_RESIDENT_ID}信息一致。",
    "本单位（信用代码：{CN_USCC}）对公账户{CN_BANK_CARD}，联系人{PERSON}，邮箱{EMAIL_ADDRESS}。",
]
SLOT = re.compile(r"\{([A-Za-z_]+)\}")
MAKERS = {
    "PERSON": name,
    "CN_RESIDENT_ID": resident_id,
    "PHONE_NUMBER": phone,
    "CN_BANK_CARD": bank_card,
    "CN_USCC": credit_code,
    "EMAIL_ADDRESS": email,
    "CN_LICENSE_PLATE": plate,
    "CN_PASSPORT": passport,
    "LOCATION": address,
}


def dated_ssn(fake: Any) -> str:
    """Faker's resident ID with a birth date that does not move with today's date (Faker draws
    it back from today, which would change this file every day)."""
    from stdnum.cn import ric

    ssn = fake.ssn()
    born = fake.date_between(start_date=date(1935, 1, 1), end_date=date(2007, 12, 31))
    body = f"{ssn[:6]}{born:%Y%m%d}{ssn[14:17]}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder last digit


def faker_makers(seed: int) -> dict[str, Callable[[random.Random], str]]:
    """Values from Faker's zh_CN provider instead: other name lists, other (invented) place
    and street names, plate and card styles; a check that the recognizers were not fitted to
    this file's own tables."""
    from faker import Faker

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    return MAKERS | {
        "PERSON": lambda rng: fake.name(),
        "LOCATION": lambda rng: fake.address().split(" ")[0],  # without the postcode
        "PHONE_NUMBER": lambda rng: fake.phone_number(),
        "CN_RESIDENT_ID": lambda rng: dated_ssn(fake),
        "CN_LICENSE_PLATE": lambda rng: fake.license_plate(),
        "CN_BANK_CARD": lambda rng: fake.credit_card_number(),
        "EMAIL_ADDRESS": lambda rng: fake.email(),
    }


def sentence(
    rng: random.Random, template: str, makers: dict[str, Callable[[random.Random], str]] = MAKERS
) -> Sentence:
    values = decoys(rng) | {
        "sex": rng.choice("男女"),
        "age": str(rng.randrange(1, 95)),
        "n": str(rng.randrange(1, 15)),
    }
    built = Sentence()
    position = 0
    for slot in SLOT.finditer(template):
        built.add(template[position : slot.start()])
        key = slot.group(1)
        if key == "place":
            built.add(place(rng), "LOCATION")
        elif key in makers:
            built.add(makers[key](rng), key)
        else:
            built.add(values[key])
        position = slot.end()
    return built.add(template[position:])


def write(path: Path, count: int, seed: int, makers: dict) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for _ in range(count):
            built = sentence(rng, rng.choice(TEMPLATES), makers)
            out.write(
                json.dumps({"text": built.text, "spans": built.spans}, ensure_ascii=False) + "\n"
            )


def hand_written(path: Path) -> list[Sentence]:
    """Sentences from marked-up lines (`家属[[PERSON:马小虎]]代签`); `#` starts a comment."""
    built = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        marked, position = Sentence(), 0
        for mark in MARKED.finditer(line):
            marked.add(line[position : mark.start()]).add(mark.group(2), mark.group(1))
            position = mark.end()
        built.append(marked.add(line[position:]))
    return built


def main(folder: Path = HERE) -> None:
    """Write the three files into `folder` (this one unless given, e.g. to compare)."""
    write(folder / OUT, SENTENCES, SEED, MAKERS)
    write(folder / FAKER_OUT, FAKER_SENTENCES, SEED + 1, faker_makers(SEED))
    with (folder / HARD_OUT).open("w", encoding="utf-8") as out:
        for built in hand_written(HARD_IN):
            out.write(
                json.dumps({"text": built.text, "spans": built.spans}, ensure_ascii=False) + "\n"
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
