"""The categories of data the registry never holds (DESIGN.md section 2, data minimisation).

This list lives in code, not in a pack: a pack cannot opt out of it. A name is compared three
ways, each catching what the others miss:

- Chinese terms anywhere in it (Chinese has no spaces between words): ``宗教信仰``, ``民族``;
- English (and pinyin) words, split at separators and camelCase, plurals read as singulars:
  ``postal_code`` is fine, ``weibo_posts`` and ``Religions`` are not;
- stems inside words run together or split oddly: ``bloodtype``, ``finger_print``,
  ``socialMediaHandle``; and a word that begins with a prohibited word of five letters or more
  (``partymember``, ``spousename``). Shorter words run together (``faceimage``) are not caught:
  their prefixes are too common (``postal``, ``general``, ``kind``).

Before that the name is folded: full-width letters and digits to ASCII (NFKC), accents and
other combining marks and invisible characters dropped, and Cyrillic or Greek letters that
look Latin read as Latin, so that ``ｒｅｌｉｇｉｏｎ``, ``religión``, ``reli\u200bgion`` and
``rеligion`` (Cyrillic е) are all ``religion``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

PROHIBITED: dict[str, frozenset[str]] = {
    "biometrics": frozenset(
        {
            "biometric",
            "biometrics",
            "face",
            "facial",
            "faceprint",
            "fingerprint",
            "iris",
            "retina",
            "voiceprint",
            "palmprint",
            "gait",
            "dna",
            "genetic",
            "genome",
            "gene",
            "genes",
            "photo",
            "photograph",
            "portrait",
            "selfie",
            "renlian",
            "zhiwen",
        }
    ),
    "political opinion": frozenset(
        {
            "political",
            "politics",
            # "party" alone is mostly a party to a case (当事人, third_party, parties_notified)
            "party_member",
            "party_membership",
            "party_affiliation",
            "ccp",
            "cpc",
            "communist",
            "ideology",
            "opinion",
            "petition",
            "petitioner",
            "protest",
            "protester",
            "dissident",
            "dissent",
            "activist",
            "zhengzhi",
            "xinfang",
            "shangfang",
        }
    ),
    "religious opinion": frozenset(
        {
            "religion",
            "religious",
            "faith",
            "belief",
            "creed",
            "worship",
            "buddhist",
            "christian",
            "muslim",
            "islam",
            "islamic",
            "zongjiao",
            "xinyang",
        }
    ),
    "ethnicity": frozenset(
        {
            "ethnic",
            "ethnicity",
            "race",
            "racial",
            "minzu",
            "mz",  # 民族 by its initials
            "minority",
            "minorities",
            "nationality",
            "uyghur",
            "uighur",
            "tibetan",
        }
    ),
    "health": frozenset(
        {
            "health",
            "medical",
            "disease",
            "diagnosis",
            "diagnoses",
            "disability",
            "disabled",
            "illness",
            "ill",
            "sick",
            "sickness",
            "blood",
            "pregnancy",
            "pregnant",
            "mental",
            "psychiatric",
            "hiv",
            "vaccination",
            "patient",
            "jiankang",
            "xuexing",
        }
    ),
    "online speech": frozenset(
        {
            "speech",
            "post",
            "repost",
            "tweet",
            "retweet",
            "weibo",
            "wechat",
            "weixin",
            "microblog",
            "comment",
            "rumour",
            "rumor",
            "online",
            "internet",
            "social_media",
            "blog",
            "forum",
            "yanlun",
        }
    ),
    "social connections": frozenset(
        {
            "social_graph",
            "social_network",
            "social_circle",
            "relatives",
            "friend",
            "family",
            "spouse",
            "husband",
            "wife",
            "parent",
            "father",
            "mother",
            "child",
            "children",
            "son",
            "daughter",
            "sibling",
            "brother",
            "sister",
            "kin",
            "kinship",
            "contacts",
            "connections",
            "associates",
            "acquaintance",
            "classmate",
            "colleague",
            "neighbour",
            "neighbor",
            "follower",
            "qinshu",
            "jiashu",
            "peiou",
        }
    ),
}

#: Chinese terms, matched anywhere in a name.
PROHIBITED_ZH: dict[str, tuple[str, ...]] = {
    "biometrics": (
        "生物特征",
        "生物识别",
        "指纹",
        "掌纹",
        "人脸",
        "面部",
        "面容",
        "虹膜",
        "视网膜",
        "声纹",
        "步态",
        "基因",
        "照片",
        "相片",
        "肖像",
        "头像",
    ),
    "political opinion": (
        "政治",
        "党派",
        "党员",
        "党籍",
        "政见",
        "意识形态",
        "上访",
        "信访",
        "请愿",
        "抗议",
        "示威",
    ),
    "religious opinion": ("宗教", "信仰", "信教", "教派"),
    "ethnicity": ("民族", "种族", "族别", "族裔"),
    "health": (
        "健康状况",
        "健康码",
        "健康信息",
        "健康档案",
        "病史",
        "病历",
        "疾病",
        "病情",
        "诊断",
        "残疾",
        "伤残",
        "血型",
        "怀孕",
        "妊娠",
        "精神病",
        "精神疾病",
        "心理健康",
        "传染病",
        "艾滋",
        "接种",
        "体检",
    ),
    "online speech": (
        "言论",
        "微博",
        "微信",
        "帖子",
        "发帖",
        "评论",
        "谣言",
        "博客",
        "朋友圈",
        "社交媒体",
        "转发",
        "网民",
    ),
    "social connections": (
        "亲属",
        "家属",
        "亲友",
        "亲戚",
        "朋友",
        "好友",
        "配偶",
        "父母",
        "父亲",
        "母亲",
        "子女",
        "儿子",
        "女儿",
        "兄弟",
        "姐妹",
        "家庭成员",
        "家人",
        "社会关系",
        "联系人",
        "同学",
        "邻居",
        "同事",
    ),
}

#: Stems matched inside the name's letters run together (``bloodtype``, ``finger_print``);
#: each long or rare enough not to occur inside an ordinary word.
STEMS: dict[str, tuple[str, ...]] = {
    "biometrics": ("biometric", "fingerprint", "faceprint", "voiceprint", "palmprint", "facial"),
    "political opinion": ("politic", "ideolog", "zhengzhi", "partymember", "partyaffiliation"),
    "religious opinion": ("religio", "zongjiao"),
    "ethnicity": ("ethnic", "minzu"),
    "health": (
        "health",
        "medical",
        "disease",
        "diagnos",
        "disabilit",
        "illness",
        "pregnan",
        "bloodtype",
        "bloodgroup",
        "jiankang",
    ),
    "online speech": ("weibo", "wechat", "socialmedia", "rumour", "rumor", "microblog"),
    "social connections": (
        "spouse",
        "sibling",
        "familymember",
        "kinship",
        "socialconnection",
        "socialgraph",
        "socialnetwork",
    ),
}

#: Cyrillic and Greek letters that look like Latin ones.
_CONFUSABLE = str.maketrans(
    "аеорсухіјѕԁһӏԛԝвкмнтАВЕКМНОРСТХІЈЅαβεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlqwbkmhtABEKMHOPCTXIJSabeikvoptuxABEHIKMNOPTYX",
)
_SPLIT = re.compile(r"[^0-9a-zA-Z]+|(?<=[a-z])(?=[A-Z])")


def fold(name: str) -> str:
    """Full-width to ASCII, accents and other combining marks dropped, invisible characters
    (zero-width space and joiner, soft hyphen) dropped, look-alikes to Latin."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(
        c for c in decomposed if not unicodedata.combining(c) and unicodedata.category(c) != "Cf"
    )
    return unicodedata.normalize("NFKC", bare).translate(_CONFUSABLE)


