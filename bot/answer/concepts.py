"""The key concepts of a question: what an answer must be about, as opposed to how the question is asked.

"Is laparoscopic surgery safe during pregnancy?" is about *laparoscopic*, *surgery* and *pregnancy*; "is",
"safe" and "during" only frame it. Each content word is one concept (its index term, stemmed with the
retrieval tokenizer, so the terms the lexical index holds); the run of words it stands in ("laparoscopic
surgery") is kept to name what is missing in plain words. Framing words are question words, stopwords and a
short list of relation words every study uses ("effect", "risk", "associated", "reduce", "induce", "safe",
...).

Each concept carries its weight in the store (idf; a term no stored article holds in any form weighs most)
and two flags: *soft* when the term is in a large share of all abstracts ("patients", "study": it narrows
nothing), and *domain* when it is rare in everyday English (wordfreq) — a domain term the store has never
seen ("semaglutide") is a strong sign the store cannot answer, while an everyday word it has never seen
("windpipe") is often a lay name for something it does hold ("trachea").
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from bot.answer.lexicon import STATES, lemmas, mostly_adjective, mostly_verb, singular
from bot.answer.lexicon import known as lexicon_known
from bot.retrieval.terms import STOPWORDS, normalise, stem_word

#: Stems of words that frame a question rather than name its subject.
FRAMING_STEMS = frozenset(
    """
    effect effici efficaci efficac benefit benefici risk outcom associ relat relationship correl role
    impact influenc improv reduc increas decreas lower rais rise help work caus lead affect chang differ
    compar predict prevent use safe safeti harm harmless danger good bad better wors best worst possibl
    common frequent likelihood likeli chanc matter make get take need happen occur exist link connect
    contribut depend determin factor evid studi research data show find suggest know known actual realli
    involv right wrong true fals import signific well way type kind thing someth anyth anyon someon
    peopl person patient human mean much mani lot less fewer greater higher lowest highest amount level
    degre often usual gener overal versus vs cure treat treatment therapi consequ respons also still
    even just realli worth worthwhil option choic instead keep stay look feel tell start end result
    induc delay slow protect detect promot prolong shorten enhanc boost worsen allevi reliev eas
    greatest largest smallest becom seem appear add adds adding
    """.split()
)
#: Words that only glue a question together, beyond the tokenizer's stopwords.
EXTRA_STOPWORDS = frozenset(
    """
    us among amongst whichever whatever whoever whomever rather sooner anyway etc ie eg yes okay ok
    please thanks someone anyone everyone everybody somebody anybody nobody something anything everything
    nothing one ones go goes going gone went straight sort sorts plus minus
    unlike like via onto toward towards besides beside near amid amidst per upon within without beyond
    despite throughout underneath regarding concerning across along around except inside outside
    """.split()
)
#: Adjectives that name who or what stage a question is about: never framing, however common.
QUALIFIERS = frozenset(
    """
    young younger old older elderly aged pregnant male female obese overweight underweight diabetic
    preterm premature neonatal newborn infant adolescent adult paediatric pediatric geriatric early late
    acute chronic severe mild advanced metastatic recurrent primary secondary congenital fetal maternal
    healthy sick ill critical first second third
    """.split()
)
#: Common nouns that still say who or what a question is about: people and the body. Other words at least
#: SOFT_ZIPF common in English ("standard", "power", "part") narrow nothing in a biomedical question.
PEOPLE_AND_BODY = frozenset(
    """
    child children kid kids baby babies infant infants man men woman women boy boys girl girls mother
    mothers father fathers parent parents family families people person adult adults teen teens teenager
    teenagers student students worker workers doctor doctors nurse nurses player players athlete
    athletes soldier soldiers veteran veterans pregnancy birth death heart blood brain eye eyes skin
    bone bones head face hand hands foot feet leg legs arm arms back neck chest breast stomach liver
    kidney kidneys lung lungs mouth teeth tooth ear ears nose throat muscle muscles hair body water food
    alcohol drug drugs sleep pain cancer sex growth weight die died dies
    """.split()
)
#: What people do, as common in English as framing words, but what a question is about ("drive after a
#: stroke"); still the question's verb where it is one ("does insulin resistance drive the association")
ACTIVITIES = frozenset("drive driving walk walking swimming cycling dancing eating".split())
SOFT_ZIPF = 5.0
#: Who a question is about, in the words abstracts use for it (MeSH's age groups and their entry terms). A
#: population is held only in words, one of its group's: similarity cannot tell children from adults.
POPULATIONS = (
    "child children childhood kid kids paediatric pediatric schoolchildren preschool",
    "infant infants baby babies newborn newborns neonate neonates neonatal",
    "adolescent adolescents adolescence teen teens teenager teenagers youth juvenile",
    "elderly old older aged geriatric seniors senior octogenarians nonagenarians",
    "woman women female females maternal mother mothers mum mums mom moms",
    "man men male males",
    "pregnancy pregnancies pregnant gestation gestational antenatal prenatal obstetric",
)
#: Verbs at least this common in English frame a question ("give", "removed"); rarer ones name something.
COMMON_VERB_ZIPF = 4.0
#: Plain adjectives and adverbs at least this common in English ("likely", "later", "full") frame a question.
COMMON_ZIPF = 4.8
#: A term in more than this share of the store's articles narrows nothing: a soft concept.
SOFT_SHARE = 0.2
#: A term at least this many stored articles use (or this share of them) is the literature's own word for it.
LITERATURE_ARTICLES = 5
LITERATURE_SHARE = 0.005
#: Zipf frequency (wordfreq: log10 of uses per billion words) below which a word is a domain term.
EVERYDAY_ZIPF = 2.8

_WORD = re.compile(r"[0-9a-z]+(?:(?:[-/']|(?<=\d)\.(?=\d))[0-9a-z]+)*|[^\s0-9a-z]")


class CorpusStats(Protocol):
    """What concepts need to know about the store's vocabulary (the lexical index provides it)."""

    @property
    def article_count(self) -> int: ...

    def document_frequency(self, terms: Sequence[str]) -> int:
        """Articles holding any of ``terms``."""
        ...

    def variants(self, term: str) -> list[str]:
        """Stored terms that are forms of ``term`` (:func:`bot.retrieval.terms.same_stem`)."""
        ...


