"""Which single-byte code page a non-UTF-8 file is in, decided by a rule that can be explained.

A file that is not UTF-8 comes from a spreadsheet program saving in its locale's code page. The
same bytes are valid in almost every code page, so "does it decode" says little; what tells them
apart is whether the *text* is plausible. The rule (docs/vendors.md, "Encodings"):

1. **Decodes**: the code page maps every byte present in the file to a defined character that is
   not a control character (ISO-8859's 0x80–0x9F controls count as not decoding).
2. **One alphabet**: every non-ASCII character it yields is either a common symbol (quotes,
   dashes, €, °, …) or a letter of one alphabet family (Western, Central European, Baltic,
   Turkish, Cyrillic, Serbian/Macedonian Cyrillic, Greek). ``Èrt Žužek`` (Slovenian in
   Windows-1250 read as 1252) mixes families and is out; ``Črt Žužek`` is in.
3. **Fewest implausible words**: a word (a run of non-blank characters with a non-ASCII byte)
   is implausible when it mixes scripts (``Mьller``), has a lower-case letter followed by an
   upper-case one with one of them non-ASCII (``юЛЕКСЕЙ``: Windows-1251 read as KOI8-R), starts
   with a closing quote before a letter (``’ννα``: Windows-1253's Ά read as ISO-8859-7), is
   a Latin word of three letters or more of which over two thirds are non-ASCII
   (``Àëåêñåé``: Cyrillic read as Windows-1252), or breaks Greek or Cyrillic spelling
   (:func:`implausible`; ``Кузнецова`` read as Greek is ``Κσηνεφξβΰ``, a diaeresis after a
   consonant; ``Γιώργος`` read as Windows-1251 is ``Гйюсгпт``, й after a consonant). Only
   the code pages with the fewest implausible words stay, and only if that is at most 1 word
   in 50.
4. **Fewest languages** (only when those left still read the file differently): a code page
   stays only when the fewest languages' alphabets hold all the letters it yields (German and
   French names in Windows-1252 need two: ü ß ç é à; the same bytes in Windows-1250 need three:
   ü ß, ć, ŕ).
4b. **Common Cyrillic letters** (only when those left still read the file differently): of
   the Cyrillic readings, one is dropped when another is over e^7 (about 1,100) times
   likelier letter by letter, by the letters' frequencies in Russian text
   (:data:`CYRILLIC_FREQUENCY`): Windows-1251's ``Нина`` read as ISO-8859-5 is ``Эшэр``,
   rare letters. The margin is above the most a wrong reading was found likelier than the
   right one (5.2 for ``Эх`` in ISO-8859-5 read as Windows-1251 ``Не``), among 323 names,
   words and sentences written in each of Windows-1251, ISO-8859-5 and KOI8-R.
5. **The language's own letters** (only when those left still differ): py3langid names the
   language of the file's first 64 KiB as each of them decodes it; a code page stays only when
   every non-ASCII letter it yields belongs to that language's alphabet (``več`` in Slovenian,
   not ``veè``); a code page of another alphabet family stays too when its letters' languages
   get half the probability together (:func:`_fit_language`). The language never picks a
   Cyrillic reading over a likelier one by step 4b's frequencies: py3langid read ``Эшэр
   Ярэшэр`` as Belarusian (p=0.97), and ``Нина Панина`` landed so. Nor does it decide between
   a Greek and a Cyrillic reading on its own (:func:`_spelling_agrees`): py3langid gives any
   text in Greek letters to Greek, its script's only language (KOI8-R's ``ВИТАЛИЙ`` read as
   ``χιταμικ``: p=1.00), so a Greek reading wins only when its words end as Greek words do
   (:func:`greek_spelt`) in three letters or more, and a Cyrillic one only when the Greek
   reading's do not.
6. **Greek or Cyrillic by their letters** (only when Greek and Cyrillic readings, and only
   those, still differ): the family whose likeliest reading is over e^7 times likelier,
   letter by letter (Greek by Greek Scrabble's tiles, :data:`GREEK_TILES`; Cyrillic by step
   4b's frequencies), keeps its readings (:func:`_greek_or_cyrillic`): ``Ίων`` (1253) is
   e^8.6 likelier than its 1251 reading ``єщн``. The margin is above the most a wrong
   reading was found likelier (e^5.6: 1251's ``Фёдор`` as 1253's ``ΤΈδξπ``) among the short
   texts of tests/short_texts.py; not on fewer than three letters.

Before these, words that are UTF-8 in a file that is not (:func:`utf8_words`) refuse it: rows
in two encodings, which no single code page reads right.

The guess is accepted when every code page still standing reads the file as the same text (they
map every byte present to the same character: ``Müller`` is the same in Windows-1250 and 1252);
otherwise the file is refused, naming them. Steps 1–2 need only the file's byte histogram, step
3 a bounded set of distinct words and step 4 the first 64 KiB, so the decision costs one pass
over the file in bounded memory.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

# Python codec → the name users and the ledger see, in the order a tie is named (the most
# widely used first).
CANDIDATES: dict[str, str] = {
    "cp1252": "windows-1252",
    "cp1250": "windows-1250",
    "cp1251": "windows-1251",
    "cp1253": "windows-1253",
    "cp1254": "windows-1254",
    "cp1257": "windows-1257",
    "latin_1": "iso-8859-1",
    "iso8859_15": "iso-8859-15",
    "iso8859_2": "iso-8859-2",
    "iso8859_5": "iso-8859-5",
    "iso8859_7": "iso-8859-7",
    "koi8_r": "koi8-r",
}
# Distinct words kept for step 3; beyond this many the rule has seen plenty.
MAX_WORDS = 20_000
MAX_WORD_BYTES = 64
IMPLAUSIBLE_SHARE = 1 / 50

_SYMBOLS = frozenset("\u00a0\u00ad«»„“”‘’‚‹›–—…•€£¥¢°§©®™№²³½¼¾×·¿¡‰µ")


def _letters(lower: str) -> frozenset[str]:
    return frozenset(lower) | frozenset(lower.upper())


# Letters beyond ASCII of the languages each code-page family is used for.
ALPHABETS: dict[str, frozenset[str]] = {
    # German, French, Spanish, Portuguese, Italian, Dutch, Nordic, Catalan
    "Western": _letters("àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿœß"),
    # Polish, Czech, Slovak, Hungarian, Slovenian, Croatian, Romanian, Albanian, German umlauts
    "Central European": _letters("áäąćčďéęěíĺľłńňóôöőŕřśšťúůüűýźżžđăâîșțşţßëç"),
    # Lithuanian, Latvian, Estonian
    "Baltic": _letters("ąčęėįšųūžāēģīķļņōõäöüé"),
    "Turkish": _letters("çğıöşüâîû") | {"İ"},
    # Russian, Ukrainian, Belarusian, Bulgarian
    "Cyrillic": _letters("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў"),
    # Serbian and Macedonian Cyrillic (without ё ъ ы ь э ю я щ й)
    "Serbian/Macedonian Cyrillic": _letters("абвгдђѓежзѕијклљмнњопрстћќуфхцчџш"),
    "Greek": _letters("αβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώϊϋΐΰ"),
}
# Step 4b: how often each letter of the Cyrillic family occurs in running text, per 10,000
# letters: Russian from the Russian National Corpus (Wikipedia, "Russian alphabet"); the
# Ukrainian and Belarusian letters Russian lacks counted as rare (1 in 10,000 and below), so
# the step favours a reading of common letters only.
CYRILLIC_FREQUENCY: dict[str, float] = {
    "о": 1097, "е": 845, "а": 801, "и": 735, "н": 670, "т": 626, "с": 547, "р": 473,
    "в": 454, "л": 440, "к": 349, "м": 321, "д": 298, "п": 281, "у": 262, "я": 201,
    "ы": 190, "ь": 174, "г": 170, "з": 165, "б": 159, "ч": 144, "й": 121, "х": 97,
    "ж": 94, "ш": 73, "ю": 64, "ц": 48, "щ": 36, "э": 32, "ф": 26, "ъ": 4, "ё": 4,
    "і": 1, "ї": 1, "є": 1, "ў": 1, "ґ": 1,
}  # fmt: skip
# A Cyrillic reading is dropped when another is this many times likelier (natural log of
# the ratio of the products of its letters' frequencies over the file's words).
CYRILLIC_LOG_MARGIN = 7.0
_LOG_FREQUENCY = {ch: math.log(n / 10_000) for ch, n in CYRILLIC_FREQUENCY.items()}
# Step 6: how often each Greek letter occurs, as the tiles of Greek Scrabble count them (104
# letter tiles, made to follow the letters' frequency in Greek text; Wikipedia, "Scrabble
# letter distributions"). A tile stands for its letter with or without an accent (ά is α);
# the diaeresis letters ϊ ϋ ΐ ΰ, which no tile shows and Greek writes seldom, count as rare
# (1 in 10,000), as the Cyrillic table counts the letters Russian lacks.
GREEK_TILES: dict[str, int] = {
    "α": 12, "ο": 9, "ε": 8, "ι": 8, "τ": 8, "η": 7, "σ": 7, "ν": 6, "ρ": 5, "κ": 4, "π": 4,
    "υ": 4, "λ": 3, "μ": 3, "ω": 3, "γ": 2, "δ": 2, "β": 1, "φ": 1, "χ": 1, "ζ": 1, "θ": 1,
    "ξ": 1, "ψ": 1,
}  # fmt: skip
_RARE = math.log(1 / 10_000)
_GREEK_LOG_FREQUENCY = {
    **{ch: math.log(n / 104) for ch, n in GREEK_TILES.items()},
    "ς": math.log(GREEK_TILES["σ"] / 104),
    **{
        accented: math.log(GREEK_TILES[unicodedata.normalize("NFD", accented)[0]] / 104)
        for accented in "άέήίόύώ"
    },
    **dict.fromkeys("ϊϋΐΰ", _RARE),
}
# Step 6: a Greek reading and a Cyrillic one, still standing after every other step, are
# decided by their letters when one is this many times likelier (natural log): above the most
# a wrong reading was found likelier, e^5.6 (1251's "Фёдор" read as 1253's "ΤΈδξπ"), among
# the short texts of tests/short_texts.py.
GREEK_CYRILLIC_LOG_MARGIN = 7.0
# Non-ASCII letters of each language py3langid may name (pipeline/language.py);
# English has none of its own, so an English text only confirms code pages that add no letters.
LANGUAGE_LETTERS: dict[str, frozenset[str]] = {
    code: _letters(lower)
    for code, lower in {
        "en": "",
        "de": "äöüß",
        "fr": "àâæçéèêëîïôœùûüÿ",
        "es": "áéíñóúü",
        "it": "àèéìíîòóùú",
        "pt": "áâãàçéêíóôõú",
        "nl": "éëïóöü",
        "sv": "åäöé",
        "da": "æøåé",
        "no": "æøåé",
        "fi": "äöå",
        "ca": "àçéèíïòóúü",
        "ro": "ăâîșțşţ",
        "sl": "čšž",
        "hr": "čćđšž",
        "sr": "čćđšž",
        "pl": "ąćęłńóśźż",
        "cs": "áčďéěíňóřšťúůýž",
        "sk": "áäčďéíĺľňóôŕšťúýž",
        "hu": "áéíóöőúüű",
        "sq": "çë",
        "lt": "ąčęėįšųūž",
        "lv": "āčēģīķļņšūž",
        "et": "äöõüšž",
        "tr": "çğıöşüâîû",
        "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "uk": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
        "be": "абвгдеёжзійклмнопрстуўфхцчшыьэюя",
        "bg": "абвгдежзийклмнопрстуфхцчшщъьюя",
        "mk": "абвгдѓежзѕијклљмнњопрстќуфхцчџш",
        "el": "αβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώϊϋΐΰ",
    }.items()
} | {"tr": _letters("çğıöşüâîû") | {"İ"}}
HEAD_BYTES = 1 << 16
# Chunks (of decode.CHUNK = 1 MiB) searched for words whatever they hold.
WORD_CHUNKS = 8
# Step 5: the share of py3langid's probability a code page's languages must get.
MIN_LANGUAGE_SHARE = 0.5
# Step 5 between Greek and Cyrillic: the fewest non-ASCII letters (in the file's distinct words)
# on which the language and Greek spelling may decide. 1251's "Эх" is "έυ" in 1253: two letters
# spelled as Greek can be, which py3langid gave to Greek (p=0.60); no rule tells them apart.
MIN_GREEK_OR_CYRILLIC_LETTERS = 3
_CYRILLIC_FAMILIES = frozenset({"Cyrillic", "Serbian/Macedonian Cyrillic"})
_WORD = re.compile(rb'[^\s,;"\'()\[\]{}<>=|]*[\x80-\xff][^\s,;"\'()\[\]{}<>=|]*')


@dataclass
class Evidence:
    """What the rule needs from a file: its byte histogram and some of its non-ASCII words."""

    histogram: np.ndarray = field(default_factory=lambda: np.zeros(256, dtype=np.int64))
    words: set[bytes] = field(default_factory=set)
    head: bytes = b""
    chunks: int = 0

    def add(self, chunk: bytes) -> None:
        """Count one chunk of the file (chunks may split a word; that costs one odd word).

        Words are collected from the first :data:`WORD_CHUNKS` chunks and from any later chunk
        holding a byte ≥ 0x80 not seen before, so every byte of the file is seen in words
        while a large file with the same few letters throughout is not searched whole."""
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        counts = np.bincount(np.frombuffer(chunk, dtype=np.uint8), minlength=256)
        new_bytes = bool(((counts[0x80:] > 0) & (self.histogram[0x80:] == 0)).any())
        self.histogram += counts
        self.chunks += 1
        if len(self.words) < MAX_WORDS and (self.chunks <= WORD_CHUNKS or new_bytes):
            for word in _WORD.findall(chunk):
                if len(word) <= MAX_WORD_BYTES:
                    self.words.add(word)
                    if len(self.words) >= MAX_WORDS:
                        break

    def high_bytes(self) -> bytes:
        """The distinct bytes ≥ 0x80 present in the file."""
        return bytes(b for b in range(0x80, 0x100) if self.histogram[b])


@dataclass(frozen=True)
class Verdict:
    """The rule's outcome: ``encoding`` (a codec name) when accepted, else a refusal reason."""

    encoding: str | None
    plausible: tuple[str, ...]  # codecs still standing after step 3, in CANDIDATES order
    detail: str  # why, for the log and the refusal message
    mixed: bool = False  # some words are UTF-8: rows in two encodings (:func:`utf8_words`)


