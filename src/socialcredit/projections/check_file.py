"""The check file: when each listing concerns each measure, packed for checks at volume.

A projection of the listings table compiled into one file that server processes memory-map. For
every measure it holds, sorted by subject key, the second each listing was notified and the
second it stops (u32 seconds since 2000-01-01 UTC, enough until 2136), so one file answers for
any moment. A check whose subject has no such interval around the moment is certainly a plain
"allowed" (or "not eligible"): no listing applies, none is suspended, none is upcoming. Only
the others, a small share, need the exact path (``services/checks.py``), which reads the
subject's listings and builds the explained answer.

Keys: a subject key is a 64-bit mix of the subject id's bytes (``subject_key``; the same
function vectorised over a batch in ``subject_keys``). A measure's keys are bucketed by their
top ``bits`` bits (a directory of u32 offsets, one bucket per 2-4 keys) and each stores only
the next 32 bits (``resid``). That is 12 bytes per (subject, measure, listing) plus 1-2 for
the directory, and no Python object per subject. Two subjects sharing 32 + ``bits`` key bits
(about n / 2^(32+bits) per check, 1e-9 at a million listings) can only send a check to the
exact path, never hide a restriction.

In front of the directory, a prefix filter: one bit per value of the key's top ``filter_bits``
bits (8-16 bits per key, so 1-2 bytes per pair), set where some listed key has that prefix.
Most subjects are not listed, and for them the one bit is usually clear (in about 88-94% of
checks): the answer is "not concerned" after one byte is read, without the directory and
residue reads, which at tens of millions of pairs each miss the CPU's caches. A set bit only
means "look further"; a listed key's bit is always set.

Beside the measures, the registered organisations: their keys, sorted (8 bytes each). A check
of a well-formed code that no organisation of the register has is answered ``unknown_subject``
rather than a plain "allowed": a point of service can tell "checked and clean" from "never
heard of". Natural persons are not in it: that would tell any agency whether a person is
registered at all.

Layout (little-endian): ``SCCHECK4``, a u32 header length, a JSON header (version, compiled
moment, per measure its count, bits and array offsets), zero padding to 8 bytes, the arrays.
The file is written beside its final name and moved over it (``os.replace``): a process that
has the old file mapped keeps reading a whole file, and ``CheckFile.refresh`` maps the new one.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, select

from ..clock import to_utc_naive
from ..db import listings, subjects

if TYPE_CHECKING:
    from ..policy.model import Pack

MAGIC = b"SCCHECK4"
EPOCH = datetime(2000, 1, 1)
U32_MAX = 2**32 - 1
ID_BYTES = 40  # subject ids are a USCC (18) or "P-" and 32 hex characters (34)

_M64 = 2**64 - 1
_C1, _C2, _C3 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_WORDS = struct.Struct("<5Q")


def subject_key(subject_id: str) -> int:
    """The 64-bit key of one subject id (the same value ``subject_keys`` computes)."""
    raw = subject_id.encode()
    if len(raw) > ID_BYTES:
        raise ValueError(f"a subject id has at most {ID_BYTES} bytes")
    a, b, c, d, e = _WORDS.unpack(raw.ljust(ID_BYTES, b"\0"))
    h = (a ^ _C1) * _C2 & _M64
    h = ((h ^ (h >> 31)) ^ b) * _C3 & _M64
    h = ((h ^ (h >> 29)) ^ c) * _C2 & _M64
    h = ((h ^ (h >> 31)) ^ d) * _C3 & _M64
    h = ((h ^ (h >> 29)) ^ e) * _C2 & _M64
    return int(h ^ (h >> 32))


def subject_keys(subject_ids: Iterable[str] | np.ndarray) -> np.ndarray:
    """Keys of many subject ids at once, vectorised: ids are laid out as fixed-width rows of
    bytes (zero-padded, as ``subject_key`` pads) and mixed a 64-bit word at a time."""
    ids = subject_ids if isinstance(subject_ids, np.ndarray) else np.array(list(subject_ids))
    if ids.size == 0:
        return np.zeros(0, np.uint64)
    rows = ids.astype(f"S{ID_BYTES}") if ids.dtype.kind == "U" else ids
    if rows.dtype.itemsize > ID_BYTES:
        raise ValueError(f"a subject id has at most {ID_BYTES} bytes")
    if rows.dtype.itemsize < ID_BYTES:
        rows = rows.astype(f"S{ID_BYTES}")
    w = np.ascontiguousarray(rows).view("<u8").reshape(-1, ID_BYTES // 8)
    with np.errstate(over="ignore"):
        h = (w[:, 0] ^ np.uint64(_C1)) * np.uint64(_C2)
        for i, (shift, mult) in enumerate(((31, _C3), (29, _C2), (31, _C3), (29, _C2)), 1):
            h = ((h ^ (h >> np.uint64(shift))) ^ w[:, i]) * np.uint64(mult)
        return np.asarray(h ^ (h >> np.uint64(32)), dtype=np.uint64)


def seconds(at: datetime) -> int:
    """Naive UTC (as stored) or aware, to whole seconds since the epoch, rounded up: a listing
    is never shown active before its moment."""
    if at.tzinfo is not None:
        at = to_utc_naive(at)
    delta = at - EPOCH
    whole = delta.days * 86_400 + delta.seconds + (1 if delta.microseconds else 0)
    return min(max(whole, 0), U32_MAX)


def compile_file(
    conn: Connection,
    pack: Pack,
    path: Path,
    version: int,
    origin: str = "",
    aliases: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Write the check file for the notified listings as they stand; returns its header.

    ``version`` is the log's head read before the listings, ``origin`` names the log (the hash
    of its first event) so that a file compiled from another database is never taken for this
    one's. Intervals are widened outward to whole seconds: a moment inside a listing's interval
    is always inside the file's. ``aliases`` names, per subject, other ids whose checks its
    listings answer (the subjects merged into it): each gets the same intervals."""
    aliases = aliases or {}
    measures_of: dict[str, list[str]] = {}
    for mid, m in pack.measures.items():
        for lid in m.lists:
            measures_of.setdefault(lid, []).append(mid)
    ids: dict[str, list[str]] = {mid: [] for mid in pack.measures}
    spans: dict[str, tuple[array[int], array[int]]] = {
        mid: (array("I"), array("I")) for mid in pack.measures
    }
    q = select(
        listings.c.subject_id,
        listings.c.list_id,
        listings.c.notified_at,
        listings.c.until,
        listings.c.ended_at,
    ).where(listings.c.notified_at.is_not(None))
    for r in conn.execution_options(yield_per=10_000).execute(q):
        end = min(r.until, r.ended_at) if r.ended_at else r.until
        if end <= r.notified_at:
            continue  # ended as soon as notified: it never concerns a check
        start_s, end_s = seconds(r.notified_at), min(seconds(end) + 1, U32_MAX)
        for mid in measures_of.get(r.list_id, ()):
            for sid in (r.subject_id, *aliases.get(r.subject_id, ())):
                ids[mid].append(sid)
                spans[mid][0].append(start_s)
                spans[mid][1].append(end_s)
    columns = {
        mid: (
            subject_keys(ids[mid]),
            np.frombuffer(f, dtype=np.uint32) if f else np.zeros(0, np.uint32),
            np.frombuffer(u, dtype=np.uint32) if u else np.zeros(0, np.uint32),
        )
        for mid, (f, u) in spans.items()
    }
    orgs: list[np.ndarray] = []
    chunk: list[str] = []
    q_orgs = select(subjects.c.subject_id).where(subjects.c.kind == "organisation")
    for (sid,) in conn.execution_options(yield_per=50_000).execute(q_orgs):
        chunk.append(sid)
        if len(chunk) >= 50_000:
            orgs.append(subject_keys(chunk))
            chunk = []
    orgs.append(subject_keys(chunk))
    return write_file(path, columns, version, origin, np.concatenate(orgs))


