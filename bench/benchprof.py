# SPDX-License-Identifier: MIT
"""bench/benchprof: where the CPU time per exit goes, from perf samples.

Each of run, record and replay runs the exits guest under `perf record`
(cpu-clock sampling: this host has no PMU) at a small and a large N; the
sample difference per thread and per DSO, divided by the exit difference,
is the marginal CPU cost of one exit in each part of the program, start-up
and teardown taken out. Optional: perf is not among scripts/install-deps.
"""
import os
import re
import shutil
import subprocess
import time

from benchlib import rec_stats

FREQ = 2000             # samples per second of CPU time


def _perf(env, cmd, out):
    """perf record cmd; returns the main thread's tid (the vCPU thread)."""
    e = dict(os.environ, LTTNG_HOME=env.quiet_home)
    p = subprocess.Popen(["perf", "record", "-q", "-F", str(FREQ), "-o", out, "--"] + cmd,
                         env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    err = p.communicate()[1].decode(errors="replace")
    if not os.path.exists(out):
        raise RuntimeError("perf record %s: %s" % (" ".join(cmd), err.strip()[:300]))
    return _samples(out)


def _samples(data):
    """{(tid, dso): samples} and {(dso, sym): samples}."""
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "-g", "none",
                          "--sort", "pid,dso", "-n", "--stdio"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    by_dso = {}
    for m in re.finditer(r"^\s+[\d.]+%\s+(\d+)\s+(\d+):\S+\s+(\S+)", rep, re.M):
        by_dso[(int(m.group(2)), m.group(3))] = int(m.group(1))
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "-g", "none",
                          "--sort", "dso,sym", "-n", "--stdio"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    by_sym = {}
    for m in re.finditer(r"^\s+[\d.]+%\s+(\d+)\s+(\S+)\s+\[[.k]\] (.+?)\s*$", rep, re.M):
        sym = m.group(3)
        if sym.startswith("0x"):        # no symbols for this DSO: name it instead
            sym = _short(m.group(2)) + " (no symbols)"
        key = (m.group(2), sym)
        by_sym[key] = by_sym.get(key, 0) + int(m.group(1))
    return by_dso, by_sym


def _roles(by_dso):
    """The process's first tid is the vCPU thread; the helper with the most SQLite samples
    is the writer; the rest (LTTng-UST listeners, ...) are "other threads"."""
    tids = sorted({t for t, _ in by_dso})
    roles = {t: "other threads" for t in tids}
    roles[tids[0]] = "vCPU thread"
    helpers = [(by_dso.get((t, d), 0), t) for t in tids[1:] for d in {d for _, d in by_dso}
               if "sqlite" in d]
    if helpers and max(helpers)[0] > 0:
        roles[max(helpers)[1]] = "writer thread"
    return roles


def _fold(by_dso):
    roles = _roles(by_dso)
    out = {}
    for (tid, dso), n in by_dso.items():
        key = (roles[tid], _short(dso))
        out[key] = out.get(key, 0) + n
    return out


def _short(dso):
    if dso.startswith("[kernel"):
        return "kernel"
    return re.sub(r"\.so[.\d]*$", "", os.path.basename(dso))


def fig_profile(env, n_big=100000, n_small=1000):
    if not shutil.which("perf"):
        return {"error": "perf is not installed (Debian: linux-perf)"}
    d = {"n": (n_big, n_small), "rows": {}, "syms": {}}
    rows, syms = {}, {}
    for n in (n_small, n_big):
        arg = "n=%d" % n
        rec = env.path("prof-%d.db" % n)
        cmds = {
            "run": [env.kvmrr, "run", "-q", "--cmdline", arg, env.guest("exits")],
            "record": [env.kvmrr, "record", "-q", "-f", "-o", rec, "--cmdline", arg,
                       env.guest("exits")],
            "replay": [env.kvmrr, "replay", "-q", rec],
        }
        for k, cmd in cmds.items():
            print("profile: perf record %s n=%d" % (k, n), flush=True)
            by_dso, by_sym = _perf(env, cmd, env.path("perf-%s-%d.data" % (k, n)))
            rows[(k, n)] = _fold(by_dso)
            syms[(k, n)] = by_sym
        d["exits"] = d.get("exits", {})
        d["exits"][n] = rec_stats(rec)["rows"]
    dx = d["exits"][n_big] - d["exits"][n_small]
    for k in ("run", "record", "replay"):
        big, small = rows[(k, n_big)], rows[(k, n_small)]
        d["rows"][k] = {key: (big.get(key, 0) - small.get(key, 0)) / FREQ / dx
                        for key in set(big) | set(small)}
        big, small = syms[(k, n_big)], syms[(k, n_small)]
        d["syms"][k] = {key: (big.get(key, 0) - small.get(key, 0)) / FREQ / dx
                        for key in set(big) | set(small)}
    return d


def _schedstat(pid):
    """{tid: (comm, run_ns, wait_ns)} from /proc/PID/task/*/schedstat (run-queue wait)."""
    out = {}
    base = "/proc/%d/task" % pid
    try:
        tids = os.listdir(base)
    except OSError:
        return out
    for t in tids:
        try:
            with open(os.path.join(base, t, "schedstat")) as f:
                run_ns, wait_ns = (int(x) for x in f.read().split()[:2])
            with open(os.path.join(base, t, "comm")) as f:
                comm = f.read().strip()
        except (OSError, ValueError):
            continue
        out[int(t)] = (comm, run_ns, wait_ns)
    return out


def sched_probe(env, cmd, poll=0.02):
    """Run cmd; per thread, CPU time and time spent runnable but waiting for a CPU.

    Polled every `poll` s until the process ends (the last poll misses at most that
    much). The vCPU thread is the process's first thread; the writer is the busiest
    other thread.
    """
    e = dict(os.environ, LTTNG_HOME=env.quiet_home)
    p = subprocess.Popen(cmd, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
    last = {}
    while p.poll() is None:
        st = _schedstat(p.pid)
        if st:
            last = st
        time.sleep(poll)
    vcpu = last.get(p.pid, ("", 0, 0))
    others = sorted((v[1], v) for t, v in last.items() if t != p.pid)
    writer = others[-1][1] if others and others[-1][0] > 0.05 * vcpu[1] else None
    return {"vcpu": vcpu, "writer": writer, "rc": p.returncode}


def fig_sched(env, n=300000, reps=3):
    """CPU and run-queue wait of the vCPU thread for run, record, replay (interleaved)."""
    if not os.path.exists("/proc/self/task/%d/schedstat" % os.getpid()):
        return {"error": "no /proc/*/task/*/schedstat on this kernel"}
    rec = env.path("sched.db")
    arg = "n=%d" % n
    cmds = [("run", [env.kvmrr, "run", "-q", "--cmdline", arg, env.guest("exits")]),
            ("record", [env.kvmrr, "record", "-q", "-f", "-o", rec, "--cmdline", arg,
                        env.guest("exits")]),
            ("replay", [env.kvmrr, "replay", "-q", rec])]
    d = {"n": n, "res": {k: [] for k, _ in cmds}}
    for r in range(reps):
        for k, cmd in cmds:
            print("sched: %s n=%d round %d" % (k, n, r + 1), flush=True)
            d["res"][k].append(sched_probe(env, cmd))
    d["exits"] = rec_stats(rec)["rows"]
    return d
