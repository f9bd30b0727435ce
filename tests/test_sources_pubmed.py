"""PubMed formats on real records: MEDLINE text, PubMed XML (efetch, baseline .gz), the abstract page."""

from __future__ import annotations

import gzip
import io
import time
from pathlib import Path

import pytest

from ingest.articles import Article, InputError, ParseEvent, Skipped
from ingest.sources import parse_medline, parse_pubmed_page, parse_pubmed_xml, read_input
from ingest.sources._common import parse_date

FIXTURES = Path(__file__).parent / "fixtures"
MEDLINE = FIXTURES / "medline"
XML = FIXTURES / "pubmed-xml"
SEED = FIXTURES / "seed" / "gut-microbiota-hcc-drug-resistance.txt"


def read(path: Path) -> list[ParseEvent]:
    return list(read_input(str(path)))


def by_pmid(events: list[ParseEvent]) -> dict[str, Article]:
    return {e.pmid: e for e in events if isinstance(e, Article) and e.pmid}


# --- MEDLINE ---------------------------------------------------------------------------------------------


def test_medline_maps_tags_of_known_records() -> None:
    articles = by_pmid(read(MEDLINE / "pubmed_result2.txt"))
    assert list(articles) == ["16403221", "16377612", "14871861", "14630660"]
    scop = articles["16403221"]
    assert scop.title == "A high level interface to SCOP and ASTRAL implemented in python."
    assert scop.journal == "BMC bioinformatics"  # JT, the full title, over TA
    assert (scop.year, scop.date) == (2006, "2006")
    assert scop.doi == "10.1186/1471-2105-7-10"  # from "AID - 10.1186/1471-2105-7-10 [doi]"
    assert scop.authors == ["Casbon, James A", "Crooks, Gavin E", "Saqi, Mansoor A S"]
    assert scop.affiliations[0].startswith("Bioinformatics, Institute of Cell and Molecular Science")
    # "*Databases, Protein" and "Information Storage and Retrieval/*methods": descriptor kept, rest dropped
    assert "Databases, Protein" in scop.mesh and "Information Storage and Retrieval" in scop.mesh
    assert not any("*" in term or "/" in term for term in scop.mesh)
    assert [s.label for s in scop.sections] == ["BACKGROUND", "RESULTS", "CONCLUSION"]
    assert scop.source == "pubmed_result2.txt:PMID 16403221"
    assert scop.url == "https://pubmed.ncbi.nlm.nih.gov/16403221/"
    assert articles["16377612"].date == "2006-03-01"  # "DP  - 2006 Mar 1"