# Letters a UTF-8 word pasted into a single-byte file spells: Latin-1 and Latin Extended-A
# (ä ß é ă ș ł č š ž …), Greek and Cyrillic. Other code points a byte pair may happen to form
# (Latin Extended-B, Hebrew, CJK) are left out: capitals such as "ČŠ" in Windows-1250 are the
# UTF-8 of Ȋ, a letter no export holds.
_UTF8_LETTERS = ((0x00C0, 0x017F), (0x0370, 0x03FF), (0x0400, 0x04FF))


def utf8_words(words: Iterable[bytes], most: int = 3) -> list[str]:
    """Words of a file that is not UTF-8 that are UTF-8 themselves, read as UTF-8 (up to
    ``most``): valid UTF-8 with a letter of more than one byte, every non-ASCII character a
    letter of :data:`_UTF8_LETTERS`, two letters at least, and plausible. A single-byte code
    page would read them as ``WeiÃŸ`` or ``JÃ¼rgen``; in a file whose other bytes are no UTF-8
    they are rows pasted from a UTF-8 export, and no one code page reads the whole file right."""
    found = []
    for word in sorted(words):
        try:
            text = word.decode("utf-8")
        except UnicodeDecodeError:
            continue
        wide = [c for c in text if ord(c) > 127]
        # Two letters at least: a short word of two capitals can be one UTF-8 letter by chance
        # (Russian "Её" in Windows-1251 is the UTF-8 of "Ÿ", Ukrainian "Ні" that of "ͳ").
        if (
            wide
            and sum(c.isalpha() for c in text) >= 2
            and all(
                c.isalpha() and any(lo <= ord(c) <= hi for lo, hi in _UTF8_LETTERS) for c in wide
            )
        ):
            if not implausible(text):
                found.append(text)
                if len(found) >= most:
                    break
    return found


