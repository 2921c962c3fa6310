#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/ab_lttng.py: two builds side by side, per exit: run, record, record+LTTng.

Usage: bench/ab_lttng.py [--reps R] [--n N0,N1] BUILD_A BUILD_B

Each round runs every case once, interleaved (A and B alike), on the exits
guest at two exit counts; the per-exit cost is (t(N1) - t(N0)) / (rows(N1) -
rows(N0)), medians of R rounds, wall and CPU (user+sys). record+LTTng runs
under a lossless session (blocking channel) with LTTng's default sub-buffers
and with bench/run's (4 x 1 MiB); every such round prints the kvmrr:exit
events written, discarded and the log's rows. Builds: meson build dirs
(buildtype=release) with cli/kvmrr and guests/exits.elf built. As root, run
it like bench/run in a mount namespace of its own (private /run/lttng and
/dev/shm), so other LTTng daemons and kvmrr processes stay out.
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchfig as bf  # noqa: E402
import benchlib as bl  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHANNELS = {"record+lttng": ("--blocking-timeout=inf",),
            "record+lttng 1M": ("--blocking-timeout=inf", "--subbuf-size=1M", "--num-subbuf=4")}
MODES = ["run", "record"] + list(CHANNELS)


def lttng_record(env, rec, arg, exp, tag, chan):
    bf.LTTNG_CHANNEL = chan      # _lttng_record reads it at each call
    r = bf._lttng_record(env, "exits", rec, arg, exp, tag, True)
    r.extra["rows"] = bl.rec_stats(rec)["rows"]     # this round's file, before the next overwrites it
    return r


def cases_of(envs, ns):
    cases = []
    for n in ns:
        exp, arg = bf.exits_expect(n), "n=%d" % n
        for k, e in envs.items():
            rec = e.path("rec-%s-%d.db" % (k, n))
            lrec = e.path("lttng-%s-%d.db" % (k, n))
            cases += [("%s run %d" % (k, n), lambda r, e=e, a=arg, x=exp: e.kvmrr_run("exits", a, x)),
                      ("%s record %d" % (k, n),
                       lambda r, e=e, a=arg, x=exp, f=rec: e.kvmrr_record("exits", f, a, x))]
            for m, chan in CHANNELS.items():
                cases.append(("%s %s %d" % (k, m, n),
                              lambda r, e=e, a=arg, x=exp, f=lrec, k=k, n=n, m=m, c=chan:
                              lttng_record(e, f, a, x, "%s-%d-%d-%d" % (k, n, r, len(c)), c)))
    return cases


def report(s, builds, ns, reps):
    loads = [x for x in bl.LOADS if x == x]
    print("\nload (1-minute average before each command): median %.2f, %.2f-%.2f"
          % (statistics.median(loads), min(loads), max(loads)))
    for name, ser in s.items():
        for i, r in enumerate(ser.results):
            if "trace" in r.extra:
                t, rows = r.extra["trace"], r.extra["rows"]
                print("%-24s round %d: kvmrr:exit events %d, discarded %d, log rows %d"
                      % (name, i + 1, t[0].get("kvmrr:exit", 0), t[2], rows))
    n0, n1 = ns
    print("\nper exit: (N=%d minus N=%d) / exits, medians of %d rounds" % (n1, n0, reps))
    print("%-20s %12s %12s %10s %10s" % ("", "wall us", "cpu us", "x run wall", "x run cpu"))
    res = {}
    for k in builds:
        rows = [bl.rec_stats(s["%s record %d" % (k, n)].last().extra["rec"])["rows"] for n in ns]
        for m in MODES:
            big, small = s["%s %s %d" % (k, m, n1)], s["%s %s %d" % (k, m, n0)]
            res[(k, m)] = ((big.wall - small.wall) / (rows[1] - rows[0]) * 1e6,
                           (big.cpu - small.cpu) / (rows[1] - rows[0]) * 1e6)
        for m in MODES:
            w, c = res[(k, m)]
            print("%-20s %12.2f %12.2f %10.3f %10.3f" % ("%s %s" % (k, m), w, c, w / res[(k, "run")][0],
                                                        c / res[(k, "run")][1]))
    print("\nB / A per exit: " + "; ".join("%s wall %.3f cpu %.3f" % (
        m, res[("B", m)][0] / res[("A", m)][0], res[("B", m)][1] / res[("A", m)][1]) for m in MODES))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--n", default="1e4,3e5", help="the two exit counts, comma-separated")
    p.add_argument("build_a")
    p.add_argument("build_b")
    a = p.parse_args()
    ns = [int(float(x)) for x in a.n.split(",")]
    builds = {"A": a.build_a, "B": a.build_b}
    tmp = tempfile.mkdtemp(prefix="kvmrr-ab-")
    envs = {k: bl.Env(ROOT, b, tmp, a.reps) for k, b in builds.items()}
    for e in envs.values():      # one session daemon and LTTNG_HOME for both
        e.lttng_home = envs["A"].lttng_home
    print("lttng: %s; namespace: %s" % (envs["A"].lttng_start(), os.environ.get("KVMRR_BENCH_NS", "shared")))
    try:
        s = bl.interleave(a.reps, cases_of(envs, ns))
    finally:
        envs["A"].cleanup()
    report(s, builds, ns, a.reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
