"""Abstracts read back for answers: labels with and without a colon, roles, chunks glued, marks removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.answer.abstracts import abstract_sentences, join_chunks, label_role, labelled_parts
from bot.answer.evidence import clean_sentence
from bot.answer.extractive import quotable

SCIFACT = Path(__file__).parent / "fixtures" / "beir-scifact-mini" / "corpus.jsonl"


@pytest.mark.parametrize(
    ("label", "role"),
    [
        ("RESULTS", "results"),
        ("CONCLUSIONS AND RELEVANCE", "conclusions"),
        ("METHODS AND RESULTS", "results"),
        ("BACKGROUND & AIMS", "objective"),
        ("DESIGN, SETTING, AND PARTICIPANTS", "methods"),
        ("MAIN OUTCOME MEASURES", "methods"),
        (
            "KEY LIMITATIONS",
            "methods",
        ),  # what the study lacks is no finding (a fenofibrate trial's limits were quoted)
        ("CLINICAL TRIAL REGISTRATION", "methods"),
        ("ADHD", None),
        ("USPSTF", None),
        ("HIV", None),
    ],
)
def test_label_words_decide_the_role_and_acronyms_are_not_labels(label: str, role: str | None) -> None:
    assert label_role(label) == role


def test_labels_without_a_colon_are_recognised_in_the_middle_of_a_text() -> None:
    text = (
        "OBJECTIVE To compare two drugs. METHODS We enrolled 45 ADHD patients. RESULTS The rate fell by 20%. "
        "CONCLUSIONS HIV testing should be routine."
    )
    assert labelled_parts(text) == [
        ("OBJECTIVE", "To compare two drugs."),
        ("METHODS", "We enrolled 45 ADHD patients."),
        ("RESULTS", "The rate fell by 20%."),
        ("CONCLUSIONS", "HIV testing should be routine."),
    ]


def test_labels_with_a_colon_and_unknown_colon_labels_cut_the_text() -> None:
    text = "BACKGROUND: Falls are common. RESULTS: Fewer falls. TRIAL REGISTRATION: NCT0001."
    assert [label for label, _ in labelled_parts(text)] == ["BACKGROUND", "RESULTS", "TRIAL REGISTRATION"]


def test_capitals_inside_prose_are_not_labels() -> None:
    assert labelled_parts("The USPSTF recommends screening. AIDS Patients were seen in 2010.") == [
        ("", "The USPSTF recommends screening. AIDS Patients were seen in 2010.")
    ]


def test_real_scifact_abstracts_lose_their_labels_and_get_roles() -> None:
    """SciFact writes "RESULTS The ..." without a colon; every such label must be recognised."""
    rows = [json.loads(line) for line in SCIFACT.read_text(encoding="utf-8").splitlines()]
    labelled = [r for r in rows if " RESULTS " in r["text"] or r["text"].startswith("BACKGROUND ")]
    assert labelled, "the fixture holds SciFact abstracts with colon-less labels"
    for row in labelled:
        sentences = abstract_sentences([row["text"]])
        assert not any(s.text.startswith(("RESULTS ", "CONCLUSIONS ", "METHODS ")) for s in sentences)
        assert {"results", "conclusions"} & {s.role for s in sentences}


def test_chunks_are_glued_without_their_overlap_and_sentences_keep_their_section() -> None:
    first = "OBJECTIVE: To test whether drug X lowers blood pressure. METHODS: We enrolled 200 adults with hypertension."
    second = (
        "We enrolled 200 adults with hypertension. Blood pressure fell by 12 mmHg. CONCLUSIONS: Drug X works."
    )
    assert join_chunks([first, second]).count("We enrolled 200 adults") == 1
    sentences = abstract_sentences([first, second])
    assert [(s.label, s.role, s.text) for s in sentences] == [
        ("OBJECTIVE", "objective", "To test whether drug X lowers blood pressure."),
        ("METHODS", "methods", "We enrolled 200 adults with hypertension."),
        ("METHODS", "methods", "Blood pressure fell by 12 mmHg."),
        ("CONCLUSIONS", "conclusions", "Drug X works."),
    ]


def test_a_sentence_cut_across_a_chunk_border_is_whole_again() -> None:
    """A sentence longer than a chunk is split on words; the next chunk repeats the last piece."""
    first = "Intro sentence here. The first half of a very long sentence"
    second = "of a very long sentence that ends in the second chunk. Next one."
    sentences = [s.text for s in abstract_sentences([first, second])]
    assert "The first half of a very long sentence that ends in the second chunk." in sentences


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("To determine whether aspirin prevents stroke.", "objective"),
        ("We hypothesized that aspirin prevents stroke.", "objective"),
        ("In conclusion, aspirin did not prevent stroke.", "conclusions"),
        ("Stroke was not significantly associated with aspirin use (p = 0.4).", "results"),
        ("A total of 300 patients were enrolled.", "methods"),
    ],
)
def test_unlabelled_sentences_get_roles_from_their_cues(text: str, role: str) -> None:
    abstract = ["Strokes are common in older adults.", text, "More text follows here in the middle.", "Last."]
    assert abstract_sentences([" ".join(abstract)])[1].role == role


def test_unlabelled_abstracts_open_with_background_and_close_with_a_conclusion() -> None:
    sentences = abstract_sentences(
        ["Strokes are common in older adults. Many trials exist on it. Aspirin is cheap and widely given."]
    )
    assert [s.role for s in sentences] == ["background", "statement", "conclusions"]


def test_a_mislabelled_aim_is_not_a_finding() -> None:
    (sentence,) = abstract_sentences(["RESULTS: To determine whether the drug works in adults."])
    assert sentence.role == "objective"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Rates fell (Box 1) (2).", "Rates fell."),
        ("Rates fell as reported [12] (Fig. 2a).", "Rates fell as reported."),
        ("Odds rose [OR 3.6, 95% CI 1.2-5.1].", "Odds rose (OR 3.6, 95% CI 1.2-5.1)."),
        ("We compared (1) drug and (2) placebo.", "We compared (1) drug and (2) placebo."),
    ],
)
def test_reference_marks_are_removed_and_brackets_cannot_pose_as_citations(raw: str, clean: str) -> None:
    assert clean_sentence(raw) == clean


@pytest.mark.parametrize(
    ("text", "finding"),
    [
        # who was studied, under a RESULTS label (sentences of the bundled sample's abstracts)
        ("Overall, 205 consecutive patients underwent preoperative carotid screening.", False),
        (
            "The mean ages of the patients with pre-eclampsia and the control subjects were 29.6 ± 5.7 and "
            "28.6 ± 5.3 years, respectively.",
            False,
        ),
        ("The average age was 64.4 ± 10.7, 73% of the patients were males.", False),
        ("2878 patients with hypertensives disorders in pregnancy (11.64%).", False),
        # "or" is no odds ratio: this says what was analysed
        (
            "A consecutive series of 126 men with rectal cancer threatening (44) or affecting (82) the prostatic "
            "plane was analysed.",
            False,
        ),
        # findings about the sample, or with an odds ratio, stay quotable
        (
            "Patient mean age was significantly higher in the diabetic group than in the nondiabetic group "
            "(P<0.0001).",
            True,
        ),
        ("Twelve patients with sepsis died.", True),
        ("Eighteen of 815 patients received breathlessness symptom control with opioids.", True),
        ("Forty-two patients with stones underwent surgery and 90% were stone free.", True),
        ("Complications were recorded after surgery (OR 2.1).", True),
        (
            "More preventive services were offered or performed at our sites but fewer diagnostic services were "
            "performed.",
            True,
        ),
        ("Children with asthma or eczema were enrolled.", False),
        # a design given as a label, then what was done; or then what was found
        (
            "Randomised controlled trial; randomised patients (56.8+16.9 years, 61% male) receiving ventilatory "
            "support to: (1) patient-directed music, (2) headphones only, or (3) usual care.",
            False,
        ),
        ("Prospective cohort study: mortality was lower after the change (p<0.01).", True),
        # what was measured, or who did the work, without a result (these took an agenda sentence's place)
        (
            "The outcomes of interest were number of arterial blood gases, radiographs, and electrolytes ordered "
            "per infant.",
            False,
        ),
        ("Six providers performed 197 IUD insertion attempts.", False),
        ("The primary outcome was lower in the treated group (p=0.01).", True),
        ("Twelve nurses performed the checks correctly in 90% of cases.", True),
        ("Outcomes were better in the treated group.", True),
    ],
)
def test_a_results_sentence_describing_the_sample_is_no_finding(text: str, finding: bool) -> None:
    (sentence,) = abstract_sentences([f"RESULTS: {text}"])
    assert sentence.role == "results"
    assert quotable(sentence) is finding


@pytest.mark.parametrize(
    ("text", "finding"),
    [
        # what research should do next: no finding, even as a conclusion (found asking "Is it safe to drive after
        # a stroke?": this was the whole answer)
        (
            "In future studies, the use of both government and self-reported data would ensure a more accurate "
            "picture of driving safety post-stroke.",
            False,
        ),
        ("Further studies are needed to confirm these findings.", False),
        ("Larger randomized controlled trials are warranted.", False),
        ("Future research should focus on prevention.", False),
        # what further work found, and a finding that ends by asking for more, are findings
        ("Further research showed no benefit of the drug.", True),
        ("Mortality fell by 20%, but further studies are needed.", True),
        ("More patients died in the control group.", True),
    ],
)
def test_what_future_research_should_do_is_no_finding(text: str, finding: bool) -> None:
    (sentence,) = abstract_sentences([f"CONCLUSIONS: {text}"])
    assert quotable(sentence) is finding
