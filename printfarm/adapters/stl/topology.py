"""Mesh topology in vectorised numpy: weld vertices, count edge uses, find connected bodies.

Welding uses open-addressing hash tables filled in rounds (scatter, gather, compare) instead of
sorting: every element lands in its key's slot; the element that won the slot represents its key;
elements of other keys that collided probe their next slot in the next round. Equal keys share a
hash and therefore every slot, so a key is resolved all at once, and exactly: a representative is
only accepted after its full key compared equal.

Gathers and scatters are what costs, and they cost several times more when they miss the cache.
Facets come in local order (a vertex's facets are near one another in the file), so corners are
first welded within blocks small enough for the block's table to stay in cache; only one corner
per vertex and block goes on to the table over the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)  # odd multipliers: the product's top bits mix every key bit
_M2 = np.uint64(0x94D049BB133111EB)
_L1 = np.uint32(0x9E3779B1)  # the same, in 32 bits, for the small per-block tables
_L2 = np.uint32(0x85EBCA77)
_L3 = np.uint32(0xC2B2AE3D)
BLOCK_FACETS = 1 << 13  # 24,576 corners: the block's keys, slots and table fit in a core's L2
_LOCAL_BITS = 16  # slots per block table: under 40 % full even if no corner repeats
_LOCAL_USEFUL = 0.5  # a block whose corners are mostly new (random facet order) skips local welding
_LOCAL_RETRY_BLOCKS = 16  # ...and so do the next blocks, until one is tried again


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


def representatives(
    slots: np.ndarray, bits: int, keys: tuple[np.ndarray, ...], table: np.ndarray | None = None
) -> np.ndarray:
    """For each element, the index (intp) of one element with an equal key (the same for all of them).

    `slots` (intp, below 2**bits) must be equal for equal keys: the top bits of a hash of the key.
    `table` (int32 or intp, 2**bits entries, contents ignored) may be passed in to be reused.
    """
    n = len(slots)
    if table is None:  # int32 where it will do: half the memory to fault in and to miss the cache on
        table = np.empty(1 << bits, dtype=np.int32 if n < 2**31 else np.intp)
    table[slots] = np.arange(n, dtype=table.dtype)  # one writer per slot wins; which does not matter
    result = table.take(slots, mode="clip").astype(np.intp, copy=False)  # every slot is in range: clip skips the check
    same = keys[0].take(result, mode="clip") == keys[0]
    for key in keys[1:]:
        same &= key.take(result, mode="clip") == key
    if same.all():
        return result
    mask = (1 << bits) - 1
    pending = np.flatnonzero(~same)
    slots = slots[pending]
    steps = ((slots * 40503) & mask) | 1  # keys that shared a slot probe alike: one wins per round
    while pending.size:
        slots = (slots + steps) & mask
        table[slots] = pending  # below n: fits the table's type
        winner = table.take(slots, mode="clip").astype(np.intp, copy=False)
        same = np.ones(pending.size, dtype=bool)
        for key in keys:
            same &= key.take(winner, mode="clip") == key.take(pending, mode="clip")
        result[pending[same]] = winner[same]
        lost = ~same
        pending, slots, steps = pending[lost], slots[lost], steps[lost]
    return result


def weld(triangles: np.ndarray) -> tuple[np.ndarray, int]:
    """Vertex ids (n, 3) shared by corners with bit-identical coordinates, and the vertex count.

    `triangles` is float32 (n, 3, 3) whose 9 floats per facet are contiguous; facets may be strided,
    as in a view of the file's 50-byte records. -0.0 welds with 0.0.
    Ids follow the order of appearance, which keeps the later edge sort and union-find local.
    """
    n = len(triangles)
    total = 3 * n
    index_type = np.int32 if total < 2**31 else np.intp  # half the memory to fault in and to miss the cache on
    order = np.arange(3 * BLOCK_FACETS, dtype=np.intp)
    table = np.empty(1 << _LOCAL_BITS, dtype=np.intp)
    columns = np.empty((3, BLOCK_FACETS, 3), dtype=np.float32)
    local: np.ndarray = np.empty(total, dtype=index_type)  # each corner's index among the blocks' first corners
    # The blocks' first corners, x y z rows: only the prefix written is ever faulted in.
    firsts = np.empty((3, total), dtype=np.uint32)
    count = 0
    skip = 0
    for start in range(0, n, BLOCK_FACETS):
        x, y, z = _block_columns(triangles[start : start + BLOCK_FACETS], columns)
        size = len(x)
        corners = slice(3 * start, 3 * start + size)
        if skip:
            skip -= 1
            local[corners] = order[:size] + count
            firsts[:, count : count + size] = x, y, z
            count += size
            continue
        rep = representatives(_local_slots(x, y, z), _LOCAL_BITS, (x, y, z), table)
        is_first = rep == order[:size]
        new = np.flatnonzero(is_first)
        position = np.cumsum(is_first, dtype=np.intp)
        position += count - 1
        local[corners] = position.take(rep, mode="clip")
        for row, key in zip(firsts, (x, y, z), strict=True):
            key.take(new, out=row[count : count + len(new)], mode="clip")
        count += len(new)
        if len(new) > _LOCAL_USEFUL * size:
            skip = _LOCAL_RETRY_BLOCKS
    del columns
    x, y, z = firsts[:, :count]
    bits = table_bits(count) + 1  # at most half full: short probe sequences
    rep = representatives(_global_slots(x, y, z, bits), bits, (x, y, z))
    del x, y, z, firsts
    is_vertex = np.empty(count, dtype=bool)
    for start in range(0, count, len(order)):  # rep[i] == i, without an arange of count intp
        span = slice(start, start + len(order))
        np.equal(rep[span], order[: len(is_vertex[span])] + start, out=is_vertex[span])
    numbers: np.ndarray = np.cumsum(is_vertex, dtype=index_type)
    vertices = int(numbers[-1]) if count else 0
    numbers -= 1
    ids = numbers.take(rep, mode="clip")
    del rep, is_vertex, numbers
    chunk = 1 << 16  # take() copies int32 indices to intp: a chunk at a time, and in place, not 3 × n more
    for start in range(0, total, chunk):
        part = local[start : start + chunk]
        ids.take(part, out=part, mode="clip")
    return local.reshape(-1, 3), vertices


def _block_columns(block: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The block's corner coordinates as three contiguous uint32 bit patterns, -0.0 made 0.0.

    Views of `out` (3, at least len(block), 3), valid until the next call.
    """
    columns = out[:, : len(block)]
    with np.errstate(invalid="ignore"):  # a signalling NaN stays NaN and is reported elsewhere
        np.add(block.transpose(2, 0, 1), np.float32(0.0), out=columns)
    x, y, z = columns.reshape(3, -1).view(np.uint32)
    return x, y, z