@dataclass(frozen=True)
class Concept:
    """One thing the question is about."""

    text: str  # the word as the question writes it, lower-cased
    term: str  # its index term
    surface: str  # the word with the question's own capitals ("CGRP"), for naming it back
    run: int  # which run of content words (phrase) it stands in, counting from 0
    position: int  # its place in that run
    weight: float  # idf in the store (unknown terms: the highest possible)
    known: bool  # some stored article holds the term in some form
    soft: bool  # in a large share of the articles, or a very common English word: narrows nothing
    domain: bool  # rare in everyday English: a technical term (everyday words are often lay synonyms)
    population: tuple[str, ...] = ()  # for who-words ("children"): the index terms that name the same people
    compound: bool = False  # one of common words that name a thing together: held in words only as the phrase
    strict: bool = False  # held only in words (what a follow-up adds: the user asks about exactly that)
    #: an abbreviation written in capitals ("ART"): never soft, named as the store defines it
    acronym: bool = False
    pattern: str = (
        ""  # for a name with a letter or number ("vitamin D", "hepatitis C"): the words must read so
    )
    #: the literature's own word for the thing: enough stored articles use it (LITERATURE_ARTICLES, or
    #: LITERATURE_SHARE of them) that an article about it would too, in this or another name
    literature: bool = False
    phrase: str = ""  # the whole noun phrase it stands in, as the question writes it ("irregular heartbeats")
    modifier: bool = (
        False  # an everyday adjective ("irregular heartbeats"): named with its phrase, not required
    )
    #: other names of the concept's phrase, or of the word alone, that abstracts use ("womb": uterus, uterine)
    synonyms: tuple[str, ...] = ()


def _content_term(word: str) -> str | None:
    """The index term of a content word; None for punctuation, numbers, stopwords and framing words."""
    if not word or not word[0].isalnum() or word.isdigit():  # (no word: the question's start or end)
        return None
    word = word.split("'")[0]  # "cell's" -> "cell"
    if "-" in word or "/" in word:
        return re.sub(r"[-/]", "", word)  # a compound ("il-6", "5-fu") is indexed whole
    if word in STOPWORDS or word in EXTRA_STOPWORDS or len(word) < 2:
        return None
    stem = stem_word(word)
    if word in STATES:
        return stem  # "if the operation is delayed": a state of the thing asked about, not a framing verb
    if stem in FRAMING_STEMS or word in FRAMING_STEMS or _frames(word):
        return None
    return stem


@functools.lru_cache(maxsize=8192)
def _frames(word: str) -> bool:
    """Whether an English word frames rather than names: a common verb that is never a noun ("removed",
    "recover"), or a common plain adjective or adverb ("likely", "full")."""
    if word in QUALIFIERS or word in STATES or not word.isalpha():
        return False  # "an infected knee replacement" is no knee replacement
    readings = set(lemmas(word))
    if readings == {"ADV"}:
        return True  # "mainly", "especially": adverbs never name a topic
    if word.endswith("ing") and "VERB" in readings:
        return False  # a gerund names an activity: "heavy drinking", "cold water swimming"
    if "VERB" in readings and not readings & {"NOUN", "PROPN"}:
        return zipf(word) >= COMMON_VERB_ZIPF  # a rare verb ("manipulated") still narrows the question
    return readings <= {"ADJ", "ADV"} and zipf(word) >= COMMON_ZIPF


