"""Words: the terms a text is made of, and how well a request's terms meet each tool's (BM25)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from radixagent.schemas import ToolSchema

_WORD = re.compile(r"\w+", re.UNICODE)
CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[0-9])(?=[A-Z][a-z])")
"""Where camelCase words meet ("getWeather", "v2Beta"); not inside "3D" or "4K"."""
STOP_WORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or that the this to was were will with "
    "what which who how me my i you your do does please can could would should".split()
    + ["s", "t", "ll", "re", "ve"]  # what's, don't, we'll, you're, I've
)
EDGE = "\"'“”‘’.,!?;:()[]{}"
"""Quotes and punctuation a word may carry at its edges ("'Paris'", "miles?")."""
WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}
"""Numbers English writes as one word."""
_SUFFIXES = ("ing", "ly", "ed", "s")
_SHORT_SYLLABLE = re.compile(r"[^aeiouy]*[aeiouy][^aeiouwxy]")
"""One short syllable ending in a consonant: what a verb in "-e" leaves without its "-ed" or "-ing"."""
_DERIVATIONS = ("ion", "ise", "ize", "y", "e", "er")
"""Endings of the verb and nouns of one word: summarise/summary, translate/translation,
charge/charger."""


def stem(word: str) -> str:
    """A light English stem (lights -> light, balances -> balance, weekly -> week, summarise
    and summary -> summar, charge and chargers -> charg): enough to meet a tool's words."""
    if word.endswith("es") and word[-3:-2] in ("s", "x", "z") or word.endswith(("ches", "shes")):
        return word[:-2]
    for suffix in _SUFFIXES:
        if suffix != "es" and len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            if suffix in ("ed", "ing") and _SHORT_SYLLABLE.fullmatch(word):
                word += "e"  # closed, closing -> close; named -> name (not parked, booked, stopped)
            break
    for suffix in _DERIVATIONS:
        if len(word) - len(suffix) >= 5 and word.endswith(suffix) and not (suffix == "er" and word.endswith("ther")):  # weather, another
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed words (snake_case and camelCase split, English stop words out);
    words in scripts without spaces between morphemes (Hangul, CJK) also give their character
    bigrams, so "감정을" still meets "감정"."""
    return list(_terms(text) if len(text) <= _REMEMBERED_CHARS else _terms.__wrapped__(text))


_REMEMBERED_CHARS = 4096
"""The longest text whose terms are remembered (a request, a tool's words; not a long result)."""


@lru_cache(maxsize=2048)
def _terms(text: str) -> tuple[str, ...]:
    """`terms`, remembered: every step of a run reads the request and each tool's words again."""
    out: list[str] = []
    words = [w.lower() for w in _WORD.findall(CAMEL.sub(" ", text).replace("_", " "))]
    joined = False
    for at, word in enumerate(words):
        if joined:  # the particle of a verb already read
            joined = False
            continue
        following = words[at + 1] if at + 1 < len(words) else ""
        if following in PARTICLES and word.isascii() and word.isalpha() and word not in STOP_WORDS | PARTICLES:
            out.append(word + following)  # "pick up" meets `pickup` as well as "pick"
            joined = True
        if word in STOP_WORDS:
            continue
        out.append(stem(word) if word.isascii() else word)
        if not word.isascii() and len(word) > 2:
            out.extend(word[i : i + 2] for i in range(len(word) - 1))
    return tuple(out)


PARTICLES = frozenset({"up", "out", "off", "down", "back", "over"})
"""Words that make one term with the verb before them, as tools write it (`pickup`, `checkout`)."""


def tool_text(schema: ToolSchema) -> str:
    """The words a tool is known by: name, description, parameter names and descriptions (their
    examples aside), enum values."""
    parts = [schema.name, without_examples(schema.description)]

    def walk(properties: dict[str, Any]) -> None:
        for name, node in properties.items():
            if not isinstance(node, dict):
                continue
            parts.append(name)
            parts.append(without_examples(str(node.get("description", ""))))
            parts.extend(str(v) for v in node.get("enum", []))
            walk(node.get("properties") or {})
            items = node.get("items")
            if isinstance(items, dict):
                parts.extend(str(v) for v in items.get("enum", []))
                walk(items.get("properties") or {})

    walk(schema.parameters.get("properties") or {})
    return " ".join(parts)


def without_examples(description: str) -> str:
    """A description without the examples it gives ("the city's name, e.g. Oslo"): an example
    shows what a value looks like, not what the tool is for, so a request naming Oslo is no more
    meant for this tool than for another that takes a city."""
    return _EXAMPLE.sub(" ", description)


_EXAMPLE = re.compile(r"\b(?:e\.\s?g\.?|eg\.|ex\.|for example|for instance|such as)[,:]?\s.*?(?=[.;)\]]\s|[.;)\]]?$|\n)", re.IGNORECASE)
"""An example a description gives, to the end of its sentence or its parenthesis."""


def example_of(schema: dict[str, Any]) -> str | None:
    """The value a parameter's description gives as an example ("e.g. USD", "such as fr")."""
    return next(iter(examples_of(schema)), None)


def examples_of(schema: dict[str, Any]) -> list[str]:
    """Every value a parameter's description gives as an example, in order ("e.g. 12 or M2")."""
    description = str(schema.get("description", ""))
    first = _EXAMPLE_VALUE.search(description)
    if first is None:
        return []
    out, end = [first[1]], first.end()
    while more := _MORE_EXAMPLES.match(description, end):
        out.append(more[1])
        end = more.end()
    return out


_VALUE = r"['\"]?((?-i:[A-Z]{2,3} [0-9]{1,5})\b|[A-Za-z0-9](?:[\w-]*[A-Za-z0-9])?)(?![\w-]|\.\w)"
_EXAMPLE_VALUE = re.compile(
    rf"(?:\b(?:e\.g\.|such as|for example|for instance|ex\.|p\. ?ex\.|par exemple|por ejemplo|ej\.|por exemplo|z\. ?B\.|zum Beispiel|per esempio|ad es\.)"
    rf",?:?\s+|(?:例|예)\s*[:：]\s*){_VALUE}",
    re.IGNORECASE,
)
_MORE_EXAMPLES = re.compile(rf"['\"]?(?:,| or|, or) {_VALUE}")
"""An example value, after "e.g." or its like in other languages ("ex.", "z. B.", "例:"): a word
or a code ("e.g. 'DHL-7731'"), or capitals and a number apart
("e.g. LH 400"), not the start of a longer one ("e.g. '1.0.0'", "such as '36.25, -105.34'");
then the values an example list goes on with (", " / " or ")."""


def shared_terms(query: str, tools: Sequence[ToolSchema]) -> dict[str, int]:
    """How many distinct terms of `query` each tool's words hold: an absolute measure (BM25's
    weights are relative to the tool set, and a word every tool shares weighs almost nothing)."""
    query_terms = set(terms(query))
    return {t.name: len(query_terms & set(terms(tool_text(t)))) for t in tools}


def rank_tools(query: str, tools: Sequence[ToolSchema]) -> dict[str, float]:
    """BM25 between `query` and each tool's words (`tool_text`); 0 for a tool sharing no term."""
    docs = {t.name: terms(tool_text(t)) for t in tools}
    query_terms = set(terms(query))
    if not docs:
        return {}
    n = len(docs)
    avg_len = sum(len(d) for d in docs.values()) / n or 1.0
    df: Counter[str] = Counter()
    for words in docs.values():
        df.update(set(words))
    k1, b = 1.2, 0.75
    scores: dict[str, float] = {}
    for name, words in docs.items():
        tf = Counter(words)
        score = 0.0
        for term in sorted(query_terms & tf.keys()):  # one order: equal tools score equal, in any process
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * len(words) / avg_len))
        scores[name] = round(score, 9)  # sums of equal evidence in another order are equal
    return scores


