"""Turn what the user typed (files, folders, globs, ``-``) into the list of files to read.

Folders are walked recursively but only data is taken: hidden files, licences, READMEs, docs and code are
left out, and so are evaluation files (``queries*``, ``questions*``, ``qrels/``: questions and relevance
judgements, not articles). A BEIR dataset folder (one holding ``corpus.jsonl``) means its corpus only.
A file named explicitly is always taken, whatever its name.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence

from ingest.articles import InputError

from .walk import GLOB_MAGIC, glob_paths, is_folder, unique_files, walk_folder

STDIN = "-"
NOT_REGULAR = "is not a regular file (a FIFO, socket or device): skipped, never waited on"
_NOT_DATA_PREFIXES = ("license", "licence", "copying", "notice", "readme", "changelog")
# Evaluation files kept beside corpora (BEIR queries.jsonl, qrels/*.tsv, a questions.jsonl): not articles.
_EVALUATION_PREFIXES = ("queries", "questions", "qrels")
_NOT_DATA_SUFFIXES = (".md", ".rst", ".py", ".pyc", ".pyi", ".sh", ".toml", ".cfg", ".ini", ".yaml", ".yml")
_SKIPPED_DIRS = {"__pycache__", "node_modules", "qrels"}
_BEIR_CORPUS = ("corpus.jsonl", "corpus.jsonl.gz")


def expand_inputs(specs: Sequence[str]) -> list[str]:
    """Files, folders (recursive), globs and ``"-"`` (stdin) -> file paths, each spec's matches sorted.

    Specs keep the order they were given in; a file reached twice (by two specs, or under two names through a
    symbolic link) is listed once. A spec that matches no data file raises :class:`InputError` naming it, so a
    typo is not mistaken for an empty corpus.
    """
    paths: list[str] = []
    for spec in specs:
        found = list(_expand(spec))
        if not found:
            raise InputError(spec, _why_nothing(spec))
        paths += found
    return list(unique_files(paths))


def is_data_file(name: str) -> bool:
    """False for hidden files and obvious non-data (licences, READMEs, docs, code)."""
    lowered = name.lower()
    return not (
        lowered.startswith(".")
        or lowered.startswith(_NOT_DATA_PREFIXES + _EVALUATION_PREFIXES)
        or lowered.endswith(_NOT_DATA_SUFFIXES)
    )


def _expand(spec: str) -> Iterator[str]:
    if spec == STDIN:
        yield STDIN
    elif os.path.isdir(spec):
        yield from _walk(spec)
    elif os.path.exists(spec):
        if not _regular(spec):
            raise InputError(spec, NOT_REGULAR)
        yield spec  # named explicitly: the user meant it, whatever it looks like
    elif GLOB_MAGIC.search(spec):
        for match in glob_paths(spec):
            if is_folder(match):
                yield from _walk(match)
            elif is_data_file(os.path.basename(match)) and _regular(match):
                yield match


def _walk(folder: str) -> list[str]:
    return walk_folder(folder, _enter, _choose)


def _enter(name: str) -> bool:
    return not name.startswith(".") and name.lower() not in _SKIPPED_DIRS


def _choose(names: list[str]) -> tuple[list[str], bool]:
    """The data files of a folder, and whether to go deeper; a BEIR folder means its corpus only (its
    queries.jsonl and qrels/ are not articles)."""
    corpus = [name for name in names if name in _BEIR_CORPUS]
    if corpus:
        return corpus, False
    return [name for name in names if is_data_file(name)], True


def _regular(path: str) -> bool:
    """A regular file (a FIFO in a folder would block the run forever, a device never ends)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _why_nothing(spec: str) -> str:
    if os.path.isdir(spec):
        return "the folder holds no data files"
    if GLOB_MAGIC.search(spec):
        return "the pattern matches no data files"
    return "no such file or folder"
