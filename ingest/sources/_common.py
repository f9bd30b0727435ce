"""Small helpers every parser shares: publication dates, list fields, de-duplication.

PubMed writes dates in half a dozen shapes ("2002 Sep", "2006 Mar 1", "1998 Dec-1999 Jan", "Spring",
"December 2025"); one function turns all of them into the ``year`` / ISO-ish ``date`` pair of an Article so
the formats agree with each other.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable

from ingest.articles import clean_text

_MONTHS: dict[str, int] = {}
for _number in range(1, 13):
    _MONTHS[calendar.month_name[_number].lower()] = _number
    _MONTHS[calendar.month_abbr[_number].lower()] = _number
_MONTHS["sept"] = 9

_TOKEN = re.compile(r"[A-Za-z]+|\d+")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2}))?")


def month_number(text: str | None) -> int | None:
    """``"Sep"``, ``"September"``, ``"09"`` -> 9; anything else (seasons, junk) -> None."""
    if not text:
        return None
    text = text.strip().lower().rstrip(".")
    if text.isdigit():
        number = int(text)
        return number if 1 <= number <= 12 else None
    return _MONTHS.get(text)


def make_date(
    year: str | int | None, month: str | None = None, day: str | None = None
) -> tuple[int | None, str | None]:
    """PubMed XML's structured parts -> ``(2018, "2018-05-17")``; missing parts shorten the date."""
    if year is None or not str(year).strip().isdigit():
        return None, None
    number = int(str(year).strip())
    if not 1000 <= number <= 2999:
        return None, None
    date = f"{number:04d}"
    month_no = month_number(month)
    if month_no:
        date += f"-{month_no:02d}"
        if day and day.strip().isdigit() and 1 <= int(day) <= 31:
            date += f"-{int(day):02d}"
    return number, date


def parse_date(text: str | None) -> tuple[int | None, str | None]:
    """Free-text date -> ``(year, date)``.

    Takes the first year and the first month name (a range like "1998 Dec-1999 Jan" starts in 1998-12) and a
    day only when it sits right next to that month ("2006 Mar 1", "12 December 2025", "December 12, 2025").
    """
    if not text:
        return None, None
    iso = _ISO_DATE.match(text)
    if iso:
        return make_date(iso.group(1), iso.group(2), iso.group(3))
    tokens = _TOKEN.findall(text)
    year = next((t for t in tokens if len(t) == 4 and t.isdigit() and 1000 <= int(t) <= 2999), None)
    if year is None:
        return None, None
    month_at = next((i for i, t in enumerate(tokens) if not t.isdigit() and month_number(t)), None)
    if month_at is None:
        return make_date(year)
    day = None
    for neighbour in (month_at + 1, month_at - 1):
        if 0 <= neighbour < len(tokens) and tokens[neighbour].isdigit() and len(tokens[neighbour]) <= 2:
            day = tokens[neighbour]
            break
    return make_date(year, tokens[month_at], day)


def year_of(value: object) -> int | None:
    """A year from an int, ``"2011"``, ``"2011-05-03"`` or ``"May 2011"``; None when there is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON's NaN / Infinity
    if isinstance(value, int | float):
        number = int(value)
        return number if 1000 <= number <= 2999 else None
    if isinstance(value, str):
        return parse_date(value)[0]
    return None


def unique(values: Iterable[str | None]) -> list[str]:
    """Cleaned, non-empty, first occurrence kept: affiliations repeat once per author in PubMed data."""
    seen: set[str] = set()
    result: list[str] = []
    for value in values:
        text = clean_text(value)
        if text and text not in seen:
            seen.add(text)
            result.append(text)
    return result


def split_list(value: object, separator: str = ";") -> list[str]:
    """A list field given either as a JSON list or as one ``"a; b; c"`` string (CSV cells)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return unique(str(item) for item in value if item is not None and not isinstance(item, dict | list))
    return unique(str(value).split(separator))
