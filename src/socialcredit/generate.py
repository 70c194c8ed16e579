"""Synthetic agency files for demonstrations, load tests and the ingest pipeline's own tests.

Real registry extracts cannot leave the registry, yet the ingest, matching and due-process code
needs inputs that look like what courts, market regulators and tax bureaus actually submit: real
division codes, valid identifiers with a realistic share of mistakes, rows without a code that
must go to review, resubmissions that update earlier rows. Everything is drawn from one
``random.Random(seed)`` (the tax indicator rows from a second one derived from the seed) so a seed
names a data set, and rows are spooled to disk by month so a large run stays in chronological
order without being held in memory.
"""

from __future__ import annotations

import csv
import json
import tempfile
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from random import Random
from typing import IO

from stdnum import numdb
from stdnum.cn import ric
from stdnum.iso7064 import mod_11_10

from .identifiers.uscc import ALPHABET, AUTHORITY_TYPES, build_uscc, region_known
from .ingest.validate import COLUMNS

__all__ = ["GenerateSummary", "generate"]

COURT_FILE = "court.jsonl"
SAMR_FILE = "samr.csv"
TAX_FILE = "tax.csv"
SUBJECTS_FILE = "subjects.jsonl"
#: Ground truth of the rows written without a code: source_record_id and the subject's code.
CODELESS_FILE = "codeless.jsonl"

#: Column order of the interchange format; CSV headers follow it, unknown columns go last.
COLUMN_ORDER = (
    *COLUMNS,
    "amount_yuan",
    "dishonest_conduct",
    "listing_decision_ref",
    "listing_term_years",
    "severity",
    "penalty_kind",
    "fine_yuan",
    "field_of_law",
    "performed_on",
    "licence_kind",
    "licence_no",
    "valid_until",
    "cause",
    "removed_on",
    "indicator",
    "tax_year",
    "level",
    "score",
    "title",
    "conferring_body",
    "subject_legacy_code",
    "subject_registration_no",
    "subject_address",
    "subject_legal_representative",
    "subject_kind",
)

REQUIRED_COLUMNS = frozenset(COLUMN_ORDER[:9])

# Rates are per row; amended records are kept clean so an original and its resubmission agree.
ERROR_RATE = 0.0105
NO_CODE_RATE = 0.0102

PROVINCE_ABBR = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉",
    "23": "黑", "31": "沪", "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣",
    "37": "鲁", "41": "豫", "42": "鄂", "43": "湘", "44": "粤", "45": "桂", "46": "琼",
    "50": "渝", "51": "川", "52": "贵", "53": "云", "54": "藏", "61": "陕", "62": "甘",
    "63": "青", "64": "宁", "65": "新",
}  # fmt: skip

#: Rough share of registered market entities by province, so Guangdong outweighs Tibet.
PROVINCE_WEIGHT = {
    "11": 3.5, "12": 1.2, "13": 4.5, "14": 2.0, "15": 1.2, "21": 2.5, "22": 1.2, "23": 1.5,
    "31": 3.0, "32": 10.0, "33": 8.0, "34": 4.0, "35": 4.0, "36": 2.5, "37": 8.0, "41": 5.0,
    "42": 4.0, "43": 3.5, "44": 14.0, "45": 2.5, "46": 1.2, "50": 2.0, "51": 5.0, "52": 1.8,
    "53": 2.2, "54": 0.2, "61": 2.5, "62": 1.0, "63": 0.3, "64": 0.4, "65": 1.0,
}  # fmt: skip

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})

PROVINCE_SHORT = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
}

SURNAMES = (
    ("王", 71), ("李", 70), ("张", 67), ("刘", 54), ("陈", 45), ("杨", 31), ("黄", 21),
    ("赵", 20), ("吴", 19), ("周", 19), ("徐", 15), ("孙", 15), ("马", 14), ("朱", 13),
    ("胡", 12), ("郭", 12), ("何", 11), ("林", 10), ("高", 10), ("罗", 9), ("郑", 8),
    ("梁", 8), ("谢", 7), ("宋", 6), ("唐", 6), ("许", 6), ("韩", 6), ("冯", 6), ("邓", 6),
    ("曹", 5), ("彭", 5), ("曾", 5), ("肖", 5), ("田", 5), ("董", 5), ("袁", 4), ("潘", 4),
    ("于", 4), ("蒋", 4), ("蔡", 4), ("余", 4), ("杜", 4), ("叶", 4), ("程", 4), ("苏", 3),
    ("魏", 3), ("吕", 3), ("丁", 3), ("任", 3), ("沈", 3), ("姚", 3), ("卢", 3), ("姜", 3),
    ("崔", 3), ("钟", 3), ("谭", 3), ("陆", 3), ("汪", 3), ("范", 3), ("金", 3), ("石", 3),
    ("廖", 3), ("贾", 3), ("夏", 3), ("韦", 3), ("付", 3), ("方", 3), ("白", 2), ("邹", 2),
    ("孟", 2), ("熊", 2), ("秦", 2), ("邱", 2), ("江", 2), ("尹", 2), ("薛", 2), ("闫", 2),
    ("段", 2), ("雷", 2), ("侯", 2), ("龙", 2), ("史", 2), ("陶", 2), ("黎", 2), ("贺", 2),
    ("顾", 2), ("毛", 2), ("郝", 2), ("龚", 2), ("邵", 2), ("万", 2), ("钱", 2), ("严", 2),
    ("覃", 2), ("武", 2), ("戴", 2), ("莫", 2), ("孔", 2), ("向", 2), ("汤", 2),
    ("欧阳", 0.5), ("司马", 0.2), ("上官", 0.1), ("诸葛", 0.1),
)  # fmt: skip

GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林洋志国建峰振东海成文彬亮"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲英秀兰萍红琳婷雪慧莉倩颖洁佳梅琴云莹晶欣怡丹薇璐月露春"
GIVEN_ANY = "晓小子思嘉雨一博文俊明永金新海天立云玉"

TRADE_CHARS = (
    "华鑫恒盛瑞宏博创达泰金嘉信德诚中联天安新正永兴海润远辰利通源丰隆益顺昌荣佳和美锦"
    "景祥福星光明宇航骏腾飞翔志汇聚鼎晟昊睿智优卓越普康健乐家万"
)
TRADE_WORDS = (
    "腾飞", "远航", "启明", "星辰", "蓝海", "汇通", "聚力", "卓越", "鼎盛", "佳和", "恒信",
    "宏达", "华美", "金桥", "银河", "长城", "东方", "南方", "北辰", "西子", "明珠", "新锐",
    "创新", "同创", "众联", "万家", "百川", "千禧", "天成", "地和", "云帆", "海纳", "山河",
    "锦程", "鸿运", "瑞丰", "嘉禾", "绿源", "青松", "红枫", "紫金", "蓝天", "白鹭", "金鹰",
    "飞扬", "智联", "慧通", "君安", "德信", "至诚", "博雅", "润泽", "兴业", "永泰", "安康",
)  # fmt: skip

