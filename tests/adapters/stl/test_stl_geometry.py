"""Geometry checks: units, build volume, bed contact and a flat base."""

from __future__ import annotations

import numpy as np
from adapters.stl.stl_meshes import cube

from printfarm.adapters.stl import shapes, validate_stl
from printfarm.adapters.stl.writer import binary_stl


def test_part_in_metres_is_rejected_naming_the_millimetre_size() -> None:
    report = validate_stl(binary_stl(cube(0.2)))
    assert report.codes == ("units_metres_suspected",)
    assert "200 × 200 × 200 mm" in report.errors[0].message


def test_small_part_warns_it_may_be_in_inches() -> None:
    report = validate_stl(binary_stl(cube(5.0)))
    assert (report.verdict, report.codes) == ("warning", ("units_inches_suspected",))


def test_part_that_fits_only_turned_90_degrees_fits() -> None:
    band = shapes.box(200, 100, 10)
    assert validate_stl(binary_stl(band), build_volume_mm=(150, 250, 100)).verdict == "ok"


def test_part_larger_than_the_build_volume_is_rejected() -> None:
    report = validate_stl(binary_stl(shapes.box(200, 100, 10)), build_volume_mm=(180, 180, 180))
    assert report.codes == ("exceeds_build_volume",)
    assert "180 × 180 × 180 mm" in report.errors[0].message


def test_part_above_the_bed_warns_with_its_lowest_z() -> None:
    report = validate_stl(binary_stl(cube(offset=(0, 0, 5))))
    assert report.codes == ("not_on_bed",)
    assert "z = 5 mm" in report.warnings[0].message


def test_part_standing_on_a_point_has_no_flat_base() -> None:
    octahedron = np.array([[0, 0, 0], [10, 0, 10], [0, 10, 10], [-10, 0, 10], [0, -10, 10], [0, 0, 20]], np.float32)
    ring = [1, 2, 3, 4]
    facets = [(0, ring[(i + 1) % 4], ring[i]) for i in range(4)] + [(5, ring[i], ring[(i + 1) % 4]) for i in range(4)]
    report = validate_stl(binary_stl(octahedron[np.array(facets)]))
    assert (report.codes, report.volume_mm3) == (("no_flat_base",), 1333.333)


def test_stray_vertex_far_away_is_an_implausible_size() -> None:
    triangles = cube()
    triangles[0, 0] = (3e37, 0, 0)
    assert validate_stl(binary_stl(triangles)).codes == ("implausible_size",)
