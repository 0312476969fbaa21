"""Language of every mention and sentiment only by a measured scorer of that language.

Expected values are worked out by hand from the texts (see each comment), never read back from
the code under test."""

from __future__ import annotations

import math

import polars as pl
import pytest

from pipeline.sentiment.scorers import MIN_LABELLED, NEGATIONS, lexicon_scorer, load_scorers
from pipeline.sentiment.scoring import detect_language, normalise_language, score_mentions

# Short complaints whose one "English" word (super, top) VADER's lexicon rates positive.
COMPLAINTS = {
    "de-super": "Super schlecht, nie wieder!",
    "de-top": "Top? Nie wieder, totaler Reinfall.",
    "sl-super": "Super slabo, nikoli več!",
    "sl-top": "Ni top, zelo slabo",
    "ro-super": "Zero stele, livrare super lentă",
    "ro-top": "Nu e top deloc, foarte slab",
}


def frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "mention_id": pl.String,
            "text": pl.String,
            "language": pl.String,
            "sentiment": pl.String,
        },
        orient="row",
    )


@pytest.mark.parametrize("key", COMPLAINTS)
def test_short_complaints_with_super_or_top_are_never_positive(key):
    (row,) = score_mentions(frame([(key, COMPLAINTS[key], None, None)])).iter_rows(named=True)
    assert row["sentiment"] != "positive"
    # No scorer is measured for German, Slovenian or Romanian: unscored, not guessed.
    assert (row["sentiment"], row["sentiment_source"], row["scorer"]) == (None, "unscored", None)
    assert row["language"] != "en"


# Greek and Russian typed in Latin letters: all ASCII, py3langid unsure, none of the function
# words of the other lists, so step 3's last branch read them as English and VADER, finding no
# word of its lexicon, counted each as a neutral mention.
TRANSLITERATED = {
    "el-money": "Ta lefta mou piso",  # "mou" (my)
    "el-product": "Poly kalo proion",  # "poly" (very)
    "el-never": "Einai apaisio, den to xanagorazo",  # "einai" (is)
    "ru-service": "Ochen plokhoy servis, bolshe ne kuplyu",  # "ochen" (very), "bolshe" (more)
    "ru-thanks": "Spasibo, vse khorosho",  # "spasibo" (thanks), "vse" (all), "khorosho" (good)
}


@pytest.mark.parametrize("key", TRANSLITERATED)
def test_greek_and_russian_in_latin_letters_are_not_read_as_english(key):
    text = TRANSLITERATED[key]
    (row,) = score_mentions(frame([(key, text, None, None)])).iter_rows(named=True)
    assert (row["language"], row["sentiment"], row["sentiment_source"]) == (None, None, "unscored")
    # Tagged English by a listening tool, the text contradicts the tag: unscored as well.
    (row,) = score_mentions(frame([(key, text, "en", None)])).iter_rows(named=True)
    assert (row["language"], row["sentiment_source"]) == ("en", "unscored")


def test_english_words_left_out_of_the_transliteration_lists_keep_english():
    # "DEN" (Denver), "ton", "ya": English texts use them, so they are in neither list.
    texts = ["Stuck at DEN again", "A ton of delays, see ya"]
    rows = score_mentions(frame([(t, t, None, None) for t in texts]))
    assert [r["language"] for r in rows.iter_rows(named=True)] == ["en", "en"]


def test_language_origins():
    got = {
        r["mention_id"]: (r["language"], r["language_source"])
        for r in score_mentions(
            frame(
                [
                    ("delivered", "whatever", "EN-us", None),
                    (
                        "de",
                        "Der Flug war leider sehr verspätet und das Personal unfreundlich.",
                        None,
                        None,
                    ),
                    ("ru", "Ужасная доставка, больше никогда не закажу", None, None),
                    ("el", "Απαίσια εξυπηρέτηση, δεν θα ξαναγοράσω", None, None),
                    ("no-prose", "AA45 JFK", None, None),
                    ("empty", None, " ", "negative"),
                ]
            )
        ).iter_rows(named=True)
    }
    assert got == {
        "delivered": ("en", "delivered"),  # 'EN-us' → primary subtag, lower case
        "de": ("de", "detected"),
        "ru": ("ru", "detected"),
        "el": ("el", "detected"),
        "no-prose": (None, "unknown"),  # no word of prose: no language
        "empty": (None, "unknown"),
    }


def test_delivered_sentiment_wins_and_english_is_scored_by_vader():
    rows = score_mentions(
        frame(
            [
                ("d", "I love it", "de", "negative"),  # delivered: kept as is
                ("en", "I love this, great service!", None, None),
            ]
        )
    )
    got = {r["mention_id"]: r for r in rows.iter_rows(named=True)}
    assert (got["d"]["sentiment"], got["d"]["sentiment_source"]) == ("negative", "delivered")
    assert (got["en"]["sentiment"], got["en"]["scorer"]) == ("positive", "vader")


