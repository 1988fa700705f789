"""The hashes the id map keeps: of a composite source key (its stored old id) and of a written row
(so that a rerun knows what changed without reading the target rows)."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import Any, Final

_unpack_q: Final = struct.Struct(">q").unpack
#: a fresh 8-byte blake2b, copied for each row: the same digest as ``blake2b(b, digest_size=8)``
#: without parsing the constructor's keywords each time (about a fifth fewer instructions)
_BLAKE2B_8: Final = hashlib.blake2b(digest_size=8)


def _hash64(data: bytes) -> int:
    """The first 8 bytes of blake2b(``data``, digest_size=8), as a signed integer."""
    h = _BLAKE2B_8.copy()
    h.update(data)
    return _unpack_q(h.digest())[0]


def key_hash(table: str, key: Sequence[Any]) -> int:
    """A stable positive 63-bit id for a composite-key row (used as its ``old_id``): blake2b of
    ``repr((table, tuple(key)))``. A key of ints (every composite key bascule moves) gets that
    text written out, without ``repr``'s generic walk; the test compares both."""
    parts = tuple(key)
    text = None
    if len(parts) > 1 and table.isidentifier():
        strs = []
        for p in parts:
            if type(p) is not int:
                break
            strs.append(str(p))
        else:
            text = "('" + table + "', (" + ", ".join(strs) + "))"
    if text is None:
        text = repr((table, parts))
    return _hash64(text.encode()) & 0x7FFF_FFFF_FFFF_FFFF


def row_hash(values: Sequence[Any]) -> int:
    """A signed 64-bit hash of a transformed row (what was written), stable across runs.

    ``repr`` of the tuple is deterministic for the value types rows carry (int, float, str,
    bytes, date, datetime, None); one blake2b call per row keeps it cheap.
    """
    return _hash64(repr(tuple(values)).encode("utf-8", "surrogatepass"))


def text_hash(encoded: str | bytes) -> int:
    """A signed 64-bit hash of a row as the writer sends it (its COPY line or SQL literal): the
    encoding is made anyway, and hashing its text costs a fraction of ``row_hash``'s ``repr``
    (dates and floats format slowly). Only compared with hashes of the same target."""
    b = encoded if isinstance(encoded, bytes) else encoded.encode("utf-8", "surrogatepass")
    return _hash64(b)


def written_hash(values: Sequence[Any], encode) -> tuple[int, Any]:
    """(hash, encoded row) of a row as the writer sends it: ``text_hash`` of ``encode(values)``
    when it can be encoded, else ``row_hash`` of the values (the writer then encodes it again and
    names the column at fault). What the id map stores, and what a rollback recomputes from the
    target's rows."""
    if encode is not None:
        try:
            enc = encode(values)
        except Exception:  # noqa: BLE001 - the writer encodes it again and names the column
            return row_hash(values), None
        return text_hash(enc), enc
    return row_hash(values), None