def _local_slots(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    hashes = x * _L1
    hashes ^= y * _L2
    hashes ^= z * _L3
    hashes >>= np.uint32(32 - _LOCAL_BITS)
    return hashes.astype(np.intp)


def _global_slots(x: np.ndarray, y: np.ndarray, z: np.ndarray, bits: int) -> np.ndarray:
    slots = np.empty(len(x), dtype=np.intp)
    chunk = 1 << 16  # no full-size uint64 temporaries
    for start in range(0, len(x), chunk):
        part = slice(start, start + chunk)
        hashes = x[part].astype(np.uint64)
        hashes <<= np.uint64(32)
        hashes |= y[part]
        hashes *= _M1
        hashes ^= z[part] * _M2
        hashes >>= np.uint64(64 - bits)
        slots[part] = hashes
    return slots


def edge_keys(vertex_ids: np.ndarray, vertices: int) -> np.ndarray:
    """One int64 per facet edge: (low id, high id, direction bit), side by side for all facets.

    Built a block of facets at a time, so the temporaries stay in cache.
    """
    n = len(vertex_ids)
    shift = max(1, int(vertices).bit_length())
    keys = np.empty(3 * n, dtype=np.int64)
    low = np.empty(min(n, BLOCK_FACETS), dtype=vertex_ids.dtype)
    high = np.empty_like(low)
    for start in range(0, n, BLOCK_FACETS):
        facets = vertex_ids[start : start + BLOCK_FACETS]
        size = len(facets)
        for side, (a, b) in enumerate(((0, 1), (1, 2), (2, 0))):
            begin, end = facets[:, a], facets[:, b]
            part = keys[side * n + start : side * n + start + size]
            np.minimum(begin, end, out=low[:size])
            np.maximum(begin, end, out=high[:size])
            part[:] = low[:size]
            part <<= shift
            part |= high[:size]
            part <<= 1
            part |= begin > end
    return keys


def count_edges(vertex_ids: np.ndarray, vertices: int) -> EdgeCounts:
    """Count open, non-manifold and misoriented edges of the facets `vertex_ids` (n, 3).

    Each facet edge becomes one int64 key (see `edge_keys`). After one sort, a closed,
    consistently wound manifold is a sequence of pairs of one undirected key with both direction
    bits; anything else is counted run by run.
    """
    keys = edge_keys(vertex_ids, vertices)
    keys.sort()
    if len(keys) % 2 == 0 and _all_pairs(keys):
        return EdgeCounts(edges=len(keys) // 2, open=0, non_manifold=0, misoriented=0)
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


def _all_pairs(keys: np.ndarray) -> bool:
    """Whether sorted `keys` are pairs (2k, 2k + 1): each undirected edge once in each direction.

    `first ^ 1 == second` says the pair shares its edge with opposite bits, the even one first; a
    third use cannot hide, since the next pair then starts with an odd key.
    """
    chunk = 1 << 17
    for start in range(0, len(keys), chunk):
        part = keys[start : start + chunk]
        if not np.array_equal(part[0::2] ^ 1, part[1::2]):
            return False
    return True


def count_bodies(vertex_ids: np.ndarray, vertices: int) -> int:
    """Number of sets of facets connected through shared vertices.

    Union-find in rounds: hook each root to a smaller root it shares an edge with (one writer per
    root wins, the others stay for the next round), compress paths by pointer jumping, keep only
    the edges still joining two different roots. Edges are gathered and hooked a chunk at a time,
    so no round allocates more than the edges it keeps.
    """
    parent = np.arange(vertices, dtype=np.int32 if vertices < 2**31 else np.intp)
    _hook(parent, vertex_ids[:, 0], vertex_ids[:, 1])  # every vertex is still its own root: nothing to gather
    parent = _compressed(parent)
    for other in (1, 2):  # union-find is incremental: one edge set at a time halves the memory
        u, v = vertex_ids[:, 0], vertex_ids[:, other]
        while True:
            u, v = _apart(parent, u, v)
            if not u.size:
                break
            _hook(parent, u, v)
            parent = _compressed(parent)
    return int(np.count_nonzero(parent == np.arange(vertices, dtype=parent.dtype)))


_EDGE_CHUNK = 1 << 16


def _hook(parent: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
    """Point the larger of each pair of roots u–v at the smaller."""
    for start in range(0, len(u), _EDGE_CHUNK):
        a, b = u[start : start + _EDGE_CHUNK], v[start : start + _EDGE_CHUNK]
        parent[np.maximum(a, b)] = np.minimum(a, b)


def _apart(parent: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The roots (by fully compressed `parent`) of the edges u–v whose ends have different roots."""
    kept_u: list[np.ndarray] = []
    kept_v: list[np.ndarray] = []
    for start in range(0, len(u), _EDGE_CHUNK):
        ru, rv = parent[u[start : start + _EDGE_CHUNK]], parent[v[start : start + _EDGE_CHUNK]]
        apart = ru != rv
        if apart.any():
            kept_u.append(ru[apart])
            kept_v.append(rv[apart])
    if not kept_u:
        return parent[:0], parent[:0]
    return np.concatenate(kept_u), np.concatenate(kept_v)


def _compressed(parent: np.ndarray) -> np.ndarray:
    """`parent` with every entry its root (parent[x] <= x holds, so jumping ends)."""
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand
