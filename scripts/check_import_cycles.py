"""Fail when the import graph of our packages has a cycle (imports inside functions count: grimp reads them).

Run by ``make lint``. import-linter's layers keep packages in order; this keeps every module acyclic too.
"""

from __future__ import annotations

import sys

import grimp

PACKAGES = ("bot", "detectors", "config")


def find_cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """One shortest cycle through each import edge that closes one (deduplicated)."""
    cycles: set[tuple[str, ...]] = set()
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycle = (importer, *back)
                start = cycle.index(min(cycle[:-1]))
                cycles.add(cycle[start:-1] + cycle[:start] + (cycle[start],))
    return sorted(cycles)


def main() -> int:
    """Print each cycle and exit 1, or say the graph is acyclic."""
    graph = grimp.build_graph(*PACKAGES)
    cycles = find_cycles(graph)
    for cycle in cycles:
        print("import cycle: " + " -> ".join(cycle))
    if cycles:
        return 1
    print(f"no import cycle among {len(graph.modules)} modules of {', '.join(PACKAGES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