def decodes(codec: str, high: bytes) -> str | None:
    """The characters ``codec`` gives the bytes ``high``, or None when one is undefined or a
    control character."""
    try:
        chars = high.decode(codec)
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(c) == "Cc" for c in chars):
        return None
    return chars


def _family(chars: str) -> str | None:
    """The alphabet family holding every non-symbol character of ``chars`` (None if none)."""
    letters = {c for c in chars if c not in _SYMBOLS}
    for name, alphabet in ALPHABETS.items():
        if letters <= alphabet:
            return name
    return None


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    return unicodedata.name(ch, "").split(" ")[0] or None


_VOWELS = frozenset("аеёиоуыэюяієїўαεηιουωάέήίόύώϊϋΐΰ")
_TONOS = frozenset("άέήίόύώΐΰ")
_CYRILLIC_NEVER_FIRST = frozenset("ьъыЬЪЫ")
_DIAERESIS = frozenset("ϊϋΐΰ")


def implausible(word: str) -> bool:
    """Whether a decoded word cannot be natural text: mixed scripts, a case switch inside, a
    symbol between two letters, a closing quote before its first letter, a mostly non-ASCII
    Latin word, or a Greek or Cyrillic word breaking its script's spelling (no vowel in four
    letters or more; Greek ς inside or σ at the end, two accents; Cyrillic ь ъ ы first)."""
    scripts = {s for s in map(_script, word) if s}
    if len(scripts) > 1:
        return True
    if len(word) > 1 and word[0] == "’" and word[1].isalpha():
        return True
    for a, b, c in zip(word, word[1:], word[2:], strict=False):
        if a.isalpha() and c.isalpha() and b in _SYMBOLS and b not in "’·\u00ad":
            return True
    core = word.strip("".join(_SYMBOLS) + ".!?:-_/*+&%$#@0123456789")
    if scripts & {"GREEK", "CYRILLIC"} and core:
        lower = core.lower()
        if len(lower) >= 4 and lower.isalpha() and not _VOWELS & set(lower):
            return True
        if "GREEK" in scripts and (
            "ς" in lower[:-1]
            or lower.endswith("σ")
            or len(_TONOS & set(lower)) > 1
            or _greek_misspelt(lower)
        ):
            return True
        if "CYRILLIC" in scripts and (
            core[0] in _CYRILLIC_NEVER_FIRST or _cyrillic_misspelt(lower)
        ):
            return True
    for a, b in zip(word, word[1:], strict=False):
        if a.islower() and b.isupper() and (ord(a) > 127 or ord(b) > 127):
            return True
    letters = [c for c in word if c.isalpha()]
    foreign = sum(1 for c in letters if ord(c) > 127)
    return scripts == {"LATIN"} and len(letters) >= 3 and foreign * 3 > len(letters) * 2