def bucket_bits(n: int) -> int:
    """Directory bits for n keys: 2-4 keys per bucket on average, at least two buckets."""
    return max(1, n.bit_length() - 2)


def filter_bits(n: int) -> int:
    """Prefix-filter bits for n keys: a power of two of at least 8 bits per key (at most 16)."""
    return max(3, (8 * n - 1).bit_length())


def prefix_filter(skeys: np.ndarray, fbits: int) -> np.ndarray:
    """The filter's bytes: bit p of the array is set when a key's top ``fbits`` bits equal p."""
    bitmap = np.zeros(2**fbits, dtype=bool)
    bitmap[(skeys >> np.uint64(64 - fbits)).astype(np.intp)] = True
    return np.packbits(bitmap, bitorder="little")


def write_file(
    path: Path,
    columns: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    version: int,
    origin: str = "",
    organisations: np.ndarray | None = None,
) -> dict[str, Any]:
    """Write per-measure (keys, from, until) columns, in any order, and the keys of the
    registered organisations (None: not known, every organisation counts as registered), as a
    check file."""
    blocks: list[tuple[str, np.ndarray]] = []
    header: dict[str, Any] = {
        "version": version,
        "origin": origin,
        "compiled_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "measures": {},
        "organisations": None if organisations is None else len(organisations),
    }
    if organisations is not None:
        blocks.append(("organisations", np.unique(np.asarray(organisations, dtype=np.uint64))))
    for mid, (keys, froms, untils) in columns.items():
        keys = np.asarray(keys, dtype=np.uint64)
        order = np.argsort(keys, kind="stable")
        skeys = keys[order]
        bits = bucket_bits(len(skeys))
        prefix = skeys >> np.uint64(64 - bits)
        directory = np.searchsorted(prefix, np.arange(2**bits + 1, dtype=np.uint64))
        sizes = np.diff(directory)
        fbits = filter_bits(len(skeys))
        blocks += [
            (f"{mid}.filter", prefix_filter(skeys, fbits)),
            (f"{mid}.dir", directory.astype(np.uint32)),
            (f"{mid}.resid", ((skeys << np.uint64(bits)) >> np.uint64(32)).astype(np.uint32)),
            (f"{mid}.from", froms[order].astype(np.uint32)),
            (f"{mid}.until", untils[order].astype(np.uint32)),
        ]
        header["measures"][mid] = {
            "count": len(skeys),
            "bits": bits,
            "filter_bits": fbits,
            "largest_bucket": int(sizes.max()) if len(sizes) else 0,
        }
    # offsets are relative to the start of the data, which follows the padded header
    offset = 0
    header["arrays"] = {}
    for name, arr in blocks:
        header["arrays"][name] = {"offset": offset, "dtype": arr.dtype.str, "count": len(arr)}
        offset += _pad(arr.nbytes)
    raw = json.dumps(header, sort_keys=True).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(raw)) + raw)
        f.write(b"\0" * (_pad(f.tell()) - f.tell()))
        for _name, arr in blocks:
            data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False)
            f.write(data.tobytes())
            f.write(b"\0" * (_pad(arr.nbytes) - arr.nbytes))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return header