#: Words that start a noun phrase: a word that may be a verb just before one is the question's verb ("Does air
#: pressure trigger a rupture?").
DETERMINERS = frozenset("a an the their its your my our his her this that these those any some".split())


#: Set phrases that say how much, how long or how closely, never what ("plenty of dust", "for a long time", "keep a
#: close eye on it", "by mistake"): they end a run and name nothing.
_IDIOMS = re.compile(
    r"\b(?:plenty of|(?:a )?handful of|lots of|a lot of|a bit|sort of|kind of|by (?:mistake|accident)"
    r"|keep(?:s|ing)? (?:a (?:close )?|an )eye on|keep(?:s|ing)? track of|(?:at )?the same time"
    r"|(?:a|the) (?:long|short|whole|first|last|next) time|in the (?:long|short) run)\b"
)


def runs(question: str) -> list[list[str]]:
    """Runs of consecutive content words, in question order: the noun phrases a question names. Stopwords,
    framing words, numbers and punctuation end a run ("does yoga reduce back pain" -> [yoga], [back, pain]);
    so do a possessive ("the weather's air pressure" -> [weather], [air, pressure]) and the question's verb when
    it can also be a noun: after a plural noun ("do face masks stop flu") or before a determiner ("does air
    pressure trigger a rupture")."""
    out: list[list[str]] = []
    current: list[str] = []
    words = [_head_of(m.group(0)) for m in _WORD.finditer(_IDIOMS.sub(" , ", normalise(question)))]
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        before = words[i - 1] if i else ""
        if (
            _content_term(word) is None
            or (current and _verb_here(current[-1], word, following) and not _named(current[-1], word))
            or _verb_by_neighbours(before, word, following)
            or _verb_with_object(before, word, following)
            or _body_verb(before, word, following)
            or _adverbial(current, word, following)
            or _aside(before, word, following)
            or _verb_in_clause(words[:i], word, following, words[i + 2] if i + 2 < len(words) else "")
        ):
            if current:
                out.append(current)
            current = []
            continue
        current.append(word)
        if "'" in word:  # "weather's": the possessor is a phrase of its own
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


#: Nouns English also uses mostly as verbs that often end a compound ("health care", "blood test").
COMPOUND_HEADS = frozenset("care test check use spread".split())


#: Particles that make a phrasal verb of the word before them ("rule out", "go away", "cut down").
PARTICLES = frozenset("out away off down up".split())


def _named(previous: str, word: str) -> bool:
    """Whether two words are one name WordNet knows ("jet lag"): the second is no verb then."""
    head = previous.split("'")[0]
    return lexicon_known(f"{head} {word}")


#: Last parts of a hyphenated word that only relate it to its head ("withdrawal-related"); "virus-induced"
#: says more, and is held whole or as its parts.
RELATING_STEMS = frozenset({"relat", "associ", "link", "base"})


def _head_of(word: str) -> str:
    """A hyphenated word whose last part only relates it ("withdrawal-related"): its head ("withdrawal"),
    which is what an abstract names, in any of its wordings ("withdrawal-induced")."""
    head, _, last = word.rpartition("-")
    return head if head and last.isalpha() and stem_word(last) in RELATING_STEMS else word


#: Words that ask rather than state: "why is swimming good" inverts, "cancer is pressing" does not.
QUESTION_WORDS = frozenset(
    "what why how when where which who whom whose whether is are was were do does did".split()
)
#: After a determiner, these make "a day" a rate ("five portions a day"), not an object.
TIME_WORDS = frozenset("day days week weeks month months year years night nights time times".split())


def _verb_in_clause(before: Sequence[str], word: str, following: str, after_next: str) -> bool:
    """A verb told by its clause: a participle after a form of "be" that follows its subject ("cancer low
    down *is pressing* on the prostate"; "is swimming good" asks), or an inflected verb with its object
    after "and" ("… and *leaves* a nicer scar"; "portions a day" is a rate)."""
    if not word.isalpha() or word in PEOPLE_AND_BODY:
        return False
    verb = lemmas(word).get("VERB")
    if not verb:
        return False
    previous = before[-1] if before else ""
    if word.endswith("ing") and previous in ("is", "are", "was", "were"):
        return len(before) > 1 and before[-2] not in QUESTION_WORDS and before[-2].isalpha()
    return (
        previous in ("and", "or", "that", "which")
        and verb[0] != word
        and word.endswith("s")
        and following in DETERMINERS
        and after_next not in TIME_WORDS
    )


#: Words of time that say when something is done where they follow a phrase ("take folic acid *early* in
#: pregnancy", "go into labour *early*"); before a noun they say which ("early prostate cancer")
WHEN_WORDS = frozenset({"early", "late"})


