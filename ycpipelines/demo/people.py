"""Realistic Yinchuan people, places and codes for the demo sources."""

import random
from dataclasses import dataclass
from datetime import date, timedelta

from stdnum.cn import uscc

from ycpipelines.deid.recognizers.resident_id import check_character

# Current GB/T 2260 codes of Yinchuan's districts, and two historical ones still carried by old IDs.
DISTRICTS = {
    "640104": ("兴庆区", ["解放西街", "新华东街", "文化东街", "清和北街", "民族北街", "凤凰北街"]),
    "640105": ("西夏区", ["怀远西路", "同心南路", "贺兰山西路", "文萃北街", "北京西路"]),
    "640106": ("金凤区", ["北京中路", "正源北街", "宁安大街", "黄河东路", "万寿路"]),
    "640121": ("永宁县", ["杨和镇宁和街", "望远镇", "闽宁镇福宁村"]),
    "640122": ("贺兰县", ["习岗镇银河路", "金贵镇", "立岗镇"]),
    "640181": ("灵武市", ["东塔镇", "宁东镇", "梧桐树乡"]),
}
# 原城区 and 原郊区: still on old IDs, absent from today's code table.
HISTORICAL_CODES = ["640102", "640111"]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾田萧纪海丁虎白"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文海燕晓东雪梅鹏辉俊"
MINORITY_NAMES = ["阿依古丽·买买提", "艾力·吐尔逊", "古丽娜尔·阿不都", "巴特尔·其其格"]
ETHNICITIES = [("汉族", 0.62), ("回族", 0.35), ("满族", 0.01), ("蒙古族", 0.01), ("维吾尔族", 0.01)]
MOBILE_PREFIXES = ["138", "139", "150", "151", "158", "177", "180", "187", "189", "199"]


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    gender: str  # 男 / 女 as the source systems write it
    birth_date: date
    ethnicity: str
    division: str  # GB/T 2260 code of the household's district
    address: str
    phone: str


def resident_id(region: str, birth: date, sequence: int) -> str:
    """An 18-digit resident ID with a valid GB 11643 check digit; odd sequence = male."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + check_character(body)


def legacy_id(id_number: str) -> str:
    """The 15-digit form issued before 1999: two-digit year, no check digit."""
    return id_number[:6] + id_number[8:17]


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def person(rng: random.Random, today: date) -> Person:
    codes = list(DISTRICTS)
    region = rng.choice(HISTORICAL_CODES) if rng.random() < 0.05 else rng.choice(codes)
    birth = today - timedelta(days=rng.randrange(365, 90 * 365))
    male = rng.random() < 0.5
    sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
    ethnicity = rng.choices([e for e, _ in ETHNICITIES], [w for _, w in ETHNICITIES])[0]
    if ethnicity == "维吾尔族":
        name = rng.choice(MINORITY_NAMES)
    else:
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice([1, 2])))
    division = rng.choice(codes)
    district, streets = DISTRICTS[division]
    address = (
        f"宁夏回族自治区银川市{district}{rng.choice(streets)}{rng.randrange(1, 400)}号"
        f"{rng.randrange(1, 30)}栋{rng.randrange(1, 6)}单元"
        f"{rng.randrange(1, 28)}0{rng.randrange(1, 5)}室"
    )
    return Person(
        id_number=resident_id(region, birth, sequence),
        name=name,
        gender="男" if male else "女",
        birth_date=birth,
        ethnicity=ethnicity,
        division=division,
        address=address,
        phone=mobile(rng) if rng.random() < 0.9 else f"0951-{rng.randrange(5000000, 6999999)}",
    )


def credit_code(rng: random.Random, region: str) -> str:
    """A unified social credit code (统一社会信用代码) with a valid GB 32100 check character."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + region + "".join(rng.choices(alphabet, k=9))
    return body + uscc.calc_check_digit(body)
