#!/usr/bin/env python3
"""Rebuild geodata/commune_old_names.csv: the names of communes that merged into today's communes.

Input (exact version, fetched with `npm pack` into --cache, the same cache as tools/build_geodata.py):
  npm  @etalab/decoupage-administratif@6.0.0  COG 2026, data/communes.json: its entries of type
       `commune-deleguee` and `commune-associee` carry the old commune's `code`, its `nom` and the
       commune it now belongs to (`chefLieu`).
Kept: entries whose `chefLieu` is a commune of geodata/communes.csv (the service's scope) and whose
name differs from that commune's own name. One row per (old_code, old_name, current_code), sorted:
same inputs give byte-identical output.
Usage: python tools/build_commune_names.py [--cache DIR] [--communes geodata/communes.csv] [--out PATH]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COG_PACKAGE = "@etalab/decoupage-administratif@6.0.0"
COG_TARBALL = "etalab-decoupage-administratif-6.0.0.tgz"
OLD_COMMUNE_TYPES = ("commune-deleguee", "commune-associee")


def cog_communes(cache: Path) -> list[dict]:
    """data/communes.json of the pinned package, packed once into the cache."""
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / COG_TARBALL
    if not tarball.exists():
        subprocess.run(["npm", "pack", "--silent", COG_PACKAGE], cwd=cache, check=True, capture_output=True)
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/data/communes.json")
        assert member is not None
        return json.loads(member.read().decode("utf-8"))


def current_names(communes_csv: Path) -> dict[str, str]:
    with communes_csv.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


def old_names(cog: list[dict], current: dict[str, str]) -> list[tuple[str, str, str]]:
    rows = {
        (entry["code"], entry["nom"], entry["chefLieu"])
        for entry in cog
        if entry["type"] in OLD_COMMUNE_TYPES
        and entry["chefLieu"] in current
        and entry["nom"] != current[entry["chefLieu"]]
    }
    return sorted(rows)


def write_rows(path: Path, rows: list[tuple[str, str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["old_code", "old_name", "current_code"])
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/territorialite-geodata-cache"))
    parser.add_argument("--communes", type=Path, default=ROOT / "geodata/communes.csv")
    parser.add_argument("--out", type=Path, default=ROOT / "geodata/commune_old_names.csv")
    args = parser.parse_args(argv)
    rows = old_names(cog_communes(args.cache), current_names(args.communes))
    write_rows(args.out, rows)
    tarball_sha256 = hashlib.sha256((args.cache / COG_TARBALL).read_bytes()).hexdigest()
    output_sha256 = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{len(rows)} old names -> {args.out}")
    print(f"input  {COG_TARBALL} sha256 {tarball_sha256}")
    print(f"output {args.out.name} sha256 {output_sha256}")


if __name__ == "__main__":
    main()
