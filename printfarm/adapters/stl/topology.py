"""Mesh topology in vectorised numpy: weld vertices, count edge uses, find connected bodies.

Welding and edge counting use an open-addressing hash table filled in rounds (scatter, gather,
compare) instead of sorting: every element lands in its key's slot; the element that won the slot
represents its key; elements of other keys that collided probe their next slot in the next round.
Equal keys share a hash and therefore every slot, so a key is resolved all at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)  # odd multipliers: the product's top bits mix every key bit
_M2 = np.uint64(0x94D049BB133111EB)
_HASH_CHUNK = 1 << 18


@dataclass(frozen=True)
class EdgeCounts:
    """Undirected edges of the non-degenerate facets, by how many facets use them."""

    edges: int
    open: int  # used by one facet: a hole's rim
    non_manifold: int  # used by three or more facets
    misoriented: int  # used by two facets that traverse it the same way


def table_bits(n: int) -> int:
    """log2 of the table size for n elements: at least as many slots as elements."""
    return max(4, int(n - 1).bit_length())


def representatives(slots: np.ndarray, bits: int, keys: tuple[np.ndarray, ...]) -> np.ndarray:
    """For each element, the index of one element with an equal key (the same for all of them).

    `slots` (intp, below 2**bits) must be equal for equal keys: the top bits of a hash of the key.
    """
    n = len(slots)
    mask = (1 << bits) - 1
    table = np.empty(1 << bits, dtype=np.int32 if n < 2**31 else np.intp)
    table[slots] = np.arange(n, dtype=table.dtype)  # one writer per slot wins; which does not matter
    result = np.take(table, slots).astype(np.intp)
    same = np.ones(n, dtype=bool)
    for key in keys:  # first round: every element is pending, in order
        same &= np.take(key, result) == key
    pending = np.flatnonzero(~same)
    slots = slots[pending]
    steps = ((slots * 40503) & mask) | 1  # keys that shared a slot probe alike: one wins per round
    del same
    while pending.size:
        slots = (slots + steps) & mask
        table[slots] = pending
        winner = np.take(table, slots).astype(np.intp)
        same = np.ones(pending.size, dtype=bool)
        for key in keys:
            same &= np.take(key, winner) == np.take(key, pending)
        result[pending[same]] = winner[same]
        lost = ~same
        pending, slots, steps = pending[lost], slots[lost], steps[lost]
    return result


def weld(triangles: np.ndarray) -> tuple[np.ndarray, int]:
    """Vertex ids (n, 3) shared by corners with bit-identical coordinates, and the vertex count.

    `triangles` must be C-contiguous float32 (n, 3, 3) without -0.0 (the reader ensures both).
    Ids are numbered in order of appearance, which keeps the later edge sort close to sorted.
    """
    corner_bytes = triangles.reshape(-1, 3).view(np.uint8).reshape(-1, 12)
    # Contiguous copies: np.take copies a strided source whole on every call.
    xy = corner_bytes[:, :8].view(np.uint64)[:, 0].copy()
    z = corner_bytes[:, 8:].view(np.uint32)[:, 0].copy()
    bits = table_bits(len(xy))
    slots = np.empty(len(xy), dtype=np.intp)
    for start in range(0, len(xy), _HASH_CHUNK):  # chunked: no full-size uint64 temporaries
        part = slice(start, start + _HASH_CHUNK)
        hashes = xy[part] * _M1
        hashes ^= z[part] * _M2
        hashes >>= np.uint64(64 - bits)
        slots[part] = hashes
    rep = representatives(slots, bits, (xy, z))
    del slots
    first = np.zeros(len(rep), dtype=np.intp)
    first[rep] = 1
    ids = np.cumsum(first, out=first)
    ids -= 1
    vertices = int(ids[-1]) + 1 if len(ids) else 0
    return np.take(ids, rep).reshape(-1, 3), vertices


def count_edges(vertex_ids: np.ndarray, vertices: int) -> EdgeCounts:
    """Count open, non-manifold and misoriented edges of the facets `vertex_ids` (n, 3).

    Each facet edge becomes one int64: (low id × vertices + high id) × 2 + direction bit. After
    one sort, a closed, consistently wound manifold is a sequence of pairs of one undirected key
    with both direction bits; anything else is counted run by run.
    """
    n = len(vertex_ids)
    keys = np.empty(3 * n, dtype=np.int64)
    for side, (a, b) in enumerate(((0, 1), (1, 2), (2, 0))):
        start, end = vertex_ids[:, a], vertex_ids[:, b]
        part = keys[side * n : (side + 1) * n]
        np.maximum(start, end, out=part)
        part += np.minimum(start, end) * vertices
        part <<= 1
        part |= start > end
    keys.sort()
    if len(keys) % 2 == 0:
        first, second = keys[0::2], keys[1::2]
        if (
            np.array_equal(first | 1, second)
            and not np.any(first & 1)
            and np.all(second[:-1] < first[1:])
        ):
            return EdgeCounts(edges=len(first), open=0, non_manifold=0, misoriented=0)
    undirected = keys >> 1
    run_starts = np.flatnonzero(np.concatenate(([True], undirected[1:] != undirected[:-1])))
    run_lengths = np.diff(np.append(run_starts, len(keys)))
    pairs = run_starts[run_lengths == 2]
    return EdgeCounts(
        edges=len(run_starts),
        open=int(np.count_nonzero(run_lengths == 1)),
        non_manifold=int(np.count_nonzero(run_lengths > 2)),
        misoriented=int(np.count_nonzero(keys[pairs] == keys[pairs + 1])),
    )


def count_bodies(vertex_ids: np.ndarray, vertices: int) -> int:
    """Number of sets of facets connected through shared vertices.

    Union-find in rounds: hook each root to the smallest root it shares an edge with, compress
    paths by pointer jumping, keep only the edges still joining two different roots.
    """
    parent = np.arange(vertices, dtype=np.intp)
    for other in (1, 2):  # union-find is incremental: one edge set at a time halves the memory
        parent = _join(parent, vertex_ids[:, 0], vertex_ids[:, other])
    return int(np.count_nonzero(parent == np.arange(vertices)))


def _join(parent: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Merge the sets of `parent` (fully compressed: every entry a root) joined by edges u–v."""
    while u.size:
        ru, rv = parent[u], parent[v]
        apart = ru != rv
        u, v = ru[apart], rv[apart]
        if not u.size:
            break
        parent[np.maximum(u, v)] = np.minimum(u, v)
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    return parent