def _greek_misspelt(lower: str) -> bool:
    """Whether a lower-case Greek word breaks two spelling rules that Cyrillic text read in a
    Greek code page keeps breaking: a diaeresis (ϊ ϋ ΐ ΰ) marks a vowel said apart from the
    vowel before it, so it never follows a consonant or starts a word (Windows-1251's а is
    Windows-1253's ΰ: ``Москва`` reads ``Μξρκβΰ``); and no Greek word has five consonants in a
    row (``годовой`` reads ``γξδξβξι``; ``εκστρατεία`` has four)."""
    run = 0
    for i, ch in enumerate(lower):
        if ch in _DIAERESIS and (i == 0 or lower[i - 1] not in _VOWELS):
            return True
        run = run + 1 if ch.isalpha() and ch not in _VOWELS else 0
        if run >= 5:
            return True
    return False


def _cyrillic_misspelt(lower: str) -> bool:
    """Whether a lower-case Cyrillic word misplaces й, a glide that follows a vowel (ь, ъ or
    an apostrophe before it in loans: Ukrainian ``мільйон``) or starts a word before a vowel,
    or before т or д in Ukrainian ``йти``, ``йде``. Greek typed in small letters read as KOI8-R
    keeps breaking it, since KOI8-R's Й is Windows-1253's κ: ``τανκ`` reads ``ТАМЙ``,
    ``μπλογκ`` ``ЛПКОЦЙ``, ``κρασί``'s first letters ``ЙЯ``."""
    for i, ch in enumerate(lower):
        if ch != "й":
            continue
        before = lower[i - 1] if i else ""
        after = lower[i + 1] if i + 1 < len(lower) else ""
        if before.isalpha() and before not in _VOWELS and before not in "ьъ":
            return True
        if not before.isalpha() and after.isalpha() and after not in _VOWELS | {"т", "д"}:
            return True
    return False


