"""Benchmark: loading the geometry pack and the joins, each in a fresh process (cold).

Target (issue 4 §4): the whole province's pack loads in under a second. Prints one JSON line.

    .venv/bin/python bench/geo_pack.py
"""

from __future__ import annotations

import json
import subprocess
import sys

CODE = r"""
import json, time
t0 = time.perf_counter()
import geopandas  # the import itself, shown apart
t1 = time.perf_counter()
from geo import pack
n = {name: len(pack.layer(name, "{variant}")) for name in pack.LAYERS}
t2 = time.perf_counter()
from geo import joins
s = joins.join_stations(); w = joins.join_sections()
t3 = time.perf_counter()
print(json.dumps({"import_geopandas_s": round(t1 - t0, 3), "load_all_layers_s": round(t2 - t1, 3),
                  "join_stations_and_sections_s": round(t3 - t2, 3), "features": sum(n.values())}))
"""


def run(variant: str) -> dict:
    best = None
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", CODE.replace("{variant}", variant)], capture_output=True,
                             text=True, check=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        if best is None or r["load_all_layers_s"] < best["load_all_layers_s"]:
            best = r
    return best


def main() -> None:
    from geo import pack

    res = {v: run(v) for v in pack.VARIANTS}
    size = {v: sum(len(pack.layer(n, v).to_json(drop_id=True).encode()) for n in pack.LAYERS) for v in pack.VARIANTS}
    print(json.dumps({"analysis": res["analysis"], "display": res["display"], "geojson_bytes": size}))


if __name__ == "__main__":
    main()
