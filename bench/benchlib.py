# SPDX-License-Identifier: MIT
"""bench/benchlib: running and timing things for bench/run.

Env builds what the benchmarks need and runs one command at a time,
timing its wall clock and the CPU time it used (RUSAGE_CHILDREN deltas,
valid because every command is waited for before the next starts).
The figures live in benchfig.py, the Markdown in benchreport.py.
"""
import os
import re
import resource
import sqlite3
import statistics
import subprocess
import time

GUESTS = ["hello", "exits", "compute", "timer", "mmio", "entropy", "rtc",
          "echo", "crash", "rdtsc", "preempt"]


class BenchError(Exception):
    pass


class Result:
    """One timed command: wall seconds, user and sys CPU seconds, rc, output."""

    def __init__(self, cmd, wall, user, sys_, rc, out, err):
        self.cmd, self.wall, self.user, self.sys = cmd, wall, user, sys_
        self.rc, self.out, self.err = rc, out, err
        self.extra = {}


def median(xs):
    return statistics.median(xs) if xs else float("nan")


class Series:
    """Repeated measurements of one case."""

    def __init__(self, name):
        self.name = name
        self.results = []

    def add(self, r):
        self.results.append(r)

    @property
    def wall(self):
        return median([r.wall for r in self.results])

    @property
    def cpu(self):
        return median([r.user + r.sys for r in self.results])

    @property
    def user(self):
        return median([r.user for r in self.results])

    @property
    def spread(self):
        """(min, max) wall seconds."""
        w = [r.wall for r in self.results]
        return (min(w), max(w)) if w else (float("nan"), float("nan"))

    def last(self):
        return self.results[-1]


LOADS = []     # the 1-minute load average before every timed command


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def interleave(reps, cases):
    """Run every case once per round, reps rounds: noise hits all alike.

    cases: list of (name, fn(round) -> Result). Returns {name: Series}.
    """
    out = {name: Series(name) for name, _ in cases}
    for r in range(reps):
        for name, fn in cases:
            LOADS.append(loadavg())
            res = fn(r)
            out[name].add(res)
            print("  [%d/%d] %-24s %9.3f s  (cpu %.3f s)" % (r + 1, reps, name, res.wall,
                                                          res.user + res.sys), flush=True)
    return out


def rec_stats(path):
    """Sizes and row counts of a recording (read-only)."""
    st = {"file": os.path.getsize(path)}
    wal = path + "-wal"
    st["wal"] = os.path.getsize(wal) if os.path.exists(wal) else 0
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        st["rows"] = con.execute("select count(*) from exit").fetchone()[0]
        st["by_reason"] = dict(con.execute(
            "select r.name, count(*) from exit e join exit_reason r on r.reason = e.reason "
            "group by e.reason").fetchall()) if _has_table(con, "exit_reason") else {}
        st["pages"] = (con.execute("pragma page_count").fetchone()[0] *
                       con.execute("pragma page_size").fetchone()[0])
        st["freelist"] = (con.execute("pragma freelist_count").fetchone()[0] *
                          con.execute("pragma page_size").fetchone()[0])
        st["meta"] = dict(con.execute("select key, value from meta").fetchall())
        try:
            st["tables"] = dict(con.execute(
                "select name, sum(pgsize) from dbstat group by name").fetchall())
        except sqlite3.Error:
            st["tables"] = {}
        st["events"] = dict(con.execute(
            "select k.name, count(*) from event e left join event_kind k on k.kind = e.kind "
            "group by e.kind").fetchall()) if _has_table(con, "event_kind") else {}
    finally:
        con.close()
    return st


def _has_table(con, name):
    return con.execute("select 1 from sqlite_master where name = ?", (name,)).fetchone() is not None


def _columns(con, table):
    return [r[1] for r in con.execute("pragma table_info(%s)" % table)]


