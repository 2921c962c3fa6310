# SPDX-License-Identifier: MIT
"""bench/benchfig: the figures of issue 7, each a function returning plain data."""
import os
import re
import shutil
import sqlite3
import statistics

from benchlib import BenchError, babeltrace_count, interleave, rec_stats

SMALL_N = 1000      # the exits guest at this N measures each command's fixed cost

# The lossless LTTng set-up (README "Tracing with LTTng"): a blocking channel with
# 4 x 1 MiB sub-buffers per CPU. The tracer waits for buffer space instead of
# discarding; it needs LTTNG_UST_ALLOW_BLOCKING=1 in the traced process. Measured
# against discard mode with 4 x 4 MiB sub-buffers (lossless in those rounds): the same
# cost within the noise; only blocking is lossless under any load. The default 4 x 16
# KiB is too small since the writer thread fires the events (bursts; a full blocking
# channel is retried every 100 ms) (bench/NOTES.md).
LTTNG_CHANNEL = ("--blocking-timeout=inf", "--subbuf-size=1M", "--num-subbuf=4")
LTTNG_ENV = {"LTTNG_UST_ALLOW_BLOCKING": "1"}


def exits_expect(n):
    return r"exits: %d port-IO exits at CPL0: ok" % n


def replay_expect(console):
    return r"(?s)%s.*replay: \d+ exits, identical" % console


def _lttng_record(env, guest, rec, cmdline, expect, tag, count):
    """kvmrr record while a session with kvmrr:* enabled listens; only the record is timed.

    As root the session daemon is global and other people's tests start and stop
    it too: make sure one runs before each round, and retry a round whose session
    setup failed. A failed `lttng destroy` after the record is only a warning.
    """
    sess = "kvmrr-bench-%d-%s" % (os.getpid(), tag)
    tdir = env.path("trace-" + tag)
    for attempt in range(3):
        try:
            env.lttng_start()
            env.lttng("create", sess, "--output", tdir)
            # Per-process buffers: other kvmrr processes running meanwhile are traced too;
            # their events must not crowd ours out. Blocking: lossless (LTTNG_CHANNEL).
            env.lttng("enable-channel", "-u", "--buffers-pid", "-s", sess, *LTTNG_CHANNEL, "chan")
            env.lttng("enable-event", "-u", "kvmrr:*", "-s", sess, "-c", "chan")
            env.lttng("add-context", "-u", "-t", "vpid", "-s", sess, "-c", "chan")
            env.lttng("start", sess)
            break
        except BenchError as e:
            print("  lttng session setup failed (attempt %d): %s" % (attempt + 1,
                                                                   str(e).splitlines()[0]))
            _lttng_quiet(env, "destroy", sess)
            shutil.rmtree(tdir, ignore_errors=True)
            if attempt == 2:
                raise
    try:
        r = env.kvmrr_record(guest, rec, cmdline, expect, env=dict(LTTNG_ENV, LTTNG_HOME=env.lttng_home))
    finally:
        r_warn = [w for w in (_lttng_quiet(env, "stop", sess), _lttng_quiet(env, "destroy", sess)) if w]
    r.extra["lttng_warn"] = r_warn
    if count:
        r.extra["trace"] = babeltrace_count(tdir, r.extra["pid"])
        r.extra["trace_bytes"] = _du(tdir)
    shutil.rmtree(tdir, ignore_errors=True)
    return r


def _lttng_quiet(env, verb, sess):
    try:
        env.lttng(verb, sess)
        return None
    except BenchError as e:
        msg = "lttng %s: %s" % (verb, " ".join(str(e).split())[:200])
        print("  warning: " + msg)
        return msg


def _du(d):
    return sum(os.path.getsize(os.path.join(p, f)) for p, _, fs in os.walk(d) for f in fs)