ROADS = (
    "人民", "解放", "中山", "建设", "和平", "胜利", "新华", "文化", "长江", "黄河", "朝阳",
    "光明", "团结", "健康", "幸福", "工业", "科技", "创业", "民主", "东风", "青年", "学府",
    "滨河", "迎宾", "府前", "振兴", "发展", "环城", "世纪", "开元", "金融", "商业", "五一",
    "八一", "南京", "北京", "延安", "天山", "昆仑", "花园",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Industry:
    word: str
    field: str
    licences: tuple[str, ...]
    weight: float


INDUSTRIES = (
    Industry("科技", "other", ("工业产品生产许可证", "食品经营许可证"), 14),
    Industry("贸易", "consumer", ("食品经营许可证",), 12),
    Industry("商贸", "consumer", ("食品经营许可证",), 8),
    Industry("建筑工程", "safety", ("特种设备安装改造维修许可证",), 8),
    Industry("餐饮管理", "food", ("食品经营许可证",), 7),
    Industry("食品", "food", ("食品生产许可证", "食品经营许可证"), 5),
    Industry("物流", "safety", ("道路货物运输经营许可证",), 5),
    Industry("医药", "drugs", ("药品经营许可证", "医疗器械经营许可证"), 3),
    Industry("医疗器械", "drugs", ("医疗器械经营许可证",), 2),
    Industry("环保科技", "environment", ("工业产品生产许可证",), 4),
    Industry("电子商务", "consumer", ("食品经营许可证",), 6),
    Industry("机械设备", "special_equipment", ("特种设备生产许可证",), 4),
    Industry("电梯工程", "special_equipment", ("特种设备安装改造维修许可证",), 1),
    Industry("电子", "product_quality", ("工业产品生产许可证",), 4),
    Industry("服装", "product_quality", ("工业产品生产许可证",), 3),
    Industry("家具", "product_quality", ("工业产品生产许可证",), 2),
    Industry("包装材料", "product_quality", ("工业产品生产许可证",), 2),
    Industry("化工", "safety", ("工业产品生产许可证",), 2),
    Industry("新能源科技", "product_quality", ("工业产品生产许可证",), 3),
    Industry("信息技术", "other", ("食品经营许可证",), 6),
    Industry("文化传媒", "other", ("食品经营许可证",), 4),
    Industry("房地产开发", "consumer", ("特种设备使用登记证",), 2),
    Industry("汽车销售服务", "consumer", ("特种设备使用登记证",), 2),
    Industry("农业发展", "food", ("食品生产许可证",), 3),
    Industry("酒店管理", "food", ("食品经营许可证",), 2),
)

#: Individual businesses: shop word, field of law, the licence SAMR issues for it (if any).
SHOPS = (
    ("面馆", "food", "食品经营许可证"), ("餐馆", "food", "食品经营许可证"),
    ("小吃店", "food", "食品经营许可证"), ("早餐店", "food", "食品经营许可证"),
    ("便利店", "food", "食品经营许可证"), ("超市", "food", "食品经营许可证"),
    ("水果店", "food", "食品经营许可证"), ("烟酒店", "food", "食品经营许可证"),
    ("茶叶店", "food", "食品经营许可证"), ("药店", "drugs", "药品经营许可证"),
    ("五金店", "product_quality", ""), ("理发店", "consumer", ""),
    ("服装店", "product_quality", ""), ("干洗店", "consumer", ""),
    ("汽车修理部", "consumer", ""), ("手机维修部", "consumer", ""),
    ("建材店", "product_quality", ""),
)  # fmt: skip

COOP_PRODUCTS = (
    "蔬菜种植", "果蔬", "生猪养殖", "肉牛养殖", "茶叶", "中药材种植", "农机", "水稻种植",
    "食用菌", "花卉苗木", "水产养殖", "蜂业",
)  # fmt: skip

#: Entity kinds of organisations (authority + type) with their share of organisations.
ORG_KINDS = (("91", 78.0), ("92", 14.0), ("93", 3.0), ("51", 2.0), ("52", 1.5), ("53", 0.5),
             ("12", 1.0))  # fmt: skip

LEGAL_FORMS = (("有限公司", 70), ("有限责任公司", 20), ("股份有限公司", 10))

COURT_LISTING_BASIS = "《最高人民法院关于公布失信被执行人名单信息的若干规定》"
DISHONEST = (
    ("able_but_refuses", 60, "一"),
    ("obstructs_enforcement", 4, "二"),
    ("evades_enforcement", 12, "三"),
    ("breaches_asset_reporting", 12, "四"),
    ("breaches_consumption_order", 8, "五"),
    ("refuses_settlement", 4, "六"),
)

PENALTY_BASIS = {
    "food": (
        "《中华人民共和国食品安全法》第一百二十四条",
        "《中华人民共和国食品安全法》第一百二十二条",
        "《中华人民共和国食品安全法》第一百二十五条",
        "《中华人民共和国食品安全法》第一百二十六条",
    ),
    "drugs": (
        "《中华人民共和国药品管理法》第一百一十七条",
        "《中华人民共和国药品管理法》第一百一十五条",
        "《医疗器械监督管理条例》第八十六条",
    ),
    "special_equipment": (
        "《中华人民共和国特种设备安全法》第八十四条",
        "《中华人民共和国特种设备安全法》第八十三条",
    ),
    "product_quality": (
        "《中华人民共和国产品质量法》第四十九条",
        "《中华人民共和国产品质量法》第五十条",
    ),
    "competition": (
        "《中华人民共和国反不正当竞争法》第二十条",
        "《中华人民共和国反垄断法》第五十六条",
    ),
    "consumer": (
        "《中华人民共和国消费者权益保护法》第五十六条",
        "《中华人民共和国价格法》第四十条",
    ),
    "environment": (
        "《中华人民共和国环境保护法》第五十九条",
        "《中华人民共和国大气污染防治法》第九十九条",
    ),
    "safety": (
        "《中华人民共和国安全生产法》第九十九条",
        "《中华人民共和国安全生产法》第一百零一条",
    ),
    "other": (
        "《中华人民共和国广告法》第五十五条",
        "《市场主体登记管理条例》第四十六条",
        "《中华人民共和国计量法》第二十七条",
    ),
}

#: Field-of-law shares for minor and general penalties; serious ones draw from SERIOUS_FIELDS.
PENALTY_FIELDS = (
    ("food", 20), ("product_quality", 12), ("consumer", 15), ("competition", 6),
    ("environment", 12), ("safety", 10), ("drugs", 5), ("special_equipment", 5), ("other", 15),
)  # fmt: skip
SERIOUS_FIELDS = (
    ("food", 30), ("drugs", 20), ("special_equipment", 12), ("product_quality", 15),
    ("competition", 10), ("consumer", 13),
)  # fmt: skip

ABNORMAL_CAUSES = (
    ("annual_report_missing", 70),
    ("unreachable_at_address", 18),
    ("ordered_disclosure_missing", 7),
    ("false_information", 5),
)

COMMENDATIONS = (
    ("守合同重信用企业", "province_samr"),
    ("诚信经营示范单位", "city_samr"),
    ("放心消费示范单位", "city_samr"),
    ("质量诚信企业", "province_samr"),
    ("诚信示范企业", "city_government"),
)

LICENCE_BASIS = "《中华人民共和国行政许可法》第三十九条"
ABNORMAL_BASIS = "《企业信息公示暂行条例》第十七条"
TAX_BASIS = "《纳税信用管理办法（试行）》第二十五条"
COMMENDATION_BASIS = (
    "《国务院关于建立完善守信联合激励和失信联合惩戒制度加快推进社会诚信建设的指导意见》"
)
CONSUMPTION_BASIS = "《最高人民法院关于限制被执行人高消费及有关消费的若干规定》第一条"

TAX_LEVELS = (("A", 30), ("B", 50), ("M", 8), ("C", 8), ("D", 4))

TAX_LAW = "《中华人民共和国税收征收管理法》"
INVOICE_RULES = "《中华人民共和国发票管理办法》"
M_LEVEL_BASIS = "《国家税务总局关于纳税信用评价有关事项的公告》（国家税务总局公告2018年第8号）"
#: Tax credit indicators: the document kind in the reference of the decision that records one
#: (限改: order to correct, 简罚: summary penalty, 稽罚: inspection bureau penalty, 通: notice,
#: 信记: credit record) and the provision the conduct falls under.
TAX_INDICATORS = {
    "late_filing": ("限改", f"{TAX_LAW}第六十二条"),
    "late_payment": ("限改", f"{TAX_LAW}第三十二条"),
    "missing_records": ("限改", f"{TAX_LAW}第六十条"),
    "invoice_irregularity": ("简罚", f"{INVOICE_RULES}第三十五条"),
    "tax_evasion": ("稽罚", f"{TAX_LAW}第六十三条"),
    "false_vat_invoices": ("稽罚", f"{INVOICE_RULES}第三十七条"),
    "unpaid_after_deadline": ("通", f"{TAX_LAW}第六十八条"),
    "violence_against_collection": ("罚", f"{TAX_LAW}第六十七条"),
    "abnormal_taxpayer": ("通", "《税务登记管理办法》第四十条"),
    "newly_established": ("信记", M_LEVEL_BASIS),
    "no_revenue": ("信记", M_LEVEL_BASIS),
}
#: Companies by the ordinary indicators recorded against them in the date range: (share, fewest,
#: most records, indicator weights). Graded a few months after the range, the first profile
#: rarely loses its A, half the second drop to B, most of the third to C. Individual businesses
#: and cooperatives have half these shares.
TAX_PROFILES = (
    (0.15, 1, 2, (("late_filing", 50), ("late_payment", 35), ("invoice_irregularity", 15),
                  ("missing_records", 6))),
    (0.12, 2, 5, (("late_filing", 35), ("late_payment", 30), ("missing_records", 15),
                  ("invoice_irregularity", 20))),
    (0.03, 6, 12, (("late_filing", 35), ("late_payment", 30), ("missing_records", 20),
                   ("invoice_irregularity", 15))),
)  # fmt: skip
#: Conduct that makes the level D directly (Art. 20), by share of such cases.
TAX_DIRECT_D = (
    ("unpaid_after_deadline", 40),
    ("abnormal_taxpayer", 25),
    ("tax_evasion", 18),
    ("false_vat_invoices", 15),
    ("violence_against_collection", 2),
)
TAX_DIRECT_D_SHARE = 0.015
#: Share of the entities with a new-style code (MA..., issued since 2015) newly established.
TAX_NEW_SHARE = 0.12
TAX_NO_REVENUE_SHARE = 0.04
#: Indicator records the bureau withdraws later, on correction or review.
TAX_WITHDRAWN_SHARE = 0.03
#: Amounts in yuan where an indicator has one: lognormal mu and sigma, and the least amount
#: (evasion is direct D only from 100,000 yuan, Art. 20).
TAX_AMOUNTS = {
    "late_payment": (8.5, 1.4, 50.0),
    "unpaid_after_deadline": (10.5, 1.3, 1000.0),
    "tax_evasion": (12.5, 1.0, 100_000.0),
    "false_vat_invoices": (13.5, 1.2, 10_000.0),
}

#: Statuses a record type does not allow, for the "wrong status" defect.
WRONG_STATUS = {
    "court_judgment": ("listed", "in_force", "closed"),
    "administrative_penalty": ("valid", "performed", "paid"),
    "administrative_licence": ("in_force", "suspended"),
    "abnormal_operation": ("in_force", "revoked"),
    "tax_credit_rating": ("valid", "revoked"),
    "commendation": ("valid", "revoked"),
}
UNKNOWN_TYPES = ("credit_score", "social_behaviour", "blacklist_entry")
BAD_DATES = ("2026-13-45", "2026-02-30", "26/03/2026", "2026年3月5日", "2025-00-10")
PROHIBITED = (
    ("ethnicity", ("汉族", "回族", "维吾尔族", "藏族", "蒙古族", "壮族")),
    ("religion", ("佛教", "伊斯兰教", "基督教", "天主教", "道教")),
)
#: Defect kinds and weights; each defective row gets exactly one applicable defect.
DEFECTS = (
    ("bad_check", 25),
    ("missing_ref", 15),
    ("bad_date", 15),
    ("unknown_type", 12),
    ("bad_status", 13),
    ("missing_severity", 15),
    ("prohibited", 5),
)


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    province: str
    prefecture: str  # "" for municipalities and county-level units directly under a province
    county: str
    spans: tuple[tuple[int, int], ...]  # years in which some name of the code was in use

    @property
    def abbr(self) -> str:
        return PROVINCE_ABBR[self.code[:2]]

    @property
    def place(self) -> str:
        """Authorities are named after the city only for urban districts (北京市朝阳区,
        广州市天河区); counties and county-level cities stand alone (义乌市, 长兴县)."""
        if self.code[:2] in MUNICIPALITIES:
            return self.province + self.county
        if self.county.endswith("区") and self.prefecture.endswith("市"):
            return self.prefecture + self.county
        return self.county

    @property
    def city(self) -> str:
        """Enterprise names usually carry the city (深圳市...); where the prefecture is an
        autonomous prefecture or league, sources use the province short name instead."""
        if self.code[:2] in MUNICIPALITIES:
            return self.province
        if self.prefecture.endswith("市"):
            return self.prefecture
        return _province_short(self.province)

    def valid_in(self, year: int) -> bool:
        return any(lo <= year <= hi for lo, hi in self.spans)


def _province_short(name: str) -> str:
    return PROVINCE_SHORT.get(name) or name.removesuffix("省").removesuffix("市")


def _parse_names(raw: str) -> list[tuple[int, int, str]]:
    """Read ``[1983-1989]南头区办事处,[1990-]南山区`` into (first year, last year, name).

    Codes are reused and renamed over the decades; the year ranges tell which name is current
    and whether a resident ID issued in a given birth year may carry the code at all.
    """
    names = []
    for part in raw.split(","):
        lo, hi = 0, 9999
        if part.startswith("["):
            span, part = part[1:].split("]", 1)
            first, last = span.split("-")
            lo = int(first) if first else 0
            hi = int(last) if last else 9999
        names.append((lo, hi, part))
    return names


@lru_cache(maxsize=1)
def divisions() -> tuple[Division, ...]:
    """Current county-level divisions from python-stdnum's GB/T 2260 table.

    Only the table's own codes are used so every generated identifier passes the registry's
    division check; codes whose last name has an end year no longer exist and are left out.
    """
    db = numdb.get("cn/loc")
    out: list[Division] = []
    for length, low, high, props, children in db.prefixes:
        if length != 2 or low != high or low not in PROVINCE_ABBR:
            continue
        province = props.get("province", "")
        current: dict[str, tuple[str, tuple[tuple[int, int], ...]]] = {}
        for clen, clow, chigh, cprops, _ in children:
            if clen != 4:
                continue
            names = _parse_names(cprops.get("county", ""))
            if not names or names[-1][1] != 9999:
                continue
            spans = tuple((lo, hi) for lo, hi, _ in names)
            for n in range(int(clow), int(chigh) + 1):
                current[f"{n:04d}"] = (names[-1][2], spans)
        for sub, (name, spans) in current.items():
            code = low + sub
            if (
                sub.endswith("00")
                or "市辖区" in name
                or "办事处" in name
                or "區" in name
                or name in ("县", "市区")
            ):
                continue
            if not region_known(code):
                continue
            pref = current.get(sub[:2] + "00", ("", ()))[0]
            if low in MUNICIPALITIES or "直辖" in pref:
                pref = ""
            out.append(Division(code, province, pref, name, spans))
    return tuple(out)


@lru_cache(maxsize=1)
def _division_weights() -> tuple[float, ...]:
    """Cumulative weights: provinces by economic size, urban districts above rural counties."""
    divs = divisions()
    kind = [
        3.0 if d.county.endswith("区") else 2.0 if d.county.endswith("市") else 1.0 for d in divs
    ]
    per_province: dict[str, float] = {}
    for d, k in zip(divs, kind, strict=True):
        per_province[d.code[:2]] = per_province.get(d.code[:2], 0.0) + k
    weights = [
        PROVINCE_WEIGHT[d.code[:2]] * k / per_province[d.code[:2]]
        for d, k in zip(divs, kind, strict=True)
    ]
    return tuple(accumulate(weights))


def _cum(pairs: Iterable[tuple[object, float]]) -> list[float]:
    """Cumulative weights, so each draw is one ``random()`` and a bisect, not a linear scan."""
    return list(accumulate(float(w) for _, w in pairs))


@dataclass
class GenerateSummary:
    organisations: int
    persons: int
    files: dict[str, int]
    rows_with_errors: int
    rows_without_code: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(slots=True)
class _Subject:
    kind: str  # "organisation" or "person"
    row_id: str  # the identifier as sources write it (a 15-digit ID for some persons)
    canonical_id: str  # the register's form: always 18 characters
    name: str
    division: Division
    address: str
    legal_rep: str = ""
    entity: str = ""  # authority + type, e.g. "91"
    industry: Industry | None = None
    legacy_code: str = ""
    registration_no: str = ""
    birth_date: date | None = None


class _Spool:
    """Rows of one output file, bucketed by month on disk and sorted when the file is written.

    Sources list records in date order and resubmissions after the originals; sorting each
    month's bucket by (date, sequence) gives that order while memory holds one month at a time.
    """

    def __init__(self, tmp: Path, stem: str) -> None:
        self.tmp = tmp
        self.stem = stem
        self.buckets: dict[str, IO[str]] = {}
        self.columns: dict[str, None] = {}
        self.rows = 0

    def add(self, when: date, seq: int, row: dict[str, str]) -> None:
        key = when.isoformat()
        month = key[:7]
        fh = self.buckets.get(month)
        if fh is None:
            fh = open(self.tmp / f"{self.stem}-{month}.tmp", "w", encoding="utf-8")  # noqa: SIM115
            self.buckets[month] = fh
        fh.write(f"{key}\t{seq:012d}\t{json.dumps(row, ensure_ascii=False)}\n")
        for col in row:
            if col not in self.columns:
                self.columns[col] = None
        self.rows += 1

    def sorted_json(self) -> Iterator[str]:
        for month in sorted(self.buckets):
            fh = self.buckets[month]
            fh.close()
            path = Path(fh.name)
            lines = path.read_text(encoding="utf-8").splitlines()
            lines.sort()
            for line in lines:
                yield line.split("\t", 2)[2]
            path.unlink()

    def header(self) -> list[str]:
        known = [c for c in COLUMN_ORDER if c in self.columns or c in REQUIRED_COLUMNS]
        return known + [c for c in self.columns if c not in COLUMN_ORDER]

    def write_jsonl(self, path: Path) -> None:
        with path.open("w", encoding="utf-8", newline="\n") as out:
            for line in self.sorted_json():
                out.write(line + "\n")

    def write_csv(self, path: Path) -> None:
        header = self.header()
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(header)
            for line in self.sorted_json():
                row = json.loads(line)
                writer.writerow([row.get(c, "") for c in header])

    def close(self) -> None:
        for fh in self.buckets.values():
            fh.close()


@dataclass
class _Counters:
    errors: int = 0
    no_code: int = 0
    seq: int = 0
    ids: dict[str, int] = field(default_factory=dict)


class _Generator:
    def __init__(self, rng: Random, start: date, end: date, tmp: Path, tax_rng: Random) -> None:
        self.rng = rng
        self.tax_rng = tax_rng
        self.start = start
        self.end = end
        self.last_amendment = end + timedelta(days=90)
        self.divs = divisions()
        self.div_cum = _division_weights()
        self.always_valid = [d for d in self.divs if d.valid_in(1950)]
        self.surname_cum = _cum(SURNAMES)
        self.industry_cum = list(accumulate(i.weight for i in INDUSTRIES))
        self.org_kind_cum = _cum(ORG_KINDS)
        self.form_cum = _cum(LEGAL_FORMS)
        self.dishonest_cum = _cum(tuple((d[0], d[1]) for d in DISHONEST))
        self.field_cum = _cum(PENALTY_FIELDS)
        self.serious_cum = _cum(SERIOUS_FIELDS)
        self.cause_cum = _cum(ABNORMAL_CAUSES)
        self.level_cum = _cum(TAX_LEVELS)
        self.tax_profile_cums = [_cum(weights) for *_, weights in TAX_PROFILES]
        self.direct_d_cum = _cum(TAX_DIRECT_D)
        self.defect_cum = _cum(DEFECTS)
        self.court = _Spool(tmp, "court")
        self.samr = _Spool(tmp, "samr")
        self.tax = _Spool(tmp, "tax")
        self.n = _Counters()
        self.used_codes: set[str] = set()
        self.used_names: set[str] = set()
        self.used_ids: set[str] = set()
        self.codeless: dict[str, str] = {}  # source_record_id -> the subject, for the truth
        self.used_numbers: dict[str, set[int]] = {}
        self.tax_batches: dict[str, tuple[str, date]] = {}
        self.tax_province_no: dict[str, int] = {}
        if end.replace(month=4, day=30) <= end:
            self.tax_year = end.year - 1
        else:
            self.tax_year = end.year - 2

    # -- drawing helpers -------------------------------------------------------------------

    def index(self, cum: Sequence[float], rng: Random | None = None) -> int:
        return min(bisect_right(cum, (rng or self.rng).random() * cum[-1]), len(cum) - 1)

    def pick_pair(
        self, pairs: tuple[tuple[str, float], ...], cum: list[float], rng: Random | None = None
    ) -> str:
        return pairs[self.index(cum, rng)][0]

    def division(self) -> Division:
        return self.divs[self.index(self.div_cum)]

    def day(self, lo: date, hi: date, rng: Random | None = None) -> date:
        """A date in [lo, hi], mostly a working day, as decisions are."""
        rng = rng or self.rng
        span = max((hi - lo).days, 0)
        d = lo
        for _ in range(4):
            d = lo + timedelta(days=rng.randint(0, span))
            if d.weekday() < 5 or rng.random() < 0.15:
                break
        return d

    def later(self, after: date, min_days: int, max_days: int, rng: Random | None = None) -> date:
        """A follow-up date, never past the last date amendments are allowed to carry."""
        rng = rng or self.rng
        room = (self.last_amendment - after).days
        hi = max(min(max_days, room), min_days)
        return after + timedelta(days=rng.randint(min_days, hi))

    def ref_number(self, key: str, when: date, per_day: int, rng: Random | None = None) -> int:
        """Unique per office and year, and growing with the date as a real docket does, so
        references sorted by number and by date agree."""
        rng = rng or self.rng
        used = self.used_numbers.setdefault(f"{key}|{when.year}", set())
        n = (when.timetuple().tm_yday - 1) * per_day + rng.randint(1, per_day)
        while n in used:
            n += 1
        used.add(n)
        return n

    def next_id(self, prefix: str) -> str:
        n = self.n.ids.get(prefix, 0) + 1
        self.n.ids[prefix] = n
        return f"{prefix}-{n:06d}"

    def surname(self) -> str:
        return self.pick_pair(SURNAMES, self.surname_cum)

    def person_name(self, male: bool | None = None, surname: str = "") -> str:
        rng = self.rng
        surname = surname or self.surname()
        if male is None:
            male = rng.random() < 0.5
        pool = GIVEN_MALE if male else GIVEN_FEMALE
        if rng.random() < 0.3:
            return surname + rng.choice(pool)
        first = rng.choice(GIVEN_ANY) if rng.random() < 0.3 else rng.choice(pool)
        return surname + first + rng.choice(pool)

    def trade_name(self) -> str:
        rng = self.rng
        u = rng.random()
        if u < 0.45:
            return rng.choice(TRADE_WORDS)
        if u < 0.70:
            return "".join(rng.sample(TRADE_CHARS, 2))
        if u < 0.85:
            w = rng.choice(TRADE_WORDS)
            c = rng.choice(TRADE_CHARS)
            return w + c if rng.random() < 0.5 else c + w
        return rng.choice(TRADE_WORDS) + rng.choice(TRADE_WORDS)

    def address(self, div: Division) -> str:
        rng = self.rng
        prefix = div.province
        if div.prefecture.endswith(("市", "州", "盟", "地区")):
            prefix += div.prefecture
        road = rng.choice(ROADS) + rng.choice(("路", "路", "路", "路", "街", "大道"))
        text = f"{prefix}{div.county}{road}{rng.randint(1, 999)}号"
        if rng.random() < 0.25:
            text += f"{rng.randint(1, 30)}栋{rng.randint(1, 28)}{rng.randint(1, 20):02d}室"
        return text

    # -- subjects --------------------------------------------------------------------------

    def unique_name(self, make: Callable[[], str]) -> str:
        name = make()
        for _ in range(6):
            if name not in self.used_names:
                break
            name = make()
        self.used_names.add(name)
        return name

    def enterprise_name(self, div: Division, industry: Industry) -> str:
        rng = self.rng
        form = str(self.pick_pair(LEGAL_FORMS, self.form_cum))
        trade = self.trade_name()
        u = rng.random()
        if u < 0.12 and div.city.endswith("市"):
            name = f"{trade}（{div.city.removesuffix('市')}）{industry.word}{form}"
        elif u < 0.55:
            name = f"{div.city}{trade}{industry.word}{form}"
        elif u < 0.80:
            name = f"{_province_short(div.province)}{trade}{industry.word}{form}"
        elif div.county.endswith(("市", "县")):
            name = f"{div.county}{trade}{industry.word}{form}"
        else:
            name = f"{div.city}{trade}{industry.word}{form}"
        if rng.random() < 0.04:
            branch = div.county[:-1] if len(div.county) > 2 else div.county
            name = name.replace("股份有限公司", "有限公司") + f"{branch}分公司"
        return name

    def organisation(self) -> _Subject:
        rng = self.rng
        entity = str(self.pick_pair(ORG_KINDS, self.org_kind_cum))
        assert entity[1] in AUTHORITY_TYPES[entity[0]]
        div = self.division()
        legal_rep = self.person_name()
        industry: Industry | None = None
        legacy_org = entity[0] != "9" or rng.random() < 0.55
        while True:
            if legacy_org:
                base = "".join(rng.choices("0123456789", k=8))
            else:
                base = "MA" + "".join(rng.choices(ALPHABET, k=6))
            if base not in self.used_codes:
                self.used_codes.add(base)
                break
        code = build_uscc(entity[0], entity[1], div.code, base)
        city = div.city
        if entity == "91":
            ind = INDUSTRIES[self.index(self.industry_cum)]
            industry = ind
            name = self.unique_name(lambda: self.enterprise_name(div, ind))
        elif entity == "92":
            shop, fld, licence = rng.choice(SHOPS)
            industry = Industry(shop, fld, (licence,) if licence else (), 1)
            surname = self.surname()
            legal_rep = self.person_name(surname=surname)
            name = self.unique_name(
                lambda: (
                    f"{div.county}{surname}记{shop}"
                    if rng.random() < 0.5
                    else f"{div.county}{self.trade_name()}{shop}"
                )
            )
        elif entity == "93":
            product = rng.choice(COOP_PRODUCTS)
            industry = Industry(product, "food", ("食品生产许可证",), 1)
            name = self.unique_name(lambda: f"{div.county}{self.trade_name()}{product}专业合作社")
        elif entity == "51":
            topic = rng.choice(("电子商务", "物流", "餐饮", "软件", "建筑业", "个体劳动者", "旅游"))
            kind = rng.choice(("协会", "协会", "商会", "学会"))
            name = self.unique_name(lambda: f"{city}{topic}{kind}")
        elif entity == "52":
            kind = rng.choice(("职业技能培训学校", "养老院", "幼儿园", "社会工作服务中心"))
            name = self.unique_name(lambda: f"{city}{self.trade_name()}{kind}")
        elif entity == "53":
            kind = rng.choice(("慈善基金会", "教育基金会", "助学基金会"))
            name = self.unique_name(
                lambda: f"{_province_short(div.province)}{self.trade_name()}{kind}"
            )
        else:
            kind = rng.choice(
                ("人民医院", "中医医院", "疾病预防控制中心", "第一中学", "实验小学", "图书馆")
            )
            name = self.unique_name(lambda: f"{div.place}{kind}")
        registration_no = ""
        if entity[0] == "9" and legacy_org and rng.random() < 0.8:
            body = div.code + "".join(rng.choices("0123456789", k=8))
            registration_no = body + mod_11_10.calc_check_digit(body)
        return _Subject(
            kind="organisation",
            row_id=code,
            canonical_id=code,
            name=name,
            division=div,
            address=self.address(div),
            legal_rep=legal_rep,
            entity=entity,
            industry=industry,
            legacy_code=f"{code[8:16]}-{code[16]}",
            registration_no=registration_no,
        )

    def person(self) -> _Subject:
        rng = self.rng
        minor = rng.random() < 0.02
        for _ in range(50):
            if minor:
                born = date(rng.randint(2009, 2012), 1, 1)
            else:
                born = date(min(int(rng.triangular(1950, 2005, 1978)), 2004), 1, 1)
            born += timedelta(days=rng.randint(0, 364))
            # The number must name a division that existed in the birth year.
            div = self.division()
            for _ in range(5):
                if div.valid_in(born.year):
                    break
                div = self.division()
            else:
                div = rng.choice(self.always_valid)
            male = rng.random() < 0.55
            seq = rng.randrange(0, 500) * 2 + 1 if male else rng.randrange(0, 499) * 2 + 2
            first17 = f"{div.code}{born:%Y%m%d}{seq:03d}"
            number = first17 + ric.calc_check_digit(first17 + "0")
            if number not in self.used_ids:
                break
        self.used_ids.add(number)
        row_id = number
        if born.year < 2000 and rng.random() < 0.02:
            row_id = number[:6] + number[8:17]
        home = div if rng.random() < 0.7 else self.division()
        return _Subject(
            kind="person",
            row_id=row_id,
            canonical_id=number,
            name=self.person_name(male),
            division=home,
            address=self.address(home),
            birth_date=born,
        )

    def subject_line(self, s: _Subject) -> dict[str, str]:
        if s.kind == "person":
            assert s.birth_date is not None
            line = {
                "subject_id": s.canonical_id,
                "kind": "person",
                "name": s.name,
                "birth_date": s.birth_date.isoformat(),
                "division": s.canonical_id[:6],
                "address": s.address,
            }
            if s.canonical_id != s.row_id:
                line["legacy_id"] = s.row_id
            return line
        line = {
            "subject_id": s.row_id,
            "kind": "organisation",
            "name": s.name,
            "division": s.division.code,
            "address": s.address,
            "legal_representative": s.legal_rep,
            "legacy_code": s.legacy_code,
        }
        if s.registration_no:
            line["registration_no"] = s.registration_no
        return line

    # -- records ---------------------------------------------------------------------------

    def base_row(self, source_id: str, record_type: str, s: _Subject) -> dict[str, str]:
        return {
            "source_record_id": source_id,
            "record_type": record_type,
            "subject_id": s.row_id,
            "subject_name": s.name,
        }

    def emit(
        self,
        spool: _Spool,
        when: date,
        row: dict[str, str],
        s: _Subject,
        *,
        amended: bool = False,
        json_lines: bool = False,
        clean: bool = False,
    ) -> None:
        """Write one row, giving a few their single defect or dropping their identifier.

        Records that will be resubmitted stay clean so the pair always matches up, as do rows
        written with ``clean`` (they draw no number from ``rng`` either).
        """
        if not (amended or clean):
            u = self.rng.random()
            if u < ERROR_RATE:
                self.defect(row, s)
                self.n.errors += 1
            elif u < ERROR_RATE + NO_CODE_RATE:
                self.without_code(row, s, json_lines=json_lines)
                self.n.no_code += 1
        self.n.seq += 1
        spool.add(when, self.n.seq, row)

    def defect(self, row: dict[str, str], s: _Subject) -> None:
        rng = self.rng
        record_type = row["record_type"]
        while True:
            kind = str(self.pick_pair(DEFECTS, self.defect_cum))
            if kind == "bad_check" and len(row.get("subject_id", "")) == 18:
                good = row["subject_id"][-1]
                pool = ALPHABET if s.kind == "organisation" else "0123456789X"
                row["subject_id"] = row["subject_id"][:-1] + rng.choice(pool.replace(good, ""))
                return
            if kind == "missing_ref":
                del row["decision_ref"]
                return
            if kind == "bad_date":
                row["decided_on"] = rng.choice(BAD_DATES)
                return
            if kind == "unknown_type":
                row["record_type"] = rng.choice(UNKNOWN_TYPES)
                return
            if kind == "bad_status":
                row["status"] = rng.choice(WRONG_STATUS[record_type])
                return
            if kind == "missing_severity" and record_type == "administrative_penalty":
                del row["severity"]
                return
            if kind == "prohibited":
                column, values = rng.choice(PROHIBITED)
                row[column] = rng.choice(values)
                return

    def without_code(self, row: dict[str, str], s: _Subject, *, json_lines: bool) -> None:
        rng = self.rng
        self.codeless[row["source_record_id"]] = s.canonical_id
        if json_lines and rng.random() < 0.5:
            del row["subject_id"]
        else:
            row["subject_id"] = ""
        row["subject_name"] = self.variant(s.name)
        if s.kind == "organisation":
            if self.n.no_code % 3:  # a third come without the legacy code: the model's work
                row["subject_legacy_code"] = s.legacy_code
            if s.registration_no and rng.random() < 0.5:
                row["subject_registration_no"] = s.registration_no
        address = s.address
        if rng.random() < 0.4:
            address = address.removeprefix(s.division.province)
        if s.kind == "organisation" or rng.random() < 0.6:
            row["subject_address"] = address
        if s.kind == "organisation":
            row["subject_legal_representative"] = s.legal_rep
        row["subject_kind"] = s.kind

    def variant(self, name: str) -> str:
        """The name as a clerk might type it: half-width brackets, the legal form left off."""
        rng = self.rng
        if "（" in name and rng.random() < 0.6:
            return name.replace("（", "(").replace("）", ")")
        for form in ("股份有限公司", "有限责任公司", "有限公司"):
            if form in name and rng.random() < 0.45:
                return name.replace(form, "", 1)
        return name

    def court_judgment(self, s: _Subject) -> None:
        rng = self.rng
        div = s.division
        decided = self.day(self.start, self.end)
        number = self.ref_number(f"court{div.code}", decided, 8)
        case_ref = f"（{decided.year}）{div.abbr}{div.code[2:6]}执{number}号"
        if s.kind == "person":
            amount = min(max(rng.lognormvariate(10.8, 1.2), 500), 2e7)
        else:
            amount = min(max(rng.lognormvariate(12.2, 1.5), 1000), 5e8)
        amount_text = f"{amount:.2f}" if rng.random() < 0.2 else str(round(amount))
        row = self.base_row(self.next_id("CT"), "court_judgment", s)
        row["authority"] = f"{div.place}人民法院"
        row["decision_ref"] = case_ref
        row["decided_on"] = decided.isoformat()
        row["legal_basis"] = CONSUMPTION_BASIS
        row["status"] = "unperformed"
        row["amount_yuan"] = amount_text
        if rng.random() < 0.7:
            conduct, _, item = DISHONEST[self.index(self.dishonest_cum)]
            row["legal_basis"] = f"{COURT_LISTING_BASIS}第一条第{item}项"
            row["dishonest_conduct"] = conduct
            if rng.random() < 0.85:
                row["listing_decision_ref"] = case_ref.removesuffix("号") + "号之一"
                if conduct != "able_but_refuses" and rng.random() < 0.5:
                    row["listing_term_years"] = str(rng.choices((2, 3, 4, 5), (55, 25, 12, 8))[0])
        if s.kind == "organisation" and rng.random() < 0.8:
            row["subject_legal_representative"] = s.legal_rep
        performed = rng.random() < 0.25
        self.emit(self.court, decided, row, s, amended=performed, json_lines=True)
        if performed:
            on = self.later(decided, 30, 183)
            again = dict(row)
            again["status"] = "performed"
            again["performed_on"] = on.isoformat()
            self.emit(self.court, on, again, s, amended=True, json_lines=True)

    def samr_ref(self, div: Division, kind: str, when: date, per_day: int) -> str:
        prefix = f"{div.abbr}{div.county[0]}市监{kind}"
        return f"{prefix}〔{when.year}〕{self.ref_number(prefix, when, per_day)}号"

    def samr_authority(self, div: Division) -> str:
        return f"{div.place}市场监督管理局"

    def licence(self, s: _Subject) -> None:
        rng = self.rng
        div = s.division
        assert s.industry is not None
        kind = rng.choice(s.industry.licences)
        decided = self.day(self.start, self.end)
        row = self.base_row(self.next_id("SAMR-L"), "administrative_licence", s)
        if s.kind == "organisation":
            # the licensing authority has the registered address and legal representative
            row["subject_address"] = s.address
            row["subject_legal_representative"] = s.legal_rep
        row["authority"] = self.samr_authority(div)
        row["decision_ref"] = self.samr_ref(div, "许", decided, 10)
        row["decided_on"] = decided.isoformat()
        row["legal_basis"] = LICENCE_BASIS
        u = rng.random()
        status = "valid" if u < 0.95 else "revoked" if u < 0.98 else "expired"
        row["status"] = status
        row["licence_kind"] = kind
        row["licence_no"] = self.licence_no(kind, div, decided)
        if status == "expired":
            until = self.later(decided, 60, 300)
            until = min(until, self.end)
        else:
            until = _add_years(decided, rng.choice((3, 5, 5))) - timedelta(days=1)
        row["valid_until"] = until.isoformat()
        self.emit(self.samr, decided, row, s)

    def licence_no(self, kind: str, div: Division, when: date) -> str:
        rng = self.rng
        digits = "0123456789"
        if kind == "食品经营许可证":
            return f"JY{rng.choice('123')}{div.code}{''.join(rng.choices(digits, k=7))}"
        if kind == "食品生产许可证":
            return f"SC{rng.randint(101, 131)}{div.code}{''.join(rng.choices(digits, k=5))}"
        if kind == "药品经营许可证":
            return f"{div.abbr}{rng.choice('AB')}A{''.join(rng.choices(digits, k=7))}"
        if kind == "医疗器械经营许可证":
            return f"{div.abbr}{div.county[0]}市监械经营许{when.year}{rng.randint(1, 9999):04d}号"
        if kind.startswith("特种设备"):
            return f"TS{rng.randint(1, 9)}{div.code[:2]}{rng.randint(1, 99999):05d}-{when.year + 4}"
        if kind == "道路货物运输经营许可证":
            return f"{div.abbr}交运管许可{div.county[0]}字{div.code}{rng.randint(1, 99999):06d}号"
        return f"XK{rng.randint(1, 30):02d}-{rng.randint(1, 999):03d}-{rng.randint(1, 99999):05d}"

    def penalty(self, s: _Subject) -> None:
        rng = self.rng
        div = s.division
        assert s.industry is not None
        u = rng.random()
        severity = "minor" if u < 0.65 else "general" if u < 0.93 else "serious"
        if severity == "serious":
            serious = {f for f, _ in SERIOUS_FIELDS}
            if s.industry.field in serious and rng.random() < 0.7:
                fld = s.industry.field
            elif rng.random() < 0.9:
                fld = str(self.pick_pair(SERIOUS_FIELDS, self.serious_cum))
            else:
                fld = rng.choice(("environment", "safety"))
            kind = rng.choices(
                ("licence_revocation", "business_restriction", "fine"), (35, 20, 45)
            )[0]
            fine: int | None = rng.randint(200, 5000) * 1000
        elif severity == "general":
            fld = (
                s.industry.field
                if rng.random() < 0.6
                else str(self.pick_pair(PENALTY_FIELDS, self.field_cum))
            )
            kind = rng.choices(("fine", "confiscation", "licence_suspension"), (70, 20, 10))[0]
            fine = rng.randint(10, 200) * 1000
        else:
            fld = (
                s.industry.field
                if rng.random() < 0.6
                else str(self.pick_pair(PENALTY_FIELDS, self.field_cum))
            )
            if rng.random() < 0.45:
                kind, fine = "warning", None
            else:
                kind, fine = "fine", rng.randint(5, 200) * 100
        decided = self.day(self.start, self.end)
        row = self.base_row(self.next_id("SAMR-P"), "administrative_penalty", s)
        row["authority"] = self.samr_authority(div)
        row["decision_ref"] = self.samr_ref(div, "罚", decided, 3)
        row["decided_on"] = decided.isoformat()
        row["legal_basis"] = rng.choice(PENALTY_BASIS[fld])
        row["status"] = "in_force" if rng.random() < 0.97 else "revoked"
        row["severity"] = severity
        row["penalty_kind"] = kind
        if fine is not None:
            row["fine_yuan"] = str(fine)
        row["field_of_law"] = fld
        if fine is not None and row["status"] == "in_force" and rng.random() < 0.75:
            row["performed_on"] = self.later(decided, 5, 60).isoformat()
        self.emit(self.samr, decided, row, s)

    def abnormal(self, s: _Subject) -> None:
        rng = self.rng
        div = s.division
        decided = self.day(self.start, self.end)
        row = self.base_row(self.next_id("SAMR-A"), "abnormal_operation", s)
        row["authority"] = self.samr_authority(div)
        row["decision_ref"] = self.samr_ref(div, "异", decided, 4)
        row["decided_on"] = decided.isoformat()
        row["legal_basis"] = ABNORMAL_BASIS
        row["status"] = "listed"
        row["cause"] = str(self.pick_pair(ABNORMAL_CAUSES, self.cause_cum))
        removed = rng.random() < 0.3
        self.emit(self.samr, decided, row, s, amended=removed)
        if removed:
            on = self.later(decided, 20, 300)
            again = dict(row)
            again["status"] = "removed"
            again["removed_on"] = on.isoformat()
            self.emit(self.samr, on, again, s, amended=True)

    def commendation(self, s: _Subject) -> None:
        rng = self.rng
        div = s.division
        title, body_kind = rng.choice(COMMENDATIONS)
        if body_kind == "province_samr":
            body = f"{div.province}市场监督管理局"
        elif body_kind == "city_samr":
            body = f"{div.city}市场监督管理局"
        else:
            body = f"{div.city}人民政府"
        decided = self.day(self.start, self.end)
        row = self.base_row(self.next_id("SAMR-C"), "commendation", s)
        row["authority"] = self.samr_authority(div)
        row["decision_ref"] = self.samr_ref(div, "表", decided, 1)
        row["decided_on"] = decided.isoformat()
        row["legal_basis"] = COMMENDATION_BASIS
        row["status"] = "conferred" if rng.random() < 0.97 else "withdrawn"
        row["title"] = title
        row["conferring_body"] = body
        self.emit(self.samr, decided, row, s)

    def tax_rating(self, s: _Subject) -> None:
        rng = self.rng
        div = s.division
        batch = self.tax_batches.get(div.code)
        if batch is None:
            # One announcement per county bureau, numbered within the province.
            year = self.tax_year + 1
            n = self.tax_province_no.get(div.code[:2], rng.randint(0, 4)) + 1
            self.tax_province_no[div.code[:2]] = n
            when = self.day(date(year, 4, 1), date(year, 4, 30))
            batch = (f"{div.abbr}税信评〔{year}〕{n}号", when)
            self.tax_batches[div.code] = batch
        ref, when = batch
        level = str(self.pick_pair(TAX_LEVELS, self.level_cum))
        lo, hi = {"A": (90, 100), "B": (70, 89), "M": (70, 100), "C": (40, 69), "D": (0, 39)}[level]
        row = self.base_row(self.next_id("TAX"), "tax_credit_rating", s)
        row["authority"] = f"国家税务总局{div.place}税务局"
        row["decision_ref"] = ref
        row["decided_on"] = when.isoformat()
        row["legal_basis"] = TAX_BASIS
        row["status"] = "issued"
        row["tax_year"] = str(self.tax_year)
        row["level"] = level
        row["score"] = str(rng.randint(lo, hi))
        self.emit(self.tax, when, row, s)

    def tax_indicators(self, s: _Subject) -> None:
        """The tax bureau's indicator records of one market entity, which the registry's own
        tax credit grade deducts points from (or sets level D or M by).

        Everything here draws from ``tax_rng``, so adding these rows left every other row of a
        seed as it was; the rows are clean, so the defect and review counts stay those of the
        other rows and every indicator reaches the grade. Most entities have none.
        """
        rng = self.tax_rng
        scale = 1.0 if s.entity == "91" else 0.5
        kinds: list[str] = []
        u = rng.random()
        for (share, fewest, most, pairs), cum in zip(
            TAX_PROFILES, self.tax_profile_cums, strict=True
        ):
            if u < share * scale:
                n = rng.randint(fewest, most)
                kinds.extend(self.pick_pair(pairs, cum, rng) for _ in range(n))
                break
            u -= share * scale
        if rng.random() < TAX_DIRECT_D_SHARE * scale:
            kinds.append(self.pick_pair(TAX_DIRECT_D, self.direct_d_cum, rng))
        if s.canonical_id[8:10] == "MA" and rng.random() < TAX_NEW_SHARE:
            kinds.append("newly_established")
        elif rng.random() < TAX_NO_REVENUE_SHARE * scale:
            kinds.append("no_revenue")
        for kind in kinds:
            self.tax_indicator(s, kind)

    def tax_day(self) -> date:
        """Most indicator dates fall in the last year of the range: a grade taken soon after
        the range counts a year of records, and should find some."""
        rng = self.tax_rng
        recent = max(self.start, self.end - timedelta(days=364))
        return self.day(recent if rng.random() < 0.6 else self.start, self.end, rng)

    def tax_indicator(self, s: _Subject, indicator: str) -> None:
        rng = self.tax_rng
        div = s.division
        kind, basis = TAX_INDICATORS[indicator]
        decided = self.tax_day()
        if kind == "稽罚":
            # Evasion and false invoices are the inspection bureau's, one per city.
            authority = f"国家税务总局{div.prefecture or div.province}税务局第一稽查局"
            prefix = f"{div.abbr}{(div.prefecture or div.province)[0]}税稽罚"
        else:
            authority = f"国家税务总局{div.place}税务局"
            prefix = f"{div.abbr}{div.county[0]}税{kind}"
        number = self.ref_number(authority + kind, decided, 3 if kind == "限改" else 1, rng)
        row = self.base_row(self.next_id("TAX-I"), "tax_compliance", s)
        row["authority"] = authority
        row["decision_ref"] = f"{prefix}〔{decided.year}〕{number}号"
        row["decided_on"] = decided.isoformat()
        row["legal_basis"] = basis
        row["status"] = "recorded"
        row["indicator"] = indicator
        row["tax_year"] = str(decided.year - 1 if indicator == "no_revenue" else decided.year)
        if indicator in TAX_AMOUNTS:
            mu, sigma, least = TAX_AMOUNTS[indicator]
            row["amount_yuan"] = f"{max(rng.lognormvariate(mu, sigma), least):.2f}"
        self.emit(self.tax, decided, row, s, clean=True)
        if rng.random() < TAX_WITHDRAWN_SHARE:
            again = dict(row)
            again["status"] = "withdrawn"
            self.emit(self.tax, self.later(decided, 10, 120, rng), again, s, clean=True)

    def records(self, s: _Subject) -> None:
        rng = self.rng
        if s.kind == "person":
            assert s.birth_date is not None
            if s.birth_date.year >= 2009 or rng.random() < 0.4:
                self.court_judgment(s)
            return
        if rng.random() < 0.03:
            self.court_judgment(s)
        if s.entity[0] != "9":
            return
        # 0.68 of the licensable kinds is about 60% of all organisations.
        if rng.random() < 0.68 and s.industry is not None and s.industry.licences:
            self.licence(s)
        if rng.random() < 0.12:
            self.penalty(s)
        if rng.random() < 0.05:
            self.abnormal(s)
        if rng.random() < 0.015:
            self.commendation(s)
        if s.entity == "91" and rng.random() < 0.75:
            self.tax_rating(s)
        self.tax_indicators(s)


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def generate(
    entities: int,
    out: Path,
    *,
    seed: int = 0,
    start: date = date(2025, 1, 1),
    end: date = date(2026, 6, 30),
    progress: Callable[[int], None] | None = None,
) -> GenerateSummary:
    """Write the three agency files and the register extract they refer to.

    The register extract (subjects.jsonl) is the ground truth the agency rows can be matched
    against. ``progress`` receives increments of entities so a progress bar can follow a large
    run. The same seed and arguments always give byte-identical files.
    """
    if entities < 0:
        raise ValueError("entities must not be negative")
    if end < start:
        raise ValueError("end must not be before start")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = Random(seed)
    organisations = persons = 0
    pending = 0
    with tempfile.TemporaryDirectory(prefix="socialcredit-generate-") as tmp:
        gen = _Generator(rng, start, end, Path(tmp), Random(f"{seed}/tax_compliance"))
        try:
            with (out / SUBJECTS_FILE).open("w", encoding="utf-8", newline="\n") as subjects:
                for i in range(entities):
                    if rng.random() < 0.92:
                        subject = gen.organisation()
                        organisations += 1
                    else:
                        subject = gen.person()
                        persons += 1
                    line = gen.subject_line(subject)
                    subjects.write(json.dumps(line, ensure_ascii=False) + "\n")
                    gen.records(subject)
                    pending += 1
                    # The last batch is reported after the files are written, so a
                    # progress bar does not sit at 100% while the spools are sorted.
                    if pending == 1000 and progress is not None and i + 1 < entities:
                        progress(pending)
                        pending = 0
            gen.court.write_jsonl(out / COURT_FILE)
            gen.samr.write_csv(out / SAMR_FILE)
            gen.tax.write_csv(out / TAX_FILE)
            with (out / CODELESS_FILE).open("w", encoding="utf-8", newline="\n") as f:
                for rid, code in sorted(gen.codeless.items()):
                    f.write(json.dumps({"source_record_id": rid, "subject_id": code}) + "\n")
        finally:
            for spool in (gen.court, gen.samr, gen.tax):
                spool.close()
    if progress is not None and pending:
        progress(pending)
    return GenerateSummary(
        organisations=organisations,
        persons=persons,
        files={
            COURT_FILE: gen.court.rows,
            SAMR_FILE: gen.samr.rows,
            TAX_FILE: gen.tax.rows,
            SUBJECTS_FILE: entities,
        },
        rows_with_errors=gen.n.errors,
        rows_without_code=gen.n.no_code,
    )