GLOSSARY: dict[str, str] = {
    word: english
    for english, words in {
        "name": "이름 성명 名前 氏名 名称 姓名 名字 nombre nom nome",
        "date": "날짜 일자 日付 日期 fecha datum",
        "time": "시간 시각 時間 時刻 时间 hora heure uhrzeit",
        "city": "도시 都市 城市 ciudad stadt ville città cidade",
        "country": "국가 国家 país pays paese",
        "address": "주소 住所 地址 dirección adresse indirizzo endereço",
        "place": "장소 위치 場所 地点 位置 lugar lieu ort luogo",
        "phone": "전화 電話 电话 teléfono telefono téléphone telefon telefone",
        "email": "이메일 メール 邮箱 correo courriel",
        "number": "번호 番号 号码 número numéro nummer numero",
        "title": "제목 タイトル 标题 título titre titel titolo",
        "description": "설명 説明 描述 descripción beschreibung descrizione",
        "message": "메시지 メッセージ 消息 mensaje nachricht messaggio",
        "text": "텍스트 内容 テキスト 文本 texto texte testo",
        "note": "메모 비고 備考 メモ 备注 nota notas remarque notiz anmerkung",
        "allergy": "알레르기 アレルギー 过敏 alergia alergias allergie allergia",
        "delivery": "배달 배송 配達 配送 entrega livraison lieferung consegna",
        "seat": "좌석 座席 座位 asiento siège sitzplatz posto",
        "size": "크기 사이즈 サイズ 尺寸 tamaño taille größe taglia",
        "color": "색상 색깔 颜色 colore couleur farbe",
        "quantity": "수량 개수 数量 cantidad quantité anzahl menge quantità",
        "price": "가격 価格 料金 价格 precio prix preis prezzo",
        "language": "언어 言語 语言 idioma langue sprache lingua",
        "reason": "사유 이유 理由 原因 motivo raison grund",
    }.items()
    for word in words.split()
}
"""The words of a parameter's description, in other languages, that say what kind of value it
holds or what it is about, with the English word the rules read ("강아지 이름" is a dog's name,
"numéro de chambre" a room number, 備考 a note the request may give)."""
_OF = frozenset({"de", "del", "della", "di", "du", "des", "da", "do", "dei", "delle", "degli", "dos", "das"})
"""The prepositions after which a Romance noun phrase goes on past its head ("nombre del puerto")."""


