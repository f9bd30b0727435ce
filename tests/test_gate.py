"""The answerability gate: key concepts, lexical and semantic coverage, and the three outcomes.

Articles here are real PubMedQA abstracts (the mini corpus), read through the real lexical index, sentence
reader and MiniLM embedder; only the retrieval step is skipped (the articles are handed over in rank order).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.answer import lexicon
from bot.answer.abbreviations import definitions
from bot.answer.bridging import Bridges, bridge
from bot.answer.concepts import Concept, key_concepts, missing_names, runs, zipf
from bot.answer.evidence import ArticleEvidence, Words, ages_meant, read_articles
from bot.answer.extractive import ExtractiveAnswerer, gap_sentence
from bot.answer.gate import (
    DEFAULT_GATE,
    Gap,
    GateParams,
    Verdict,
    assess,
    clear_first,
    judge,
    lexically_held,
    narrowing,
    neighbours,
    nothing_found,
    phrase_held,
    question_phrases,
    semantically_held,
)
from bot.answer.lexicon import technical_names
from bot.answer.naming import NAME_COSINE, closest_names
from bot.answer.spelling import american
from bot.retrieval.lexical import LexicalSearch
from bot.retrieval.terms import tokenize
from ingest.embeddings import MiniLMEmbedder
from ingest.lexical import ArticleChunks, LexicalIndex

CORPUS = Path(__file__).parent / "fixtures" / "corpus-mini" / "pubmedqa-mini.jsonl"
RECORDS = {r["pmid"]: r for r in map(json.loads, CORPUS.read_text(encoding="utf-8").splitlines())}
LAPAROSCOPY = "12098035"  # laparoscopy in acute cholecystitis: no pregnancy
PARITY = "16241924"  # parity and insulin resistance during pregnancy
RUGBY = "11867487"  # rugby headgear and concussion
VLEM = "9199905"  # vertical lines in the esophageal mucosa of children (American spelling)


@dataclass
class Retrieved:
    """A retrieved article as bot.retrieval.retriever hands it over (id, metadata, matched passages, relevance)."""

    article_id: str
    metadata: dict[str, Any]
    passages: list[str]
    relevance: float = 0.6
    score: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)


def first(verdict: Verdict) -> dict[int, int]:
    """The citation number of a partial verdict's best article: [1]."""
    return {verdict.coverage[0].evidence.rank: 1}


@pytest.fixture(scope="module")
def embedder(model_cache: Path) -> MiniLMEmbedder:
    return MiniLMEmbedder(cache_dir=model_cache)


@pytest.fixture(scope="module")
def named(index: LexicalSearch) -> Callable[[str], list[str]]:
    """The texts of a question's concepts."""
    return lambda question: [c.text for c in key_concepts(question, index)]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> LexicalSearch:
    articles = [
        ArticleChunks(
            f"pmid:{pmid}", {"title": r["title"], "pmid": pmid}, [f"pmid:{pmid}#0"], [r["abstract"]]
        )
        for pmid, r in RECORDS.items()
    ]
    lexical = LexicalIndex.open(tmp_path_factory.mktemp("lexical"))
    lexical.apply(articles)
    return LexicalSearch(lexical, "test")


def retrieved(pmid: str, relevance: float = 0.6) -> Retrieved:
    record = RECORDS[pmid]
    return Retrieved(
        f"pmid:{pmid}", {"title": record["title"], "pmid": pmid}, [record["abstract"]], relevance
    )


def verdict_for(
    question: str, pmids: list[str], index: LexicalSearch, embedder: MiniLMEmbedder, relevance: float = 0.6
) -> Verdict:
    articles = [retrieved(p, relevance) for p in pmids]
    evidence = read_articles(
        articles, embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
    )
    return judge(question, key_concepts(question, index), evidence, embedder.embed_documents)


def test_concepts_keep_what_the_question_is_about_and_drop_how_it_is_asked(index: LexicalSearch) -> None:
    concepts = key_concepts("Is laparoscopic surgery safe during pregnancy?", index)
    assert [c.text for c in concepts] == ["laparoscopic", "surgery", "pregnancy"]
    assert runs("Does yoga reduce back pain in older women?") == [
        ["yoga"],
        ["back", "pain"],
        ["older", "women"],
    ]
    named = {c.text: c for c in key_concepts("Do IL-6 positive children recover from semaglutide?", index)}
    assert "recover" not in named  # a verb that is never a noun frames the question
    assert named["semaglutide"].domain and not named["semaglutide"].known  # a technical term no article holds
    assert named["il-6"].domain  # identifiers with digits are technical terms
    assert named["children"].known and not named["children"].domain
    # verbs of effect frame the question, however rare in English: the partial names the drug, not "induce"
    assert runs("Does tofacitinib induce remission in ulcerative colitis?") == [
        ["tofacitinib"],
        ["remission"],
        ["ulcerative", "colitis"],
    ]


def test_an_article_holding_every_concept_answers(index: LexicalSearch, embedder: MiniLMEmbedder) -> None:
    verdict = verdict_for("Does rugby headgear prevent concussion?", [RUGBY, LAPAROSCOPY], index, embedder)
    assert verdict.outcome == "answer"
    assert [c.evidence.article.article_id for c in verdict.coverage] == [f"pmid:{RUGBY}"]
    assert verdict.missing == []


def test_word_forms_count_as_the_same_concept(index: LexicalSearch, embedder: MiniLMEmbedder) -> None:
    # the abstract says "pregnancy"; the question says "pregnant"
    verdict = verdict_for(
        "Does parity raise insulin resistance in pregnant women?", [PARITY], index, embedder
    )
    assert verdict.outcome == "answer"