def _exit_cases(env, n, reps, with_qemu):
    exp = exits_expect(n)
    arg = "n=%d" % n
    rec = lambda r: env.path("exits-%d-%d.db" % (n, r))  # noqa: E731
    lrec = lambda r: env.path("exits-lttng-%d-%d.db" % (n, r))  # noqa: E731

    def replay(r):
        res = env.kvmrr_replay(rec(r), replay_expect(exp))
        if r < reps - 1:        # keep the last recordings for the log-size figures
            for p in (rec(r), lrec(r)):
                if os.path.exists(p):
                    os.unlink(p)
        return res

    cases = [
        ("floor", lambda r: env.floor_run(n)),
        ("floor --min", lambda r: env.floor_run(n, minimal=True)),
        ("run", lambda r: env.kvmrr_run("exits", arg, exp)),
        ("record", lambda r: env.kvmrr_record("exits", rec(r), arg, exp)),
        ("record+lttng", lambda r: _lttng_record(env, "exits", lrec(r), arg, exp,
                                                 "%d-%d" % (n, r), r == reps - 1)),
        ("replay", replay),
    ]
    if with_qemu:
        qf = lambda r: env.path("qemu-exits-%d-%d.rr" % (n, r))  # noqa: E731
        cases += [("qemu record", lambda r: env.qemu("exits", arg, "record", qf(r), exp)),
                  ("qemu replay", lambda r: env.qemu("exits", arg, "replay", qf(r), exp))]
    return cases


def fig_exit_cost(env, n, with_qemu):
    """Figure 1: N port-IO exits; every command also at SMALL_N for its fixed cost."""
    d = {"N": n, "N0": SMALL_N, "lttng_daemon": env.lttng_start()}
    small_reps = max(env.reps + 2, 5)
    print("figure 1: fixed cost, exits guest n=%d, %d rounds" % (SMALL_N, small_reps), flush=True)
    d["small"] = interleave(small_reps, _exit_cases(env, SMALL_N, small_reps, False))
    print("figure 1: exits guest n=%d, %d rounds" % (n, env.reps), flush=True)
    d["big"] = interleave(env.reps, _exit_cases(env, n, env.reps, with_qemu))
    env.cleanup()           # stop the session daemon if it is ours: nothing else needs it
    d["rec_big"] = rec_stats(d["big"]["record"].last().extra["rec"])
    d["rec_small"] = rec_stats(d["small"]["record"].last().extra["rec"])
    d["rec_lttng"] = rec_stats(d["big"]["record+lttng"].last().extra["rec"])
    d["trace"] = d["big"]["record+lttng"].last().extra.get("trace")
    d["trace_bytes"] = d["big"]["record+lttng"].last().extra.get("trace_bytes")
    d["lttng_warn"] = [w for x in d["big"]["record+lttng"].results for w in x.extra.get("lttng_warn", [])]
    d["exits"] = {"floor": (n, SMALL_N), "floor --min": (n, SMALL_N)}
    for k in d["big"]:
        if not k.startswith("floor"):
            d["exits"][k] = (d["rec_big"]["rows"], d["rec_small"]["rows"])
    d["per_exit"], d["cpu_per_exit"] = {}, {}
    for k, (nb, ns) in d["exits"].items():
        if k in d["small"]:
            d["per_exit"][k] = (d["big"][k].wall - d["small"][k].wall) / (nb - ns)
            d["cpu_per_exit"][k] = (d["big"][k].cpu - d["small"][k].cpu) / (nb - ns)
    if with_qemu:
        d["qemu_rr_bytes"] = os.path.getsize(d["big"]["qemu record"].last().extra["rrfile"])
    return d