def test_medline_lid_doi_structured_abstract_and_wrapped_fields() -> None:
    hifu = by_pmid(read(MEDLINE / "pubmed_result3.txt"))["23039619"]
    assert hifu.doi == "10.1118/1.4748329"  # "LID - 10.1118/1.4748329 [doi]"
    assert hifu.date == "2012-10"
    assert [s.label for s in hifu.sections] == ["PURPOSE", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert hifu.abstract.startswith("PURPOSE: High-intensity focused ultrasound")
    assert "High-Intensity Focused Ultrasound Ablation" in hifu.mesh

    glucose = by_pmid(read(MEDLINE / "pubmed_result4.txt"))["37195739"]
    assert glucose.title.endswith("via cAMP-RhoA-ROCK axis in human breast cancer cells.")  # 3 wrapped lines
    assert glucose.date == "2023-05-17" and glucose.journal == "Molecular biology of the cell"
    assert glucose.authors[0] == "Oh, Mijung" and len(glucose.authors) == 4
    assert len(glucose.affiliations) == 5  # 6 AD lines, one repeated
    assert (
        "Department of Molecular and Cellular Biology, University of Arizona, Tucson, AZ 85721, USA."
        in glucose.affiliations
    )
    assert glucose.mesh == [] and glucose.sections == []


def test_medline_record_without_abstract_is_skipped_and_counted() -> None:
    without_ab: list[str] = []
    in_abstract = False
    for line in (MEDLINE / "pubmed_result1.txt").read_text().splitlines(keepends=True):
        in_abstract = line.startswith("AB  -") or (in_abstract and line.startswith("      "))
        if not in_abstract:
            without_ab.append(line)
    events = list(parse_medline(without_ab, "no-ab.txt"))
    assert events == [Skipped("no-ab.txt", "PMID 12230038", "no_abstract", "the record has no abstract (AB)")]


def test_medline_detected_by_content_when_the_extension_lies(tmp_path: Path) -> None:
    saved = tmp_path / "export.dat"
    saved.write_bytes((MEDLINE / "pubmed_result1.txt").read_bytes())
    (article,) = read(saved)
    assert isinstance(article, Article) and article.pmid == "12230038"
    assert article.source == "export.dat:PMID 12230038"


# --- PubMed XML ------------------------------------------------------------------------------------------


def test_xml_record_without_abstract_is_skipped() -> None:
    events = read(XML / "pubmed1.xml")
    assert events[0] == Skipped("pubmed1.xml", "PMID 12091962", "no_abstract", "the record has no abstract")
    assert isinstance(events[1], Article) and events[1].pmid == "9997" and len(events) == 2
    assert events[1].doi == "10.1016/0005-2795(76)90109-4" and events[1].date == "1976-09-28"


def test_xml_inline_markup_in_titles_becomes_plain_text() -> None:
    (telomere,) = read(XML / "pubmed4.xml")  # <ArticleTitle>... at the <i>TERT</i> gene region ...
    assert isinstance(telomere, Article)
    assert telomere.title == (
        "Leucocyte telomere length, genetic variants at the TERT gene region and risk of pancreatic cancer."
    )
    (lactate,) = read(XML / "pubmed6.xml")  # A &quot;<i>Blood Relationship&quot;</i> Between ...
    assert isinstance(lactate, Article)
    assert lactate.title.startswith('A "Blood Relationship" Between the Overlooked Minimum Lactate')
    assert "<" not in telomere.title + lactate.title


def test_xml_structured_abstract_keeps_labels() -> None:
    (asthma,) = read(XML / "pubmed-29768149.xml")
    assert isinstance(asthma, Article)
    assert [s.label for s in asthma.sections] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert asthma.abstract.startswith("BACKGROUND: ") and " METHODS: " in asthma.abstract
    assert "\nRESULTS: " in asthma.body_text()
    assert asthma.title == "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma."
    assert asthma.journal == "The New England journal of medicine"
    assert (asthma.year, asthma.date, asthma.doi) == (2018, "2018-05-17", "10.1056/nejmoa1715274")
    assert asthma.authors[:2] == ["O'Byrne, Paul M", "FitzGerald, J Mark"]


def test_xml_keywords_collective_author_and_doi() -> None:
    (pesticide,) = read(XML / "pubmed5.xml")
    assert isinstance(pesticide, Article)
    assert pesticide.keywords == [
        "agriculture",
        "hypothyroidism",
        "pesticides",
        "thyroid disease",
        "thyroid stimulating hormone",
    ]
    assert [s.label for s in pesticide.sections] == ["OBJECTIVES", "METHODS", "RESULTS", "CONCLUSIONS"]
    (imaging,) = read(XML / "pubmed7.xml")
    assert isinstance(imaging, Article)
    assert imaging.authors[-1] == "Canadian Respiratory Research Network"  # <CollectiveName>
    assert imaging.doi == "10.1117/1.jmi.5.2.026002" and imaging.date == "2018-04"


def test_gzipped_medline_baseline_file() -> None:
    events = read(XML / "test_current_medline.xml.gz")
    skipped = [e for e in events if isinstance(e, Skipped)]
    articles = by_pmid(events)
    assert list(articles) == ["36400559", "2930949", "28786991"]
    assert skipped == [
        Skipped("test_current_medline.xml.gz", "PMID 11446611", "no_abstract", "the record has no abstract")
    ]
    back_pain = articles["36400559"]
    assert back_pain.journal == "Neurologic clinics" and (back_pain.year, back_pain.date) == (2023, "2023-02")
    assert back_pain.doi == "10.1016/j.ncl.2022.07.002"
    assert back_pain.mesh[:2] == ["Humans", "Low Back Pain"]  # descriptors only, no qualifiers
    assert back_pain.keywords == ["Back pain", "Diagnosis", "Management", "Outpatient"]
    assert back_pain.source == "test_current_medline.xml.gz:PMID 36400559"
    # the record's own DOI, never one from its reference list; none at all when it has none
    assert articles["28786991"].doi == "10.1371/journal.pone.0180707"
    assert articles["2930949"].doi is None
    assert articles["2930949"].authors == ["Reuler, J B"]


def test_medline_date_range_gives_the_first_year() -> None:
    assert parse_date("1998 Dec-1999 Jan") == (1998, "1998-12")
    assert parse_date("2001 May-Jun") == (2001, "2001-05")
    assert parse_date("1990 Spring") == (1990, "1990")
    xml = (XML / "pubmed2.xml").read_bytes()
    xml = xml.replace(b"<PubDate><Year>2001</Year><Month>Jun</Month></PubDate>", b"<PubDate><MedlineDate>"
                      b"1998 Dec-1999 Jan</MedlineDate></PubDate>")  # fmt: skip
    first = next(parse_pubmed_xml(io.BytesIO(xml), "x.xml"))
    assert isinstance(first, Article) and (first.year, first.date) == (1998, "1998-12")


def test_truncated_xml_keeps_good_records_and_reports_one_break(tmp_path: Path) -> None:
    data = (XML / "pubmed2.xml").read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: int(len(data) * 0.8)])  # inside the second record
    events = read(cut)
    assert [e.pmid for e in events if isinstance(e, Article)] == ["11748933"]
    (broken,) = [e for e in events if isinstance(e, Skipped)]
    assert (broken.source, broken.reason, broken.locator) == ("cut.xml", "malformed", "PMID 11700088")
    assert "breaks off inside record 2 (line 4)" in broken.message
    assert events[-1] is broken