def test_normalise_language():
    assert [normalise_language(x) for x in ["EN", "en-US", "pt_BR", " ", None]] == [
        "en",
        "en",
        "pt",
        None,
        None,
    ]
    assert detect_language("Schöne Grüße, alles gut und danke für die schnelle Lieferung") == "de"


def _plugin(folder, labelled_rows: list[tuple[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scorers.toml").write_text(
        '[de]\nlexicon = "de.lexicon.tsv"\nlabelled = "de.labelled.csv"\n', encoding="utf-8"
    )
    (folder / "de.lexicon.tsv").write_text(
        "# word<TAB>weight\ngut\t2\nsuper\t1.5\ntoll\t2.5\nschlecht\t-2\nfurchtbar\t-3\n",
        encoding="utf-8",
    )
    body = "text,sentiment\n" + "".join(f'"{t}",{s}\n' for t, s in labelled_rows)
    (folder / "de.labelled.csv").write_text(body, encoding="utf-8")


def test_a_measured_lexicon_scores_its_language_only(tmp_path):
    # 20 labelled texts: 9 "gut" (positive, +2 → 2/√19 = 0.46 ≥ 0.05), 9 "furchtbar" (negative),
    # and 2 the lexicon gets wrong ("nicht gut" is negated → negative, labelled neutral; "Lieferung
    # heute" has no lexicon word → 0 → neutral, labelled positive): accuracy 18/20 = 90 %.
    labelled = [("Das war gut", "positive")] * 9 + [("Einfach furchtbar", "negative")] * 9
    labelled += [("nicht gut", "neutral"), ("Lieferung heute", "positive")]
    assert len(labelled) == MIN_LABELLED
    _plugin(tmp_path / "sentiment", labelled)
    scorers = load_scorers(tmp_path / "sentiment")
    assert set(scorers) == {"en", "de"}
    assert scorers["de"].accuracy == pytest.approx(0.9) and scorers["de"].labelled == 20
    rows = score_mentions(
        frame(
            [
                ("de", "Super schlecht, nie wieder!", None, None),
                ("sl", "Super slabo, nikoli več!", None, None),
            ]
        ),
        scorers,
    )
    got = {r["mention_id"]: r for r in rows.iter_rows(named=True)}
    # super +1.5, schlecht -2 → -0.5; -0.5/√(0.25 + 15) = -0.128 ≤ -0.05: negative.
    assert got["de"]["compound"] == pytest.approx(-0.5 / math.sqrt(15.25))
    assert (got["de"]["sentiment"], got["de"]["scorer"]) == ("negative", "lexicon de.lexicon.tsv")
    # Slovenian: no scorer of its own, and never the German or English one.
    assert (got["sl"]["sentiment"], got["sl"]["sentiment_source"]) == (None, "unscored")


def test_an_unmeasured_or_inaccurate_scorer_is_not_used(tmp_path):
    # 10 right, 10 wrong ("gut" labelled negative): 50 % < 70 %.
    labelled = [("Das war gut", "positive")] * 10 + [("Das war gut", "negative")] * 10
    _plugin(tmp_path / "sentiment", labelled)
    messages: list[str] = []
    scorers = load_scorers(tmp_path / "sentiment", messages.append)
    assert set(scorers) == {"en"}
    assert "accuracy 50% on 20 labelled texts" in messages[0]


def test_lexicon_negation_flips_the_next_words():
    score = lexicon_scorer({"gut": 2.0})
    assert score("gut") == pytest.approx(2 / math.sqrt(19))
    assert score("nicht gut") == pytest.approx(-2 / math.sqrt(19))


def test_a_delivered_language_the_text_contradicts_is_not_scored(tmp_path):
    # A listening tool's tag is the account's or its own guess on a short post. A text that
    # says it is in another language is left unscored under its delivered tag (the language
    # column keeps what was delivered); one that says nothing either way keeps the tag's scorer.
    labelled = [("Das war gut", "positive")] * 10 + [("Einfach furchtbar", "negative")] * 10
    _plugin(tmp_path / "sentiment", labelled)
    rows = score_mentions(
        frame(
            [
                # German, py3langid: de 0.97. VADER would read "super" alone: +0.636 positive.
                ("de as en", "Super schlecht, nie wieder!", "en", None),
                # Romanian without diacritics, py3langid unsure (0.47), but "nu" is a Romanian
                # function word and there is no English one. VADER: +0.599 positive.
                ("ro as en", "Super, livrare rapida, nu recomand deloc", "en", None),
                # Russian, py3langid: ru 0.61. VADER finds no word of its lexicon: 0.0 neutral.
                ("ru as en", "Супер, больше никогда не закажу", "en", None),
                # Slovenian tagged German, py3langid: sl 0.56. The German lexicon would read
                # "super" (+1.5) alone: positive.
                ("sl as de", "Super slabo, nikoli več!", "de", None),
                # English, py3langid: en 0.87: scored by VADER ("thanks", "great": positive).
                ("en as en", "Thanks, great crew!", "en", None),
                # Nothing tells: the tag's scorer. VADER: "top" 0.8, "!" +0.292 → 1.092;
                # 1.092 / √(1.092² + 15) = 0.2714, positive.
                ("says nothing", "Top!", "en", None),
            ]
        ),
        load_scorers(tmp_path / "sentiment"),
    )
    got = {
        r["mention_id"]: (
            r["language"],
            r["language_source"],
            r["sentiment"],
            r["sentiment_source"],
            r["scorer"],
        )
        for r in rows.iter_rows(named=True)
    }
    assert got == {
        "de as en": ("en", "delivered", None, "unscored", None),
        "ro as en": ("en", "delivered", None, "unscored", None),
        "ru as en": ("en", "delivered", None, "unscored", None),
        "sl as de": ("de", "delivered", None, "unscored", None),
        "en as en": ("en", "delivered", "positive", "scored", "vader"),
        "says nothing": ("en", "delivered", "positive", "scored", "vader"),
    }


def test_lexicon_reads_romanian_cedilla_and_comma_letters_and_decomposed_text_alike():
    # Romanian ș ț (comma below, U+0219 U+021B) are written ş ţ (cedilla, U+015F U+0163) by
    # Windows-1250 and old keyboards, and "ș" may arrive decomposed (s + U+0326). They are the
    # same letters: a lexicon in either form reads text in any of them.
    comma = lexicon_scorer({"mulțumit": 2.0}, NEGATIONS["ro"])
    cedilla = lexicon_scorer({"mulţumit": 2.0})
    plus = 2 / math.sqrt(19)  # one word of weight 2: 2 / √(4 + 15)
    for text in ("Sunt mulțumit", "Sunt mulţumit", "Sunt mul\u0163umit", "Sunt mult\u0326umit"):
        assert comma(text) == pytest.approx(plus), text
        assert cedilla(text) == pytest.approx(plus), text
    # "niciodată" (never) flips the next two words however its ă is written (NFD: a + U+0306).
    assert comma("niciodat\u0103 mulţumit") == pytest.approx(-plus)
    assert comma("niciodata\u0306 mulţumit") == pytest.approx(-plus)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Nisem zadovoljna", "zadovoljna"),  # sl: "I am not satisfied" (nisem = ne + sem)
        ("Nismo zadovoljni", "zadovoljni"),  # sl: "we are not satisfied"
        ("Ich habe keinen guten Service bekommen", "guten"),  # de: kein, inflected
        ("Das war niemals gut", "gut"),  # de: never
        ("Δε μου άρεσε", "άρεσε"),  # el: δε, δεν before a consonant
        ("Μην το αγοράσετε", "αγοράσετε"),  # el: μην, μη before a vowel or stop
        ("Niciodata bun", "bun"),  # ro: niciodată typed without its diacritic
        ("Никогда хороший", "хороший"),  # ru: never
    ],
)
def test_lexicon_negation_in_each_users_language(text, word):
    # A lexicon that rates the word +2 reads it negated: -2 / √(4 + 15).
    assert lexicon_scorer({word: 2.0})(text) == pytest.approx(-2 / math.sqrt(19))


def test_a_romanian_lexicon_does_not_read_ne_as_a_negation(tmp_path):
    # "Ne place mult" is "we like it a lot": Romanian "ne" is "us", a negation only in Slovenian
    # and Russian. 20 labelled texts, all right: "place" +2 → 2/√19 = 0.459 positive; "nu place"
    # negated → -0.459 negative.
    folder = tmp_path / "sentiment"
    folder.mkdir()
    (folder / "scorers.toml").write_text(
        '[ro]\nlexicon = "ro.tsv"\nlabelled = "ro.csv"\n', encoding="utf-8"
    )
    (folder / "ro.tsv").write_text("place\t2\n", encoding="utf-8")
    labelled = ["Îmi place,positive"] * 10 + ["Nu îmi place,negative"] * 10
    (folder / "ro.csv").write_text("text,sentiment\n" + "\n".join(labelled), encoding="utf-8")
    scorer = load_scorers(folder)["ro"]
    assert scorer.score("Ne place mult") == pytest.approx(2 / math.sqrt(19))
    assert scorer.score("Nu ne place") == pytest.approx(-2 / math.sqrt(19))