def fig_log_size(env):
    """Figure 2: bytes per MMIO exit, and a recording of each bundled guest."""
    d = {}
    lo = rec_stats(_rec(env, "mmio", "rounds=16", "mmio-lo.db"))
    hi = rec_stats(_rec(env, "mmio", "rounds=50000", "mmio-hi.db"))
    dm = hi["by_reason"].get("MMIO", 0) - lo["by_reason"].get("MMIO", 0)
    d["mmio"] = {"lo": lo, "hi": hi, "d_mmio": dm,
                 "per_exit_table": (hi["tables"].get("exit", 0) - lo["tables"].get("exit", 0)) / dm,
                 "per_exit_file": (hi["file"] - lo["file"]) / dm}
    echo_in = env.path("echo-in.txt")
    with open(echo_in, "w") as f:
        f.write("hello\nrecord and replay\nEOF\n")
    guests = [("hello", "", (1,), []), ("exits", "n=100000", (1,), []),
              ("compute", "", (1,), []), ("timer", "", (1,), []), ("mmio", "", (1,), []),
              ("entropy", "", (1,), []), ("rtc", "", (1,), []),
              ("echo", "", (1,), ["--serial-in", echo_in]),
              ("crash", "mode=triple", (4,), []), ("rdtsc", "", (1,), []),
              ("preempt", "", (1, 8), ["--timeout", "10"])]
    d["guests"] = []
    for g, arg, ok, extra in guests:
        print("figure 2: recording %s %s" % (g, arg), flush=True)
        try:
            st = rec_stats(_rec(env, g, arg, "size-%s.db" % g, ok, extra))
            d["guests"].append((g, arg, st, None))
        except BenchError as e:
            d["guests"].append((g, arg, None, str(e).splitlines()[0]))
    return d


def _rec(env, guest, arg, name, ok=(1,), extra=()):
    return env.kvmrr_record(guest, env.path(name), arg, ok=ok, extra=extra).extra["rec"]


def _rrr_cases(env, guest, arg, expect, with_qemu, tag):
    rec = lambda r: env.path("%s-%d.db" % (tag, r))  # noqa: E731
    cases = [("run", lambda r: env.kvmrr_run(guest, arg, expect)),
             ("record", lambda r: env.kvmrr_record(guest, rec(r), arg, expect)),
             ("replay", lambda r: env.kvmrr_replay(rec(r), replay_expect(expect)))]
    if with_qemu:
        qf = lambda r: env.path("qemu-%s-%d.rr" % (tag, r))  # noqa: E731
        cases += [("qemu record", lambda r: env.qemu(guest, arg, "record", qf(r), expect)),
                  ("qemu replay", lambda r: env.qemu(guest, arg, "replay", qf(r), expect))]
    return cases


def _rrr(env, guest, arg, expect, with_qemu, tag):
    d = {"series": interleave(env.reps, _rrr_cases(env, guest, arg, expect, with_qemu, tag))}
    d["rec"] = rec_stats(d["series"]["record"].last().extra["rec"])
    if with_qemu:
        d["qemu_rr_bytes"] = os.path.getsize(d["series"]["qemu record"].last().extra["rrfile"])
    return d


def fig_compute(env, with_qemu):
    """Figure 3: the compute guest (64 MiB of SHA-256 at CPL3, few exits)."""
    print("figure 3: compute guest, %d rounds" % env.reps, flush=True)
    return _rrr(env, "compute", "", r"compute: digest ok", with_qemu, "compute")


def fig_fixed(env):
    """Figure 3b: fixed costs, the hello guest (139 exits) at 256 MiB and 1 GiB of RAM.

    Per round the commands run back to back, so the differences to `run` are taken
    pair by pair (a drifting machine moves both); the medians of those differences."""
    d = {}
    reps = max(env.reps + 2, 5)
    for mem in ("256M", "1G"):
        print("figure 3b: hello guest --mem %s, %d rounds" % (mem, reps), flush=True)
        rec = lambda r, m=mem: env.path("hello-%s-%d.db" % (m, r))  # noqa: E731
        cases = [("run", lambda r, m=mem: env.kvmrr_run("hello", "", None, extra=("--mem", m))),
                 ("record", lambda r, m=mem: env.kvmrr_record("hello", rec(r), "", None,
                                                             extra=("--mem", m))),
                 ("replay", lambda r: env.kvmrr_replay(rec(r)))]
        s = interleave(reps, cases)
        diff = {k: statistics.median(a.wall - b.wall for a, b in zip(s[k].results, s["run"].results))
                for k in ("record", "replay")}
        d[mem] = {"series": s, "diff": diff}
    return d


