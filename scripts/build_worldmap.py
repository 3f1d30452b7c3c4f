"""Build tradeflows/_reference/world_110m.json, the country outlines of the offline world map.

    python scripts/build_worldmap.py path/to/world-atlas/countries-110m.json

The input is ``countries-110m.json`` of the npm package world-atlas 2.0.2
(Natural Earth 1:110m, public domain; packaging ISC, Michael Bostock). The
TopoJSON arcs are decoded into rings of longitude/latitude rounded to 0.1
degree, keyed by ISO3 (through the ISO numeric code in our country table).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tradeflows._reference import countries

OUT = Path(__file__).resolve().parents[1] / "tradeflows" / "_reference" / "world_110m.json"


def decode_arcs(topo: dict) -> list[list[tuple[float, float]]]:
    """Absolute coordinates of every arc (quantised, delta-encoded in the file)."""
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(indices: list[int], arcs: list) -> list[list[float]]:
    points: list = []
    for i in indices:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        points.extend(arc if not points else arc[1:])
    return [[round(x, 1), round(y, 1)] for x, y in points]


def main(path: str) -> None:
    topo = json.loads(Path(path).read_text())
    arcs = decode_arcs(topo)
    by_m49 = {
        int(m): iso
        for m, iso in countries()
        .filter(countries()["kind"] == "country")
        .select("m49", "iso3")
        .rows()
        if m is not None
    }
    shapes: dict[str, list] = {}
    for geom in topo["objects"]["countries"]["geometries"]:
        iso = by_m49.get(int(geom["id"])) if geom.get("id") else None
        if iso is None:
            continue
        polygons = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        shapes.setdefault(iso, []).extend(ring(p[0], arcs) for p in polygons)  # outer rings
    OUT.write_text(json.dumps(shapes, separators=(",", ":"), sort_keys=True))
    print(f"{OUT}: {len(shapes)} countries, {OUT.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main(sys.argv[1])