def words(name: str) -> list[str]:
    return [w.lower() for w in _SPLIT.split(name) if w]


def _forms(word: str) -> tuple[str, ...]:
    """The word and the singulars it may be the plural of (diagnoses, families, friends)."""
    out = [word]
    if word.endswith("ies"):
        out.append(word[:-3] + "y")
    if word.endswith("es"):
        out.append(word[:-2])
    if word.endswith("s"):
        out.append(word[:-1])
    return tuple(out)


@lru_cache(maxsize=4096)
def prohibited_category(field_name: str) -> str | None:
    """The prohibited category a name (of a field, a record type, a list, a value) falls in."""
    text = fold(field_name)
    for category, terms in PROHIBITED_ZH.items():
        if any(t in text for t in terms):
            return category
    ws = words(text)
    joined = "_".join(ws)
    for category, vocabulary in PROHIBITED.items():
        if joined in vocabulary or any(f in vocabulary for w in ws for f in _forms(w)):
            return category
    for i in range(len(ws) - 1):  # two words that name one thing: social_media
        pair = f"{ws[i]}_{ws[i + 1]}"
        for category, vocabulary in PROHIBITED.items():
            if any(f in vocabulary for f in _forms(pair)):
                return category
    run = "".join(ws)
    for category, stems in STEMS.items():
        if any(s in run for s in stems):
            return category
    for category, vocabulary in PROHIBITED.items():  # run together: religionid, partymember
        if any(w.startswith(t) for w in ws for t in vocabulary if len(t) >= 5 and w != t):
            return category
    return None