def fig_qemu(env, f1, f3):
    """Figure 4: QEMU -icount rr next to kvmrr; exits and compute come from figures 1 and 3."""
    print("figure 4: timer guest, %d rounds" % env.reps, flush=True)
    timer = _rrr(env, "timer", "", r"timer: 20 ticks at 1000 Hz", True, "timer")
    b = f1["big"]
    exits = {"series": {k: b[k] for k in ("run", "record", "replay", "qemu record", "qemu replay")},
             "rec": f1["rec_big"], "qemu_rr_bytes": f1["qemu_rr_bytes"]}
    return [("exits", "n=%d" % f1["N"], exits), ("timer", "", timer), ("compute", "", f3)]


def fig_scaling(env, ns, f1):
    """Figure 5: record time and size of the exits guest from 10^4 to 10^7 exits."""
    rows = []
    for n in ns:
        if n == f1["N"]:
            rows.append((n, f1["big"]["record"], f1["rec_big"], "figure 1"))
            continue
        reps = env.reps if n <= 10**6 else 1
        print("figure 5: record n=%d, %d rounds" % (n, reps), flush=True)
        path = env.path("scale-%d.db" % n)
        s = interleave(reps, [("record", lambda r: env.kvmrr_record(
            "exits", path, "n=%d" % n, exits_expect(n)))])["record"]
        st = rec_stats(path)
        if n == max(ns) and n > 10**6:
            st["seek"] = seek_spread(env, path, st["rows"])
        rows.append((n, s, st, "%d run%s" % (reps, "s" if reps > 1 else "")))
        os.unlink(path)
    return rows