def test_truncated_gzip_baseline_keeps_good_records(tmp_path: Path) -> None:
    xml = gzip.decompress((XML / "test_current_medline.xml.gz").read_bytes())
    cut = tmp_path / "part.xml.gz"
    cut.write_bytes(gzip.compress(xml[: xml.index(b"<PMID Version=\"1\">28786991")]))  # fmt: skip
    events = read(cut)
    assert [e.pmid for e in events if isinstance(e, Article)] == ["36400559", "2930949"]
    assert [e.reason for e in events if isinstance(e, Skipped)] == ["no_abstract", "malformed"]
    # the compressed stream itself breaking off: same outcome, one malformed skip at the end
    chopped = tmp_path / "chopped.xml.gz"
    whole = (XML / "test_current_medline.xml.gz").read_bytes()
    chopped.write_bytes(whole[: len(whole) - 2000])
    events = read(chopped)
    assert isinstance(events[0], Article) and events[0].pmid == "36400559"
    assert isinstance(events[-1], Skipped) and events[-1].reason == "malformed"
    assert sum(isinstance(e, Skipped) and e.reason == "malformed" for e in events) == 1


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>&lol9;</ArticleTitle>
<Abstract><AbstractText>&lol9;</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>
</PubmedArticleSet>
"""


def test_xml_bomb_is_refused_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    (refused,) = list(parse_pubmed_xml(io.BytesIO(BILLION_LAUGHS), "bomb.xml"))
    assert isinstance(refused, Skipped) and "XML bomb" in refused.message
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(BILLION_LAUGHS)
    assert [e.source for e in read(bomb)] == ["bomb.xml"]
    assert time.perf_counter() - started < 2


def test_xml_external_entities_are_never_loaded() -> None:
    xml = (XML / "pubmed1.xml").read_bytes()
    xml = xml.replace(b"<PubmedArticleSet>", b"<PubmedArticleSet>", 1).replace(
        b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">',
        b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd" [<!ENTITY ext SYSTEM "file:///etc/passwd">]>',
    )
    xml = xml.replace(b"<ArticleTitle>Magnetic", b"<ArticleTitle>&ext;Magnetic")
    events = list(parse_pubmed_xml(io.BytesIO(xml), "ext.xml"))
    # the record using the entity is skipped and named (litbot expands no entity), its neighbour is read
    assert [(e.locator, e.reason) for e in events if isinstance(e, Skipped)] == [
        ("PMID 12091962", "no_abstract"),
        ("PMID 9997", "malformed"),
    ]
    assert "uses &ext; at line 4, an external entity" in events[-1].message and "root:" not in str(events)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pubmed3.html", "is an HTML page"),
        ("esearch1.xml", "esearch reply"),
        ("esearch2.xml", "esearch reply"),
        ("esummary1.xml", "esummary reply"),
    ],
)
def test_pages_and_eutils_replies_are_rejected_clearly(name: str, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        read(XML / name)
    assert caught.value.source == name and expected in caught.value.detail
    if name.endswith("html"):
        assert "not PubMed data" in caught.value.detail


# --- the PubMed abstract page ----------------------------------------------------------------------------


def test_seed_page_gives_one_clean_article() -> None:
    (page,) = read(SEED)
    assert isinstance(page, Article)
    assert (
        page.title
        == "The gut microbiota: an emerging modulator of drug resistance in hepatocellular carcinoma."
    )
    assert page.journal == "Gut Microbes"
    assert page.affiliations == [
        "Clinical Cancer Institute, Center for Translational Medicine, Naval Medical University, "
        "Shanghai, China."
    ]
    assert (page.year, page.date) == (2025, "2025-12")
    assert page.doi == "10.1080/19490976.2025.2473504"
    assert page.url == "https://doi.org/10.1080/19490976.2025.2473504"
    assert page.abstract.startswith("Liver cancer is usually diagnosed at an advanced stage")
    assert page.abstract.endswith("propose new personalized treatment options to overcome this resistance.")
    for leaked in ("Download", "DOI Listing", "Similar Publications", "Multi-omics", "Top Keywords"):
        assert leaked not in page.abstract
    assert page.source == "gut-microbiota-hcc-drug-resistance.txt:page"


def test_page_pmid_line_is_used() -> None:
    lines = SEED.read_text().splitlines(keepends=True)
    at = lines.index("Source\n")
    lines[at:at] = ["PMID: 12345678\n", "\n"]
    (page,) = list(parse_pubmed_page(lines, "page.txt"))
    assert isinstance(page, Article) and page.pmid == "12345678" and page.id == "pmid:12345678"
    assert page.doi == "10.1080/19490976.2025.2473504" and page.source == "page.txt:PMID 12345678"


# A PubmedBookArticle in the shape efetch returns for NCBI Bookshelf chapters (no fixture has one).
BOOK_XML = b"""<?xml version="1.0" ?>
<PubmedArticleSet><PubmedBookArticle><BookDocument>
<PMID Version="1">20301001</PMID>
<Book><Publisher><PublisherName>University of Washington, Seattle</PublisherName></Publisher>
<BookTitle book="gene">GeneReviews</BookTitle><PubDate><Year>1993</Year></PubDate></Book>
<ArticleTitle book="gene" part="x">A <i>Chapter</i> Title</ArticleTitle>
<AuthorList Type="authors">
<Author><LastName>Regier</LastName><ForeName>Daniel S</ForeName></Author></AuthorList>
<AuthorList Type="editors">
<Author><LastName>Adam</LastName><ForeName>Margaret P</ForeName></Author></AuthorList>
<Abstract><AbstractText Label="CLINICAL CHARACTERISTICS">Text one.</AbstractText>
<AbstractText Label="DIAGNOSIS">Text two.</AbstractText></Abstract>
</BookDocument><PubmedBookData><ArticleIdList><ArticleId IdType="pubmed">20301001</ArticleId>
</ArticleIdList></PubmedBookData></PubmedBookArticle></PubmedArticleSet>
"""


def test_book_chapter_records_are_read() -> None:
    (chapter,) = list(parse_pubmed_xml(io.BytesIO(BOOK_XML), "book.xml"))
    assert isinstance(chapter, Article)
    assert (chapter.pmid, chapter.title, chapter.journal, chapter.year) == (
        "20301001",
        "A Chapter Title",
        "GeneReviews",
        1993,
    )
    assert chapter.authors == ["Regier, Daniel S"]  # editors are not authors
    assert [s.label for s in chapter.sections] == ["CLINICAL CHARACTERISTICS", "DIAGNOSIS"]