def greek_spelt(word: str) -> bool:
    """Whether a Greek word ends as Greek words do, which Cyrillic read in a Greek code page
    keeps failing: never in two consonants, and, in two syllables or more (runs of vowels:
    ``για`` is one), in a vowel, ς, ν or ρ unless it carries an accent (loans and Hebrew names
    such as ``κονιάκ``, ``Μιχαήλ`` do, in monotonic spelling). KOI8-R's capitals are
    Windows-1253's small letters without accents: ``ВИТАЛИЙ`` reads ``χιταμικ``, ``ИЛЬЯ``
    ``ιμψρ``. Greek typed in haste without accents (``ευχαριστω πολυ``) keeps both rules, and
    a word in capitals, written without accents, is spared the second (``ΚΟΝΙΑΚ``)."""
    core = word.strip("".join(_SYMBOLS) + ".!?:;-_/*+&%$#@0123456789")
    if not any(_script(ch) == "GREEK" for ch in core):
        return True  # not a Greek word: nothing to say
    lower = core.lower()
    end = lower[-2:]
    if len(end) == 2 and end.isalpha() and not _VOWELS & set(end):
        return False
    syllables, in_vowels = 0, False
    for ch in lower:
        vowel = ch in _VOWELS
        syllables += vowel and not in_vowels
        in_vowels = vowel
    accented = bool(_TONOS & set(lower)) or core == core.upper()
    return syllables < 2 or accented or lower[-1] in _VOWELS or lower[-1] in "ςνρ"


