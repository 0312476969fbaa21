"""Words the sample-data generator draws from: names, countries, mention texts, survey comments.

Six locales (English, Romanian, German, Greek, Russian, Slovenian) with real non-ASCII spelling,
each name paired with an ASCII transliteration for e-mail addresses and social handles.
Texts come in three tones (positive, neutral, negative) so that a mention's words agree with
its sentiment, which lets the pipeline's sentiment scorer be checked against the given labels.
"""

from __future__ import annotations

import numpy as np
import polars as pl

BRAND = "Lumora"
BRAND_HANDLE = "lumora_shop"
SHOP_URL = "https://shop.lumora.example"

LOCALES: tuple[str, ...] = ("en", "ro", "de", "el", "ru", "sl")
LOCALE_WEIGHTS: tuple[float, ...] = (0.35, 0.20, 0.18, 0.09, 0.09, 0.09)
TONES: tuple[str, ...] = ("positive", "neutral", "negative")

# (country, weight) per locale; ISO 3166 alpha-2.
COUNTRIES: dict[str, tuple[tuple[str, float], ...]] = {
    "en": (("GB", 0.5), ("US", 0.3), ("IE", 0.2)),
    "ro": (("RO", 0.9), ("MD", 0.1)),
    "de": (("DE", 0.7), ("AT", 0.2), ("CH", 0.1)),
    "el": (("GR", 0.85), ("CY", 0.15)),
    "ru": (("RU", 0.6), ("LV", 0.25), ("EE", 0.15)),
    "sl": (("SI", 1.0),),
}
PHONE_PREFIX: dict[str, str] = {
    "GB": "+44 77",
    "US": "+1 31",
    "IE": "+353 8",
    "RO": "+40 7",
    "MD": "+373 6",
    "DE": "+49 15",
    "AT": "+43 6",
    "CH": "+41 7",
    "GR": "+30 69",
    "CY": "+357 9",
    "RU": "+7 91",
    "LV": "+371 2",
    "EE": "+372 5",
    "SI": "+386 4",
}
# Reserved ``.example`` domains (RFC 2606): realistic shapes, never a real mailbox.
EMAIL_DOMAINS: dict[str, tuple[str, ...]] = {
    "en": ("gmail.example", "outlook.example", "icloud.example"),
    "ro": ("yahoo.example", "gmail.example", "posta.example"),
    "de": ("web.example", "gmx.example", "gmail.example"),
    "el": ("otenet.example", "gmail.example"),
    "ru": ("yandex.example", "mail.example"),
    "sl": ("siol.example", "gmail.example"),
}