class Env:
    def __init__(self, root, build, tmp, reps):
        self.root, self.build_dir, self.tmp, self.reps = root, build, tmp, reps
        self.kvmrr = os.path.join(build, "cli", "kvmrr")
        self.floor = os.path.join(build, "bench-floor")
        self.sessiond = None          # pid of the lttng-sessiond we started
        self.lttng_home = os.path.join(tmp, "lttng-home")
        self.quiet_home = os.path.join(tmp, "no-lttng-home")
        os.makedirs(self.lttng_home, exist_ok=True)
        os.makedirs(self.quiet_home, exist_ok=True)

    def guest(self, name):
        return os.path.join(self.build_dir, "guests", name + ".elf")

    def path(self, name):
        return os.path.join(self.tmp, name)

    # ---- building ----
    def build(self):
        if not os.path.exists(os.path.join(self.build_dir, "build.ninja")):
            self.must(["meson", "setup", self.build_dir, "--buildtype=release"], cwd=self.root)
        targets = ["cli/kvmrr"] + ["guests/%s.elf" % g for g in GUESTS]
        self.must(["ninja", "-C", self.build_dir] + targets)
        self.must(["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                   "-o", self.floor, os.path.join(self.root, "bench", "floor.c")])

    def must(self, cmd, cwd=None):
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if p.returncode != 0:
            raise BenchError("%s failed (rc %d):\n%s" % (" ".join(cmd), p.returncode, p.stdout[-3000:]))
        return p.stdout

    # ---- running ----
    def run(self, cmd, ok=(0,), expect=None, env=None, stdin=None, timeout=None):
        """Run cmd, timed. rc must be in ok and stdout+stderr must match expect."""
        e = dict(os.environ)
        e["LTTNG_HOME"] = self.quiet_home     # no session unless the caller says so
        if env:
            e.update(env)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=stdin if stdin is not None else subprocess.DEVNULL)
        try:
            out_b, err_b = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise BenchError("%s: no end after %s s" % (" ".join(cmd), timeout))
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = out_b.decode(errors="replace")
        err = err_b.decode(errors="replace")
        r = Result(cmd, wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime,
                   p.returncode, out, err)
        r.extra["pid"] = p.pid
        if p.returncode not in ok:
            raise BenchError("%s: exit status %d, wanted %s\nstdout: %s\nstderr: %s" %
                             (" ".join(cmd), p.returncode, ok, out[-1500:], err[-1500:]))
        if expect and not re.search(expect, out + err):
            raise BenchError("%s: output lacks /%s/\nstdout: %s\nstderr: %s" %
                             (" ".join(cmd), expect, out[-1500:], err[-1500:]))
        return r

    # kvmrr exit status: a guest that writes 0 to the debug-exit port ends with 1.
    def kvmrr_run(self, guest, cmdline="", expect=None, ok=(1,), extra=()):
        cmd = [self.kvmrr, "run", "-q"] + list(extra)
        if cmdline:
            cmd += ["--cmdline", cmdline]
        return self.run(cmd + [self.guest(guest)], ok=ok, expect=expect)

    def kvmrr_record(self, guest, rec, cmdline="", expect=None, ok=(1,), env=None, extra=()):
        cmd = [self.kvmrr, "record", "-q", "-f", "-o", rec] + list(extra)
        if cmdline:
            cmd += ["--cmdline", cmdline]
        r = self.run(cmd + [self.guest(guest)], ok=ok, expect=expect, env=env)
        r.extra["rec"] = rec
        return r

    def kvmrr_replay(self, rec, expect=None):
        return self.run([self.kvmrr, "replay", rec], ok=(0,),
                        expect=expect or r"identical")

    def floor_run(self, n, cpl3=False, minimal=False):
        r = self.run([self.floor] + (["--cpl3"] if cpl3 else []) + (["--min"] if minimal else []) +
                     [str(n)],
                     expect=r"floor: %d exits" % n)
        m = re.search(r"in ([0-9.]+) s", r.out)
        r.extra["loop"] = float(m.group(1))
        return r

    def qemu(self, guest, cmdline, mode, rrfile, expect):
        """QEMU/TCG with -icount record/replay (no KVM). rc 1: guest wrote 0 to 0xf4."""
        cmd = ["qemu-system-x86_64", "-M", "pc", "-m", "256", "-nographic", "-no-reboot",
               "-kernel", self.guest(guest), "-append", cmdline,
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
               "-icount", "shift=auto,rr=%s,rrfile=%s" % (mode, rrfile)]
        r = self.run(cmd, ok=(1,), expect=expect, timeout=1800)
        r.extra["rrfile"] = rrfile
        return r

    # ---- LTTng ----
    def lttng_start(self):
        """A userspace session daemon. As root it is global (/var/run/lttng): reuse a running one."""
        pidfile = "/var/run/lttng/lttng-sessiond.pid" if os.geteuid() == 0 else \
            os.path.join(self.lttng_home, ".lttng", "lttng-sessiond.pid")
        if _alive(pidfile):
            return "reused the running lttng-sessiond"
        self.must(["env", "LTTNG_HOME=" + self.lttng_home, "lttng-sessiond", "--no-kernel",
                   "--daemonize"])
        for _ in range(50):
            pid = _alive(pidfile)
            if pid:
                self.sessiond = pid
                return "started lttng-sessiond --no-kernel (pid %d)" % pid
            time.sleep(0.1)
        raise BenchError("lttng-sessiond started but no pid in %s" % pidfile)

    def lttng(self, *args):
        return self.must(["env", "LTTNG_HOME=" + self.lttng_home, "lttng"] + list(args))

    def cleanup(self):
        if self.sessiond:
            try:
                os.kill(self.sessiond, 15)
            except OSError:
                pass
            self.sessiond = None


def _alive(pidfile):
    try:
        pid = int(open(pidfile).read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return 0


def babeltrace_count(trace_dir, vpid):
    """(events by name of process vpid, events of other processes, discarded events, warnings).

    As root the session daemon is global: a session with kvmrr:* enabled also
    traces every other kvmrr process running meanwhile; the vpid context tells them apart.
    """
    p = subprocess.Popen(["babeltrace2", trace_dir], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    counts, others = {}, 0
    name_re = re.compile(r" (kvmrr:\w+): ")
    pid_re = re.compile(r"vpid = (\d+)")
    for line in p.stdout:
        m = name_re.search(line)
        if not m:
            continue
        pm = pid_re.search(line)
        if pm and int(pm.group(1)) != vpid:
            others += 1
            continue
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    err = p.stderr.read()
    p.wait()
    # Per-process buffers: a stream path names its pid (ust/pid/kvmrr-PID-DATE/...).
    discarded = others_discarded = 0
    for m in re.finditer(r"discarded (\d+) events.*?within stream \"([^\"]*)\"", err, re.S):
        if re.search(r"-%d-" % vpid, m.group(2)):
            discarded += int(m.group(1))
        else:
            others_discarded += int(m.group(1))
    return counts, (others, others_discarded), discarded, err.strip().splitlines()[:1]
