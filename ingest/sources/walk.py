"""Folder walks and glob patterns that visit each real directory once and list each real file once.

Symbolic links are followed (a data folder linked into a corpus is read), but a directory reached again — by a
link back up (``sub/up -> ..``) or across (``sub/self -> ../sub``) — is not walked again, and a file reached
under two names is listed once, under the first. Python's own ``glob("**")`` follows such links until the
system refuses a path (about 40 links deep), which took minutes and gigabytes on a folder with two loops and
listed one file 41 times; here a loop ends at its first repetition.

Glob patterns mean what they mean to ``glob.glob(recursive=True)``: ``*``, ``?`` and ``[...]`` within one
name, ``**`` for any number of folders; names starting with a dot are matched only by a pattern that starts
with one.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Callable, Iterator

GLOB_MAGIC = re.compile(r"[*?[]")

Key = tuple[int, int]


def real_key(path: str) -> Key | None:
    """What identifies the file or folder ``path`` leads to, links followed (None when it cannot be read)."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def is_folder(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _entries(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as found:
            return sorted(found, key=lambda entry: entry.name)
    except OSError:
        return []  # unreadable, or gone meanwhile: as glob and os.walk do, nothing is listed from it


def _entry_is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows links
    except OSError:
        return False


def _entry_is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def walk_folder(
    folder: str, enter: Callable[[str], bool], choose: Callable[[list[str]], tuple[list[str], bool]]
) -> list[str]:
    """The files under ``folder``, sorted by path components, each real folder entered once and each real file
    listed once. ``enter(name)`` says whether to enter a subfolder at all; ``choose(file names)`` which files of
    a folder to list and whether to go deeper from there."""
    seen_folders: set[Key] = set()
    seen_files: set[Key] = set()
    found: list[str] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        key = real_key(current)
        if key is None or key in seen_folders:
            continue
        seen_folders.add(key)
        entries = _entries(current)
        # regular files only (links followed): a FIFO would block the run forever, a device never ends
        chosen, deeper = choose([e.name for e in entries if _entry_is_file(e)])
        for name in chosen:
            path = os.path.join(current, name)
            file_key = real_key(path)
            if file_key is not None and file_key not in seen_files:
                seen_files.add(file_key)
                found.append(path)
        if deeper:
            pending += [e.path for e in reversed(entries) if _entry_is_folder(e) and enter(e.name)]
    return sorted(found, key=lambda path: path.split(os.sep))


def glob_paths(pattern: str) -> list[str]:
    """What ``pattern`` matches (files and folders), sorted; each real folder searched once per position in
    the pattern, so a link loop cannot make it run away."""
    parts = pattern.split(os.sep)
    first = next((i for i, part in enumerate(parts) if GLOB_MAGIC.search(part)), len(parts))
    base = os.sep.join(parts[:first]) or (os.sep if first and not parts[0] else "")
    rest = parts[first:]
    matches: list[str] = []
    searched: set[tuple[Key, int]] = set()
    pending = [(base, 0)]
    while pending:
        folder, index = pending.pop()
        key = real_key(folder or os.curdir)
        if key is None or (key, index) in searched:
            continue
        searched.add((key, index))
        if index == len(rest):
            matches.append(folder)
            continue
        part = rest[index]
        if part == "":  # "a//b", or a trailing "/": folders only
            pending.append((folder, index + 1))
            continue
        if part == "**":
            pending.append((folder, index + 1))  # no folder at all
            for entry in _entries(folder or os.curdir):
                if not entry.name.startswith(".") and _entry_is_folder(entry):
                    pending.append((os.path.join(folder, entry.name), index))
            continue
        for entry in _entries(folder or os.curdir):
            if entry.name.startswith(".") and not part.startswith("."):
                continue
            if not fnmatch.fnmatchcase(entry.name, part):
                continue
            path = os.path.join(folder, entry.name)
            if index + 1 == len(rest):
                matches.append(path)
            elif _entry_is_folder(entry):
                pending.append((path, index + 1))
    return sorted(dict.fromkeys(matches))


def unique_files(paths: list[str]) -> Iterator[str]:
    """``paths`` without a second name for a file already listed (``-``, stdin, is kept as is)."""
    seen: set[Key | str] = set()
    for path in paths:
        key: Key | str = real_key(path) or path if path != "-" else path
        if key not in seen:
            seen.add(key)
            yield path
