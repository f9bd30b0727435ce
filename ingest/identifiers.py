"""PMIDs and DOIs in every form people paste them, reduced to one form before they become article ids.

One article must be one id, whatever the source wrote: ``960001``, ``0960001``, ``９６０００１`` (full-width),
``٩٦٠٠٠١`` (Arabic-Indic), ``960001.0`` (a spreadsheet), ``PMID: 960001`` or
``https://pubmed.ncbi.nlm.nih.gov/960001/`` are the PMID ``960001``; ``10.1000/ABC``, ``doi:10.1000/abc``,
``https://doi.org/10.1000/abc``, ``doi.org/10.1000/abc``, ``10.1000/abc `` and ``10.1000/abc%20`` are the DOI
``10.1000/abc`` (DOIs are case-insensitive). Input that was already in the normal form keeps the id it always
had, so existing stores stay as they are.

:func:`legacy_pmid` and :func:`legacy_doi` are how litbot read identifiers before (digits as written, fewer
DOI forms): the pipeline uses them to find an article stored under an older, un-normalised id and replace it.
"""

from __future__ import annotations

import math
import re
from urllib.parse import unquote

#: Characters of an identifier worth looking at: longer text is not an identifier (and is never parsed).
MAX_IDENTIFIER_CHARS = 300
_MAX_PMID = 10**12  # PMIDs have 8 digits today
# Whitespace and the invisible characters a copy from a web page or PDF brings along.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_PMID_TEXT = re.compile(r"(?:pmid\s*[:#]?\s*)?(\d+)(?:\.0*)?", re.IGNORECASE)  # \d: any script's digits
_PUBMED_URL = re.compile(
    r"(?:https?://)?(?:www\.)?(?:pubmed\.ncbi\.nlm\.nih\.gov/|ncbi\.nlm\.nih\.gov/pubmed/)(\d+)/?(?:[?#].*)?",
    re.IGNORECASE,
)
_DOI_PREFIX = re.compile(r"^(?:(?:https?://)?(?:www\.|dx\.)?doi\.org/|doi\s*:\s*|doi\s+)", re.IGNORECASE)
_OLD_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


def _trimmed(text: str) -> str:
    return text.strip().strip(_INVISIBLE).strip()


def normalise_pmid(value: object) -> str | None:
    """The PMID in ``value`` as plain ASCII digits without leading zeros, or None when it holds none."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        return str(value) if 0 < value < _MAX_PMID else None
    text = str(value)
    if len(text) > MAX_IDENTIFIER_CHARS:
        return None
    text = _trimmed(text.replace("%20", " "))
    found = _PUBMED_URL.fullmatch(text) or _PMID_TEXT.fullmatch(text)
    if found is None or len(found.group(1)) > 40:
        return None
    number = int(found.group(1))  # int() reads every script's decimal digits
    return str(number) if 0 < number < _MAX_PMID else None


def normalise_doi(value: object) -> str | None:
    """``https://doi.org/10.1/X``, ``doi:10.1/X``, ``10.1/X.``, ``10.1/x%20`` -> ``10.1/x``; None for anything
    that is not a DOI."""
    if not isinstance(value, str) or not value or len(value) > 3 * MAX_IDENTIFIER_CHARS:
        return None
    text = _trimmed(unquote(value) if "%" in value else value)
    text = _trimmed(_DOI_PREFIX.sub("", text)).rstrip(".").lower()
    if len(text) > MAX_IDENTIFIER_CHARS or not text.startswith("10.") or "/" not in text:
        return None
    return text


def legacy_pmid(value: object) -> str | None:
    """The PMID as litbot read it before normalising: the digits exactly as written."""
    text = str(value).strip() if value is not None else ""
    return text if text.isdecimal() and len(text) <= 40 and int(text) > 0 else None


def legacy_doi(value: object) -> str | None:
    """The DOI as litbot read it before: fewer prefixes, no percent-decoding."""
    if not isinstance(value, str) or not value or len(value) > 3 * MAX_IDENTIFIER_CHARS:
        return None
    doi = _OLD_DOI_PREFIX.sub("", value.strip()).strip().rstrip(".").lower()
    return doi if doi.startswith("10.") and "/" in doi else None