def _adverbial(current: Sequence[str], word: str, following: str) -> bool:
    """An ordinal, a quantity or a time that says when or how much, not what: "a heart tracing *first*" (after
    a phrase, before no noun; "a first episode" names one), "*half* a year on", "folic acid *early* in
    pregnancy" (after a phrase, before a word that names nothing; "early pregnancy" names a stage)."""
    if word == "first":
        return bool(current) and not following[:1].isalpha()
    if word in WHEN_WORDS:
        return bool(current) and _content_term(following) is None
    return word == "half" and following in DETERMINERS


#: Relatives and friends a question is asked for ("my dad has ...", "my sister's ..."): after a possessive they
#: say whom the asker means, not what is asked. Words for children are not among them ("my son" may be a child),
#: nor those a population names ("their mum's weight": mothers, in POPULATIONS).
KIN = frozenset(
    """
    dad father husband wife partner sister brother grandmother grandfather grandma grandpa
    granny gran nan aunt uncle cousin friend neighbour neighbor boyfriend girlfriend
    """.split()
)
POSSESSIVES = frozenset("my our his her your their".split())
#: What the asker calls a parent: like a relative after "my" ("my mum is 84"), but after "their" a population
#: ("their mum's weight": mothers)
PARENT_NAMES = frozenset("mum mom mummy mommy mam daddy".split())
#: Determiners and quantifiers: a singular relative after none of them (nor after an adjective) is called by
#: name ("*Dad's* prostate cancer", "inside of *Mum's* cheek"), whom the asker means
_COUNTED = DETERMINERS | frozenset("every each no another one whose".split())
#: Those who treat the asker: after a possessive or "the" ("my surgeon can feel…", "the doctors are talking
#: about…") they say who spoke or acts, not what is asked; "do family doctors know…" and "the surgeon's
#: experience" ask about them.
CARERS = frozenset(
    """
    doctor doctors surgeon surgeons nurse nurses gp gps consultant consultants specialist specialists midwife
    midwives dentist dentists
    """.split()
)
#: Words before "back" that make it the body part ("my back", "a sore back"), not a direction ("come back")
BACK_OWNERS = POSSESSIVES | frozenset("the a lower upper sore bad painful aching stiff injured".split())


def _aside(before: str, word: str, following: str) -> bool:
    """A word that names no subject in its place: a relative after a possessive or called by name ("my *dad*
    has cancer of the food pipe", "*Mum's* cheek"), a carer after a possessive or "the" ("the *doctor* says"),
    or "back" as a place or direction ("at the *back* of the nose", "give them *back*", "come *back*") rather
    than the body part ("back pain", "my back")."""
    if word in CARERS:  # (not "the surgeon's experience": the possessive keeps its "'s")
        return before in POSSESSIVES or before == "the"
    word = word.split("'")[0]
    if word in KIN or word in PARENT_NAMES:
        named = before not in _COUNTED and _content_term(before) is None  # "Dad is…", "of Mum's cheek"
        return named or before in (POSSESSIVES if word in KIN else POSSESSIVES - {"their"})
    if word != "back":
        return False
    if following == "of":
        return True
    return before not in BACK_OWNERS and _content_term(following) is None


def _verb_by_neighbours(before: str, word: str, following: str) -> bool:
    """A verb told by its neighbours: before a particle ("rule out"), inflected before a gerund ("*stops*
    breathing"), with its object when English has the word mostly as a verb ("for *joining* the bowel"), or
    inflected after a relative pronoun ("a stomach that empties slowly")."""
    if not word.isalpha() or word in PEOPLE_AND_BODY:
        return False
    verb = lemmas(word).get("VERB")
    if not verb:
        return False
    if following in PARTICLES:
        return True
    if verb[0] != word and mostly_verb(verb[0]) and following.endswith("ing") and "VERB" in lemmas(following):
        return True  # an inflected verb before the activity it starts or stops: "he *stops* breathing in his sleep"
    if word.endswith("ing") and following in DETERMINERS and _content_term(before) and not _frames(before):
        return True  # a participle with its object after a noun: "gallstones blocking an infected bile duct"
    if (
        word.endswith("ing")
        and (following in DETERMINERS or following in OBJECTS or following in _QUANTIFIERS)
        and before not in QUESTION_WORDS
    ):
        # a verb's form with its object: "instead of *putting* him to sleep", "for *joining* the bowel", "would
        # *ripening* several eggs…"; a word English uses mostly as a noun keeps it ("screening the over-70s"),
        # and so does a subject ("is *bleeding* the main risk", "does *wearing* a mask…")
        readings = set(lemmas(word))
        if readings == {"VERB"} or mostly_verb(verb[0]):
            return True
    return before in ("that", "which", "who") and verb[0] != word