def judge(
    evidence: Evidence,
    candidates: Iterable[str] = CANDIDATES,
    line_of: Callable[[bytes], int | None] | None = None,
) -> Verdict:
    """Apply the steps of the module's rule to a file's evidence. ``line_of`` finds the line
    of a word, for a refusal to name where the code pages read the file differently."""
    pasted = utf8_words(evidence.words)
    if pasted:
        shown = ", ".join(repr(w) for w in pasted)
        return Verdict(
            None,
            (),
            f"some of its words are UTF-8 ({shown}) and its other bytes are not: rows in two "
            "encodings (pasted together from two exports?), which no one code page reads right",
            mixed=True,
        )
    high = evidence.high_bytes()
    standing: dict[str, str] = {}
    families: dict[str, str] = {}
    for codec in candidates:
        chars = decodes(codec, high)
        if chars is None:
            continue
        family = _family(chars)
        if family is None:
            continue
        standing[codec], families[codec] = chars, family
    if not standing:
        return Verdict(None, (), "no code page reads its bytes as letters of one alphabet")
    words = sorted(evidence.words)
    bad = {
        codec: sum(implausible(w.decode(codec, errors="replace")) for w in words)
        for codec in standing
    }
    fewest = min(bad.values())
    if words and fewest > IMPLAUSIBLE_SHARE * len(words):
        return Verdict(
            None,
            (),
            f"every code page leaves implausible words (at best {fewest} of {len(words)})",
        )
    plausible = tuple(c for c in standing if bad[c] == fewest)
    why = ""
    if len({standing[c] for c in plausible}) > 1:
        needed = {c: languages_needed(standing[c]) for c in plausible}
        plausible = tuple(c for c in plausible if needed[c] == min(needed.values()))
    scores: dict[str, float] = {}
    if len({standing[c] for c in plausible}) > 1:
        plausible, scores = _likelier_cyrillic(words, plausible, families)
        dropped = [c for c in scores if c not in plausible]
        if dropped:
            best, rarer = max(scores.values()), max(scores[c] for c in dropped)
            why = (
                f"; read as {', '.join(CANDIDATES.get(c, c) for c in dropped)} its letters are "
                f"rarer in Cyrillic text (letter log-likelihood {rarer:.1f} against {best:.1f})"
            )
    if len({standing[c] for c in plausible}) > 1:
        fitting = _fit_language(evidence.head, plausible, standing, families)
        # The language may not pick a Cyrillic reading over a likelier one it leaves out:
        # py3langid reads a short text of rare letters (1251's "Нина" read as ISO-8859-5)
        # as Belarusian as readily as the text itself as Russian.
        left_out = [scores[c] for c in plausible if c in scores and c not in fitting]
        taken = [scores[c] for c in fitting if c in scores]
        fitting = _spelling_agrees(words, plausible, fitting, families)
        if fitting and not (left_out and taken and max(left_out) > min(taken)):
            plausible = tuple(fitting)
            why += f"; {_language_note(evidence.head, plausible[0])}"
    if len({standing[c] for c in plausible}) > 1:
        plausible, note = _greek_or_cyrillic(words, plausible, families)
        why += note
    texts = {standing[c] for c in plausible}
    first = plausible[0]
    if len(texts) == 1:
        same = [CANDIDATES.get(c, c) for c in plausible[1:]]
        also = f" (the same text in {', '.join(same)})" if same else ""
        return Verdict(
            first,
            plausible,
            f"{families[first]} letters in {CANDIDATES.get(first, first)}{also}{why}",
        )
    example = _differing_word(words, plausible, line_of)
    return Verdict(
        None,
        plausible,
        "it reads as plausible but different text in "
        + ", ".join(CANDIDATES.get(c, c) for c in plausible)
        + (f" (e.g. {example})" if example else ""),
    )


