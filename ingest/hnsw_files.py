"""Reading an embedded Chroma store's vector index files without Chroma: to check them, and to salvage vectors.

chromadb 1.5 keeps each collection's vectors in an HNSW index (its fork of hnswlib) persisted as five files in
a folder named after the vector segment: ``header.bin`` (100 bytes of sizes and counts), ``data_level0.bin``
(per element: its level-0 neighbour list, its vector, its label), ``length.bin``, ``link_lists.bin`` (the
upper-level neighbour lists, one variable-sized entry per element) and ``index_metadata.pickle`` (which chunk id
has which label). hnswlib trusts these files: a truncated or overwritten one crashes the process that loads it
(SIGSEGV), which is why litbot reads them here first, with bounds checked, in plain Python and numpy.

Layouts are those of chroma-core/hnswlib (``hnswalg.h``: HEADER_FIELDS, persistDirty, loadLinkLists) and of
chroma's ``IdMap`` (rust/segment/src/local_hnsw.rs), pickled by serde_pickle: a dict of plain values, read here
by an unpickler that can build no object at all.
"""

from __future__ import annotations

import io
import pickle
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HEADER = "header.bin"
DATA = "data_level0.bin"
LENGTH = "length.bin"
LINKS = "link_lists.bin"
ID_MAP = "index_metadata.pickle"
FILES = (HEADER, DATA, LENGTH, LINKS, ID_MAP)

# version (int), offsetLevel0, max_elements, cur_element_count, size_data_per_element, label_offset, offsetData
# (size_t), maxlevel (int), enterpoint_node (uint), maxM, maxM0, M (size_t), mult (double), ef_construction
_HEADER = struct.Struct("<i6QiI3QdQ")
PERSISTENCE_VERSION = 1
DELETE_MARK = 0x01
#: An id map larger than this is not read (a sane one is ~60 bytes a chunk).
MAX_ID_MAP_BYTES = 2 * 1024**3


class IndexDamage(Exception):
    """The files cannot be what hnswlib wrote (the message says how)."""


@dataclass(frozen=True)
class Header:
    version: int
    offset_level0: int
    max_elements: int
    count: int
    size_per_element: int
    label_offset: int
    data_offset: int
    max_level: int
    entry_point: int
    max_m: int
    max_m0: int
    m: int
    mult: float
    ef_construction: int

    @property
    def links_level0(self) -> int:
        return self.max_m0 * 4 + 4

    @property
    def links_per_level(self) -> int:
        return self.max_m * 4 + 4


@dataclass
class Scan:
    """What a full read of the files found: per element its label, whether it is deleted, and where its vector
    is; the id map; and every inconsistency."""

    header: Header | None = None
    id_to_label: dict[str, int] = field(default_factory=dict)
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    deleted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    problems: list[str] = field(default_factory=list)
    _data: np.ndarray | None = None

    def vector(self, element: int, dim: int) -> np.ndarray | None:
        """The vector of element ``element`` (a copy), or None when it cannot be read or is not finite."""
        if self._data is None or self.header is None or element >= len(self.labels):
            return None
        start = element * self.header.size_per_element + self.header.data_offset
        raw = self._data[start : start + dim * 4]
        if len(raw) < dim * 4:
            return None
        vector = np.frombuffer(raw.tobytes(), dtype=np.float32).copy()
        return vector if np.isfinite(vector).all() and vector.any() else None


def read_header(folder: Path, dim: int | None = None) -> Header:
    """The header, checked against itself, the file sizes and (when given) the collection's dimension."""
    try:
        raw = (folder / HEADER).read_bytes()
    except OSError as exc:
        raise IndexDamage(f"{HEADER} cannot be read ({exc.strerror or exc})") from None
    if len(raw) < _HEADER.size:
        raise IndexDamage(f"{HEADER} has {len(raw)} bytes, not {_HEADER.size}")
    header = Header(*_HEADER.unpack_from(raw))
    if header.version != PERSISTENCE_VERSION:
        raise IndexDamage(f"{HEADER} says version {header.version}, not {PERSISTENCE_VERSION}")
    if not (0 < header.max_m <= 4096 and 0 < header.max_m0 <= 8192 and header.count <= header.max_elements):
        raise IndexDamage(f"{HEADER} holds impossible sizes (M {header.max_m}, count {header.count})")
    vector_bytes = header.label_offset - header.data_offset
    if (
        header.offset_level0 != 0
        or header.data_offset != header.links_level0
        or vector_bytes <= 0
        or vector_bytes % 4
        or header.size_per_element != header.label_offset + 8
        or (dim is not None and vector_bytes != dim * 4)
    ):
        raise IndexDamage(f"{HEADER} describes elements that do not fit vectors of dimension {dim}")
    if header.count and not (header.entry_point < header.count and 0 <= header.max_level < 64):
        raise IndexDamage(f"{HEADER} names entry point {header.entry_point} of {header.count} elements")
    sizes = {name: _size(folder / name) for name in (DATA, LENGTH, LINKS)}
    need = {DATA: header.count * header.size_per_element, LENGTH: header.count * 4, LINKS: header.count * 4}
    for name, size in sizes.items():
        if size is None:
            raise IndexDamage(f"{name} is missing")
        if size < need[name]:
            raise IndexDamage(f"{name} is truncated: {size:,} bytes for {header.count:,} elements")
    return header