# First names: (native, ascii, female).
FIRST_NAMES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "en": (
        ("James", "james", False),
        ("Oliver", "oliver", False),
        ("William", "william", False),
        ("Jack", "jack", False),
        ("Harry", "harry", False),
        ("Thomas", "thomas", False),
        ("Daniel", "daniel", False),
        ("Liam", "liam", False),
        ("Olivia", "olivia", True),
        ("Emma", "emma", True),
        ("Sophie", "sophie", True),
        ("Charlotte", "charlotte", True),
        ("Amelia", "amelia", True),
        ("Chloe", "chloe", True),
        ("Grace", "grace", True),
        ("Zoë", "zoe", True),
        ("Siobhán", "siobhan", True),
        ("Renée", "renee", True),
    ),
    "ro": (
        ("Ștefan", "stefan", False),
        ("Andrei", "andrei", False),
        ("Mihai", "mihai", False),
        ("Ion", "ion", False),
        ("Alexandru", "alexandru", False),
        ("Răzvan", "razvan", False),
        ("Bogdan", "bogdan", False),
        ("Cătălin", "catalin", False),
        ("Ioana", "ioana", True),
        ("Maria", "maria", True),
        ("Elena", "elena", True),
        ("Andreea", "andreea", True),
        ("Mădălina", "madalina", True),
        ("Ștefania", "stefania", True),
        ("Irina", "irina", True),
        ("Bianca", "bianca", True),
    ),
    "de": (
        ("Jürgen", "juergen", False),
        ("Lukas", "lukas", False),
        ("Maximilian", "maximilian", False),
        ("Felix", "felix", False),
        ("Jonas", "jonas", False),
        ("Björn", "bjoern", False),
        ("Jörg", "joerg", False),
        ("Günther", "guenther", False),
        ("Anna", "anna", True),
        ("Lena", "lena", True),
        ("Marie", "marie", True),
        ("Katrin", "katrin", True),
        ("Hannah", "hannah", True),
        ("Jana", "jana", True),
        ("Käthe", "kaethe", True),
        ("Mia", "mia", True),
    ),
    "el": (
        ("Γιώργος", "giorgos", False),
        ("Δημήτρης", "dimitris", False),
        ("Νίκος", "nikos", False),
        ("Κωνσταντίνος", "konstantinos", False),
        ("Ιωάννης", "ioannis", False),
        ("Παναγιώτης", "panagiotis", False),
        ("Χρήστος", "christos", False),
        ("Σοφία", "sofia", True),
        ("Μαρία", "maria", True),
        ("Ελένη", "eleni", True),
        ("Κατερίνα", "katerina", True),
        ("Βασιλική", "vasiliki", True),
        ("Αγγελική", "angeliki", True),
        ("Δέσποινα", "despoina", True),
    ),
    "ru": (
        ("Дмитрий", "dmitry", False),
        ("Алексей", "alexey", False),
        ("Сергей", "sergey", False),
        ("Андрей", "andrey", False),
        ("Иван", "ivan", False),
        ("Михаил", "mikhail", False),
        ("Артём", "artyom", False),
        ("Николай", "nikolay", False),
        ("Анна", "anna", True),
        ("Мария", "maria", True),
        ("Ольга", "olga", True),
        ("Елена", "elena", True),
        ("Наталья", "natalya", True),
        ("Татьяна", "tatyana", True),
        ("Юлия", "yulia", True),
        ("Ксения", "ksenia", True),
    ),
    "sl": (
        ("Žiga", "ziga", False),
        ("Luka", "luka", False),
        ("Nejc", "nejc", False),
        ("Matija", "matija", False),
        ("Gašper", "gasper", False),
        ("Anže", "anze", False),
        ("Jure", "jure", False),
        ("Rok", "rok", False),
        ("Nina", "nina", True),
        ("Maja", "maja", True),
        ("Eva", "eva", True),
        ("Špela", "spela", True),
        ("Urška", "urska", True),
        ("Tjaša", "tjasa", True),
        ("Nataša", "natasa", True),
        ("Mojca", "mojca", True),
    ),
}

# Last names: (native male, native female, ascii male, ascii female).
LAST_NAMES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "en": tuple(
        (n, n, a, a)
        for n, a in (
            ("Smith", "smith"),
            ("Jones", "jones"),
            ("Taylor", "taylor"),
            ("Brown", "brown"),
            ("Williams", "williams"),
            ("Wilson", "wilson"),
            ("Davies", "davies"),
            ("Robinson", "robinson"),
            ("Wright", "wright"),
            ("Murphy", "murphy"),
            ("O'Brien", "obrien"),
            ("Walker", "walker"),
            ("Evans", "evans"),
        )
    ),
    "ro": tuple(
        (n, n, a, a)
        for n, a in (
            ("Popescu", "popescu"),
            ("Ionescu", "ionescu"),
            ("Popa", "popa"),
            ("Dumitrescu", "dumitrescu"),
            ("Stănescu", "stanescu"),
            ("Rădulescu", "radulescu"),
            ("Țurcanu", "turcanu"),
            ("Munteanu", "munteanu"),
            ("Gheorghiu", "gheorghiu"),
            ("Bălan", "balan"),
            ("Mureșan", "muresan"),
            ("Căpraru", "capraru"),
        )
    ),
    "de": tuple(
        (n, n, a, a)
        for n, a in (
            ("Müller", "mueller"),
            ("Schmidt", "schmidt"),
            ("Schneider", "schneider"),
            ("Fischer", "fischer"),
            ("Weber", "weber"),
            ("Wagner", "wagner"),
            ("Schäfer", "schaefer"),
            ("Köhler", "koehler"),
            ("Groß", "gross"),
            ("Schröder", "schroeder"),
            ("Krüger", "krueger"),
            ("Weiß", "weiss"),
        )
    ),
    "el": (
        ("Παπαδόπουλος", "Παπαδοπούλου", "papadopoulos", "papadopoulou"),
        ("Γεωργίου", "Γεωργίου", "georgiou", "georgiou"),
        ("Οικονόμου", "Οικονόμου", "oikonomou", "oikonomou"),
        ("Παπαδάκης", "Παπαδάκη", "papadakis", "papadaki"),
        ("Νικολάου", "Νικολάου", "nikolaou", "nikolaou"),
        ("Κωνσταντινίδης", "Κωνσταντινίδου", "konstantinidis", "konstantinidou"),
        ("Μακρής", "Μακρή", "makris", "makri"),
        ("Καραγιάννης", "Καραγιάννη", "karagiannis", "karagianni"),
    ),
    "ru": (
        ("Иванов", "Иванова", "ivanov", "ivanova"),
        ("Смирнов", "Смирнова", "smirnov", "smirnova"),
        ("Кузнецов", "Кузнецова", "kuznetsov", "kuznetsova"),
        ("Попов", "Попова", "popov", "popova"),
        ("Соколов", "Соколова", "sokolov", "sokolova"),
        ("Лебедев", "Лебедева", "lebedev", "lebedeva"),
        ("Новиков", "Новикова", "novikov", "novikova"),
        ("Фёдоров", "Фёдорова", "fyodorov", "fyodorova"),
        ("Зайцев", "Зайцева", "zaytsev", "zaytseva"),
    ),
    "sl": tuple(
        (n, n, a, a)
        for n, a in (
            ("Novak", "novak"),
            ("Horvat", "horvat"),
            ("Kovačič", "kovacic"),
            ("Krajnc", "krajnc"),
            ("Zupančič", "zupancic"),
            ("Potočnik", "potocnik"),
            ("Mlakar", "mlakar"),
            ("Vidmar", "vidmar"),
            ("Golob", "golob"),
            ("Božič", "bozic"),
            ("Žagar", "zagar"),
        )
    ),
}

