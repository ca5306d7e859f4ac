"""validate_stl: the checks in order of cost (bytes, format, geometry, topology), stopping at the
first stage that finds an error, so a bad file fails fast."""

from __future__ import annotations

import contextlib
import mmap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from printfarm.adapters.stl import geometry, topology
from printfarm.adapters.stl.reader import Rejected, read_triangles, size_issues
from printfarm.adapters.stl.report import StlIssue, StlLimits, StlReport, make_report

NON_FINITE_COORDINATES = "non_finite_coordinates"
IMPLAUSIBLE_SIZE = "implausible_size"
UNITS_METRES_SUSPECTED = "units_metres_suspected"
UNITS_INCHES_SUSPECTED = "units_inches_suspected"
EXCEEDS_BUILD_VOLUME = "exceeds_build_volume"
NOT_ON_BED = "not_on_bed"
NO_FLAT_BASE = "no_flat_base"
DEGENERATE_FACETS = "degenerate_facets"
OPEN_EDGES = "open_edges"
NON_MANIFOLD_EDGES = "non_manifold_edges"
INCONSISTENT_WINDING = "inconsistent_winding"
INSIDE_OUT = "inside_out"
MULTIPLE_BODIES = "multiple_bodies"

LARGEST_EXTENT_MM = 10_000.0  # no printer is 10 m wide: micrometres, or a stray vertex
LARGEST_COORDINATE_MM = 100_000.0  # beyond this float32 keeps no sub-millimetre detail
METRES_BELOW_MM = 1.0  # nothing this small prints with a 0.4 mm nozzle: 1.0 m exported as 1.0 mm
INCHES_BELOW_MM = 10.0  # a part this small is as likely an inch export (×25.4) as a real part
PARALLEL_FROM_TRIANGLES = 200_000  # above this, bodies are counted in a thread beside the edge check
MIN_BASE_AREA_MM2 = 1.0  # less flat area than this at the lowest z cannot hold a part down...
MIN_BASE_FRACTION = 0.01  # ...unless the part is so small that 1 % of its footprint is less


def validate_stl_file(
    path: Path,
    *,
    limits: StlLimits = StlLimits(),
    build_volume_mm: tuple[float, float, float] | None = None,
) -> StlReport:
    """Validate the STL at `path`; its size is checked with `stat` before it is read.

    Raises OSError if the file cannot be read; bad content is a rejected report, never an error.
    """
    issues = size_issues(path.stat().st_size, limits)
    if issues:
        return make_report(triangles=0, errors=issues, warnings=[])
    with path.open("rb") as file:
        # Mapped, not read: the page cache holds the bytes and the triangles are a view of them.
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            return _validate(mapped, limits, build_volume_mm)
        finally:
            with contextlib.suppress(BufferError):  # an exception's traceback still holds a view:
                mapped.close()  # the map is then unmapped when that view is freed


def validate_stl(
    data: bytes,
    *,
    limits: StlLimits = StlLimits(),
    build_volume_mm: tuple[float, float, float] | None = None,
) -> StlReport:
    """Validate STL bytes (binary or ASCII). Never raises for bad content: see the report's errors.

    `build_volume_mm` (x, y, z) adds a fit check; the part may be turned 90° about Z to fit.
    """
    return _validate(data, limits, build_volume_mm)


def _validate(
    data: bytes | mmap.mmap, limits: StlLimits, build_volume_mm: tuple[float, float, float] | None
) -> StlReport:
    try:
        triangles, _ = read_triangles(data, limits)
    except Rejected as err:
        return make_report(triangles=0, errors=err.issues, warnings=[])
    with np.errstate(all="ignore"):  # odd values are reported as issues, never as numpy warnings
        return _validate_triangles(triangles, build_volume_mm)


def _validate_triangles(triangles: np.ndarray, build_volume_mm: tuple[float, float, float] | None) -> StlReport:
    count = len(triangles)
    measured = geometry.measure(triangles)
    if not measured.is_finite:
        bad = geometry.count_non_finite(triangles)
        issue = StlIssue(NON_FINITE_COORDINATES, f"{bad} vertices have NaN or infinite coordinates")
        return make_report(triangles=count, errors=[issue], warnings=[])
    extents = measured.extents_mm
    bbox = (round(extents[0], 4), round(extents[1], 4), round(extents[2], 4))
    errors, warnings = _geometry_issues(measured, build_volume_mm)
    if errors:
        return make_report(triangles=count, errors=errors, warnings=warnings, bbox_mm=bbox)
    bodies, volume = _topology_issues(triangles, measured, errors, warnings)
    return make_report(
        triangles=count, errors=errors, warnings=warnings, bodies=bodies, volume_mm3=volume, bbox_mm=bbox
    )