def quick_problem(folder: Path, dim: int | None) -> str | None:
    """What is wrong with the index files at a glance (header and sizes: no scan), None when nothing is. An
    index that was never persisted (fewer chunks than Chroma's sync threshold) has no files yet, or an empty
    header and no id map: that is fine, its vectors are in the log."""
    if not (folder / HEADER).exists():
        return f"{HEADER} is missing" if (folder / DATA).exists() else None
    try:
        header = read_header(folder, dim)
    except IndexDamage as exc:
        return str(exc)
    if header.count and _size(folder / ID_MAP) is None:
        return f"{ID_MAP} is missing"
    return None


def scan(folder: Path, dim: int) -> Scan:
    """Read every element and neighbour list, bounds-checked; never raises for bad content."""
    found = Scan()
    try:
        checked: Header | None = read_header(folder, dim)
    except IndexDamage as exc:
        found.problems.append(str(exc))
        checked = _lenient_header(folder, dim) or _inferred_header(folder, dim)
    found.header = checked
    if checked is None:
        found.id_to_label = _id_map(folder, found.problems)
        return found
    header = checked
    data = np.memmap(folder / DATA, dtype=np.uint8, mode="r") if _size(folder / DATA) else None
    count = header.count
    if data is not None:
        count = min(count, len(data) // header.size_per_element)
    found._data = data
    if data is not None and count:
        records = np.lib.stride_tricks.as_strided(
            data,
            shape=(count, header.size_per_element),
            strides=(header.size_per_element, 1),
            writeable=False,
        )
        found.labels = records[:, header.label_offset : header.label_offset + 8].copy().view("<u8").ravel()
        level0 = records[:, : header.links_level0].copy().view("<u4")
        found.deleted = (level0[:, 0] >> 16) & DELETE_MARK == DELETE_MARK
        sizes = level0[:, 0] & 0xFFFF
        if (sizes > header.max_m0).any():
            found.problems.append(f"{int((sizes > header.max_m0).sum()):,} elements have too many neighbours")
        links = level0[:, 1:]
        used = np.arange(links.shape[1])[None, :] < np.minimum(sizes, header.max_m0)[:, None]
        bad = used & (links >= header.count)
        if bad.any():
            found.problems.append(
                f"{int(bad.any(axis=1).sum()):,} elements link to elements that do not exist"
            )
    _check_upper_links(folder, header, found.problems)
    # An index never persisted has no id map yet (its vectors are all in the log).
    if header.count or _size(folder / ID_MAP) is not None:
        found.id_to_label = _id_map(folder, found.problems)
    labels = set(found.labels[~found.deleted].tolist()) if len(found.labels) else set()
    lost = [cid for cid, label in found.id_to_label.items() if label not in labels]
    if lost:
        found.problems.append(f"{len(lost):,} chunk ids in {ID_MAP} have no element in {DATA}")
    return found


def element_of(found: Scan) -> dict[int, int]:
    """Element position by label, for the elements that are not deleted."""
    return {int(label): i for i, label in enumerate(found.labels.tolist()) if not found.deleted[i]}


def _check_upper_links(folder: Path, header: Header, problems: list[str]) -> None:
    """Walk ``link_lists.bin``: one entry per element, each a whole number of levels, neighbours in range."""
    path = folder / LINKS
    size = _size(path)
    if size is None:
        return
    raw = np.memmap(path, dtype=np.uint8, mode="r") if size else np.zeros(0, dtype=np.uint8)
    position, per_level = 0, header.links_per_level
    for element in range(header.count):
        if position + 4 > size:
            problems.append(f"{LINKS} ends at element {element:,} of {header.count:,}")
            return
        length = int(raw[position : position + 4].view("<u4")[0])
        position += 4
        if length % per_level or length // per_level > 64 or position + length > size:
            problems.append(f"{LINKS} has an impossible entry for element {element:,}")
            return
        if length:
            levels = raw[position : position + length].view("<u4").reshape(-1, per_level // 4)
            counts = levels[:, 0] & 0xFFFF
            if (counts > header.max_m).any():
                problems.append(f"{LINKS}: element {element:,} has too many neighbours")
                return
            used = np.arange(levels.shape[1] - 1)[None, :] < counts[:, None]
            if (used & (levels[:, 1:] >= header.count)).any():
                problems.append(f"{LINKS}: element {element:,} links to an element that does not exist")
                return
        position += length


def _lenient_header(folder: Path, dim: int) -> Header | None:
    """The header when its own fields agree with each other and with ``dim`` (the files may still be short):
    enough to salvage the vectors that are there."""
    try:
        raw = (folder / HEADER).read_bytes()
        header = Header(*_HEADER.unpack_from(raw))
    except (OSError, struct.error):
        return None
    if (
        header.version == PERSISTENCE_VERSION
        and header.data_offset == header.max_m0 * 4 + 4
        and header.label_offset - header.data_offset == dim * 4
        and header.size_per_element == header.label_offset + 8
        and header.count <= header.max_elements < 2**40
    ):
        return header
    return None


#: Level-0 neighbour counts tried when the header is lost (hnswlib's maxM0 = 2 M; Chroma's default M is 16)
_MAX_M0_TRIED = range(4, 1025, 2)
#: Of the id map's labels, at least this share must sit where labels go for an element size to be taken
_INFERRED_MIN_MATCH = 0.9


def _inferred_header(folder: Path, dim: int) -> Header | None:
    """A header for ``data_level0.bin`` when ``header.bin`` is lost (a kill while hnswlib rewrote it leaves it
    empty): the element size that divides the file and puts the id map's labels, each once, where labels go.
    Only to salvage vectors: repair re-embeds a sample of them and keeps none unless all agree with the model
    (ingest.store_health)."""
    size = _size(folder / DATA)
    try:
        known = set(read_id_map(folder).values())
    except IndexDamage:
        return None
    if not size or not known or dim <= 0:
        return None
    data = np.memmap(folder / DATA, dtype=np.uint8, mode="r")
    for max_m0 in _MAX_M0_TRIED:
        data_offset = max_m0 * 4 + 4
        label_offset = data_offset + dim * 4
        element = label_offset + 8
        if size % element:
            continue
        capacity = size // element
        records = np.lib.stride_tricks.as_strided(
            data, shape=(capacity, element), strides=(element, 1), writeable=False
        )
        labels = records[:, label_offset:].copy().view("<u8").ravel()
        matched = np.isin(labels, np.fromiter(known, dtype=np.uint64, count=len(known)))
        found = labels[matched]
        if len(found) < _INFERRED_MIN_MATCH * len(known) or len(np.unique(found)) != len(found):
            continue
        count = int(np.flatnonzero(matched)[-1]) + 1
        return Header(
            PERSISTENCE_VERSION, 0, capacity, count, element, label_offset, data_offset, 0, 0,
            max_m0 // 2, max_m0, max_m0 // 2, 0.0, 0,
        )  # fmt: skip
    return None


class _PlainUnpickler(pickle.Unpickler):
    """Builds dicts, lists, strings and numbers only: a pickle that names any class or function is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_id_map(folder: Path) -> dict[str, int]:
    """Chunk id -> label, from ``index_metadata.pickle``; raises IndexDamage when it cannot be read."""
    path = folder / ID_MAP
    size = _size(path)
    if size is None:
        raise IndexDamage(f"{ID_MAP} is missing")
    if size > MAX_ID_MAP_BYTES:
        raise IndexDamage(f"{ID_MAP} is {size:,} bytes: not an id map")
    try:
        value = _PlainUnpickler(io.BytesIO(path.read_bytes())).load()
    except Exception as exc:  # any malformed pickle: truncated, garbage, or naming a class
        raise IndexDamage(f"{ID_MAP} cannot be read ({type(exc).__name__})") from None
    mapping = value.get("id_to_label") if isinstance(value, dict) else None
    if not isinstance(mapping, dict):
        raise IndexDamage(f"{ID_MAP} holds no id map")
    return {str(k): int(v) for k, v in mapping.items() if isinstance(v, int)}


def _id_map(folder: Path, problems: list[str]) -> dict[str, int]:
    try:
        return read_id_map(folder)
    except IndexDamage as exc:
        problems.append(str(exc))
        return {}


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None