#: Words that count what a verb acts on ("ripening *several* eggs")
_QUANTIFIERS = frozenset("several both each every another".split())


#: People a question names as who acts ("my grandmother *swears* a…", "can the surgeon *tighten* the…")
PERSONS_NAMED = KIN | PARENT_NAMES | CARERS


#: Pronouns a verb has for its subject ("she holds a cup") or its object ("to fix it")
SUBJECTS = frozenset("i you he she it we they".split())
OBJECTS = frozenset("it them him me us herself himself themselves myself itself".split())
#: Words a verb in its base form follows ("to *skip*", "will that *weaken*", "and *wrap*"); not
#: a preposition ("with exercise the risk falls") nor a question word ("is massage a good idea")
_BEFORE_BASE_VERB = SUBJECTS | frozenset(
    "to can could will would should may might must shall and or that not".split()
)


def _verb_with_object(before: str, word: str, following: str) -> bool:
    """A verb told by its object, a pronoun or a determiner after it: in its base form after a modal, "to" or
    "and" ("to *skip* the operation", "will that *weaken* his heart", "and *wrap* it"), in any form after a
    pronoun or a person as its subject ("she *holds* a cup", "it *slips* into a vein", "my grandmother *swears*
    a…", "can the surgeon *tighten* the artery")."""
    if not word.isalpha() or word in PEOPLE_AND_BODY:
        return False
    subject = before in SUBJECTS or before in PERSONS_NAMED
    if subject and _inflected_verb(word, following):
        return True
    if not (following in OBJECTS or following in DETERMINERS or (subject and following == "into")):
        return False
    verb = lemmas(word).get("VERB")
    if not verb:
        return False
    return subject or (verb[0] == word and before in _BEFORE_BASE_VERB)


def _inflected_verb(word: str, following: str) -> bool:
    """A word English uses mostly as a verb, in its "-s" form, with a noun after it: the verb of its clause
    ("cranberry juice *stops* bladder infections", "my grandmother *swears* cranberry juice…"); "he *snores*
    loudly" and "she *coughs* at night" keep what they name."""
    if not word.isalpha() or not word.endswith("s") or word in PEOPLE_AND_BODY:
        return False
    verb = lemmas(word).get("VERB", ())
    return bool(verb) and verb[0] != word and mostly_verb(verb[0]) and _content_term(following) is not None


#: Words for the body English also uses as verbs of what people meet or bear ("smokers face a higher risk")
BODY_VERBS = frozenset("face shoulder stomach head".split())
#: Words that begin a comparison ("face *higher* rates", "face *more* complications")
COMPARATIVES = frozenset("higher lower greater more less fewer increased reduced worse better".split())


def _body_verb(before: str, word: str, following: str) -> bool:
    """A word for the body used as the verb after a plural noun, before what is met: "do smokers *face* a
    higher risk", "ART patients *face* higher rates" (not "face masks", "children's face skin")."""
    if word not in BODY_VERBS or not (following in DETERMINERS or following in COMPARATIVES):
        return False
    noun = lemmas(before).get("NOUN", ())
    return bool(noun) and noun[0] != before and before.endswith("s")


def _verb_here(previous: str, word: str, following: str) -> bool:
    """Whether ``word``, after the content word ``previous``, is the question's verb rather than part of a
    noun phrase: a word English uses mostly as a verb, in its base form ("does magnesium stop leg cramps"),
    or one that may be a verb after a plural noun ("do face masks help") or before a determiner ("does air
    pressure trigger a rupture")."""
    if not word.isalpha() or word.endswith("ing") or word in PEOPLE_AND_BODY:
        return False
    readings = lemmas(word)
    if "VERB" not in readings:
        return False
    if (
        mostly_verb(word)
        and readings["VERB"][0] == word
        and word not in COMPOUND_HEADS
        and following[:1].isalnum()
    ):
        return True  # (a verb has an object or more after it; the last word of a name may not: "jet lag")
    if not previous.endswith("s") and _inflected_verb(word, following):
        return True  # after a singular noun, before a noun: "cranberry juice *stops* bladder infections"
    if lexicon_known(word):
        return False
    if following in DETERMINERS:
        return True
    before = lemmas(previous.split("'")[0]).get("NOUN", ())
    return bool(before) and before[0] != previous and previous.endswith("s") and word not in ("s",)


