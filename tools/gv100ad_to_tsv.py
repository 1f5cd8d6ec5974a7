#!/usr/bin/env python3
"""Convert a Destatis GV100AD fixed-width file (Land Thüringen) into the register TSV.

Usage: python3 tools/gv100ad_to_tsv.py GV100AD.txt > data/municipalities-YYYY-MM-DD.tsv

Output columns (tab-separated, UTF-8, one header line):
  ags  name  kind  kreis  verband  population  area_ha  postcode  valid_from  valid_to

kind is one of kreisfreie_stadt, landkreis, stadt, gemeinde. A kreisfreie Stadt is a Gemeinde
and a Kreis at once and appears once (AGS = Kreis key + "000"); a Landkreis appears as itself
with its 5-digit Kreis key padded with "000", as the programmes' guidelines let it apply.
Its population is the sum of its Gemeinden. GV100AD Satzart 60 types seen in the
Thuringian extract: 61 kreisfreie Stadt, 63 Stadt, 64 Gemeinde.

Source: Statistisches Bundesamt (Destatis), GV100AD; Datenlizenz Deutschland - Namensnennung 2.0.
"""
import sys

KIND_60 = {"61": "kreisfreie_stadt", "62": "stadt", "63": "stadt", "64": "gemeinde", "65": "gemeinde"}


def field(line, start, end):
    """1-based inclusive columns, as in the Destatis record description."""
    return line[start - 1:end].strip()


def main(path):
    kreise, gemeinden, edition = {}, [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            satzart = field(line, 1, 2)
            edition = edition or field(line, 3, 10)
            if satzart == "40":
                kreise[field(line, 11, 15)] = (field(line, 23, 72), field(line, 123, 124))
            elif satzart == "60":
                typ = field(line, 123, 124)
                if typ not in KIND_60:
                    sys.exit(f"unknown Gemeinde type {typ!r} in: {line!r}")
                gemeinden.append({
                    "ags": field(line, 11, 18), "name": field(line, 23, 72), "kind": KIND_60[typ],
                    "kreis": field(line, 11, 15), "verband": field(line, 19, 22),
                    "population": int(field(line, 140, 150)), "area_ha": int(field(line, 129, 139)),
                    "postcode": field(line, 166, 170),
                })
    rows = list(gemeinden)
    for key, (name, typ) in kreise.items():
        if typ == "44":
            rows.append({
                "ags": key + "000", "name": name, "kind": "landkreis", "kreis": key, "verband": "",
                "population": sum(g["population"] for g in gemeinden if g["kreis"] == key),
                "area_ha": sum(g["area_ha"] for g in gemeinden if g["kreis"] == key),
                "postcode": "",
            })
        elif typ != "41":
            sys.exit(f"unknown Kreis type {typ!r} for {key}")
    rows.sort(key=lambda r: r["ags"])
    out = sys.stdout
    out.write(f"# Quelle: Statistisches Bundesamt (Destatis), GV100AD, Stand {edition[6:8]}.{edition[4:6]}.{edition[0:4]}"
              " - Datenlizenz Deutschland - Namensnennung - Version 2.0\n")
    out.write("# edition\t%s-%s-%s\n" % (edition[0:4], edition[4:6], edition[6:8]))
    cols = ["ags", "name", "kind", "kreis", "verband", "population", "area_ha", "postcode", "valid_from", "valid_to"]
    out.write("\t".join(cols) + "\n")
    for r in rows:
        r.setdefault("valid_from", "")
        r.setdefault("valid_to", "")
        out.write("\t".join(str(r[c]) for c in cols) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