def glossed(text: str) -> str:
    """`text` with the `GLOSSARY` words in English: a word spelled as one, or ending in one where
    the script writes no spaces between words ("処方箋番号", a prescription number)."""

    def english(match: re.Match[str]) -> str:
        word = match.group().lower()
        if word in GLOSSARY:
            return GLOSSARY[word]
        if not word.isascii():
            ending = next((w for w in GLOSSARY if len(w) >= 2 and not w.isascii() and word.endswith(w)), None)
            if ending is not None:
                return f"{word[: -len(ending)]} {GLOSSARY[ending]}"
        return match.group()

    return _WORD.sub(english, text)


def head_word(words: list[str]) -> str:
    """The word a noun phrase's words name: its last ("marina name", "강아지 이름"), or in a
    Romance language its first ("name del puerto")."""
    return words[0] if len(words) >= 3 and words[1] in _OF else words[-1]


ASKING_VERBS = frozenset(
    "get gets getting find finds finding show shows showing give gives giving tell fetch fetches fetching retrieve retrieves "
    "retrieving provide provides providing display displays obtain look looking want wants need needs like help use".split()
)
"""The verbs any request to any tool may use ("get me", "find", "show me", "I need"): they ask, they
are no value ("help" is no subject of "I need someone to help my daughter with chemistry")."""
NEGATED_AWAY = frozenset({"forget", "fail", "hesitate", "miss", "neglect"})
"""Verbs that a negation before them turns into the opposite: "don't forget to lock it" asks to
lock it."""
IRREGULAR = {"children": "child", "people": "person", "men": "man", "women": "woman", "feet": "foot"}
"""Plurals a suffix rule does not reach."""


def name_words(name: str) -> list[str]:
    """The words of a parameter or tool name: snake_case and camelCase split, lower-cased."""
    return [w for w in re.split(r"[_\W]+", CAMEL.sub("_", name).lower()) if w]