def cyrillic_likelihood(words: Iterable[bytes], codec: str) -> float:
    """Step 4b: the natural log of how likely ``codec``'s reading of ``words`` is as Cyrillic
    text, letter by letter (:data:`CYRILLIC_FREQUENCY`; other characters count nothing)."""
    total = 0.0
    for word in words:
        for ch in word.decode(codec, errors="replace").lower():
            if ch in CYRILLIC_FREQUENCY:
                total += _LOG_FREQUENCY[ch]
    return total


def _likelier_cyrillic(
    words: list[bytes], codecs: tuple[str, ...], families: dict[str, str]
) -> tuple[tuple[str, ...], dict[str, float]]:
    """Step 4b: ``codecs`` without the Cyrillic readings that another Cyrillic reading beats
    by :data:`CYRILLIC_LOG_MARGIN`, and every Cyrillic reading's likelihood."""
    scores = {c: cyrillic_likelihood(words, c) for c in codecs if families[c] == "Cyrillic"}
    if len(scores) < 2:
        return codecs, scores
    best = max(scores.values())
    kept = tuple(c for c in codecs if scores.get(c, best) > best - CYRILLIC_LOG_MARGIN)
    return kept, scores


def _spelling_agrees(
    words: list[bytes], codecs: tuple[str, ...], fitting: list[str], families: dict[str, str]
) -> list[str]:
    """Step 5 between Greek and Cyrillic: ``fitting`` when Greek spelling agrees with the
    language's choice, else no choice (``[]``). A Greek reading may drop a Cyrillic one only
    when every word of it is :func:`greek_spelt`; a Cyrillic reading may drop a Greek one only
    when some word of the Greek is not (``Ίων`` in 1253 is Ukrainian-looking ``єщн`` in 1251
    and landed so); neither on fewer than :data:`MIN_GREEK_OR_CYRILLIC_LETTERS` letters."""
    greek = [c for c in codecs if families[c] == "Greek"]
    cyrillic = [c for c in codecs if families[c] in _CYRILLIC_FAMILIES]
    kept_greek = [c for c in greek if c in fitting]
    kept_cyrillic = [c for c in cyrillic if c in fitting]
    if not greek or not cyrillic or bool(kept_greek) == bool(kept_cyrillic):
        return fitting  # the language kept both families, or neither: nothing to check
    if sum(b >= 0x80 for word in words for b in word) < MIN_GREEK_OR_CYRILLIC_LETTERS:
        return []
    spelt = {c: all(greek_spelt(w.decode(c, errors="replace")) for w in words) for c in greek}
    if kept_greek:
        return fitting if all(spelt[c] for c in kept_greek) else []
    return [] if any(spelt.values()) else fitting


def letter_likelihood(words: Iterable[bytes], codec: str, family: str) -> float:
    """Step 6: the natural log of how likely ``codec``'s reading of ``words`` is, character
    by character, as text of its alphabet ``family`` (Greek: :data:`GREEK_TILES`; Cyrillic:
    :data:`CYRILLIC_FREQUENCY`). Every non-ASCII character counts (ASCII reads alike in every
    code page): one that is no letter of the family counts as rare, so a reading of symbols
    (``Έ²°½``) gains nothing by them."""
    table = _GREEK_LOG_FREQUENCY if family == "Greek" else _LOG_FREQUENCY
    return sum(
        table.get(ch, _RARE)
        for word in words
        for ch in word.decode(codec, errors="replace").lower()
        if ord(ch) > 127
    )