_B = BRAND
_H = "@" + BRAND_HANDLE
# Social mention texts per language and tone. English has the most: most mentions are English,
# and the pipeline's scorer (VADER) reads English.
MENTION_TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "positive": (
            f"Absolutely love my new order from {_H}, arrived in two days!",
            f"Great quality and super friendly support at {_B}. Highly recommend.",
            f"{_B} never disappoints. Best purchase this year 😍",
            f"Thanks {_H} for sorting out my exchange so quickly, amazing service!",
            f"The {_B} winter sale is fantastic, got everything on my list.",
            f'Ordered the "Aurora" lamp from {_B}, it is beautiful.\nVery happy!',
        ),
        "neutral": (
            f"Has anyone ordered from {_B}? Wondering about delivery times to Ireland.",
            f"{_B} has a new spring collection out.",
            f"Just placed an order with {_H}, will see how it goes.",
            f"Does {_B} ship to Cyprus? Asking for a friend.",
            f"{_B} changed their website layout again.",
        ),
        "negative": (
            f"Worst customer service ever. {_H} still hasn't refunded my order after 3 weeks.",
            f"My {_B} package arrived damaged and nobody answers my emails. Really disappointed.",
            f"Terrible experience with {_H}: wrong size, late delivery, no reply. Never again.",
            f"{_B}, why is my order stuck in 'processing' for 10 days? This is awful.",
            f"Cancelled my {_B} order, the delivery was horribly late and support is useless.",
        ),
    },
    "ro": {
        "positive": (
            f"Comanda de la {_B} a ajuns în două zile, sunt foarte mulțumită!",
            f"Calitate excelentă la {_B}, recomand cu încredere.",
        ),
        "neutral": (
            f"A comandat cineva de la {_B}? Cât durează livrarea în Iași?",
            f"{_B} are o colecție nouă de primăvară.",
        ),
        "negative": (
            f"Coletul de la {_B} a întârziat două săptămâni și nimeni nu răspunde.",
            f"Produsul {_B} a venit deteriorat, sunt foarte dezamăgit.",
        ),
    },
    "de": {
        "positive": (
            f"Super schnelle Lieferung von {_B}, bin total zufrieden!",
            f"Tolle Qualität bei {_B}, gerne wieder. Großartig!",
        ),
        "neutral": (
            f"Hat jemand Erfahrung mit {_B}? Wie lange dauert der Versand nach Österreich?",
            f"{_B} hat eine neue Frühjahrskollektion.",
        ),
        "negative": (
            f"Paket von {_B} kam beschädigt an und der Kundenservice reagiert nicht. Ärgerlich!",
            f"Seit drei Wochen warte ich auf meine Rückerstattung von {_B}.",
        ),
    },
    "el": {
        "positive": (
            f"Εξαιρετική εξυπηρέτηση από {_B}, η παραγγελία ήρθε σε δύο μέρες!",
            f"Πολύ καλή ποιότητα στα προϊόντα {_B}, το προτείνω.",
        ),
        "neutral": (
            f"Έχει παραγγείλει κανείς από {_B}; Πόσο κάνει η αποστολή στην Κύπρο;",
            f"Η {_B} έβγαλε νέα συλλογή.",
        ),
        "negative": (
            f"Το δέμα από {_B} ήρθε χαλασμένο και κανείς δεν απαντά. Απαράδεκτο.",
            f"Περιμένω ακόμα την επιστροφή χρημάτων από {_B}.",
        ),
    },
    "ru": {
        "positive": (
            f"Отличный магазин {_B}, доставка за два дня!",
            f"Качество у {_B} супер, всем рекомендую.",
        ),
        "neutral": (
            f"Кто-нибудь заказывал в {_B}? Сколько идёт доставка в Ригу?",
            f"У {_B} новая весенняя коллекция.",
        ),
        "negative": (
            f"Посылка от {_B} пришла повреждённой, поддержка молчит. Ужасно.",
            f"Уже три недели жду возврат денег от {_B}.",
        ),
    },
    "sl": {
        "positive": (
            f"Hitra dostava in odlična kakovost pri {_B}, priporočam!",
            f"Zelo zadovoljna z nakupom pri {_B}.",
        ),
        "neutral": (
            f"Je kdo že naročal pri {_B}? Koliko časa traja dostava v Maribor?",
            f"{_B} ima novo pomladno kolekcijo.",
        ),
        "negative": (
            f"Paket od {_B} je prišel poškodovan, nihče se ne odziva. Grozno.",
            f"Že tri tedne čakam na vračilo denarja od {_B}.",
        ),
    },
}