def key_concepts(question: str, stats: CorpusStats) -> list[Concept]:
    """The concepts of ``question`` in question order; framing words and repeats left out."""
    n = max(stats.article_count, 1)
    concepts: dict[str, Concept] = {}
    phrases = runs(question)
    for number, run in enumerate(phrases):
        written = _as_written(question, run)
        # an adjective is part of a name WordNet knows whole ("irritable bowel syndrome"), or of a name of
        # three words or more ("continuous glucose monitors"): no mere modifier then
        named = len(run) >= 3 or lexicon_known(" ".join(w.split("'")[0] for w in run))
        for position, word in enumerate(run):
            term = _content_term(word)
            if term is None or term in concepts:
                continue
            df = stats.document_frequency(stats.variants(term))
            text = word.split("'")[0]
            suffix = _letter_or_number(normalise(question), text)
            pattern = rf"\b{re.escape(text)}[\s-]?{re.escape(suffix)}\b" if suffix else ""
            looked_for = pattern or rf"(?<![\w-]){re.escape(text)}(?![\w-])"
            found = re.search(looked_for, question, re.IGNORECASE)
            population = _population(text) if _names_people(question, run, position) else ()
            modifier = not named and _everyday_adjective(text, population)
            # an abbreviation written in capitals ("ART patients") names a thing of its own, however common the
            # word it spells ("art"): never soft (bot.answer.bridging looks up how the store spells it out)
            acronym = found is not None and _acronym(found.group(0), question)
            concepts[term] = Concept(
                text=f"{text} {suffix}" if suffix else text,
                term=term,
                pattern=pattern,
                surface=found.group(0) if found else text,
                run=number,
                position=position,
                weight=idf(df, n),
                known=df > 0,
                soft=not acronym
                and (modifier or (not population and (df > SOFT_SHARE * n or _too_common(text)))),
                acronym=acronym,
                domain=is_domain_term(text),
                population=population,
                literature=df >= max(LITERATURE_ARTICLES, LITERATURE_SHARE * n),
                phrase=(found.group(0) if found else text) if suffix and len(run) == 1 else written,
                modifier=modifier,
            )
    kept = _unborn(question, list(concepts.values()))
    age = _stated_age(question, stats, len(phrases), kept)
    if age:  # the words of the age are in it: "7-year-old", "15 year old"
        kept = [c for c in kept if not _AGE_WORDING.fullmatch(c.text)] + [age]
    return _named_kinds(_compounds(kept))


def _acronym(written: str, question: str) -> bool:
    """Whether ``written`` is an abbreviation in capitals ("ART", "IVF") in a question not written in capitals."""
    return 2 <= len(written) <= 6 and written.isalpha() and written.isupper() and not question.isupper()


#: A pregnancy in the question: its "baby" is the one not yet born, whom abstracts call the fetus
_PREGNANCY = re.compile(r"\b(?:pregnan\w*|labou?r|womb|antenatal|prenatal|gestation\w*)\b", re.IGNORECASE)
_FETUS = ("fetal", "fetus", "fetuses", "foetal", "foetus", "foetuses")
#: Babies being born: abstracts count births, and in obstetrics deliveries ("the time of delivery")
_BIRTHS = ("birth", "births")
_BEING_BORN = re.compile(r"\b(?:born|birth(?!days?\b)\w*|pregnan\w*|labou?r|expecting)\b", re.IGNORECASE)
_DELIVERIES = ("delivery", "deliveries")


def _unborn(question: str, concepts: list[Concept]) -> list[Concept]:
    """The question's babies in the abstracts' words for them: births ("when babies are born": a study of the
    time of delivery), and in a question about a pregnancy ("in labour, could that harm the baby?") the fetus."""
    infants = _population("baby")
    words: tuple[str, ...] = _BIRTHS
    if _BEING_BORN.search(question):
        words += _DELIVERIES
    if _PREGNANCY.search(question):
        words += _FETUS
    more = tuple(dict.fromkeys(stem_word(w) for w in words))
    return [replace(c, population=c.population + more) if c.population == infants else c for c in concepts]


#: An age given in years ("my father is 78", "I'm 15", "a 7-year-old", "aged 80"), and the population it places
#: the person in: (upper bound of the age, a word of that group in POPULATIONS); adults between ask about no group.
_NOT_YEARS = (
    r"(?![\w.%-])(?!\s*(?:%|per|percent|mg|kg|g|ml|cm|mm|days?|weeks?|months?|hours?|minutes?|times))"
)
_AGE = re.compile(
    rf"(?<![\w.-])(?:(\w+)(?:\s+is|\s+was|\s+am|'s|'m)\s+(\d{{1,3}}){_NOT_YEARS}|aged?\s+(\d{{1,3}}){_NOT_YEARS}|"
    r"(\d{1,3})[\s-]*(?:years?|yrs?)[\s-]*old\b)",
    re.IGNORECASE,
)
#: Who "is 78" may be said of: a person ("my cholesterol is 7" gives no age)
_AGED = frozenset(
    "i he she who son daughter child baby kid boy girl grandson granddaughter nephew niece".split()
)
_AGE_WORDING = re.compile(r"\d{1,3}-(?:years?|yrs?)-old|years?|yrs?|old")
_AGE_GROUPS = ((1, "infants"), (12, "children"), (17, "adolescents"), (64, ""), (130, "elderly"))


def _years(question: str) -> int | None:
    """The age in years the question gives its person, if any."""
    for found in _AGE.finditer(question):
        who, said, aged, old = found.groups()
        if said and who.lower() not in _AGED | KIN | PERSONS and not _population(who.lower()):
            continue
        return int(said or aged or old)
    return None


def _stated_age(question: str, stats: CorpusStats, run: int, concepts: Sequence[Concept]) -> Concept | None:
    """The population an age in years places the question's person in ("my father is 78": the elderly), as a
    concept of its own, unless the question already names that population."""
    years = _years(question)
    if years is None:
        return None
    word = next(group for limit, group in _AGE_GROUPS if years <= limit)
    population = _population(word)
    if not population or any(set(c.population) & set(population) for c in concepts):
        return None
    text = f"aged {years}"
    n = max(stats.article_count, 1)
    df = stats.document_frequency(list(population))
    return Concept(
        text=text,
        term=population[0],
        surface=text,
        run=run,
        position=0,
        weight=idf(df, n),
        known=df > 0,
        soft=False,
        domain=False,
        population=population,
        phrase=text,
    )


#: Words that say what kind of thing a name is ("the bladder medicine oxybutynin", "the blood thinner warfarin").
KIND_HEADS = frozenset(
    """
    medicine medicines medication medications drug drugs pill pills tablet tablets capsule capsules
    injection injections jab jabs vaccine vaccines painkiller painkillers antibiotic antibiotics supplement
    supplements cream creams spray sprays inhaler inhalers thinner thinners
    """.split()
)


def _named_kinds(concepts: list[Concept]) -> list[Concept]:
    """A technical name the store holds, after everyday words saying what kind of thing it is ("the bladder
    medicine oxybutynin"): the name is what the question asks about; the description is named with it but not
    required (an abstract about oxybutynin need not call it a bladder medicine)."""
    out = list(concepts)
    for run in {c.run for c in concepts}:
        words = sorted((c for c in concepts if c.run == run), key=lambda c: c.position)
        if len(words) < 2 or not (words[-1].domain and words[-1].known) or words[-2].text not in KIND_HEADS:
            continue
        for c in words[:-1]:
            if not c.domain and not c.population:
                out[out.index(c)] = replace(c, soft=True, modifier=True, compound=False)
    return out


def _as_written(question: str, run: Sequence[str]) -> str:
    """The run's words as the question writes them (its capitals, hyphens and apostrophes): standing alone
    where the question has them so ("the top of my *stomach*" after "my stomach-shrinking operation"), else
    within a hyphenated word whose relating part was dropped ("withdrawal-related" -> "withdrawal")."""
    for hyphenated in ("", r"(?:-\w+)?"):
        words = [re.escape(w.split("'")[0]).replace("\\-", "[-\\s]?") + hyphenated for w in run]
        found = re.search(r"(?<![\w-])" + r"(?:'s?)?\W+".join(words) + r"(?![\w-])", question, re.IGNORECASE)
        if found:
            return found.group(0)
    return " ".join(w.split("'")[0] for w in run)


def _everyday_adjective(word: str, population: tuple[str, ...] = ()) -> bool:
    """An everyday adjective that only describes ("irregular", "tiny", "accurate"): shown with its phrase,
    never required on its own. Who or what stage the question is about ("elderly", "chronic") is required."""
    if word in QUALIFIERS or not word.isalpha() or lexicon_known(word) or population:
        return False
    readings = set(lemmas(word))
    plain = bool(readings) and readings <= {"ADJ", "ADV"}
    return (plain or ("ADJ" in readings and mostly_adjective(word))) and zipf(word) >= EVERYDAY_ZIPF


def _compounds(concepts: list[Concept]) -> list[Concept]:
    """Common words that together name one thing ("social media", "screen time", "shift work") narrow the
    question as a phrase, though each alone narrows nothing: a run of two or more soft words is made hard and
    marked ``compound`` (held in words only as that phrase)."""
    out = list(concepts)
    for run in {c.run for c in concepts}:
        words = [c for c in concepts if c.run == run]
        neighbours = [c.position for c in words] == list(
            range(words[0].position, words[0].position + len(words))
        )
        # an everyday adjective counts as one of the words: "social media", "bright light"
        if (
            len(words) > 1
            and neighbours
            and all(c.soft and c.text.isalpha() for c in words)
            and not all(c.modifier for c in words)
        ):
            for c in words:
                out[out.index(c)] = replace(c, soft=False, compound=True, modifier=False)
    return out


#: Words a lone letter "a" after them belongs to ("vitamin A"); any other letter but "i" always does.
LETTER_NAMES = frozenset("vitamin hepatitis group type factor class".split())