def _pad(n: int) -> int:
    return (n + 7) // 8 * 8


@dataclass(frozen=True)
class _Measure:
    bits: int
    steps: int  # binary-search rounds that cover the largest bucket
    directory: np.ndarray
    resid: np.ndarray
    froms: np.ndarray
    untils: np.ndarray
    filter_bits: int
    filter: np.ndarray  # u8, bit p set when a key's top filter_bits bits equal p
    # the same arrays as memoryviews, for the one-key path (plain int indexing, no numpy scalar)
    views: tuple[Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class _Mapped:
    ident: tuple[int, int]
    header: dict[str, Any]
    arrays: dict[str, np.ndarray]
    measures: dict[str, _Measure]
    organisations: np.ndarray | None  # sorted u64 keys; None: not recorded
    organisations_view: Any


class CheckFile:
    """A mapped check file; ``refresh`` swaps in a newer one without a moment without answers
    (each call reads one mapping from start to end)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._m = self._map()

    def _map(self) -> _Mapped:
        with open(self.path, "rb") as f:
            st = os.fstat(f.fileno())
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if mm[:8] != MAGIC:
            raise ValueError(f"{self.path} is not a check file of this version")
        (hlen,) = struct.unpack("<I", mm[8:12])
        header = json.loads(mm[12 : 12 + hlen])
        base = _pad(12 + hlen)
        arrays = {
            name: np.frombuffer(
                mm, dtype=np.dtype(a["dtype"]), count=a["count"], offset=base + a["offset"]
            )
            for name, a in header["arrays"].items()
        }
        measures = {}
        for mid, info in header["measures"].items():
            d, r, fr, un, fl = (
                arrays[f"{mid}.{c}"] for c in ("dir", "resid", "from", "until", "filter")
            )
            views = (_view(d), _view(r), _view(fr), _view(un), _view(fl))
            steps = int(info["largest_bucket"]).bit_length()
            fbits = int(info["filter_bits"])
            measures[mid] = _Measure(info["bits"], steps, d, r, fr, un, fbits, fl, views)
        orgs = arrays.get("organisations")
        view = _view(orgs) if orgs is not None else None
        return _Mapped((st.st_ino, st.st_mtime_ns), header, arrays, measures, orgs, view)

    def refresh(self) -> bool:
        """Map the file again if it was replaced; True when it was."""
        st = os.stat(self.path)
        if (st.st_ino, st.st_mtime_ns) == self._m.ident:
            return False
        self._m = self._map()  # one reference swap: a reader holds either mapping whole
        return True

    @property
    def version(self) -> int:
        return int(self._m.header["version"])

    @property
    def origin(self) -> str:
        return str(self._m.header.get("origin", ""))

    @property
    def header(self) -> dict[str, Any]:
        return self._m.header

    def nbytes(self, measure: str | None = None) -> int:
        names = [n for n in self._m.arrays if measure is None or n.startswith(f"{measure}.")]
        return sum(self._m.arrays[n].nbytes for n in names)

    def _measure(self, measure: str) -> _Measure:
        try:
            return self._m.measures[measure]
        except KeyError:
            raise KeyError(f"the check file has no measure {measure!r}") from None

    def hits(self, keys: np.ndarray, measure: str, at: datetime | int) -> np.ndarray:
        """For each key, whether a listing of one of the measure's lists was notified and has
        not ended at ``at`` (vectorised). False is a certain "no listing concerns this check";
        True sends the check to the exact path."""
        m = self._measure(measure)
        t = at if isinstance(at, int) else seconds(at)
        n = len(m.resid)
        out = np.zeros(len(keys), dtype=bool)
        if n == 0 or len(keys) == 0:
            return out
        keys = np.asarray(keys, dtype=np.uint64)
        prefix = keys >> np.uint64(64 - m.filter_bits)
        byte = m.filter[(prefix >> np.uint64(3)).astype(np.intp)]
        maybe = np.flatnonzero((byte >> (prefix & np.uint64(7)).astype(np.uint8)) & 1)
        if len(maybe) < len(keys):  # only keys whose prefix is listed go on to the directory
            out[maybe] = self._search(m, keys[maybe], t)
            return out
        return self._search(m, keys, t)

    @staticmethod
    def _search(m: _Measure, keys: np.ndarray, t: int) -> np.ndarray:
        """``hits`` past the filter: lower bound of each residue in its bucket, then every
        listing stored under it."""
        n = len(m.resid)
        out = np.zeros(len(keys), dtype=bool)
        bucket = (keys >> np.uint64(64 - m.bits)).astype(np.intp)
        r = ((keys << np.uint64(m.bits)) >> np.uint64(32)).astype(np.uint32)
        lo = m.directory[bucket].astype(np.intp)
        end = m.directory[bucket + 1].astype(np.intp)
        hi = end.copy()
        for _ in range(m.steps):  # lower bound of r in resid[lo:hi], every key at once
            mid = (lo + hi) >> 1
            right = (m.resid[np.minimum(mid, n - 1)] < r) & (lo < hi)
            lo = np.where(right, mid + 1, lo)
            hi = np.where(right, hi, mid)
        i = lo
        same = (i < end) & (m.resid[np.minimum(i, n - 1)] == r)
        while same.any():  # a subject with several listings for the measure: a few rounds
            j = np.minimum(i, n - 1)
            out |= same & (m.froms[j] <= t) & (t < m.untils[j])
            i = i + 1
            same &= (i < end) & (m.resid[np.minimum(i, n - 1)] == r)
        return out

    def hit(self, key: int, measure: str, t: int) -> bool:
        """``hits`` for one key, at ``t`` in file seconds (see ``seconds``), without numpy."""
        m = self._m.measures[measure]
        directory, resid, froms, untils, filt = m.views
        prefix = key >> (64 - m.filter_bits)
        if not (filt[prefix >> 3] >> (prefix & 7)) & 1:
            return False
        bucket = key >> (64 - m.bits)
        lo, end = directory[bucket], directory[bucket + 1]
        if lo == end:
            return False
        r = (key >> (32 - m.bits)) & 0xFFFFFFFF
        i = bisect_left(resid, r, lo, end)
        while i < end and resid[i] == r:
            if froms[i] <= t < untils[i]:
                return True
            i += 1
        return False

    def registered(self, key: int) -> bool:
        """Is an organisation with this key in the register (as the file was compiled)? A
        64-bit key shared by an unregistered code (about n / 2^64) only answers it as known."""
        orgs, view = self._m.organisations, self._m.organisations_view
        if orgs is None:
            return True
        n = len(orgs)
        i = bisect_left(view, key, 0, n) if n else 0
        return i < n and view[i] == key

    def registered_many(self, keys: np.ndarray) -> np.ndarray:
        orgs = self._m.organisations
        keys = np.asarray(keys, dtype=np.uint64)
        if orgs is None:
            return np.ones(len(keys), dtype=bool)
        if len(orgs) == 0:
            return np.zeros(len(keys), dtype=bool)
        i = np.minimum(np.searchsorted(orgs, keys), len(orgs) - 1)
        return np.asarray(orgs[i] == keys)

    def hits_for(self, subject_ids: Sequence[str], measure: str, at: datetime) -> list[bool]:
        return [bool(x) for x in self.hits(subject_keys(subject_ids), measure, at)]


def _view(a: np.ndarray) -> Any:
    """A memoryview of a mapped array: indexing it gives plain ints, faster than numpy scalars."""
    return memoryview(a.data) if len(a) else memoryview(array(a.dtype.char, [0, 0]))