def _greek_or_cyrillic(
    words: list[bytes], codecs: tuple[str, ...], families: dict[str, str]
) -> tuple[tuple[str, ...], str]:
    """Step 6, when Greek and Cyrillic readings (and only those) still read the file
    differently: the family whose likeliest reading, by :func:`letter_likelihood`, is
    :data:`GREEK_CYRILLIC_LOG_MARGIN` likelier than the other's keeps its readings, and a note
    saying so; else ``codecs`` unchanged. Greek read as Windows-1251 turns its commonest
    letters (α ο ι ς η) into rarer consonants (б п й т з: ``Γιώργος`` is ``Гйюсгпт``), and
    Russian read as Windows-1253 its commonest (о и а) into rare Greek letters (ξ θ ΰ:
    ``Фёдор`` is ``ΤΈδξπ``); the two texts of short spelling-fast names that the language and
    spelling steps leave undecided are told apart so. Not on fewer than
    :data:`MIN_GREEK_OR_CYRILLIC_LETTERS` non-ASCII letters."""
    greek = [c for c in codecs if families[c] == "Greek"]
    cyrillic = [c for c in codecs if families[c] in _CYRILLIC_FAMILIES]
    if not greek or not cyrillic or len(greek) + len(cyrillic) < len(codecs):
        return codecs, ""
    if sum(b >= 0x80 for word in words for b in word) < MIN_GREEK_OR_CYRILLIC_LETTERS:
        return codecs, ""
    best_greek = max(letter_likelihood(words, c, "Greek") for c in greek)
    best_cyrillic = max(letter_likelihood(words, c, "Cyrillic") for c in cyrillic)
    if abs(best_greek - best_cyrillic) <= GREEK_CYRILLIC_LOG_MARGIN:
        return codecs, ""
    kept, dropped = (greek, "Cyrillic") if best_greek > best_cyrillic else (cyrillic, "Greek")
    note = (
        f"; read as {dropped} its letters are rarer (letter log-likelihood "
        f"{min(best_greek, best_cyrillic):.1f} against {max(best_greek, best_cyrillic):.1f})"
    )
    return tuple(c for c in codecs if c in kept), note


def languages_needed(chars: str, most: int = 3) -> int:
    """How few languages' alphabets hold every letter of ``chars`` (``most`` + 1 if more)."""
    letters = {c for c in chars if c.isalpha()}
    alphabets = [a for a in LANGUAGE_LETTERS.values() if a & letters]
    for k in range(1, most + 1):
        if any(set().union(*combo) >= letters for combo in combinations(alphabets, k)):
            return k
    return most + 1 if letters else 0


def _fit_language(
    head: bytes, codecs: tuple[str, ...], chars: dict[str, str], families: dict[str, str]
) -> list[str]:
    """Step 5: the code pages whose letters all belong to the language py3langid reads in
    their decoding of ``head`` (its first language, with at least half the probability).

    A code page of another alphabet family than every one so confirmed stays too when the
    languages of its letters get half the probability together: py3langid splits a short
    Russian text between Russian, Bulgarian, Ukrainian and Macedonian (none above one half),
    while the same bytes read as Greek letters go wholly to Greek, the only language of its
    script; by the first language alone, ``Щукин`` read as ``Ωσκθν`` won."""
    from pipeline.language import identify

    fitting = []
    for codec in codecs:
        lang, _ = identify(head.decode(codec, errors="replace"))
        letters = {c for c in chars[codec] if c.isalpha()}
        if lang in LANGUAGE_LETTERS and letters <= LANGUAGE_LETTERS[lang]:
            fitting.append(codec)
    confirmed = {families[c] for c in fitting}
    return [
        c
        for c in codecs
        if c in fitting
        or (
            fitting
            and families[c] not in confirmed
            and _language_share(head, c, chars[c])[0] >= MIN_LANGUAGE_SHARE
        )
    ]


def _language_share(head: bytes, codec: str, chars: str) -> tuple[float, list[str]]:
    """py3langid's probability, for ``codec``'s decoding of ``head``, of the languages whose
    alphabets hold every letter of ``chars``, and those languages, likeliest first."""
    from pipeline.language import probabilities

    letters = {c for c in chars if c.isalpha()}
    probs = probabilities(head.decode(codec, errors="replace"))
    fitting = sorted(
        (lang for lang in probs if letters <= LANGUAGE_LETTERS.get(lang, frozenset())),
        key=lambda lang: -probs[lang],
    )
    return sum(probs[lang] for lang in fitting), fitting


def _language_note(head: bytes, codec: str) -> str:
    from pipeline.language import identify

    lang, prob = identify(head.decode(codec, errors="replace"))
    return f"its text reads as language '{lang}' (py3langid, p={prob:.2f}), whose letters these are"


def _differing_word(
    words: list[bytes], codecs: tuple[str, ...], line_of: Callable[[bytes], int | None] | None
) -> str:
    """A word that two of the code pages read differently, shown both ways with the code pages'
    names (the first two that differ: 1253 and ISO-8859-7 read most Greek alike) and, when
    ``line_of`` finds it, its line."""
    for word in words:
        for a, b in combinations(codecs, 2):
            first, second = word.decode(a, "replace"), word.decode(b, "replace")
            if first != second:
                line = line_of(word) if line_of else None
                where = f"line {line}: " if line else ""
                return (
                    f"{where}{first!r} in {CANDIDATES.get(a, a)} or {second!r} in "
                    f"{CANDIDATES.get(b, b)}"
                )
    return ""
