"""No module of printfarm imports itself through others (import-linter's contracts order the packages)."""

from __future__ import annotations

import grimp


def test_no_printfarm_module_is_part_of_an_import_circle():
    graph = grimp.build_graph("printfarm")
    circles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                circles.append(" -> ".join((module, *back)))
    assert circles == []
