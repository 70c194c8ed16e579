"""Names and addresses folded into forms that compare, for resolution only.

Sources write one organisation's name several ways: full-width or half-width brackets, with or
without spaces, with the legal form (有限公司, 有限责任公司, 股份有限公司) or without it. Before any
comparison each name is folded the same way; the original text is kept everywhere else (records,
events, pages), so a normalised form never replaces what a source wrote.

Width folding is Unicode NFKC (``unicodedata``). The legal forms are a closed list written out
below: the company-type tables of name-matching libraries (rigour's ``org_types``, which
followthemoney brings in) only match a form between word boundaries, and Chinese names have no
spaces, so ``深圳市腾飞科技有限公司`` keeps its form there. Province names for addresses come from
the GB/T 2260 table python-stdnum ships; there is no gazetteer of our own.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from stdnum import numdb

#: Bump when a change here could make two names agree that did not (or the reverse): a
#: deterministic link records the version it was made under.
VERSION = 1

_OPEN = "([{【〔〖〘［｛「『"
_CLOSE = ")]}】〕〗〙］｝」』"
_BRACKETS = str.maketrans({**dict.fromkeys(_OPEN, "("), **dict.fromkeys(_CLOSE, ")")})

#: Legal-form suffixes, longest first where one ends another. Company Law (公司法) Art. 2: 有限责任
#: 公司 and 股份有限公司 (有限公司 is the common short form of the first); group companies
#: (集团) and the Partnership Enterprise Law (合伙企业法) and Sole Proprietorship Enterprise Law
#: (个人独资企业法) forms. A name without its form is the same name for comparison: the form is
#: what clerks leave off, whole or in part (``…股份`` for ``…股份有限公司``).
LEGAL_FORMS = (
    "集团股份有限公司",
    "集团有限责任公司",
    "集团有限公司",
    "股份有限公司",
    "有限责任公司",
    "合伙企业特殊普通合伙",
    "合伙企业普通合伙",
    "合伙企业有限合伙",
    "个人独资企业",
    "特殊普通合伙",
    "有限公司",
    "普通合伙",
    "有限合伙",
    "合伙企业",
    "集团公司",
    "集团股份",
    "集团",
    "公司",
    "股份",
)

#: Branch suffixes: a branch (分公司) has its own code and is not its head office, so a branch
#: name never agrees with its head office's name.
BRANCH_SUFFIXES = (
    "分公司",
    "分店",
    "营业部",
    "分厂",
    "分部",
    "分所",
    "分行",
    "支行",
    "办事处",
)

#: Address spellings of one thing, as (variant, canonical), applied in order after folding:
#: a building is written 3号楼, 3#楼, 3幢 or 3栋; a room 1201室 or 1201.
ADDRESS_VARIANTS = (
    ("#楼", "栋"),
    ("号楼", "栋"),
    ("幢", "栋"),
    ("#", "号"),
)


def _clean(text: str, keep: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_BRACKETS)
    return "".join(ch for ch in folded if ch in keep or unicodedata.category(ch)[0] in "LN")


def fold(text: str) -> str:
    """NFKC (full-width to half-width), case-folded, brackets unified to ``()``; spaces,
    punctuation and symbols other than brackets removed."""
    return _clean(text, "()")


def _bare(text: str) -> str:
    """Folded and without brackets: ``腾飞（深圳）科技`` and ``腾飞深圳科技`` are one name."""
    return _clean(text, "")


@dataclass(frozen=True, slots=True)
class OrgName:
    """An organisation name taken apart for comparison.

    ``base`` is the name without its legal form and branch suffix (the branch's own name, e.g.
    南山 in ``…有限公司南山分公司``, stays in it); ``branch`` is the branch suffix or None. Two
    names agree when their ``key`` is equal: the legal form does not count, the branch does.
    """

    original: str
    folded: str
    base: str
    legal_form: str | None
    branch: str | None

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.base, self.branch)


def org_name(text: str) -> OrgName:
    s = _bare(text)
    branch: str | None = None
    for suffix in BRANCH_SUFFIXES:
        if s.endswith(suffix) and len(s) > len(suffix):
            branch, s = suffix, s[: -len(suffix)]
            break
    form: str | None = None
    if branch is None:
        f = next((f for f in LEGAL_FORMS if s.endswith(f)), None)
        if f is not None and len(s) > len(f):  # a form alone is a name, not nothing
            form, s = f, s[: -len(f)]
    else:
        # head office name, its form, then the branch's own name: 腾飞科技有限公司 南山 分公司
        at, f = _last_form(s)
        if f is not None and at > 0:
            form, s = f, s[:at] + s[at + len(f) :]
    return OrgName(text, fold(text), s, form, branch)


def _last_form(s: str) -> tuple[int, str | None]:
    """The legal form that ends last in ``s`` (the longest of those ending there)."""
    best: tuple[int, int, str] | None = None
    for f in LEGAL_FORMS:
        at = s.rfind(f)
        if at < 0:
            continue
        cand = (at + len(f), len(f), f)
        if best is None or cand[:2] > best[:2]:
            best = cand
    if best is None:
        return -1, None
    end, length, f = best
    return end - length, f


def names_agree(a: str, b: str) -> bool:
    """Whether two organisation names are the same name once folded, the legal form aside."""
    return org_name(a).key == org_name(b).key


@lru_cache(maxsize=1)
def _provinces() -> tuple[str, ...]:
    """Province-level names of GB/T 2260 (python-stdnum's table), longest first, folded."""
    names = {
        fold(props["province"])
        for length, _lo, _hi, props, _children in numdb.get("cn/loc").prefixes
        if length == 2 and props.get("province")
    }
    return tuple(sorted(names, key=len, reverse=True))


@dataclass(frozen=True, slots=True)
class Address:
    """An address folded for comparison: the province it starts with (when it names one) set
    apart, because sources often leave it off, and the rest with its variants unified."""

    original: str
    province: str | None
    rest: str

    @property
    def key(self) -> str:
        return self.rest


def address(text: str) -> Address:
    s = _clean(text, "#")
    province = next((p for p in _provinces() if s.startswith(p) and len(s) > len(p)), None)
    if province is not None:
        s = s[len(province) :]
    for variant, canonical in ADDRESS_VARIANTS:
        s = s.replace(variant, canonical)
    if s.endswith("室"):
        s = s[:-1]
    return Address(text, province, s)


def addresses_agree(a: str, b: str) -> bool:
    """The same address once folded; a province written on one side only does not count."""
    x, y = address(a), address(b)
    return x.rest == y.rest and (
        x.province is None or y.province is None or x.province == y.province
    )


#: Traditional characters met in organisation names, addresses and personal names, and their
#: simplified forms: sources in Hong Kong, Macao and Taiwan, and older records, write them.
#: A closed table (no conversion library is a dependency); a character not in it is kept.
TRADITIONAL = dict(
    zip(
        "華東國貿發業廣門電氣車書長龍興達豐順榮創聯匯潤遠錦責團飲醫藥農產計網絡雲數據務設備築"
        "運輸傳實驗學術會協環節機儀動場館資諮詢銷進區縣號棟樓嶺灣濱蘇閩贛魯粵瓊陝寧遼內貴滬晉"
        "陽鄉鎮莊臺島廈漢瀋濟鄭蘭烏齊爾連開頭馬魚鳥風飛體樂師聽問間關紡織絲紅線綠針鋼鐵鋁銀銅"
        "鋒錢時際現經營廠裝飾維護熱視訊鴻鵬鳳偉軍強傑濤輝凱帥麗艷穎潔瑩曉劉陳楊趙吳孫羅謝許韓"
        "馮鄧蔣葉呂盧鍾譚陸賈韋鄒閆賀顧龔萬嚴湯個體勞專業合作社記醫療圖書幣價質權証證總廳局",
        "华东国贸发业广门电气车书长龙兴达丰顺荣创联汇润远锦责团饮医药农产计网络云数据务设备筑"
        "运输传实验学术会协环节机仪动场馆资咨询销进区县号栋楼岭湾滨苏闽赣鲁粤琼陕宁辽内贵沪晋"
        "阳乡镇庄台岛厦汉沈济郑兰乌齐尔连开头马鱼鸟风飞体乐师听问间关纺织丝红线绿针钢铁铝银铜"
        "锋钱时际现经营厂装饰维护热视讯鸿鹏凤伟军强杰涛辉凯帅丽艳颖洁莹晓刘陈杨赵吴孙罗谢许韩"
        "冯邓蒋叶吕卢钟谭陆贾韦邹闫贺顾龚万严汤个体劳专业合作社记医疗图书币价质权证证总厅局",
        strict=True,
    )
)
_T2S = str.maketrans(TRADITIONAL)


def simplified(text: str) -> str:
    """Traditional characters of ``TRADITIONAL`` in their simplified forms."""
    return text.translate(_T2S)
