#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check a `kvmrr export --format perfetto` file against `--format csv` of the same recording.

Usage: trace_check.py TRACE.json TIMELINE.csv
Parses the JSON (strictly: no NaN), checks the Chrome trace-event shape, and
that the guest slices are the CSV's exits one for one (seq, name, ts and dur
within 1.5 ns: the CSV truncates, the JSON rounds), that each vCPU's slices do not overlap, and prints
`guest=N vmm=N inject=N threads=N` for the caller to compare with SQL.
"""
import csv, json, sys

def fail(msg):
    print(f"trace_check: {msg}", file=sys.stderr)
    sys.exit(1)

def no_nan(x):
    fail(f"non-standard JSON constant {x}")

def main():
    doc = json.load(open(sys.argv[1]), parse_constant=no_nan)
    rows = list(csv.DictReader(open(sys.argv[2], newline="")))
    events = doc.get("traceEvents")
    if not isinstance(events, list):
        fail("no traceEvents array")
    guest, vmm, inject, threads = [], [], [], {}
    for e in events:
        for key in ("ph", "pid", "tid", "name"):
            if key not in e:
                fail(f"event without {key}: {e}")
        if e["ph"] == "X":
            if not (isinstance(e["ts"], (int, float)) and isinstance(e["dur"], (int, float)) and e["dur"] >= 0):
                fail(f"bad X event {e}")
            (guest if e["cat"] == "guest" else vmm).append(e)
        elif e["ph"] == "i":
            inject.append(e)
        elif e["ph"] == "M" and e["name"] == "thread_name":
            threads[e["tid"]] = e["args"]["name"]
        elif e["ph"] != "M":
            fail(f"unexpected phase {e['ph']}")
    if len(guest) != len(rows):
        fail(f"{len(guest)} guest slices for {len(rows)} exits")
    for g, r in zip(guest, rows):
        if g["args"]["seq"] != int(r["seq"]) or g["name"] != r["reason_name"]:
            fail(f"slice {g} is not exit {r}")
        if abs(g["ts"] * 1000 - int(r["ts_ns"])) > 1.5 or abs(g["dur"] * 1000 - int(r["guest_ns"])) > 1.5:
            fail(f"slice {g} times differ from exit {r}")
        if g["tid"] not in threads:
            fail(f"slice on unnamed thread {g['tid']}")
        if r["port"] and int(g["args"]["port"], 16) != int(r["port"]):
            fail(f"slice {g} port differs from exit {r}")
        if r["data"] and g["args"]["data"] != r["data"]:
            fail(f"slice {g} data differs from exit {r}")
    for tid in threads:
        spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in guest + vmm if e["tid"] == tid)
        for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
            if b0 < a1 - 0.002:
                fail(f"overlapping slices on thread {tid}: [{a0}, {a1}] and [{b0}, {b1}]")
    print(f"guest={len(guest)} vmm={len(vmm)} inject={len(inject)} threads={len(threads)}")

if __name__ == "__main__":
    main()