def seek_spread(env, path, exits):
    """`replay --until SEQ` to seqs spread over a recording: [(SEQ, result)]."""
    seqs = [exits // 7, exits // 3, exits // 2, 2 * exits // 3, exits - 5]
    print("seek: %d seqs in %s" % (len(seqs), os.path.basename(path)), flush=True)
    return [(q, env.run([env.kvmrr, "replay", "-q", "--until", str(q), path], ok=(0,),
                        expect=r"stopped after seq")) for q in seqs]


def fig_preempt(env, ticks=1000, hz=1000):
    """Issue 9: the preemptive guest (async PIT interrupts, no exits in the tasks).

    Its tasks run at CPL0 (`cpl0`): this host's KVM gives userspace no breakpoints
    at CPL3, so only points at CPL0 can be replayed here (README, docs/async.md).

    The guest runs a fixed number of ticks, so wall time hardly moves; what recording
    costs shows as work the tasks did not do: iterations(record) / iterations(run).
    """
    arg = "cpl0 ticks=%d hz=%d" % (ticks, hz)
    exp = r"preempt: mode=work cpl0 ticks=%d" % ticks
    rec = lambda r: env.path("preempt-%d.db" % r)  # noqa: E731
    try:
        probe = env.run([env.kvmrr, "run", "-q", "--timeout", "20", "--cmdline", arg,
                         env.guest("preempt")], ok=(0, 1, 2, 4, 6, 8, 10, 12, 14))
    except BenchError as e:
        return {"error": str(e).splitlines()[0]}
    if probe.rc != 1:
        return {"error": "`kvmrr run preempt.elf` ended with status %d: %s" % (
            probe.rc, (probe.err.strip().splitlines() or ["(no message)"])[0])}
    print("issue 9: preempt guest, %d rounds" % env.reps, flush=True)
    cases = [("run", lambda r: env.kvmrr_run("preempt", arg, exp)),
             ("record", lambda r: env.kvmrr_record("preempt", rec(r), arg, exp)),
             ("replay", lambda r: env.run([env.kvmrr, "replay", "-q", rec(r)], ok=(0, 1, 2)))]
    try:
        d = {"series": interleave(env.reps, cases), "arg": arg, "hz": hz}
    except BenchError as e:
        return {"error": str(e)[:600]}
    d["rec"] = rec_stats(d["series"]["record"].last().extra["rec"])
    d["iters"] = {k: statistics.median(int(re.search(r"iterations=(\d+)", x.out).group(1))
                                       for x in d["series"][k].results)
                  for k in ("run", "record")}
    d["replays"] = []
    for x in d["series"]["replay"].results:
        lines = (x.out + x.err).splitlines()
        head = next((ln for ln in lines if ln.startswith("replay")), "(no replay line)")
        asy = next((ln for ln in lines if ln.startswith("asynchronous events")), "")
        d["replays"].append((x.rc, head, asy))
    return d


def fig_checkpoints(env, n):
    """Figure 8: checkpoints. Record of the exits guest with checkpoints off, every 2 s (the
    default) and every 0.5 s, per exit; what a checkpoint costs (time, bytes); seek latency
    (`replay --until` to seqs spread over the recording, against the same from the start);
    `replay --jobs 2` against `--jobs 1` and against the record."""
    reps = env.reps
    cmdline = "n=%d" % n
    expect = exits_expect(n)
    rec = lambda tag, r: env.path("ckpt-%s-%d.db" % (tag, r))  # noqa: E731
    cases = [("run", lambda r: env.kvmrr_run("exits", cmdline, expect)),
             ("record, no checkpoints",
              lambda r: env.kvmrr_record("exits", rec("off", r), cmdline, expect,
                                         extra=("--checkpoint-every", "0"))),
             ("record, every 2 s", lambda r: env.kvmrr_record("exits", rec("2", r), cmdline, expect)),
             ("record, every 0.5 s",
              lambda r: env.kvmrr_record("exits", rec("05", r), cmdline, expect,
                                         extra=("--checkpoint-every", "0.5")))]
    print("figure 6: checkpoints, exits guest n=%d, %d rounds" % (n, reps), flush=True)
    s = interleave(reps, cases)
    con = sqlite3.connect(rec("05", 0))
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    ck = con.execute("SELECT count(*), coalesce(sum(pages), 0) FROM checkpoint").fetchone()
    ck_bytes = con.execute("SELECT coalesce(sum(length(data)), 0) FROM checkpoint_page").fetchone()[0] + \
        con.execute("SELECT coalesce(sum(length(data)), 0) FROM vcpu_state "
                    "WHERE phase LIKE 'checkpoint %'").fetchone()[0] + \
        con.execute("SELECT coalesce(sum(length(devices) + length(async_pages)), 0) "
                    "FROM checkpoint").fetchone()[0]
    exits = con.execute("SELECT max(seq) FROM exit").fetchone()[0]
    con.close()
    path = rec("05", 0)
    seqs = [exits // 7, exits // 3, exits // 2, 2 * exits // 3, exits - 5]
    seek = []
    for q in seqs:
        seek.append(env.run([env.kvmrr, "replay", "-q", "--until", str(q), path], ok=(0,),
                            expect=r"stopped after seq"))
    full = env.run([env.kvmrr, "replay", "-q", "--from-start", "--until", str(seqs[2]), path],
                   ok=(0,), expect=r"stopped after seq")
    jcases = [("replay --jobs 1", lambda r: env.run([env.kvmrr, "replay", "-q", path], ok=(0,),
                                                    expect=r"identical")),
              ("replay --jobs 2", lambda r: env.run([env.kvmrr, "replay", "--jobs", "2", path],
                                                    ok=(0,), expect=r"each identical"))]
    j = interleave(reps, jcases)
    return {"series": s, "n": n, "count": ck[0], "pages": ck[1], "bytes": ck_bytes,
            "ckpt_ns": int(meta.get("checkpoint_ns", 0)), "seqs": seqs, "seek": seek,
            "full": full, "jobs": j, "interval": 0.5}
