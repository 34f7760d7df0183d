"""Small lists for synthetic Chinese people: surnames weighted by their approximate share of the
population (2020 census order), and given-name characters. Written for the demo; no Faker."""

import random
from itertools import accumulate

# (surname, share in per mille, roughly)
SURNAMES: list[tuple[str, float]] = [
    ("王", 71), ("李", 70), ("张", 64), ("刘", 54), ("陈", 45), ("杨", 31), ("黄", 22), ("赵", 21), ("吴", 20),
    ("周", 19), ("徐", 16), ("孙", 15), ("马", 15), ("朱", 13), ("胡", 13), ("郭", 12), ("何", 12), ("高", 11),
    ("林", 11), ("罗", 10), ("郑", 9), ("梁", 9), ("谢", 8), ("宋", 7), ("唐", 7), ("许", 6), ("韩", 6),
    ("冯", 6), ("邓", 6), ("曹", 6), ("彭", 5), ("曾", 5), ("肖", 5), ("田", 5), ("董", 5), ("袁", 4),
    ("潘", 4), ("于", 4), ("蒋", 4), ("蔡", 4), ("余", 4), ("杜", 4), ("叶", 4), ("程", 3), ("苏", 3),
    ("魏", 3), ("吕", 3), ("丁", 3), ("任", 3), ("沈", 3), ("姚", 3), ("卢", 3), ("姜", 3), ("崔", 3),
    ("钟", 3), ("谭", 3), ("陆", 2), ("汪", 2), ("范", 2), ("金", 2), ("石", 2), ("廖", 2), ("贾", 2),
    ("夏", 2), ("韦", 2), ("付", 2), ("方", 2), ("白", 2), ("邹", 2), ("孟", 2), ("熊", 2), ("秦", 2),
    ("邱", 2), ("江", 2), ("尹", 2), ("薛", 2), ("闫", 2), ("段", 2), ("雷", 2), ("侯", 2), ("龙", 2),
    ("史", 2), ("陶", 1), ("黎", 1), ("贺", 1), ("顾", 1), ("毛", 1), ("郝", 1), ("龚", 1), ("邵", 1),
    ("万", 1), ("钱", 1), ("严", 1), ("欧阳", 0.3), ("上官", 0.1), ("司马", 0.1), ("诸葛", 0.1),
]

GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欣斌晨阳建国志文博昊天然睿泽轩"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英燕玲桂婷雪慧红梅琳颖洁蓉倩佳晶莉萍瑶怡璐欣悦彤馨雨涵思琪梦妍"

_SURNAME_VALUES = [surname for surname, _ in SURNAMES]
_SURNAME_CUM = list(accumulate(weight for _, weight in SURNAMES))


def surnames(rng: random.Random, k: int) -> list[str]:
    """`k` surnames drawn by population share."""
    return rng.choices(_SURNAME_VALUES, cum_weights=_SURNAME_CUM, k=k)


def person_name(rng: random.Random, surname: str, is_male: bool) -> str:
    """A full name: the surname and one or (seven times in ten) two given-name characters."""
    chars = GIVEN_MALE if is_male else GIVEN_FEMALE
    draw = rng.random
    # Indexing by random() rather than rng.choice: this runs for every one of a million customers.
    first = chars[int(draw() * len(chars))]
    if draw() < 0.7:
        return surname + first + chars[int(draw() * len(chars))]
    return surname + first
