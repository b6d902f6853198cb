#!/usr/bin/env python3
"""Rewrites the generated tables of docs/validation-serving.md from `aifactory serve --validate`:
the results table (the median errors per half that the command prints), the by-kind table, the count of rows beyond 15% and
the per-row table. The prose around them is written by hand and is left as it is; read it
against the new figures after a refit.

Usage: tools/serving_doc_tables.py [--aifactory build/release/aifactory] [--csv PATH] [--doc PATH]
"""
import argparse
import collections
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THROUGHPUT_KINDS = ("static_throughput", "offline_throughput")


def rows_of(output):
    """The per-row markdown table that `serve --validate` prints, as dicts."""
    lines = [l for l in output.splitlines() if l.startswith("|")]
    if len(lines) < 2 or not lines[0].startswith("| id |") or not lines[1].startswith("|---"):
        sys.exit("serve --validate printed no row table")
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    out = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < len(header):
            sys.exit(f"malformed row: {line}")
        row = dict(zip(header, cells[:len(header) - 1] + ["|".join(cells[len(header) - 1:])]))
        row["err"] = float(row["error"].rstrip("%"))
        out.append(row)
    return lines, out


def median(values):
    return statistics.median(values) if values else float("nan")


SUMMARY = re.compile(r"^median \|error\| (held out|fit half|all rows)[^:]*: throughput ([\d.]+)% over (\d+) rows, "
                     r"latency ([\d.]+)% over (\d+) rows$", re.M)


def summary_of(output):
    """The medians `serve --validate` prints, from unrounded errors: {half: (thr, n, lat, n)}."""
    found = {m.group(1): (m.group(2), int(m.group(3)), m.group(4), int(m.group(5)))
             for m in SUMMARY.finditer(output)}
    if set(found) != {"held out", "fit half", "all rows"}:
        sys.exit(f"serve --validate printed summary lines for {sorted(found)}, expected held out, fit half, all rows")
    return found


def results_table(rows, summary):
    """The medians as the command prints them; the row counts are checked against the per-row
    table split by THROUGHPUT_KINDS, so a new kind on the C++ side that this list lacks fails here."""
    def count(subset, throughput):
        return sum((r["kind"] in THROUGHPUT_KINDS) == throughput for r in subset)

    halves = {"held out": [r for r in rows if r["half"] == "held out"],
              "fit half": [r for r in rows if r["half"] == "fit"], "all rows": rows}
    for name, subset in halves.items():
        thr, n_thr, lat, n_lat = summary[name]
        if (n_thr, n_lat) != (count(subset, True), count(subset, False)):
            sys.exit(f"{name}: serve --validate counts {n_thr} throughput and {n_lat} latency rows, the row table "
                     f"{count(subset, True)} and {count(subset, False)}: update THROUGHPUT_KINDS")
    h, f, a = summary["held out"], summary["fit half"], summary["all rows"]
    return [
        "| median absolute error | throughput | latency |",
        "|---|---|---|",
        f"| **held out ({len(halves['held out'])} rows outside the fit: the acceptance bar, at most 15%)** | **{h[0]}%** ({h[1]} rows) | **{h[2]}%** ({h[3]} rows) |",
        f"| fit half ({len(halves['fit half'])} rows, in-sample) | {f[0]}% ({f[1]} rows) | {f[2]}% ({f[3]} rows) |",
        f"| all {len(rows)} rows | {a[0]}% ({a[1]} rows) | {a[2]}% ({a[3]} rows) |",
    ]


def kind_table(rows):
    by_kind = collections.OrderedDict()
    for r in rows:
        by_kind.setdefault(r["kind"], []).append(r)
    out = ["| kind | rows (fit / held out) | median abs. error, all | held out | mean signed error | worst |",
           "|---|---|---|---|---|---|"]
    for kind, rs in by_kind.items():
        fit = sum(r["half"] == "fit" for r in rs)
        held = [abs(r["err"]) for r in rs if r["half"] == "held out"]
        worst = max(rs, key=lambda r: abs(r["err"]))["err"]
        mean = sum(r["err"] for r in rs) / len(rs)
        out.append(f"| `{kind}` | {len(rs)} ({fit} / {len(held)}) | {median([abs(r['err']) for r in rs]):.1f}% | "
                   f"{median(held):.1f}% | {mean:+.1f}% | {worst:+.1f}% |")
    return out


def replace_table(text, first_header, new_lines):
    """Replaces the markdown table whose header line starts with `first_header`."""
    lines = text.split("\n")
    starts = [i for i, l in enumerate(lines) if l.startswith(first_header)]
    if len(starts) != 1:
        sys.exit(f"expected one table starting with '{first_header}', found {len(starts)}")
    i = starts[0]
    j = i
    while j < len(lines) and lines[j].startswith("|"):
        j += 1
    return "\n".join(lines[:i] + new_lines + lines[j:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--aifactory", default=os.path.join(ROOT, "build/release/aifactory"))
    ap.add_argument("--csv", default=os.path.join(ROOT, "data/validation/serving.csv"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs/validation-serving.md"))
    args = ap.parse_args()
    output = subprocess.run([args.aifactory, "serve", "--validate", args.csv], check=True,
                            capture_output=True, text=True).stdout
    table, rows = rows_of(output)
    text = open(args.doc).read()
    text = replace_table(text, "| median absolute error |", results_table(rows, summary_of(output)))
    text = replace_table(text, "| kind | rows (fit / held out) |", kind_table(rows))
    text = replace_table(text, "| id | kind | model |", table)
    beyond = [r for r in rows if abs(r["err"]) > 15]
    held_beyond = sum(r["half"] == "held out" for r in beyond)
    text, n = re.subn(r"Rows beyond 15%: \d+ of \d+ \(\d+ of them held out\)\.",
                      f"Rows beyond 15%: {len(beyond)} of {len(rows)} ({held_beyond} of them held out).", text)
    if n != 1:
        sys.exit("expected one 'Rows beyond 15%' line")
    tmp = args.doc + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.doc)
    print(f"{args.doc}: {len(rows)} rows, {len(beyond)} beyond 15%")


if __name__ == "__main__":
    main()