def _geometry_issues(
    measured: geometry.Geometry, build_volume_mm: tuple[float, float, float] | None
) -> tuple[list[StlIssue], list[StlIssue]]:
    errors: list[StlIssue] = []
    warnings: list[StlIssue] = []
    x, y, z = measured.extents_mm
    largest = max(x, y, z)
    size = f"{x:.4g} × {y:.4g} × {z:.4g} mm"
    farthest = max(float(np.abs(measured.lowest).max()), float(np.abs(measured.highest).max()))
    if largest > LARGEST_EXTENT_MM or farthest > LARGEST_COORDINATE_MM:
        errors.append(StlIssue(
            IMPLAUSIBLE_SIZE,
            f"part is {size} with a vertex {farthest:.4g} mm from the origin (limits {LARGEST_EXTENT_MM:g} mm "
            f"wide, {LARGEST_COORDINATE_MM:g} mm away): wrong units or a stray vertex",
        ))  # fmt: skip
        return errors, warnings
    if largest < METRES_BELOW_MM:
        errors.append(StlIssue(
            UNITS_METRES_SUSPECTED,
            f"part is {size}, under {METRES_BELOW_MM:g} mm: exported in metres? ×1000 it would be "
            f"{x * 1000:.4g} × {y * 1000:.4g} × {z * 1000:.4g} mm",
        ))  # fmt: skip
    elif largest < INCHES_BELOW_MM:
        warnings.append(StlIssue(
            UNITS_INCHES_SUSPECTED,
            f"part is {size}, under {INCHES_BELOW_MM:g} mm: exported in inches? ×25.4 it would be "
            f"{x * 25.4:.4g} × {y * 25.4:.4g} × {z * 25.4:.4g} mm",
        ))  # fmt: skip
    if build_volume_mm is not None:
        bx, by, bz = build_volume_mm
        fits = z <= bz and ((x <= bx and y <= by) or (y <= bx and x <= by))
        if not fits:
            errors.append(StlIssue(
                EXCEEDS_BUILD_VOLUME,
                f"part {size} does not fit the build volume {bx:g} × {by:g} × {bz:g} mm "
                "(also tried turned 90° about Z)",
            ))  # fmt: skip
    lowest_z = float(measured.lowest[2])
    if abs(lowest_z) > geometry.BED_TOLERANCE_MM:
        warnings.append(StlIssue(
            NOT_ON_BED, f"lowest point is at z = {lowest_z:.4g} mm, not 0: the slicer will drop the part onto the bed"
        ))  # fmt: skip
    base = measured.base_area_mm2()
    least = min(MIN_BASE_AREA_MM2, MIN_BASE_FRACTION * x * y)
    if base < least:
        warnings.append(StlIssue(
            NO_FLAT_BASE,
            f"flat area at the lowest z is {base:.3g} mm², under {least:.3g} mm²: "
            "the part has no face to stand on (supports needed?)",
        ))  # fmt: skip
    return errors, warnings


def _topology_issues(
    triangles: np.ndarray, measured: geometry.Geometry, errors: list[StlIssue], warnings: list[StlIssue]
) -> tuple[int, float | None]:
    """Append topology findings; return the body count and the volume (None unless closed)."""
    vertex_ids, vertices = topology.weld(triangles)
    collapsed = (
        (vertex_ids[:, 0] == vertex_ids[:, 1])
        | (vertex_ids[:, 1] == vertex_ids[:, 2])
        | (vertex_ids[:, 2] == vertex_ids[:, 0])
    )
    degenerate = measured.degenerate() | collapsed
    bad = int(np.count_nonzero(degenerate))
    if bad:
        # Slivers with three distinct corners often close a real export's mesh, so they stay in
        # the edge checks; facets with a repeated corner have no edges worth the name and leave.
        warnings.append(StlIssue(
            DEGENERATE_FACETS,
            f"{bad} of {len(triangles)} facets have zero area (first: facet {int(np.argmax(degenerate))}); "
            "slicers drop them",
        ))  # fmt: skip
    has_collapsed = bool(collapsed.any())
    edge_ids = vertex_ids[~collapsed] if has_collapsed else vertex_ids
    if len(triangles) >= PARALLEL_FROM_TRIANGLES:  # numpy releases the GIL in sorts and gathers
        with ThreadPoolExecutor(max_workers=1) as pool:
            counting = pool.submit(topology.count_bodies, vertex_ids, vertices)
            edges = topology.count_edges(edge_ids, vertices)
            bodies = counting.result()
    else:
        edges = topology.count_edges(edge_ids, vertices)
        bodies = topology.count_bodies(vertex_ids, vertices)
    if edges.open:
        errors.append(StlIssue(OPEN_EDGES, f"{edges.open} of {edges.edges} edges belong to one facet only: the mesh has holes"))
    if edges.non_manifold:
        errors.append(StlIssue(
            NON_MANIFOLD_EDGES, f"{edges.non_manifold} of {edges.edges} edges are shared by more than two facets"
        ))  # fmt: skip
    if edges.misoriented:
        errors.append(StlIssue(
            INCONSISTENT_WINDING,
            f"{edges.misoriented} of {edges.edges} edges are traversed the same way by both their facets: "
            "facet winding is inconsistent",
        ))  # fmt: skip
    if bodies > 1:
        warnings.append(StlIssue(MULTIPLE_BODIES, f"the mesh has {bodies} separate bodies"))
    if edges.open or edges.non_manifold or edges.misoriented:
        return bodies, None
    volume = round(measured.signed_volume_mm3, 3)
    if volume <= 0:
        errors.append(StlIssue(
            INSIDE_OUT, f"signed volume is {volume:.6g} mm³, not positive: the part is inside out (normals point in)"
        ))  # fmt: skip
    return bodies, volume