def test_concepts_that_never_meet_in_one_article_give_a_partial_answer(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """Laparoscopy is in one article and pregnancy in another: no article answers both."""
    question = "Is laparoscopy safe during pregnancy?"
    verdict = verdict_for(question, [LAPAROSCOPY, PARITY], index, embedder, relevance=0.45)
    assert verdict.outcome == "partial"
    assert verdict.missing_text == ["pregnancy"]
    assert [c.evidence.article.article_id for c in verdict.coverage] == [f"pmid:{LAPAROSCOPY}"]
    assert gap_sentence(verdict, first(verdict)) == (
        "The indexed abstracts discuss laparoscopy [1], but none of them in connection with pregnancy."
    )
    scoped = gap_sentence(verdict, first(verdict), scope="year>=2000")
    assert scoped.startswith("The indexed abstracts (year>=2000) discuss laparoscopy [1]")


def test_a_technical_term_no_article_holds_is_never_rescued_by_similarity(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    # however close the article is overall, "lecanemab" is in no stored abstract
    verdict = verdict_for(
        "Does lecanemab prevent concussion in rugby?", [RUGBY], index, embedder, relevance=0.9
    )
    assert verdict.outcome == "partial"
    assert verdict.missing_text == ["lecanemab"]
    assert gap_sentence(verdict, first(verdict)).endswith("but none of them mentions lecanemab.")


def test_an_everyday_word_the_abstracts_do_not_use_is_never_declared_absent(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    verdict = verdict_for("Do helmets prevent concussion in rugby?", [RUGBY], index, embedder, relevance=0.3)
    assert verdict.outcome == "partial"
    # an everyday word may be a lay name for what the abstract covers: never declared absent
    assert gap_sentence(verdict, first(verdict)).endswith(
        ". I could not match “helmets” to a term in these abstracts."
    )
    assert "none of them" not in gap_sentence(verdict, first(verdict))


def test_nothing_covered_is_a_refusal(index: LexicalSearch, embedder: MiniLMEmbedder) -> None:
    verdict = verdict_for("What is the best sourdough pizza recipe?", [RUGBY, LAPAROSCOPY], index, embedder)
    assert verdict.outcome == "refuse" and verdict.coverage == []


def test_a_close_article_covers_a_lay_word_the_store_never_uses(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """ "Helmets" appears in no abstract; a rugby headgear article very close to the question covers it, a
    distant one does not."""
    question = "Do rugby helmets prevent concussion?"
    assert verdict_for(question, [RUGBY], index, embedder, relevance=0.75).outcome == "answer"
    assert verdict_for(question, [RUGBY], index, embedder, relevance=0.3).outcome == "partial"


def test_the_extractive_digest_quotes_findings_and_never_aims(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    question = "Does rugby headgear prevent concussion?"
    verdict = verdict_for(question, [RUGBY], index, embedder)
    composed = ExtractiveAnswerer().answer(question, verdict)
    quoted = [line for line in composed.text.splitlines() if line.startswith("- ")]
    roles = {s.text: s.role for s in verdict.coverage[0].evidence.sentences}
    assert 1 <= len(quoted) <= 5
    for line in quoted:
        sentence = line[2:].replace(" [1].", ".").replace(" [1]", "")
        assert roles[sentence] in ("results", "conclusions", "statement"), sentence


def test_a_null_finding_is_quoted_as_such(embedder: MiniLMEmbedder) -> None:
    """Between an aim that restates the question and the finding that nothing changed, the finding wins."""
    question = "Does vitamin D supplementation reduce fractures in older women?"
    text = (
        "OBJECTIVE: To determine whether vitamin D supplementation reduces fractures in older women. "
        "METHODS: We randomised 2000 older women to vitamin D or placebo for three years. "
        "RESULTS: We found no significant difference in fracture rates between the groups. "
        "CONCLUSIONS: Vitamin D supplementation did not reduce fractures in older women."
    )
    article = Retrieved("pmid:1", {"title": "Vitamin D and fractures"}, [text], relevance=0.7)
    evidence: list[ArticleEvidence] = read_articles(
        [article], embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
    )
    assert np.argmax(evidence[0].cosines) == 0  # the aim is the most similar sentence...
    verdict = Verdict("answer", [], [_coverage(evidence[0])])
    composed = ExtractiveAnswerer().answer(question, verdict)
    assert "did not reduce fractures" in composed.text  # ...but the finding is what gets quoted
    assert "To determine" not in composed.text and "We randomised" not in composed.text


def _coverage(evidence: ArticleEvidence) -> Any:
    from bot.answer.gate import Coverage

    return Coverage(evidence)


def test_british_and_american_spellings_are_one_word() -> None:
    assert american("tumour behaviour oedema oesophageal haemorrhage paediatric anaemia") == (
        "tumor behavior edema esophageal hemorrhage pediatric anemia"
    )
    assert american("randomised immunisation analysed centre fibres") == (
        "randomized immunization analyzed center fibers"
    )
    assert american("cervical disc disease, herniated discs") == "cervical disk disease, herniated disks"
    # words that only look British stay as they are
    assert (
        american("hour four your analysis are more precisely") == "hour four your analysis are more precisely"
    )


def test_a_british_question_finds_an_american_abstract(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    question = "Are vertical lines in the oesophageal mucosa a sign of oesophagitis in children?"
    verdict = verdict_for(question, [VLEM], index, embedder, relevance=0.45)
    assert verdict.outcome == "answer", verdict.missing_text


def test_a_hyphenated_term_matches_its_spaced_and_joined_forms(index: LexicalSearch) -> None:
    concepts = {c.text: c for c in key_concepts("Is second-trimester screening useful?", index)}
    concept = concepts["second-trimester"]
    assert lexically_held(concept, Words.of("Screening in the second trimester of pregnancy."))
    assert lexically_held(concept, Words.of("Second-trimester screening."))
    assert not lexically_held(concept, Words.of("A second look at the first trimester."))


FOCUS_TEXT = (
    "BACKGROUND: Laparoscopy for acute cholecystitis is debated. METHODS: We reviewed 120 operations; "
    "{methods} RESULTS: Laparoscopy shortened the hospital stay by two days{results}. CONCLUSIONS: "
    "Laparoscopy is safe and shortens the stay."
)


@pytest.mark.parametrize(
    ("methods", "results", "relevance", "outcome"),
    [
        ("pregnancy was recorded at admission.", "", 0.45, "partial"),  # a word in passing, a distant article
        ("pregnancy was recorded at admission.", "", 0.7, "answer"),  # close to the question: it counts
        ("", " in pregnancy", 0.45, "answer"),  # where the article says what it found: it counts
    ],
)
def test_a_concept_met_only_in_passing_does_not_make_a_distant_article_an_answer(
    index: LexicalSearch, embedder: MiniLMEmbedder, methods: str, results: str, relevance: float, outcome: str
) -> None:
    question = "Is laparoscopy safe during pregnancy?"
    text = FOCUS_TEXT.format(methods=methods, results=results)
    article = Retrieved("pmid:1", {"title": "Laparoscopy for acute cholecystitis"}, [text], relevance)
    evidence = read_articles(
        [article], embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
    )
    verdict = judge(question, key_concepts(question, index), evidence, embedder.embed_documents)
    assert verdict.outcome == outcome
    if outcome == "partial":
        assert verdict.missing_text == ["pregnancy"]
        # the abstract does say "pregnancy": the note must not deny it, only say how little it is there
        note = gap_sentence(verdict, first(verdict))
        assert note.endswith("discuss laparoscopy [1] and mention pregnancy.") and "none of them" not in note


def test_a_phrase_is_held_only_as_neighbouring_words(index: LexicalSearch) -> None:
    phrase = question_phrases(key_concepts("Does peppermint oil relieve irritable bowel syndrome?", index))[
        -1
    ]
    assert [c.text for c in phrase] == ["irritable", "bowel", "syndrome"]
    assert phrase_held(phrase, Words.of("Irritable bowel syndromes were diagnosed by Rome criteria."))
    assert not phrase_held(phrase, Words.of("The syndrome of an irritable child with bowel obstruction."))


def test_words_of_a_phrase_apart_do_not_hold_it_when_another_abstract_has_the_phrase(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """One retrieved abstract says "irritable bowel syndrome": the words name one thing, so an abstract on
    coeliac disease that says "bowel" and "syndrome" apart holds none of it in words."""
    question = "Does a gluten-free diet relieve irritable bowel syndrome?"
    ibs = Retrieved("pmid:1", {"title": "Irritable bowel syndrome: a diagnosis of exclusion?"},
                    ["RESULTS: Most patients with irritable bowel syndrome had normal colonoscopy."], 0.55)  # fmt: skip
    coeliac = Retrieved("pmid:2", {"title": "Gluten-free diet in coeliac disease"},
                        ["RESULTS: A gluten-free diet healed the bowel mucosa; the syndrome resolved."], 0.55)  # fmt: skip
    evidence = read_articles(
        [ibs, coeliac], embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
    )
    _, assessments = assess(question, key_concepts(question, index), evidence, embedder.embed_documents)
    held = [{c.text for c in a.lexical} for a in assessments]
    assert {"irritable", "bowel", "syndrome"} <= held[0]
    assert not {"bowel", "syndrome"} & held[1] and {"gluten-free", "diet"} <= held[1]
    gaps = {c.text: gap.blocked for gap in assessments[1].gaps for c in gap.concepts}
    assert gaps["irritable"] and gaps["bowel"] and gaps["syndrome"]  # only the phrase itself would do
    verdict = judge(question, key_concepts(question, index), evidence, embedder.embed_documents)
    assert verdict.outcome == "partial"
    assert [c.evidence.article.article_id for c in verdict.coverage] == ["pmid:1"]


def _evidence(text: str) -> ArticleEvidence:
    """An article read without vectors: only what it holds in words is measured."""
    article = Retrieved("pmid:0", {"title": ""}, [text], 0.5)
    words = Words.of(text)
    return ArticleEvidence(1, article, [], words, words, np.zeros((0, 384)), np.zeros(0))


def test_common_words_that_name_one_thing_count_only_as_that_phrase(index: LexicalSearch) -> None:
    concepts = key_concepts("Does social media use cause depression in teenagers?", index)
    named = {c.text: c for c in concepts}
    assert named["social"].compound and named["media"].compound  # each alone too common to narrow anything
    assert not named["social"].soft and not named["depression"].compound
    question = "Does social media use cause depression in teenagers?"

    def held(text: str) -> set[str]:  # each article assessed alone: no other abstract shows the phrase
        _, (assessment,) = assess(question, concepts, [_evidence(text)], lambda t: np.zeros((len(t), 384)))
        return {c.text for c in assessment.lexical}

    assert {"social", "media", "depression"} <= held("Teenagers on social media reported more depression.")
    apart = held("Social support and media coverage of depression in teenagers.")
    assert not {"social", "media"} & apart and "depression" in apart


def test_who_a_question_is_about_is_no_phrase(index: LexicalSearch) -> None:
    """ "Elderly women" are also "women over 75" and "older women": population words are held one by one."""
    concepts = key_concepts("Does vitamin D lower the risk of hip fracture in elderly women?", index)
    assert all(not c.population for phrase in question_phrases(concepts) for c in phrase)


# --- plain-language questions (issue 25) --------------------------------------------------------------------
MYOMAS = "16962519"  # uterine myomas in pregnancy
STERNUM = "25277731"  # sternal fractures in children


def bridged_verdict(question: str, pmids: list[str], index: LexicalSearch, embedder: MiniLMEmbedder,
                    relevance: float = 0.6) -> Verdict:  # fmt: skip
    articles = [retrieved(p, relevance) for p in pmids]
    evidence = read_articles(
        articles, embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
    )
    concepts = bridge(key_concepts(question, index), index)
    return judge(question, concepts, evidence, embedder.embed_documents)


def test_concepts_are_the_noun_phrases_the_question_names(index: LexicalSearch) -> None:
    # the question's verb is no concept, even one English also uses as a noun
    assert runs("Does magnesium stop night-time leg cramps?") == [
        ["magnesium"],
        ["night-time", "leg", "cramps"],
    ]
    assert runs("Do face masks stop flu spreading in schools?")[0] == ["face", "masks"]
    assert runs("Does turmeric ease joint pain?") == [["turmeric"], ["joint", "pain"]]
    assert ["rule"] not in runs("Can blood tests rule out appendicitis?")
    assert ["empties"] not in runs("Does a stomach that empties slowly hurt?")
    # a possessive ends a phrase: "the weather's air pressure" is about weather and air pressure
    assert runs("Does the weather's air pressure trigger a rupture?")[:2] == [
        ["weather's"],
        ["air", "pressure"],
    ]
    # an everyday adjective is shown with its phrase, not required on its own
    concepts = key_concepts("Do constant headaches in athletes go away over time?", index)
    constant = next(c for c in concepts if c.text == "constant")
    assert constant.soft and constant.modifier
    assert {c.phrase for c in concepts if c.text in ("constant", "headaches")} == {"constant headaches"}
    assert missing_names([c for c in concepts if c.text == "headaches"], concepts) == ["constant headaches"]
    # unless the phrase is a name of its own ("irregular heartbeat" in litbot's everyday vocabulary: arrhythmia)
    concepts = key_concepts("Do irregular heartbeats in athletes go away over time?", index)
    assert not next(c for c in concepts if c.text == "irregular").modifier
    # two everyday words that name one thing stay one concept: "social media", an adjective included
    assert all(c.compound and not c.soft for c in key_concepts("Does social media harm sleep?", index)[:2])
    # but an adjective in a name WordNet knows whole is part of it
    assert not any(c.soft for c in key_concepts("Is irritable bowel syndrome common?", index)[:3])


def test_everyday_names_are_held_by_the_abstracts_technical_names(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    question = "Is a broken breastbone in children rare and easily missed?"
    plain = {c.text: c for c in key_concepts(question, index)}
    bridged = {c.text: c for c in bridge(list(plain.values()), index)}
    words = Words.of(RECORDS[STERNUM]["abstract"])
    assert "sternum" in bridged["breastbone"].synonyms  # WordNet: breastbone = sternum
    assert not lexically_held(plain["breastbone"], words) and lexically_held(bridged["breastbone"], words)
    verdict = bridged_verdict(question, [STERNUM], index, embedder)
    assert verdict.outcome == "answer" and verdict.coverage[0].how["breastbone"] == "lexical"


def test_a_partial_note_never_denies_what_a_quoted_sentence_may_say_in_other_words(
    index: LexicalSearch, embedder: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "Do fibroids in the womb get bigger during pregnancy?"
    # litbot's vocabulary names fibroids myomas, as the abstract does ("uterine myomas")
    assert bridged_verdict(question, [MYOMAS], index, embedder, 0.3).outcome == "answer"
    # WordNet alone has no name linking them: the note must not deny them
    monkeypatch.setattr(lexicon, "EVERYDAY", False)
    verdict = bridged_verdict(question, [MYOMAS], index, embedder, 0.3)
    assert verdict.outcome == "partial" and verdict.missing_text == ["fibroids"]
    note = gap_sentence(verdict, first(verdict))
    assert "womb" in note  # "womb" is held: the abstract says uterine
    assert "none of them" not in note and note.endswith(
        "I could not match “fibroids” to a term in these abstracts."
    )


def test_a_note_names_a_phrase_as_discussed_only_where_an_abstract_holds_it_as_one(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """An audit whose "period" is a span of time and whose women had labour "pain" does not discuss period pain:
    the note names what it does discuss (pain), not the question's phrase whose words it holds apart."""
    RECORDS["audit"] = {
        **RECORDS[LAPAROSCOPY],
        "title": "Epidural analgesia for labour pain: an audit",
        "abstract": "Women delivering a baby at the unit were enrolled. During the audit period epidural "
        "analgesia rose from 15% to 51% of labours. Labour pain was relieved in most women.",
    }
    try:
        verdict = bridged_verdict(
            "Does my period pain get better after having a baby?", ["audit"], index, embedder, 0.45
        )
    finally:
        del RECORDS["audit"]
    assert verdict.outcome == "partial"
    note = gap_sentence(verdict, first(verdict))
    assert "period pain" not in note and note.startswith("The indexed abstracts discuss pain")


def test_the_abstracts_own_abbreviations_are_other_names(index: LexicalSearch) -> None:
    assert definitions("a chest X-ray (CXR) and tranexamic acid (TXA) at a dose (p < 0.05)") == [
        ("CXR", "chest X-ray"),
        ("TXA", "tranexamic acid"),
    ]
    # the mini corpus defines "vertical lines in distal esophageal mucosa (VLEM)"
    concept = bridge(key_concepts("What are VLEM in children?", index), index, Bridges(abbreviations=True))[0]
    assert "vertical lines in distal esophageal mucosa" in concept.synonyms
    # off by default, but an abbreviation written in capitals is always looked up; in lower case it is not
    assert (
        "vertical lines in distal esophageal mucosa"
        in bridge(key_concepts("What are VLEM?", index), index)[0].synonyms
    )
    assert not bridge(key_concepts("What are vlem?", index), index)[0].synonyms


def test_a_refusal_names_what_was_not_found(index: LexicalSearch, embedder: MiniLMEmbedder) -> None:
    concepts = key_concepts("Can cold water swimming ease depression?", index)
    assert nothing_found(concepts).missing_text  # retrieval found nothing at all
    verdict = judge("Can cold water swimming ease depression?", concepts, [], embedder.embed_documents)
    assert verdict.outcome == "refuse" and verdict.missing_text


UNSTRUCTURED = (
    "Vitamin D and fractures in children. Whether vitamin D status relates to fractures is debated. Ninety "
    "children with a forearm fracture and ninety without were examined with radiographs and blood tests. Serum "
    "vitamin D was lower in children with fractures than in those without (p = 0.01). These data suggest that "
    "vitamin D may protect children from fractures. Serum vitamin D was lower in children with fractures than "
    "in those without (p = 0.01)."
)


def test_extractive_quotes_findings_only_the_result_first_and_no_sentence_twice(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    question = "Is low vitamin D linked to fractures in children?"
    article = Retrieved(
        "src:unstructured", {"title": "Vitamin D and fractures in children"}, [UNSTRUCTURED], 0.8
    )
    evidence = read_articles(
        [article], embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
    )
    verdict = judge(question, key_concepts(question, index), evidence, embedder.embed_documents)
    assert verdict.outcome == "answer"
    lines = [
        line for line in ExtractiveAnswerer().answer(question, verdict).text.splitlines() if line[:2] == "- "
    ]
    assert not any("were examined" in line for line in lines)  # a methods sentence, though unlabelled
    assert lines[0].startswith("- Serum vitamin D was lower")  # what was found ...
    assert lines[1].startswith("- These data suggest")  # ... then what the authors make of it
    assert len(lines) == len({line for line in lines}) == 2


SAMPLE = Path(__file__).parents[1] / "ingest" / "sample" / "pubmedqa-1000.jsonl.gz"


def sample_verdict(question: str, pmid: str, relevance: float, index: LexicalSearch,
                   embedder: MiniLMEmbedder) -> Verdict:  # fmt: skip
    """The verdict on one article of the bundled sample, which the mini corpus does not hold."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as lines:
        record = next(r for r in map(json.loads, lines) if r["pmid"] == pmid)
    RECORDS.setdefault(pmid, record)
    return bridged_verdict(question, [pmid], index, embedder, relevance)


@pytest.mark.parametrize(
    ("question", "pmid", "relevance", "says"),
    [
        # the abstract says "metered-dose inhalers", which a sentence below is about: no "none of them mentions"
        ("Do doctors and nurses know how to teach people to use asthma puffers?", "8422202", 0.67,
         "I could not match “asthma puffers” to a term in these abstracts."),
        # "adverse perinatal outcomes following IVF/ICSI": the babies of IVF pregnancies
        ("Do IVF babies have more birth defects?", "18319270", 0.55,
         "I could not match “IVF babies” to a term in these abstracts."),
        # a rare everyday word beside one the abstract holds is a description, not a coined name: the
        # sentence below is about transurethral resection
        ("Does it matter whether a senior surgeon or a trainee does a prostate rebore?", "18568239", 0.6,
         "I could not match “prostate rebore” to a term in these abstracts."),
    ],
)  # fmt: skip
def test_a_partial_note_never_denies_what_the_quoted_abstract_says_otherwise(
    index: LexicalSearch,
    embedder: MiniLMEmbedder,
    question: str,
    pmid: str,
    relevance: float,
    says: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # words neither WordNet nor litbot's vocabulary bridges: WordNet alone leaves these unbridged (the
    # vocabulary knows "asthma puffers" and "prostate rebore", and answers them)
    monkeypatch.setattr(lexicon, "EVERYDAY", False)
    verdict = sample_verdict(question, pmid, relevance, index, embedder)
    assert verdict.outcome == "partial"
    note = gap_sentence(verdict, first(verdict))
    assert says in note
    phrase = says.split("“")[1].split("”")[0]
    assert f"none of them in connection with {phrase}" not in note and f"mentions {phrase}" not in note


def test_an_abstract_about_births_is_not_said_to_lack_pregnancy_or_babies(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    verdict = bridged_verdict("Is laparoscopy safe during pregnancy?", [LAPAROSCOPY], index, embedder, 0.45)
    assert gap_sentence(verdict, first(verdict)).endswith("none of them in connection with pregnancy.")
    # the same abstract, had it said what happened at birth: pregnancy is no longer declared absent
    RECORDS["born"] = {
        **RECORDS[LAPAROSCOPY],
        "abstract": RECORDS[LAPAROSCOPY]["abstract"] + " Head size at birth.",
    }
    try:
        verdict = bridged_verdict("Is laparoscopy safe during pregnancy?", ["born"], index, embedder, 0.45)
    finally:
        del RECORDS["born"]
    assert verdict.outcome == "partial" and verdict.missing_text == ["pregnancy"]
    assert "none of them" not in gap_sentence(verdict, first(verdict))


# --- plain-language questions, round 3 ------------------------------------------------------------------------
def test_concepts_are_never_prepositions_or_a_participle_with_its_object(index: LexicalSearch) -> None:
    assert runs("Is stomach cancer in Korean patients unlike stomach cancer in American patients?")[:2] == [
        ["stomach", "cancer"],
        ["korean"],
    ]
    assert ["metal", "rod"] in runs("Is a metal rod inside the thigh bone better than a hip screw?")
    # a participle after a noun, with its object, is a verb: "gallstones blocking an infected bile duct"
    blocking = runs("After gallstones blocking an infected bile duct are cleared, does a nose tube help?")
    # and what is wrong with the duct is part of what is asked ("infected"; bot.answer.lexicon.STATES)
    assert blocking[:2] == [["gallstones"], ["infected", "bile", "duct"]]
    # a gerund that starts a phrase names an activity, object or not
    assert ["screening"] in runs("Is screening the elderly for dementia worthwhile?")
    # "result" frames like "outcome": "a high result on the blood test" is about the blood test
    concepts = key_concepts("Is a high result on the CRP test linked to appendicitis?", index)
    assert "result" not in [c.text for c in concepts]
    assert [c.text for c in concepts if not c.soft] == ["crp", "appendicitis"]


def test_an_ordinal_or_quantity_saying_when_or_how_much_is_no_concept(
    named: Callable[[str], list[str]],
) -> None:
    assert "first" not in named("Do babies on propranolol need a heart tracing first?")
    assert "half" not in named("Is neck pain still there half a year on?")
    assert "first" in named("Is a first episode of depression different in midlife?")
    # a time after a phrase says when ("folic acid early in pregnancy" is no phrase); before a noun it says which
    assert runs("If I take folic acid early in pregnancy, is the baby's heart safer?")[:2] == [
        ["folic", "acid"],
        ["pregnancy"],
    ]
    assert ["labour"] in runs("They thought I'd go into labour early, but weeks later I'm still pregnant.")
    assert ["early", "prostate", "cancer"] in runs("My husband has early prostate cancer. Is surgery best?")
    # a number before a unit is a quantity, not part of a name like "vitamin D" or "day 3"
    assert "old 20" not in named("Do Aboriginal people really get old 20 years earlier?")
    assert {"vitamin d", "day 3"} <= set(named("Does vitamin D on day 3 help?"))


def test_a_word_is_shown_where_the_question_writes_it_alone(index: LexicalSearch) -> None:
    """ "After my stomach-shrinking operation … the top of my stomach …": the second run's "stomach" is shown as
    "stomach", not as the hyphenated word the first run holds (a note said the abstracts discussed
    "stomach-shrinking" and could not match "stomach-shrinking operation")."""
    question = "After my stomach-shrinking operation the top of my stomach has stretched. Is a redo safe?"
    concepts = key_concepts(question, index)
    stomach = [c for c in concepts if c.text == "stomach"]
    assert [c.phrase for c in stomach] == ["stomach"]
    assert next(c.phrase for c in concepts if c.text == "stomach-shrinking") == "stomach-shrinking operation"


def test_a_verb_told_by_its_clause_is_no_concept(named: Callable[[str], list[str]]) -> None:
    assert "pressing" not in named("If bowel cancer is pressing on the prostate, can part of it be removed?")
    assert "leaves" not in named("Does a cut in front of the ear spare the nerve and leaves a nicer scar?")
    assert "swimming" in named("Why is swimming good for asthma?")  # the question asks: a gerund subject
    assert "portions" in named("Do five portions a day of fruit prevent cancer?")  # a rate
    assert {"attacks", "strokes"} <= set(named("Do heart attacks and strokes share a cause?"))


def test_a_verb_told_by_its_object_and_set_phrases_are_no_concepts(named: Callable[[str], list[str]]) -> None:
    """Verbs a patient's question leaks when its subject is a pronoun or a person, and phrases that say how
    much or how long: none of them is something the literature could lack."""

    # a pronoun or a person as the subject, a pronoun or a determiner as the object
    assert "holds" not in named("Her hands shake when she holds a cup. Is it Parkinson's?")
    assert "slips" not in named(
        "If the numbing drip with adrenaline in it slips into a vein, is the baby harmed?"
    )
    assert "swears" not in named("My grandmother swears a swallowed fish bone can reach the heart.")
    assert "tighten" not in named("Can the surgeon tighten the bulging artery during valve surgery?")
    # a base form after "to", a modal or "and", before its object
    assert "skip" not in named("If chemo works, is it safe for her to skip the operation?")
    assert "wrap" not in named("Can they reinforce the artery and wrap it for support?")
    assert "weaken" not in named("Will that weaken his heart's pumping?")
    # ... but a noun after a preposition or a question word stays: "with exercise the risk", "is massage a"
    assert "exercise" in named("With exercise the risk of falls drops, but how much?")
    assert "massage" in named("Is massage a good treatment for back pain?")
    assert "smokers" in named("Do smokers face a higher risk of stroke?")
    # a word English uses mostly as a verb, in its "-s" form, before a noun
    named_here = named("My grandmother swears cranberry juice stops bladder infections.")
    assert not {"swears", "stops"} & set(named_here) and {"cranberry", "bladder"} <= set(named_here)
    assert "snores" in named("My dad snores loudly. Is it sleep apnoea?")  # ... not before an adverb
    assert "stops" in named("Do bus stops near schools raise asthma rates?")
    # how much, how long, how closely
    assert named("He breathed in plenty of dust on the farm.")[-2:] == ["dust", "farm"]
    assert not {"close", "eye"} & set(named("Can it heal if they keep a close eye on it?"))
    assert not {"long", "time"} & set(named("If the heart stopped for a long time, is adrenaline needed?"))
    assert "eye" in named("Can diabetes damage the eye?")
    # a verb's "-ing" form with its object, an inflected verb before a gerund, and "plus" name nothing
    assert "putting" not in named("Is it safer to numb him than putting him fully to sleep?")
    assert "joining" not in named("Is superglue as good as stitches for joining the bowel?")
    assert "ripening" not in named("Would ripening several eggs at once give a better chance of a baby?")
    assert "stops" not in named("He has scarred lungs and also stops breathing in his sleep.")
    assert "plus" not in named("Is oestrogen plus a hormone-blocking jab better than the pill for IVF?")
    # ... but a subject after "is" or "does", and a word English uses mostly as a noun, stay
    assert "bleeding" in named("Is bleeding the main risk after tonsillectomy?")
    assert "screening" in named("Would screening the elderly for dementia help?")


def test_everyday_names_of_who_a_question_is_about(index: LexicalSearch) -> None:
    concepts = {
        c.text: c for c in key_concepts("Is a child's weight tied to their mum's weight in old age?", index)
    }
    assert "matern" in concepts["mum"].population and "mother" in concepts["mum"].population
    assert "elder" in concepts["old"].population
    words = Words.of("Maternal BMI was associated with offspring BMI in elderly cohorts.")
    assert lexically_held(concepts["mum"], words) and lexically_held(concepts["old"], words)


def test_words_of_age_name_people_only_when_they_describe_people(index: LexicalSearch) -> None:
    """ "old people", "older women", "the elderly" say who is asked about; "the old plain metal stent" and
    "children aged 5" do not ask about the elderly."""

    def people(question: str) -> set[str]:
        return {c.text for c in key_concepts(question, index) if c.population}

    assert people("Do feeding tubes help very old people live longer?") == {"old"}
    assert people("Do older women break their hips more often?") == {"older", "women"}
    assert people("Is depression common in the elderly?") == {"elderly"}
    assert people("For older heart attack patients in shock, is a big hospital better?") == {"older"}
    assert people("For heart patients who bleed easily, is the old plain metal stent safer?") == set()
    assert people("Do children aged 5 to 10 snore?") == {"children"}


def test_a_technical_name_after_the_kind_of_thing_it_is_is_what_is_asked(index: LexicalSearch) -> None:
    """ "the blood pressure medicine telmisartan": an abstract about telmisartan need not call it that."""
    concepts = key_concepts("Does the blood pressure medicine telmisartan protect the liver in rats?", index)
    hard = [c.text for c in concepts if not c.soft]
    assert hard == ["telmisartan", "liver", "rats"]
    assert {c.phrase for c in concepts if c.text in ("blood", "medicine", "telmisartan")} == {
        "blood pressure medicine telmisartan"
    }
    # without the name, the description is what is asked
    assert "medicine" in [
        c.text for c in key_concepts("Does blood pressure medicine protect the liver?", index)
    ]


def test_a_word_is_never_named_by_a_sense_english_rarely_means() -> None:
    """WordNet lists "egg" as the testis, "button" as the clitoris, "acid" as LSD and "pump" as the heart; a
    patient means none of them, and an abstract about testes holds no question about eggs. The senses a word
    is used in stay ("heart" is cardiac, "periods" menstruation, "stools" faeces)."""
    assert not {"testis", "testicle", "testicular"} & set(technical_names("eggs", zipf))
    assert not {"clitoris", "clitoral"} & set(technical_names("button", zipf))
    assert not {"lysergic acid diethylamide", "back breaker"} & set(technical_names("acid", zipf))
    assert "cardiac" not in technical_names("pump", zipf)
    assert "cardiac" in technical_names("heart", zipf)
    assert "larynx" in technical_names("voice box", zipf)
    assert "menstruation" in technical_names("periods", zipf)
    assert "faeces" in technical_names("stools", zipf)


def test_doctors_specialists_and_nurses_have_their_technical_names() -> None:
    assert {"ophthalmologist", "ophthalmology"} <= set(technical_names("eye doctors", zipf))
    assert "cardiologist" in technical_names("heart specialist", zipf)
    assert "general practitioner" in technical_names("gp", zipf)
    # only where that is what the word means first: a resident lives somewhere, an analyst analyses
    assert technical_names("resident", zipf) == () and technical_names("analyst", zipf) == ()


def test_part_of_a_phrase_is_covered_by_similarity_only_in_an_article_very_close_to_the_question(
    index: LexicalSearch,
) -> None:
    """ "heart rhythm" where the abstract says "heart" and "cardiac arrhythmia" (the oxybutynin study,
    relevance 0.83) is covered; "continuous glucose monitors" where a diabetes study says "glucose" (0.64) is
    not, however far "monitors" stands out in it (z 2.98)."""
    concepts = {c.text: c for c in key_concepts("Does oxybutynin upset the heart rhythm?", index)}
    rhythm = replace(concepts["rhythm"], literature=True)
    gap = Gap((rhythm,), known=True, blocked=False, z=1.6, part=True)
    assert semantically_held(gap, 0.83, DEFAULT_GATE)
    assert not semantically_held(gap, 0.64, DEFAULT_GATE)
    assert not semantically_held(replace(gap, z=0.8), 0.83, DEFAULT_GATE)  # it must stand out still
    assert not semantically_held(replace(gap, z=2.98), 0.64, DEFAULT_GATE)


def test_which_kind_or_stage_of_a_thing_is_never_covered_by_similarity(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """ "primary eosinophilic esophagitis" is not held by a study of eosinophilic esophagitis that never says
    primary, however close: similarity cannot tell primary from secondary, acute from chronic."""
    question = "Is mucosal fragility a sign of primary eosinophilic esophagitis?"
    study = Retrieved("pmid:1", {"title": "Mucosal fragility in eosinophilic esophagitis"},
                      ["RESULTS: Mucosal fragility was seen in most patients with eosinophilic esophagitis."], 0.9)  # fmt: skip
    evidence = read_articles(
        [study], embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
    )
    concepts = key_concepts(question, index)
    assert {"primary", "eosinophilic", "esophagitis"} <= {c.text for c in concepts}
    _, (assessment,) = assess(question, concepts, evidence, embedder.embed_documents)
    (gap,) = [g for g in assessment.gaps if "primary" in {c.text for c in g.concepts}]
    assert gap.blocked and not gap.part and not semantically_held(gap, 0.9, DEFAULT_GATE)


def test_a_word_asked_twice_keeps_its_other_names_in_its_second_phrase(index: LexicalSearch) -> None:
    """ "a failing heart ... a heart specialist": "heart" is one concept (of the first phrase), and
    "specialist" alone in the second still goes by the names of "heart specialist"."""
    question = "With a failing heart, is a heart specialist better than a family doctor?"
    concepts = {c.text: c for c in bridge(key_concepts(question, index), index)}
    assert concepts["specialist"].phrase == "heart specialist"
    assert {"cardiologist", "cardiology"} <= set(concepts["specialist"].synonyms)
    assert lexically_held(concepts["specialist"], Words.of("Patients seen in cardiology clinics survived."))


def test_words_that_describe_one_group_of_people_must_be_said_of_that_group(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """ "Overweight mums … their overweight children": a study whose overweight are the children and which
    mentions mothers elsewhere holds no overweight mothers; where only one group is asked about, the study's
    own population is who its words describe ("obese individuals" in a study of children)."""
    question = (
        "Do overweight mums feed their overweight children differently from mums who are a normal weight?"
    )

    def held(question: str, text: str) -> set[str]:
        article = Retrieved("pmid:1", {"title": ""}, [f"RESULTS: {text}"], 0.5)
        evidence = read_articles(
            [article], embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
        )
        _, (assessment,) = assess(question, key_concepts(question, index), evidence, embedder.embed_documents)
        return {c.text for c in assessment.lexical}

    others = "Many children underestimated their degree of overweight. Their mothers were asked about meals."
    assert "overweight" not in held(question, others) and {"mums", "children"} <= held(question, others)
    assert "overweight" in held(question, "Overweight mothers restricted their children's food more often.")
    assert "overweight" in held(question, "Mothers of overweight children were often overweight themselves.")
    single = "Do obese children have asthma more often?"
    assert {"obese", "children"} <= held(single, "Obese individuals wheezed more. The cohort were children.")


def test_a_word_is_held_by_its_forms_not_by_words_that_merely_start_alike(index: LexicalSearch) -> None:
    """ "statins" is not held by "statistically" (the note said an Alzheimer's study "mentioned statins"), nor
    "placebo" by "place"; "pregnancy" is by "pregnant", "smoking" by "smokers", "ischaemic" by "ischaemia",
    "metastatic" by "metastasis"."""
    for question, word, text, expected in [
        ("Are statins linked to memory loss?", "statins", "Memory was statistically worse.", False),
        ("Is a placebo better than nothing?", "placebo", "Nothing took place.", False),
        ("Does smoking in pregnancy harm babies?", "pregnancy", "Pregnant smokers had smaller babies.", True),
        ("Does smoking in pregnancy harm babies?", "smoking", "Pregnant smokers had smaller babies.", True),
        ("Is ischaemic stroke common?", "ischaemic", "Stroke after cerebral ischaemia.", True),
        ("Is metastatic cancer curable?", "metastatic", "Cancer metastasis was cured.", True),
    ]:
        (concept,) = [c for c in key_concepts(question, index) if c.text == word]
        assert lexically_held(concept, Words.of(text)) is expected, (question, text)


def test_everyday_descriptions_wordnet_lacks_are_held_by_litbots_own_vocabulary(
    index: LexicalSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "bowel cancer", "keyhole surgery" and "breathing machine" are in no WordNet synset; litbot's everyday
    vocabulary (data/everyday-medical.tsv, on by default since round 7) names them as abstracts do."""
    question = (
        "Does bowel cancer come back less after keyhole surgery than for people on a breathing machine?"
    )
    words = Words.of(
        "Recurrence of colorectal cancer was lower after laparoscopic resection; mechanical ventilation was rare."
    )

    def held() -> set[str]:
        concepts = bridge(key_concepts(question, index), index)
        return {c.text for c in concepts if lexically_held(c, words)}

    monkeypatch.setattr(lexicon, "EVERYDAY", False)
    assert not {"bowel", "keyhole", "breathing", "machine"} & held()  # WordNet alone
    monkeypatch.setattr(lexicon, "EVERYDAY", True)  # the default
    assert {"bowel", "keyhole", "breathing", "machine"} <= held()
    # "male hormone" is no population of men: the hormone, testosterone
    male = bridge(key_concepts("Is the male hormone in a woman's blood linked to desire?", index), index)
    assert all(lexically_held(c, Words.of("Serum testosterone correlated with desire.")) for c in male
               if c.text in ("male", "hormone"))  # fmt: skip


def test_growth_weight_and_dying_narrow_a_question_in_the_abstracts_words(index: LexicalSearch) -> None:
    """Common English words a question asks about as its outcome ("stunt his growth", "more likely to die",
    "a child's weight") are not too common to narrow it, and are held by what abstracts say for them."""

    def concept(question: str, text: str) -> Concept:
        return next(c for c in bridge(key_concepts(question, index), index) if c.text == text)

    growth = concept("Do steroid inhalers stunt a child's growth?", "growth")
    die = concept("Is she more likely to die if the operation is delayed?", "die")
    weight = concept("Is a child's weight tied to their mum's weight?", "weight")
    assert not growth.soft and not die.soft and not weight.soft
    assert lexically_held(die, Words.of("In-hospital mortality did not differ between the groups."))
    assert lexically_held(weight, Words.of("Parental BMI was associated with offspring BMI."))
    # a growth in the back passage is a tumour
    tumour = concept("My aunt has a growth low down in her back passage.", "growth")
    assert lexically_held(tumour, Words.of("Rectal tumours were resected."))
    assert not lexically_held(die, Words.of("Admissions for asthma were fewer with inhaled steroids."))
    # WordNet's first senses are no medical names: a fit is a seizure (not a tantrum), tablets no pad of paper
    fit = concept("My toddler had a fit. Can a seizure cause bleeding in the eyes?", "fit")
    assert lexically_held(fit, Words.of("Retinal haemorrhages followed a simple febrile convulsion."))
    symptoms = concept("Will transplant units turn him down though he has no symptoms?", "symptoms")
    assert lexically_held(symptoms, Words.of("Even if their infection is asymptomatic."))


# --- plain-language questions, round 4 ------------------------------------------------------------------------
NASAL = "23348330"  # nasal fractures: is closed reduction satisfying?
STERNAL = "25277731"  # sternal fracture in growing children


def test_what_is_wrong_with_a_body_part_is_asked_about_in_the_abstracts_words(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    # English uses "infected", "broken", "blocked" mostly as verbs; before a body part they say what is wrong
    # with it: an infected knee replacement is no knee replacement, a broken hip no hip
    assert runs("Can an infected knee replacement be cleaned out and kept?") == [
        ["infected", "knee", "replacement"]
    ]
    assert runs("Do blocked arteries in the legs cause strokes?")[0] == ["blocked", "arteries"]
    broken = next(
        c for c in bridge(key_concepts("Does a broken nose heal?", index), index) if c.text == "broken"
    )
    assert not broken.soft
    # held by the abstracts' word for it ("fractures"), not by an abstract about a nose that is not broken
    assert lexically_held(broken, Words.of(RECORDS[NASAL]["abstract"]))
    assert not lexically_held(broken, Words.of(RECORDS[RUGBY]["abstract"]))
    verdict = bridged_verdict(
        "Is a broken breastbone in children often missed?", [STERNAL, RUGBY], index, embedder
    )
    assert verdict.outcome == "answer"
    assert [c.evidence.article.article_id for c in verdict.coverage] == [f"pmid:{STERNAL}"]


def test_a_partial_answer_quotes_the_article_retrieval_ranks_first_among_those_covering_about_as_much(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """Neither article answers "a broken nose in rugby players": each covers part of it. Holding one more of the
    question's words is no sign of being about it: the article retrieval put first is quoted, whichever."""
    question = "Does a broken nose in rugby players heal without surgery?"
    for first, second in ((NASAL, RUGBY), (RUGBY, NASAL)):
        verdict = bridged_verdict(question, [first, second], index, embedder, relevance=0.45)
        assert verdict.outcome == "partial"
        # the other is as close: quoted after it, as its neighbour
        assert [c.evidence.article.article_id for c in verdict.coverage] == [
            f"pmid:{first}",
            f"pmid:{second}",
        ]
    # without the margin the article holding more of the words wins wherever retrieval put it
    articles = [retrieved(p, 0.45) for p in (RUGBY, NASAL)]
    evidence = read_articles(
        articles, embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
    )
    concepts = bridge(key_concepts(question, index), index)
    strict = judge(
        question, concepts, evidence, embedder.embed_documents, replace(DEFAULT_GATE, partial_margin=0)
    )
    assert strict.coverage[0].evidence.article.article_id == f"pmid:{NASAL}"


def test_a_body_part_s_state_is_covered_by_similarity_only_in_an_article_plainly_about_it(
    index: LexicalSearch,
) -> None:
    """ "swollen ankles in pregnancy" is not held by a HELLP-syndrome study that never says swelling or edema,
    though it is close to the question (relevance 0.56) and one of its sentences stands out (z 2.8); nor "a
    collapsed lung" by a study of airway obstruction in smokers. A state is a finding abstracts name."""
    concepts = {
        c.text: c for c in key_concepts("Can swollen ankles in pregnancy predict pre-eclampsia?", index)
    }
    swollen, ankles = concepts["swollen"], concepts["ankles"]
    for known in (False, True):
        gap = Gap((replace(swollen, known=known), replace(ankles, known=known)), known, blocked=False, z=2.8)
        assert not semantically_held(gap, 0.56, DEFAULT_GATE)
        assert semantically_held(gap, 0.65, DEFAULT_GATE)
        # the same words without the state: an everyday name for something a close article does cover
        assert semantically_held(replace(gap, concepts=(replace(ankles, known=known),)), 0.56, DEFAULT_GATE)


def words_of(question: str) -> list[str]:
    return [word for run in runs(question) for word in run]


def test_whom_the_asker_means_and_back_as_a_direction_are_not_what_is_asked() -> None:
    """ "My dad has cancer of the food pipe": no abstract names the asker's dad, and the answer is not partial
    for want of him. "At the back of his nose", "give them back", "come back" name no back."""
    assert runs("My dad has cancer of the food pipe. Does he need an operation?") == [
        ["cancer"],
        ["food", "pipe"],
        ["operation"],
    ]
    assert runs("My brother's bowel cancer spread to his liver.")[0][:2] == ["bowel", "cancer"]
    assert runs("My husband has advanced cancer at the back of his nose.") == [
        ["advanced", "cancer"],
        ["nose"],
    ]
    assert "back" not in words_of("Who is most likely to keep worrying that it will come back?")
    # a relative called by name, "my mum": whom the asker means
    assert runs("Dad's prostate cancer has spread. Dad is losing weight.") == [
        ["prostate", "cancer"],
        ["spread"],
        ["weight"],
    ]
    assert runs("They cut a small cancer out of the inside of Mum's cheek.") == [
        ["small", "cancer"],  # ("cut" after "they", before its object: the verb)
        ["cheek"],
    ]
    assert runs("My mum is 84 and broke her hip.") == [["hip"]]
    # mothers, when the question is about them: counted, described, or "their"
    assert ["mums"] in runs("Do mums who smoke have smaller babies?")
    assert ["single", "mum's"] in runs("Does a single mum's stress affect her child?")
    assert ["mum's"] in runs("Does their mum's weight matter to the children?")
    assert ["dad"] in runs("Is a dad at the birth a help?")
    # the body part, and people a population names, stay what is asked
    assert runs("Does back pain get better with yoga?") == [["back", "pain"], ["yoga"]]
    assert ["sore", "back"] in runs("Can a sore back be treated with heat?")
    assert ["mother"] in runs("Does having my mother with diabetes raise my risk?")
    assert ["son"] in runs("My son has asthma; do inhalers stunt growth?")
    # easing is what a treatment does, like relieving
    assert ["breathlessness"] in runs("Could she be given a drip to ease the breathlessness?")
    assert "ease" not in words_of("Could she be given a drip to ease the breathlessness?")


def test_an_age_in_years_asks_about_that_age_group(index: LexicalSearch) -> None:
    """ "My father is 78" asks about the elderly, "my 7-year-old" about children: an abstract must say so in
    words, like any population. An adult's age, a dose or a share names no group."""

    def ages(question: str) -> dict[str, tuple[str, ...]]:
        return {c.text: c.population for c in key_concepts(question, index) if c.text.startswith("aged")}

    father = ages("My father is 78 and needs an emergency operation. Will he be alive a year afterwards?")
    assert list(father) == ["aged 78"] and "geriatr" in father["aged 78"]
    child = key_concepts("My 7-year-old is having her tonsils out. Will numbing medicine help?", index)
    assert "aged 7" in {c.text for c in child} and "7-year-old" not in {c.text for c in child}
    (aged,) = [c for c in child if c.text == "aged 7"]
    assert lexically_held(aged, Words.of("Tonsillectomy in children under 12."))
    assert not lexically_held(aged, Words.of("Tonsillectomy in adults."))
    assert "adolesc" in ages("Can a 15 year old take the pill?")["aged 15"]
    assert ages("I am 45 and have high blood pressure; should I take aspirin?") == {}
    assert ages("Is 5 mg of melatonin safe at 70 kg?") == {}
    assert ages("My cholesterol is 7; should a 40-year-old take statins?") == {}  # no person is 7
    assert "adolesc" in ages("I'm 16 and pregnant. Is it safe to take paracetamol?")["aged 16"]
    # a question that names the group already asks nothing more
    assert ages("My mum is 80; is hip surgery risky in the elderly?") == {}


def test_an_operation_is_what_abstracts_call_surgery() -> None:
    """WordNet's "surgery" is as common in English as "pump", so its frequency cap dropped it; and
    "nonsurgical", WordNet's opposite of "surgical", is no name for an operation."""
    names = technical_names("operation", zipf)
    assert {"surgery", "surgical"} <= set(names) and "nonsurgical" not in names
    assert "physician" in technical_names("doctors", zipf)
    assert "pump" not in technical_names("heart", zipf)  # the cap still holds elsewhere


def test_an_article_holding_every_word_far_below_the_closest_one_does_not_answer(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """The rugby article is retrieved closest to a question about broken breastbones in children; the sternal
    fracture study holds every concept. It answers when it is about as close as the rugby one, and not when it
    is far below it: holding the words is then no sign of being about them, and the answer is partial."""
    question = "Is a broken breastbone in children often missed?"
    concepts = bridge(key_concepts(question, index), index)

    def verdict(sternal_relevance: float, params: GateParams = DEFAULT_GATE) -> Verdict:
        articles = [retrieved(RUGBY, 0.6), retrieved(STERNAL, sternal_relevance)]
        evidence = read_articles(
            articles, embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
        )
        return judge(question, concepts, evidence, embedder.embed_documents, params)

    near = verdict(0.59)
    assert near.outcome == "answer"
    assert [c.evidence.article.article_id for c in near.coverage] == [f"pmid:{STERNAL}"]
    # without the margin, the words alone would answer
    assert verdict(0.5, replace(DEFAULT_GATE, answer_margin=1.0)).outcome == "answer"
    far = verdict(0.5)
    assert far.outcome != "answer" and f"pmid:{STERNAL}" not in [
        c.evidence.article.article_id for c in far.coverage
    ]


def test_what_people_do_and_when_a_thing_is_done_are_asked_about(index: LexicalSearch) -> None:
    """ "Is it safe to drive after a stroke?" asks about driving, which is common English but no framing word;
    "if the operation is delayed" asks about its timing, while "does smoking delay healing" frames."""
    drive = {c.text: c for c in key_concepts("Is it safe for my husband to drive after a stroke?", index)}
    assert "drive" in drive and not drive["drive"].soft
    assert lexically_held(drive["drive"], Words.of("Driving safety after stroke was poorly reported."))
    # still the question's verb where it is one
    assert words_of("Does insulin resistance drive the association with cardiovascular risk?")[:2] == [
        "insulin",
        "resistance",
    ]
    assert "drive" not in words_of("Does insulin resistance drive the association with cardiovascular risk?")
    delayed = {
        c.text: c
        for c in bridge(key_concepts("Is she more likely to die if the operation is delayed?", index), index)
    }
    assert "delayed" in delayed
    assert lexically_held(delayed["delayed"], Words.of("Surgical timing did not affect mortality."))
    assert "delay" not in words_of("Does smoking delay wound healing?")


def test_the_baby_of_a_pregnancy_is_the_fetus_of_the_abstracts(index: LexicalSearch) -> None:
    """ "In labour, could that harm the baby?" is held by an abstract's fetal heart rate; "Is paracetamol safe
    for my baby?" is not: a study of the fetus says nothing of a baby already born."""
    fetal = Words.of("Fetal heart rate fell after the infusion.")
    labour = {c.text: c for c in key_concepts("In labour, could the epidural drip harm the baby?", index)}
    assert lexically_held(labour["baby"], fetal)
    born = {c.text: c for c in key_concepts("Is paracetamol safe for my baby?", index)}
    assert not lexically_held(born["baby"], fetal)
    assert lexically_held(born["baby"], Words.of("Paracetamol in infants was safe."))


def test_babies_being_born_are_the_births_and_deliveries_of_the_abstracts(index: LexicalSearch) -> None:
    """ "Does the phase of the moon affect when babies are born?" is held by a study of the time of delivery; a
    question about babies not being born is not held by a drug-delivery study, though births still count."""
    delivery = Words.of("Does lunar position influence the time of delivery?")
    moon = {c.text: c for c in key_concepts("Does the phase of the moon affect when babies are born?", index)}
    assert lexically_held(moon["babies"], delivery)
    milk = {c.text: c for c in key_concepts("Do babies sleep better on formula milk?", index)}
    assert not lexically_held(milk["babies"], Words.of("Nasal drug delivery was well tolerated."))
    assert lexically_held(milk["babies"], Words.of("Sleep was recorded for 200 births."))
    # a birthday is no birth: "before his first birthday" asks nothing about deliveries
    operated = {
        c.text: c for c in key_concepts("Should baby boys be operated on before their first birthday?", index)
    }
    assert not lexically_held(operated["baby"], Words.of("Drug delivery to the testis was measured."))


def test_babies_are_held_by_an_abstracts_birth_weights(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """The sample's study of "birth-weights for Aborigines and whites" answers "Are Aboriginal babies born
    smaller…?"; before births counted, a partial note said it could not match "Aboriginal babies"."""
    question = "Are Aboriginal babies born smaller than white babies just because their due dates are wrong?"
    verdict = sample_verdict(question, "8921484", 0.66, index, embedder)
    assert verdict.outcome == "answer"


def test_who_a_question_is_about_is_not_all_it_asks(index: LexicalSearch, embedder: MiniLMEmbedder) -> None:
    """ "Does being out of work and cut off from support in society make people more likely to take their own
    lives? Is it any different for men and for women?": its only uncommon words say who is asked about. A study
    of men and women living alone answered it confidently; what is asked about them must be covered too."""
    question = (
        "Does being out of work and cut off from support in society make people more likely to take their "
        "own lives? Is it any different for men and for women?"
    )
    concepts = key_concepts(question, index)
    assert {"men", "women", "support", "society"} <= {c.text for c in narrowing(concepts)}
    marital = _evidence("Living alone was associated with higher mortality in men and in women.")
    assert judge(question, concepts, [marital], embedder.embed_documents).outcome != "answer"
    # the things it names, not what is done: "going" through the change of life is no subject
    change = {
        c.text
        for c in narrowing(
            key_concepts("Does going through the change of life lower women's quality of life?", index)
        )
    }
    assert "life" in change and "going" not in change
    # a question naming what it asks about keeps only what narrows it
    narrow = narrowing(key_concepts("Does living alone raise mortality in men and in women?", index))
    assert "living" not in {c.text for c in narrow} and {"men", "women"} <= {c.text for c in narrow}


def test_an_everyday_word_another_retrieved_abstract_names_otherwise_is_held_only_in_words(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """No stored abstract says "adrenaline"; one retrieved says epinephrine, its other name. Then an audit of
    epidural rates in labour, close to the question, does not cover adrenaline by closeness alone: the
    evidence names it, and that abstract does not."""
    question = "In labour, could an epidural with adrenaline harm the baby?"
    concepts = bridge(key_concepts(question, index), index)
    adrenaline = next(c for c in concepts if c.text == "adrenaline")
    assert not adrenaline.known and "epinephrine" in adrenaline.synonyms
    audit = Retrieved(
        "pmid:1",
        {"title": "Epidural analgesia in labour"},
        [
            "Epidural analgesia rose from 15% to 51% of labours; fetal heart rate traces of the baby were unchanged."
        ],
        0.62,
    )
    other = Retrieved(
        "pmid:2",
        {"title": "Epinephrine infusion"},
        ["Epinephrine infusion raised heart rate in volunteers."],
        0.5,
    )

    def outcome(articles: list[Retrieved]) -> str:
        evidence = read_articles(
            articles, embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
        )
        return judge(question, concepts, evidence, embedder.embed_documents).outcome

    assert outcome([audit]) == "answer"  # nothing retrieved names it: the close article may say it otherwise
    assert outcome([audit, other]) == "partial"


def test_those_who_treat_the_asker_are_not_what_is_asked() -> None:
    """ "The doctor says…", "my surgeon can feel…": who spoke or acts, not the subject; no abstract names the
    asker's doctor. Doctors asked about, or a surgeon's experience, stay. "Nobody" names no one."""
    assert "doctor" not in words_of(
        "The doctor says it's the family kind of tremor. Can it turn into Parkinson's?"
    )
    assert "surgeon" not in words_of(
        "My surgeon can feel swollen glands in my armpit. Has the cancer spread?"
    )
    assert "surgeons" not in words_of("Should the surgeons replace the whole aorta?")
    assert "doctors" in words_of("Do family doctors recognise depression in teenagers?")
    assert "surgeon's" in words_of("Does the surgeon's experience affect survival after pancreatic surgery?")
    assert "nobody" not in words_of("We can't get pregnant and nobody knows why. Does IVF help?")


@pytest.mark.parametrize(
    ("question", "run"),
    [
        ("Smoking a pipe: does it cause mouth cancer?", ["pipe"]),
        ("Swimming the Channel, is it safe?", ["channel"]),
        ("Does it help swimming?", ["swimming"]),
    ],
)
def test_a_question_may_start_or_end_with_a_participle(question: str, run: list[str]) -> None:
    """ "Smoking a pipe: …" — a participle with its object at the very start crashed the concepts (IndexError
    on the empty word before it)."""
    assert run in runs(question)


PACKS = "22350859"  # graphic warnings on cigarette packages and education (the bundled sample)


def _sample_article(pmid: str, relevance: float) -> Retrieved:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as lines:
        record = next(r for r in map(json.loads, lines) if str(r["pmid"]) == pmid)
    meta = {"title": record["title"], "pmid": pmid, "mesh": "; ".join(record.get("mesh") or [])}
    return Retrieved(f"pmid:{pmid}", meta, [record["abstract"]], relevance)


def test_an_abstract_names_an_everyday_phrase_with_a_phrase_of_its_own(embedder: MiniLMEmbedder) -> None:
    """Phrase against phrase, MiniLM places "asthma puffers" close to the abstract's "inhalers"; "hearing aids"
    is never matched by the abstract's "hearing", a word the question itself has, nor by "hearing loss"."""
    article = Retrieved(
        "pmid:1",
        {"title": "Hearing and asthma"},
        ["Metered-dose inhalers of budesonide improved asthma control in children. Hearing loss was common."],
    )
    evidence = read_articles(
        [article], embedder.embed_query("asthma"), lambda a: a.passages, embedder.embed_documents
    )
    asked = {"asthma puffers": "asthma puffers", "hearing aids": "hearing aids"}
    found = closest_names(
        {k: frozenset(tokenize(v)) for k, v in asked.items()}, evidence[0], embedder.embed_documents
    )
    assert "inhalers" in found["asthma puffers"].phrase
    assert found["asthma puffers"].cosine >= NAME_COSINE
    # nor by "hearing loss" (0.73 as whole phrases): "aids" and "loss" are not close
    hearing = found.get("hearing aids")
    assert hearing is None or hearing.phrase not in ("hearing", "hearing loss")
    assert hearing is None or hearing.cosine < NAME_COSINE


def test_an_article_that_names_what_it_lacks_in_words_of_its_own_answers(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """With names switched on, the sample's study of warnings on "cigarette packages" and education answers a
    question about "cigarette packs" and "schooling" by its own names for them (0.85, 0.83), where sentence
    similarity alone does not (here made strict: strong_z 3.0). Off, the default, it stays partial; without
    that article names change nothing."""
    question = "Do warnings on cigarette packs work as well for smokers with less schooling?"
    concepts = bridge(key_concepts(question, index), index)
    evidence = read_articles(
        [_sample_article(PACKS, 0.53), retrieved(RUGBY, 0.45)],
        embedder.embed_query(question),
        lambda a: list(a.passages),
        embedder.embed_documents,
    )
    strict = replace(DEFAULT_GATE, strong_z=3.0)
    names = replace(strict, phrase_cosine=NAME_COSINE)
    named = judge(question, concepts, evidence, embedder.embed_documents, names)
    assert named.outcome == "answer"
    assert [c.evidence.article.article_id for c in named.coverage] == [f"pmid:{PACKS}"]
    assert judge(question, concepts, evidence, embedder.embed_documents, strict).outcome == "partial"
    alone = judge(question, concepts, evidence[1:], embedder.embed_documents, names)
    assert alone.outcome == judge(question, concepts, evidence[1:], embedder.embed_documents, strict).outcome


def test_a_phrase_the_article_names_covers_a_gap_only_where_similarity_may_stand_for_words(
    index: LexicalSearch,
) -> None:
    tube = key_concepts("Is a bladder tube painful?", index)
    gap = Gap(tuple(c for c in tube if c.text == "tube"), True, blocked=False, z=-1.0)
    names = replace(DEFAULT_GATE, phrase_cosine=NAME_COSINE)
    catheters = replace(gap, name="urinary catheters", name_cosine=0.75)
    assert semantically_held(catheters, 0.4, names)
    assert not semantically_held(catheters, 0.4, DEFAULT_GATE)  # off by default
    assert not semantically_held(replace(gap, name="urinary", name_cosine=0.6), 0.4, names)
    assert not semantically_held(replace(catheters, blocked=True, name_cosine=0.9), 0.7, names)


def test_a_partial_answer_quotes_its_near_neighbours_and_says_which_covers_what(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """Retrieval cannot tell which of near-equals is about a question none answers whole: a partial answer
    quotes the first, then a finding of each neighbour covering part of the question; its first line names
    what each quoted abstract covers, and says it could not find only what none of them does."""
    question = "Does a broken nose in rugby players heal without surgery?"
    verdict = bridged_verdict(question, [NASAL, RUGBY], index, embedder, relevance=0.45)
    nasal, rugby = verdict.coverage
    assert "rugby" in rugby.how and "rugby" not in nasal.how and "nose" in nasal.how
    composed = ExtractiveAnswerer().answer(question, verdict)
    cited = [c.id for c in composed.citations]
    assert cited == [f"pmid:{NASAL}", f"pmid:{RUGBY}"]
    note = composed.text.split("\n\n")[1]
    assert "nose [1]" in note and "rugby players [2]" in note, note
    assert "rugby" not in " ".join(composed.missing)
    # a phrase whose words the quoted abstracts hold between them, neither whole, cites both
    split = replace(
        verdict,
        coverage=[
            replace(nasal, how={k: v for k, v in nasal.how.items() if k != "nose"}),
            replace(rugby, how={**rugby.how, "nose": "lexical"}),
        ],
    )
    numbers = {nasal.evidence.rank: 1, rugby.evidence.rank: 2}
    assert "broken nose [1][2]" in gap_sentence(split, numbers)
    # what a quoted abstract only comes close to is no topic it discusses
    close = replace(
        split, coverage=[split.coverage[0], replace(rugby, how={**rugby.how, "nose": "semantic"})]
    )
    assert "nose" not in gap_sentence(close, numbers).split(" and mention")[0]
    # far below the first (more than the neighbour margin), a neighbour is not quoted
    articles = [retrieved(NASAL, 0.45), retrieved(RUGBY, 0.3)]
    evidence = read_articles(
        articles, embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
    )
    far = judge(question, bridge(key_concepts(question, index), index), evidence, embedder.embed_documents)
    assert [c.evidence.article.article_id for c in far.coverage] == [f"pmid:{NASAL}"]
    # nor one holding everything the first lacks: a partial answer always says what none of them covers
    whole = neighbours(
        [
            nasal,
            replace(rugby, how={**rugby.how, **dict.fromkeys((c.text for c in nasal.missing), "lexical")}),
        ],
        nasal,
        0.45,
        DEFAULT_GATE,
    )
    assert whole == []


def test_retrieval_sclear_first_answers_though_it_lacks_an_everyday_word_that_stands_out_in_it(
    index: LexicalSearch, embedder: MiniLMEmbedder
) -> None:
    """The article ranked first, close to the question and well ahead of the next, answers though it lacks a
    word, when the word stands out in it; not when it is barely ahead, lacks much of the question, or lacks
    what only words may cover (a population, a lettered name, part of a phrase another abstract holds)."""
    question = "Does a broken nose in rugby players heal without surgery?"
    verdict = bridged_verdict(question, [NASAL, RUGBY], index, embedder, relevance=0.45)
    nasal, rugby = verdict.coverage
    first = replace(nasal, evidence=replace(nasal.evidence, article=retrieved(NASAL, 0.65)), share=0.6)
    lacking = first.missing[0].text
    first.closeness = {c.text: 1.2 for c in first.missing}
    first.firm = set()
    assert first.missing and clear_first([first, rugby], DEFAULT_GATE) is first  # 0.65 against 0.45
    barely = replace(rugby, evidence=replace(rugby.evidence, article=retrieved(RUGBY, 0.6)))
    assert clear_first([first, barely], DEFAULT_GATE) is None
    assert clear_first([replace(first, share=0.2), rugby], DEFAULT_GATE) is None
    assert clear_first([replace(first, closeness={lacking: 0.5}), rugby], DEFAULT_GATE) is None
    assert clear_first([replace(first, firm={lacking}), rugby], DEFAULT_GATE) is None
    far = replace(first, evidence=replace(nasal.evidence, article=retrieved(NASAL, 0.58)))
    assert clear_first([far, replace(rugby, evidence=replace(rugby.evidence, article=retrieved(RUGBY, 0.3)))],
                        DEFAULT_GATE) is None  # fmt: skip


def test_an_abbreviation_in_capitals_is_a_concept_and_a_body_word_may_be_the_verb(
    index: LexicalSearch,
) -> None:
    """ "Do ART patients face higher C-section rates?": ART (assisted reproduction) is what is asked, however
    common "art" is; the patients face higher rates, no face. A face is still one in
    "face masks" and "burns to the face"."""
    concepts = {
        c.text: c for c in key_concepts("Do ART patients face higher C-section rates at delivery?", index)
    }
    assert "face" not in concepts
    art = concepts["art"]
    assert not art.soft and art.acronym and art.surface == "ART"
    assert not key_concepts("Is art therapy good for dementia?", index)[
        0
    ].acronym  # the word, not the letters
    assert runs("Do smokers face a higher risk of stroke?") == [["smokers"], ["stroke"]]
    assert runs("Do face masks stop flu?") == [["face", "masks"], ["flu"]]
    assert ["face"] in runs("Do burns to the face heal faster with honey?")


def test_mesh_age_tags_spanning_children_and_adults_say_no_age_group() -> None:
    """A study of patients aged 16 to 70 is tagged "Adolescent" as well as "Adult": no study of teenagers. Tags
    that keep to one side still say whom it studied."""
    spanning = "Adolescent; Adult; Aged; Bariatric Surgery; Humans; Middle Aged; Young Adult"
    assert ages_meant(spanning) == (
        "Bariatric Surgery; Humans",
        "Adolescent; Adult; Aged; Middle Aged; Young Adult",
    )
    assert ages_meant("Adolescent; Child; Humans; Obesity") == ("Adolescent; Child; Humans; Obesity", "")
    assert ages_meant("Aged; Aged, 80 and over; Hip Fractures")[1] == ""
    article = Retrieved(
        "pmid:1", {"title": "Sleeve gastrectomy leaks", "mesh": spanning}, ["Leaks were rare."]
    )
    (read,) = read_articles([article], np.ones(384, dtype=np.float32) / 384**0.5, lambda a: [],
                            lambda texts: np.ones((len(texts), 384), dtype=np.float32) / 384**0.5)  # fmt: skip
    assert "adolesc" not in read.words.terms and "bariatr" in read.words.terms
    assert "adolesc" in read.enrolled.terms  # whom it enrolled, for a note to mention, not to deny


def test_one_word_of_a_phrase_is_no_mention_of_it(index: LexicalSearch, embedder: MiniLMEmbedder) -> None:
    """Found asking my own questions: "… discuss depression and mention social media" above a study of social
    anxiety that never names any media. Only an abstract holding every word of a phrase mentions it."""
    question = "Does social media cause depression in teenagers?"
    text = (
        "RESULTS: Teenagers with depression recalled more negative words than those with social anxiety "
        "(p = 0.01). CONCLUSIONS: Depression in teenagers differs from social anxiety in memory."
    )
    article = Retrieved("pmid:1", {"title": "Memory in teenage depression and social anxiety"}, [text], 0.6)
    evidence = read_articles(
        [article], embedder.embed_query(question), lambda a: list(a.passages), embedder.embed_documents
    )
    verdict = judge(question, key_concepts(question, index), evidence, embedder.embed_documents)
    assert verdict.outcome == "partial" and verdict.missing_text == ["social media"]
    note = gap_sentence(verdict, first(verdict))
    assert "mention social media" not in note and "could not match “social media”" in note, note