#: A number before one of these is a quantity ("get old 20 years earlier"), not part of a name ("type 2").
_UNITS = r"\s+(?:years?|months?|weeks?|days?|hours?|minutes?|times|per\s?cent|%)"


def _letter_or_number(question: str, word: str) -> str:
    """The letter or number that completes ``word`` as a name in ``question`` ("vitamin d" -> "d")."""
    found = re.search(rf"(?<![\w-]){re.escape(word)}[\s-]([a-z]|\d{{1,2}})(?![\w.-])(?!{_UNITS})", question)
    if not found:
        return ""
    suffix = found.group(1)
    return "" if suffix in ("a", "i") and word not in LETTER_NAMES else suffix


def idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def is_domain_term(word: str) -> bool:
    """A technical term: rare in everyday English (in the form asked or its singular: "heartbeats" is as
    everyday as "heartbeat"), or an identifier with digits ("covid-19", "il-6")."""
    if any(ch.isdigit() for ch in word):
        return True
    return max(zipf(word), zipf(singular(word))) < EVERYDAY_ZIPF


@functools.lru_cache(maxsize=1)
def _population_terms() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for group in POPULATIONS:
        words = group.split()
        terms = tuple(dict.fromkeys(stem_word(w) for w in words))
        out.update(dict.fromkeys(words, terms))
    return out


def _population(word: str) -> tuple[str, ...]:
    return _population_terms().get(word, ())


#: Words of age that name people only when they describe people ("old people", "an older woman", "the
#: elderly"), not things ("the old plain metal stent") or an age ("children aged 5").
AGE_WORDS = frozenset({"old", "older", "aged"})
#: Nouns for people an age word may describe, besides the population words.
PERSONS = frozenset(
    """
    people person persons patient patients adult adults folk folks resident residents relative relatives
    parent parents grandparent grandparents dad dads father fathers family families driver drivers
    smoker smokers player players athlete athletes worker workers veteran veterans citizen citizens
    """.split()
)


def _names_people(question: str, run: Sequence[str], position: int) -> bool:
    """Whether the word at ``position`` of ``run`` names who the question is about: a population word, an age
    word only in a phrase about people or age ("older heart attack patients", "old age"), or standing alone
    ("the aged", "getting old")."""
    if run[position].split("'")[0] not in AGE_WORDS:
        return True
    rest = [word.split("'")[0] for word in run[position + 1 :]]
    if not rest and position:
        return False  # "children aged 5"
    return not rest or any(
        word in PERSONS or word == "age" or _population(word) for word in [*rest, _word_after(question, run)]
    )


def _word_after(question: str, run: Sequence[str]) -> str:
    """The question's word just after ``run`` (a framing word ends a run: "older heart attack *patients*")."""
    words = [_head_of(m.group(0)) for m in _WORD.finditer(normalise(question))]
    size = len(run)
    for start in range(len(words) - size):
        if words[start : start + size] == list(run):
            return words[start + size].split("'")[0]
    return ""


def _too_common(word: str) -> bool:
    """An everyday word so common it narrows nothing, unless it names people or a part of the body."""
    return (
        word.isalpha()
        and word not in PEOPLE_AND_BODY | ACTIVITIES
        and word not in QUALIFIERS
        and zipf(word) >= SOFT_ZIPF
    )


def warm_up() -> None:
    """Load the word lists now (0.2 s each), e.g. on a thread while the store opens."""
    _frames("warm")
    zipf("warm")


@functools.lru_cache(maxsize=8192)
def zipf(word: str) -> float:
    """How common ``word`` is in everyday English (wordfreq's Zipf scale, 0 = unknown, 7 = "the")."""
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))


def groups(concepts: Sequence[Concept]) -> list[list[Concept]]:
    """``concepts`` (in question order) gathered into phrases: neighbours in one run stay together, so
    "heart attack" is named, and tested, as one."""
    out: list[list[Concept]] = []
    for concept in concepts:
        last = out[-1][-1] if out else None
        if last is not None and last.run == concept.run and last.position == concept.position - 1:
            out[-1].append(concept)
        else:
            out.append([concept])
    return out


def name(group: Sequence[Concept]) -> str:
    """The words of a group as the question writes them: "heart attack"."""
    return " ".join(c.surface for c in group)


def missing_names(missing: Sequence[Concept], every: Sequence[Concept]) -> list[str]:
    """Names for concepts no evidence covers: always the whole phrase the question wrote ("irritable bowel
    syndrome", "irregular heartbeats"), never the missing words cut out of it."""
    names = []
    for group in groups(missing):
        named = phrase_name(group[0], every)
        if named not in names:
            names.append(named)
    return names


def phrase_name(concept: Concept, every: Sequence[Concept]) -> str:
    """The whole phrase ``concept`` stands in, as the question writes it."""
    return concept.phrase or name([c for c in every if c.run == concept.run])