# Survey comments per language and tone.
SURVEY_COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "positive": ("Fast delivery, great quality.", "Support solved it in minutes, thanks!"),
        "neutral": ("It was okay.", "Delivery took about a week."),
        "negative": (
            "Took far too long, and I had to explain the problem three times.",
            'Still waiting for my refund; "we will get back to you" is not an answer.',
        ),
    },
    "ro": {
        "positive": ("Livrare rapidă, sunt mulțumit.", "Echipa de suport a fost excelentă."),
        "neutral": ("A fost în regulă.", "Livrarea a durat cam o săptămână."),
        "negative": ("Am așteptat prea mult un răspuns.", "Produsul a venit deteriorat."),
    },
    "de": {
        "positive": ("Schnelle Lieferung, top Qualität.", "Der Support war sehr hilfsbereit."),
        "neutral": ("War in Ordnung.", "Die Lieferung hat fünf Tage gedauert."),
        "negative": ("Viel zu lange Wartezeit.", "Die Rückerstattung fehlt immer noch, ärgerlich."),
    },
    "el": {
        "positive": ("Γρήγορη παράδοση, άψογη ποιότητα.", "Η υποστήριξη ήταν εξαιρετική."),
        "neutral": ("Ήταν εντάξει.", "Η παράδοση κράτησε μια εβδομάδα."),
        "negative": ("Περίμενα πολύ για απάντηση.", "Το προϊόν ήρθε χαλασμένο."),
    },
    "ru": {
        "positive": ("Быстрая доставка, отличное качество.", "Поддержка помогла за пять минут."),
        "neutral": ("Нормально.", "Доставка заняла неделю."),
        "negative": ("Слишком долго ждал ответа.", "Товар пришёл повреждённым."),
    },
    "sl": {
        "positive": ("Hitra dostava, odlična kakovost.", "Podpora je bila zelo prijazna."),
        "neutral": ("Je bilo v redu.", "Dostava je trajala en teden."),
        "negative": ("Predolgo sem čakal na odgovor.", "Izdelek je prišel poškodovan."),
    },
}


def name_tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    """First- and last-name tables, rows grouped by locale in ``LOCALES`` order."""
    first = pl.DataFrame(
        [(i, *row) for i, loc in enumerate(LOCALES) for row in FIRST_NAMES[loc]],
        schema=["locale", "native", "ascii", "female"],
        orient="row",
    )
    last = pl.DataFrame(
        [(i, *row) for i, loc in enumerate(LOCALES) for row in LAST_NAMES[loc]],
        schema=["locale", "native_m", "native_f", "ascii_m", "ascii_f"],
        orient="row",
    )
    return first, last


def text_table(texts: dict[str, dict[str, tuple[str, ...]]]) -> pl.DataFrame:
    """A (group, text) table where group = locale index * 3 + tone index, sorted by group."""
    return pl.DataFrame(
        [
            (li * len(TONES) + ti, text)
            for li, loc in enumerate(LOCALES)
            for ti, tone in enumerate(TONES)
            for text in texts[loc][tone]
        ],
        schema=["group", "text"],
        orient="row",
    )


def group_offsets(groups: pl.Series, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """(offset, count) per group of a table sorted by group, to draw rows of a group by index."""
    counts = np.bincount(groups.to_numpy(), minlength=n_groups)
    return np.concatenate([[0], np.cumsum(counts)[:-1]]), counts
