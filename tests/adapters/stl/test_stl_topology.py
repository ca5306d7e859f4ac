"""Topology checks: holes, non-manifold edges, winding, inside-out, bodies, degenerate facets."""

from __future__ import annotations

import numpy as np
from adapters.stl.stl_meshes import cube

from printfarm.adapters.stl import shapes, validate_stl
from printfarm.adapters.stl.topology import count_bodies, representatives, weld
from printfarm.adapters.stl.writer import binary_stl


def report_of(triangles: np.ndarray):  # noqa: ANN201
    return validate_stl(binary_stl(triangles))


def test_closed_cube_is_ok_with_its_volume() -> None:
    report = report_of(cube())
    assert (report.verdict, report.bodies, report.volume_mm3, report.bbox_mm) == ("ok", 1, 8000.0, (20.0, 20.0, 20.0))


def test_missing_facet_is_reported_as_three_open_edges() -> None:
    report = report_of(cube()[1:])
    assert report.codes == ("open_edges",)
    assert report.errors[0].message.startswith("3 of 18 edges")
    assert report.volume_mm3 is None


def test_one_reversed_facet_is_inconsistent_winding() -> None:
    triangles = cube()
    triangles[4] = triangles[4, ::-1]
    report = report_of(triangles)
    assert report.codes == ("inconsistent_winding",)
    assert report.errors[0].message.startswith("3 of 18 edges")


def test_every_facet_reversed_is_inside_out() -> None:
    report = report_of(cube()[:, ::-1])
    assert report.codes == ("inside_out",)
    assert report.volume_mm3 == -8000.0


def test_two_cubes_sharing_an_edge_are_non_manifold() -> None:
    report = report_of(np.concatenate([cube(), cube(offset=(20, 20, 0))]))
    assert report.codes == ("non_manifold_edges",)


def test_two_separate_cubes_are_a_warning_not_an_error() -> None:
    report = report_of(np.concatenate([cube(), cube(offset=(30, 0, 0))]))
    assert (report.verdict, report.bodies, report.codes) == ("warning", 2, ("multiple_bodies",))


def test_collapsed_facet_is_a_degenerate_warning_and_left_out_of_edges() -> None:
    triangles = np.concatenate([cube(), cube()[:1, [0, 0, 1]]])
    report = report_of(triangles)
    assert report.codes == ("degenerate_facets",)
    assert "facet 12" in report.warnings[0].message


def test_facet_order_does_not_change_the_verdict() -> None:
    triangles = shapes.torus(30, 8, 64, 32, centre_z_mm=8)
    shuffled = triangles[np.random.default_rng(1).permutation(len(triangles))]
    assert report_of(shuffled).to_dict() == report_of(triangles).to_dict()


def test_torus_is_one_closed_body_with_no_flat_base() -> None:
    report = report_of(shapes.torus(30, 8, 200, 60, centre_z_mm=8))
    assert (report.codes, report.bodies) == (("no_flat_base",), 1)


def test_many_bodies_are_counted() -> None:
    cubes = [cube(2.0, offset=(3.0 * i, 3.0 * j, 0)) for i in range(10) for j in range(7)]
    report = report_of(np.concatenate(cubes))
    assert report.bodies == 70


def test_representatives_stay_exact_when_every_hash_collides() -> None:
    keys = np.array([5, 3, 5, 9, 3, 3, 7, 5], dtype=np.uint64)
    rep = representatives(np.zeros(len(keys), dtype=np.intp), 4, (keys,))
    assert np.array_equal(keys[rep], keys)
    assert len(set(rep.tolist())) == 4


def test_weld_matches_numpy_unique() -> None:
    triangles = shapes.torus(30, 8, 50, 20)
    ids, vertices = weld(triangles)
    unique, inverse = np.unique(triangles.reshape(-1, 3), axis=0, return_inverse=True)
    assert vertices == len(unique)
    assert np.array_equal(np.unique(np.column_stack([ids.ravel(), inverse.ravel()]), axis=0)[:, 0], np.arange(vertices))


def test_count_bodies_matches_a_plain_union_find_on_random_facets() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        vertices = int(rng.integers(1, 60))
        ids = rng.integers(0, vertices, size=(int(rng.integers(1, 80)), 3)).astype(np.int32)
        parent = list(range(vertices))

        def root(x: int) -> int:
            while parent[x] != x:
                x = parent[x]
            return x

        for a, b, c in ids.tolist():
            for x, y in ((a, b), (a, c)):
                parent[max(root(x), root(y))] = min(root(x), root(y))
        expected = sum(1 for x in range(vertices) if root(x) == x)
        assert count_bodies(ids, vertices) == expected
