# SPDX-License-Identifier: MIT
"""bench/benchreport: BENCHMARKS.md from the figures' data; each section is also printed."""
import datetime
import os
import platform
import subprocess

import benchfig as bf
from benchlib import LOADS, rec_stats


def _read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def _cpu_model():
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _cpu_flags():
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _git(root, *args):
    try:
        return subprocess.run(["git", "-C", root] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True).stdout.strip()
    except OSError:
        return ""


def us(x):
    return "%.2f" % (x * 1e6)


def kb(b):
    return "%.1f KiB" % (b / 1024) if b < 10 * 1024 * 1024 else "%.1f MiB" % (b / 1048576)


def ratio(a, b):
    return "%.3f" % (a / b) if b else "n/a"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _lttng_tally(f1):
    t = f1.get("trace")
    if not t:
        return "no trace"
    return "%d events, %d discarded, %d rows" % (t[0].get("kvmrr:exit", 0), t[2],
                                                f1["rec_lttng"]["rows"])


def _lttng_lossless(f1):
    t = f1.get("trace")
    return bool(t) and t[2] == 0 and t[0].get("kvmrr:exit") == f1["rec_lttng"]["rows"]


class Report:
    def __init__(self):
        self.parts = []
        self.verdicts = []

    def add(self, text):
        self.parts.append(text)
        print(text, flush=True)

    def text(self):
        return "\n".join(self.parts)

    # ---- sections ----
    def machine(self, env, a):
        hello = env.kvmrr_record("hello", env.path("machine-hello.db"))
        meta = rec_stats(hello.extra["rec"])["meta"]
        flags = _cpu_flags()
        pvm = os.path.isdir("/sys/module/kvm_pvm")
        qv = subprocess.run(["qemu-system-x86_64", "--version"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True).stdout.splitlines()
        c0 = env.floor_run(100000, minimal=True)
        c3 = env.floor_run(100000, cpl3=True, minimal=True)
        dirty = _git(env.root, "status", "--porcelain", "--untracked-files=no")
        self.add("# kvmrr benchmarks\n\nWritten by `bench/run%s` on %s (load average %s "
                 "at the start). Every figure below comes from this one run on this one "
                 "machine; timings are medians of interleaved rounds.\n" % (
                     " --quick" if a.quick else "",
                     datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
                     " ".join(_read("/proc/loadavg").split()[:3])))
        rows = [
            ("CPU", "%s, %d logical CPUs" % (_cpu_model(), os.cpu_count() or 0)),
            ("kernel", "%s %s" % (platform.release(), platform.version())),
            ("virtualisation", "%s%s" % (
                "nested: this host is itself a guest (CPUID hypervisor bit); " if "hypervisor" in flags else "",
                "KVM is PVM-based (kvm_pvm module): guest code at CPL0 runs in KVM's instruction "
                "emulator, CPL3 code runs natively" if pvm else "KVM with hardware virtualisation")),
            ("exit floor by CPL", "raw port-IO exit (`bench/floor --min`, 10^5 exits): CPL0 %s us, CPL3 %s us" % (
                us(c0.extra["loop"] / 100000), us(c3.extra["loop"] / 100000))),
            ("tsc_khz", meta.get("tsc_khz", "?")),
            ("KVM API", meta.get("kvm_api_version", "?")),
            ("kvmrr", "%s, commit %s%s, build `%s` (meson buildtype=release)" % (
                meta.get("kvmrr_version", "?"), _git(env.root, "rev-parse", "--short", "HEAD"),
                " + uncommitted changes" if dirty else "", os.path.relpath(env.build_dir, env.root))),
            ("QEMU", qv[0] if qv else "not found"),
        ]
        self.add("## Machine\n\n" + table(["", ""], rows))

    def exit_cost(self, env, f):
        n, n0, b, s = f["N"], f["N0"], f["big"], f["small"]
        rows = []
        for k in ("floor --min", "floor", "run", "record", "record+lttng", "replay"):
            nb = f["exits"][k][0]
            pe = f["per_exit"][k]
            lo, hi = b[k].spread
            rows.append((k, nb, "%.3f" % b[k].wall, "%.3f-%.3f" % (lo, hi), "%.0f" % (nb / b[k].wall),
                         "%.3f" % s[k].wall, us(pe), "%.0f" % (1 / pe),
                         ratio(pe, f["per_exit"]["floor"]), ratio(pe, f["per_exit"]["run"]),
                         "%.3f" % b[k].cpu, us(f["cpu_per_exit"][k])))
        for k in ("qemu record", "qemu replay"):
            if k in b:
                rows.append((k + " (TCG, no KVM)", f["exits"][k][0], "%.3f" % b[k].wall,
                             "%.3f-%.3f" % b[k].spread, "%.0f" % (f["exits"][k][0] / b[k].wall),
                             "", "", "", "", "", "%.3f" % b[k].cpu, ""))
        t = f["trace"]
        if not t:
            lt = "none (no session ran)"
        else:
            counts, (others, others_disc), disc, warn = t
            lt = "events written %s; events discarded %d (babeltrace2's count)%s; log rows %d: " \
                 "%s; %d events of " \
                 "other kvmrr processes running meanwhile on this machine went to the session " \
                 "too (%d of them discarded, in their own per-process buffers); trace %s" % (
                     ", ".join("%d %s" % (v, k) for k, v in sorted(counts.items())),
                     disc,
                     (" (babeltrace2: %s)" % warn[0][:200]) if disc and warn else "",
                     f["rec_lttng"]["rows"],
                     "they agree" if counts.get("kvmrr:exit") == f["rec_lttng"]["rows"] and not disc
                     else "**they differ**",
                     others, others_disc, kb(f["trace_bytes"] or 0))
        self.add(
            "## 1. Exit cost\n\nThe exits guest (`n=%d`, CPL0 loop alternating OUTB/INB on the UART "
            "scratch register; the run makes %d exits in all, boot and console included) against "
            "the floor: `bench/floor`, raw ioctls and no project code, running %d exits of a "
            "long-mode CPL0 loop made of the same instructions as the exits guest's loop (9 or "
            "10 per exit; CPL0 code is emulated here, so they cost time), and `bench/floor "
            "--min`, the bare exit (3 instructions per exit). `x floor` compares with the "
            "first. Wall time is the whole process. The fixed "
            "cost of each command is its wall time at n=%d; the *per exit* cost is the marginal "
            "one, (t(n=%d) - t(n=%d)) / (exits difference), which takes start-up and teardown "
            "out. Ratios are of per-exit costs. cpu s = user+sys of the process, all threads "
            "(median); cpu us/exit = its marginal per exit: for kvmrr it includes KVM's "
            "in-kernel emulation of the guest (sys time) and, for record, the SQLite writer "
            "thread, which runs beside the vCPU thread when a core is free.\n\n" % (
                n, f["exits"]["run"][0], n, n0, n, n0) +
            table(["command", "exits", "wall s", "wall min-max", "exits/s (wall)",
                   "fixed s (n=%d)" % n0, "us/exit", "exits/s (marginal)", "x floor", "x run",
                   "cpu s", "cpu us/exit"], rows) +
            "\nLTTng (`record+lttng`, userspace session, lossless: blocking channel "
            "(`lttng enable-channel -u --buffers-pid %s`, LTTNG_UST_ALLOW_BLOCKING=1 in kvmrr's "
            "environment), `kvmrr:*`, one `kvmrr:exit` event per exit; "
            % " ".join(bf.LTTNG_CHANNEL) +
            "%s; %s; last round): %s.\n" % (
                f["lttng_daemon"],
                "in a private mount namespace (own /run/lttng and /dev/shm): no other session "
                "daemon or kvmrr process on the machine took part"
                if os.environ.get("KVMRR_BENCH_NS") == "private" else
                "with the machine's global root session daemon", lt) +
            ("\nLTTng warnings during the rounds (the record timings stand): %s\n" %
             "; ".join(f["lttng_warn"]) if f["lttng_warn"] else ""))

    def log_size(self, f):
        m = f["mmio"]
        rows = []
        for g, arg, st, err in f["guests"]:
            if st is None:
                rows.append((g, arg, "failed: " + err, "", "", "", "", "", ""))
                continue
            tb = st["tables"]
            rows.append((g, "`%s`" % arg if arg else "", st["rows"],
                         ", ".join("%s %d" % kv for kv in sorted(st["by_reason"].items())),
                         st["file"], tb.get("exit", 0), tb.get("mem_page", 0) + tb.get("image", 0),
                         "%.1f" % (st["file"] / st["rows"]) if st["rows"] else "",
                         st["meta"].get("end", "?")))
        self.add(
            "## 2. Log size\n\nPort IO: see figure 5 (bytes per exit at each N; marginal bytes "
            "per exit between N values). MMIO: the mmio guest at `rounds=50000` (%d MMIO exits) "
            "against `rounds=16`: **%.1f bytes per MMIO exit** in the `exit` table (dbstat), "
            "%.1f bytes per MMIO exit of file.\n\nA recording of each bundled guest (default "
            "arguments unless shown; `exit` = pages of the exit table, `state` = guest images "
            "and non-zero memory pages):\n\n" % (m["d_mmio"], m["per_exit_table"], m["per_exit_file"]) +
            table(["guest", "args", "exits", "by reason", "file bytes", "exit bytes",
                   "state bytes", "file bytes/exit", "end"], rows))

    def compute(self, f):
        s = f["series"]
        rows = [(k, "%.3f" % s[k].wall, "%.3f-%.3f" % s[k].spread, ratio(s[k].wall, s["run"].wall),
                 "%.3f" % s[k].cpu) for k in s if not k.startswith("qemu")]
        self.add("## 3. Compute guest\n\n`compute.elf`: 64 MiB xorshift stream hashed with "
                 "SHA-256 at CPL3, %d exits. Wall time of the whole process.\n\n" % f["rec"]["rows"] +
                 table(["command", "wall s", "min-max", "x run", "cpu s"], rows))

    def fixed(self, f):
        rows = []
        for mem, d in f.items():
            s = d["series"]
            for k in ("run", "record", "replay"):
                rows.append((mem, k, "%.3f" % s[k].wall, "%.3f-%.3f" % s[k].spread,
                             "%.1f" % (d["diff"][k] * 1e3) if k in d["diff"] else "",
                             "%.3f" % s[k].cpu))
        self.add("## 3b. Fixed costs\n\n`hello.elf` (139 exits) with `--mem 256M` and `--mem 1G`: "
                 "the cost of recording and replaying that does not grow with exits (initial "
                 "state, final state, the memory digest, opening and closing the file). "
                 "`- run` = median over rounds of the command's wall time minus `kvmrr run`'s in "
                 "the same round.\n\n" +
                 table(["RAM", "command", "wall s", "min-max", "- run ms", "cpu s"], rows))

    def checkpoints(self, f):
        s, n = f["series"], f["n"]
        run = s["run"].wall
        rows = [(k, "%.3f" % v.wall, us(v.wall / n), ratio(v.wall, run), ratio(v.cpu, s["run"].cpu))
                for k, v in s.items()]
        per = f["ckpt_ns"] / f["count"] / 1e6 if f["count"] else 0
        seek = [(str(q), "%.3f" % r.wall) for q, r in zip(f["seqs"], f["seek"])]
        j = f["jobs"]
        rec2 = s["record, every 2 s"].wall
        self.add("## 8. Checkpoints\n\n`exits.elf n=%d`. Record with checkpoints off, every 2 s "
                 "(the default) and every 0.5 s; ratios against `kvmrr run` in the same rounds.\n\n"
                 % n + table(["command", "wall s", "us/exit", "x run (wall)", "x run (cpu)"], rows) +
                 "\nCheckpoints every %.1f s: %d taken, %d pages in all, %s of file, %.2f ms each on "
                 "the vCPU thread (settle, snapshot, pages, the wait for the writer's batch).\n\n"
                 % (f["interval"], f["count"], f["pages"], kb(f["bytes"]), per) +
                 "Seek: `kvmrr replay --until SEQ` from the latest checkpoint before SEQ (wall s); "
                 "from the start to seq %d: %.3f s.\n\n" % (f["seqs"][2], f["full"].wall) +
                 table(["SEQ", "wall s"], seek) +
                 "\nParallel replay of the same recording (segments between checkpoints): "
                 "`--jobs 1` %.3f s, `--jobs 2` %.3f s (x%.2f), record %.3f s.\n\n"
                 % (j["replay --jobs 1"].wall, j["replay --jobs 2"].wall,
                    j["replay --jobs 2"].wall / j["replay --jobs 1"].wall, rec2))

    def qemu(self, rows_in):
        rows = []
        for g, arg, d in rows_in:
            s = d["series"]
            rows.append((g, "`%s`" % arg if arg else "", "%.3f" % s["record"].wall,
                         "%.3f" % s["replay"].wall, d["rec"]["file"],
                         "%.3f" % s["qemu record"].wall, "%.3f" % s["qemu replay"].wall,
                         d["qemu_rr_bytes"], ratio(s["qemu record"].wall, s["record"].wall),
                         ratio(s["qemu replay"].wall, s["replay"].wall)))
        self.add("## 4. QEMU record/replay\n\n`qemu-system-x86_64 -M pc -m 256 -kernel GUEST.elf "
                 "-icount shift=auto,rr=record|replay,rrfile=F` with isa-debug-exit. **QEMU's "
                 "record/replay runs under TCG, without KVM**; it also boots through SeaBIOS. "
                 "Every QEMU run was checked to print the guest's result line. QEMU logs only "
                 "non-deterministic inputs (its device models are deterministic under icount), "
                 "so its file does not grow with exits that a device answers from its own state; "
                 "kvmrr logs every exit.\n\n" +
                 table(["guest", "args", "kvmrr record s", "kvmrr replay s", "kvmrr bytes",
                        "qemu record s", "qemu replay s", "qemu rr bytes", "qemu/kvmrr record",
                        "qemu/kvmrr replay"], rows))

    def scaling(self, rows_in):
        rows = []
        prev = None
        for n, s, st, note in rows_in:
            marg = ""
            if prev:
                marg = us((s.wall - prev[1].wall) / (st["rows"] - prev[2]["rows"]))
            rows.append((n, st["rows"], "%.3f" % s.wall, us(s.wall / st["rows"]), marg,
                         st["file"], "%.2f" % (st["file"] / st["rows"]),
                         "%.2f" % (st["tables"].get("exit", 0) / st["rows"]), note))
            prev = (n, s, st)
        self.add("## 5. Scaling (exits guest, `kvmrr record`)\n\nus/exit = wall / exits (fixed "
                 "cost included); marginal = time difference to the previous row / exits "
                 "difference. exit B/exit = pages of the `exit` table per row (dbstat).\n\n" +
                 table(["N", "exits", "record s", "us/exit", "marginal us/exit", "file bytes",
                        "file B/exit", "exit B/exit", "timing"], rows))
        for n, s, st, note in rows_in:
            if st.get("seek"):
                self.add("\nSeek in the %d-exit recording: `kvmrr replay --until SEQ` from its latest "
                         "checkpoint (wall s): %s.\n" % (st["rows"], ", ".join(
                             "%d: %.3f" % (q, r.wall) for q, r in st["seek"])))
        self._scaling = rows_in

    def preempt(self, d):
        head = "## 6. Asynchronous interrupts (issue 9)\n\n"
        if "error" in d:
            self.add(head + "Not measured: %s\n" % d["error"])
            return
        s = d["series"]
        ev = d["rec"]["events"]
        n_async = ev.get("async_irq", 0)
        rows = [(k, "%.3f" % s[k].wall, "%.3f-%.3f" % s[k].spread, ratio(s[k].wall, s["run"].wall),
                 "%.3f" % s[k].cpu) for k in s]
        it_run, it_rec = d["iters"]["run"], d["iters"]["record"]
        lost = (1 - it_rec / it_run) / d["hz"] if it_run else float("nan")
        ok = sum(1 for rc, _, _ in d["replays"] if rc == 0)
        rep = "\n".join("- round %d: exit status %d: %s%s" % (i + 1, rc, h[:400], ("; " + a) if a else "")
                        for i, (rc, h, a) in enumerate(d["replays"]))
        self.add(head + "`preempt.elf %s`: three CPL3 tasks that make no exits, switched by PIT "
                 "IRQ0; the recording holds %d exits and events %s. The guest runs a fixed number "
                 "of ticks, so wall time mostly measures start-up, teardown and replay's search; "
                 "what recording costs the guest shows as work its tasks did not do.\n\n" % (
                     d["arg"], d["rec"]["rows"],
                     ", ".join("%s %d" % kv for kv in sorted(ev.items())) or "none") +
                 table(["command", "wall s", "min-max", "x run", "cpu s"], rows) +
                 "\nTask iterations (median): run %d, record %d (x%.3f): recording took about "
                 "**%s us of guest time per asynchronous event** (%d events; kick, state, dirty "
                 "pages, digest, all inside the tick period; the iteration count also moves with "
                 "the host's load, so a few us either way is noise).\n\nReplay: %d of %d rounds identical.\n%s\n" % (
                     it_run, it_rec, it_rec / it_run if it_run else float("nan"), us(lost),
                     n_async, ok, len(d["replays"]), rep))

    def targets(self, f1, f2, f5, f3, f3b):
        pe = f1["per_exit"]
        marg = []
        for i in range(1, len(f5)):
            (_, s0, r0, _), (_, s1, r1, _) = f5[i - 1], f5[i]
            marg.append((s1.wall - s0.wall) / (r1["rows"] - r0["rows"]))
        flat = max(marg) / min(marg) if marg else float("nan")
        big, prev = f5[-1], f5[-2]
        bst = big[2]
        pio_b = (big[2]["tables"].get("exit", 0) - prev[2]["tables"].get("exit", 0)) / \
            (big[2]["rows"] - prev[2]["rows"])
        cp = f1["cpu_per_exit"]
        rows = [
            ("record within 5% of run per exit (wall)", "x%.3f" % (pe["record"] / pe["run"]),
             pe["record"] <= 1.05 * pe["run"]),
            ("record within 5% of run per exit (CPU, all threads)", "x%.3f" % (cp["record"] / cp["run"]),
             cp["record"] <= 1.05 * cp["run"]),
            ("record with LTTng within 10% of run per exit (wall)",
             "x%.3f" % (pe["record+lttng"] / pe["run"]), pe["record+lttng"] <= 1.10 * pe["run"]),
            ("record with LTTng within 10% of run per exit (CPU)",
             "x%.3f" % (cp["record+lttng"] / cp["run"]), cp["record+lttng"] <= 1.10 * cp["run"]),
            ("record with LTTng lossless: kvmrr:exit events = log rows, 0 discarded",
             _lttng_tally(f1), _lttng_lossless(f1)),
            ("compute guest: record within 5% of run (wall)",
             "x%.3f" % (f3["series"]["record"].wall / f3["series"]["run"].wall),
             f3["series"]["record"].wall <= 1.05 * f3["series"]["run"].wall),
            ("compute guest: replay within 5% of run (wall)",
             "x%.3f" % (f3["series"]["replay"].wall / f3["series"]["run"].wall),
             f3["series"]["replay"].wall <= 1.05 * f3["series"]["run"].wall),
            ("record of hello with --mem 1G within 50 ms of run (wall)",
             "%+.1f ms" % (f3b["1G"]["diff"]["record"] * 1e3), f3b["1G"]["diff"]["record"] <= 0.050),
            ("replay at least as fast as record (per exit, wall)",
             "%s vs %s us" % (us(pe["replay"]), us(pe["record"])), pe["replay"] <= pe["record"]),
            ("replay at least as fast as record (per exit, CPU)",
             "%s vs %s us" % (us(cp["replay"]), us(cp["record"])), cp["replay"] <= cp["record"]),
            ("replay at least as fast as record (wall, n=%d)" % f1["N"],
             "%.3f vs %.3f s" % (f1["big"]["replay"].wall, f1["big"]["record"].wall),
             f1["big"]["replay"].wall <= f1["big"]["record"].wall),
            ("<= 32 bytes per port-IO exit (exit table, marginal %d->%d)" % (prev[0], big[0]),
             "%.2f B" % pio_b, pio_b <= 32),
            ("<= 32 bytes per port-IO exit (whole file, n=%d)" % big[0],
             "%.2f B" % (bst["file"] / bst["rows"]), bst["file"] / bst["rows"] <= 32),
            ("flat cost per exit %d..%d (max/min marginal <= 1.25)" % (f5[0][0], f5[-1][0]),
             "%.3f" % flat, flat <= 1.25),
        ]
        self.add("## Targets\n\n" + table(["target", "measured", "met"],
                                          [(a, b, "yes" if c else "**no**") for a, b, c in rows]))

    def profile(self, d):
        if "error" in d:
            self.add("## 7. Where the time per exit goes\n\nNot measured: %s\n" % d["error"])
            return
        cols = ["kernel", "kvmrr", "libsqlite3", "libcrypto", "libc"]
        rows = []
        for k in ("run", "record", "replay"):
            r = d["rows"][k]
            for th in sorted({t for t, _ in r}):
                vals = [r.get((th, c), 0) for c in cols]
                other = sum(v for (t, c), v in r.items() if t == th and c not in cols)
                tot = sum(vals) + other
                if abs(tot) < 0.05e-6 and th != "vCPU thread":
                    continue
                rows.append([k, th] + [us(v) for v in vals] + [us(other), us(tot)])
        syms = []
        for k in ("record", "replay"):
            top = sorted(((v, key) for key, v in d["syms"][k].items()
                          if not key[0].startswith("[kernel")), reverse=True)[:8]
            syms.append("- %s: %s" % (k, ", ".join("%s %s us" % (key[1], us(v)) for v, key in top)))
        self.add("## 7. Where the time per exit goes\n\n`perf record -F 2000` (cpu-clock; no "
                 "PMU here) of each command on the exits guest at n=%d and n=%d; the sample "
                 "difference per thread and per DSO over the exit difference is the marginal CPU "
                 "cost of one exit, in us (sampling noise is about 0.1 us).\n\n" % d["n"] +
                 table(["command", "thread"] + cols + ["other", "total"], rows) +
                 "\nTop userspace symbols per exit (marginal, us):\n\n" + "\n".join(syms) + "\n")

    def sched(self, d):
        if "error" in d:
            self.add("Scheduler view: not measured: %s\n" % d["error"])
            return
        med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
        rows = []
        for k, res in d["res"].items():
            v_run = med([x["vcpu"][1] for x in res]) / 1e9
            v_wait = med([x["vcpu"][2] for x in res]) / 1e9
            ws = [x["writer"] for x in res if x["writer"]]
            w_run = "%.3f" % (med([w[1] for w in ws]) / 1e9) if ws else ""
            w_wait = "%.3f" % (med([w[2] for w in ws]) / 1e9) if ws else ""
            rows.append((k, "%.3f" % v_run, "%.3f" % v_wait, us(v_wait / d["exits"]), w_run, w_wait))
        self.add("Scheduler view (`/proc/PID/task/TID/schedstat`, exits guest n=%d, %d exits, "
                 "median of %d interleaved rounds): the CPU time of each thread and the time it "
                 "was runnable but waited for a CPU. Wait on the vCPU thread is wall time the "
                 "guest lost to other threads, ours or not.\n\n" % (
                     d["n"], d["exits"], len(next(iter(d["res"].values())))) +
                 table(["command", "vCPU cpu s", "vCPU wait s", "vCPU wait us/exit",
                        "writer cpu s", "writer wait s"], rows))

    def footer(self, secs, env):
        ld = sorted(LOADS) or [float("nan")]
        self.add("---\nbench/run took %.0f s. 1-minute load average before the %d timed "
                 "commands: min %.2f, median %.2f, max %.2f (this machine has %d CPUs; a load "
                 "above 1 means other work shared them and the wall times carry its noise).\n" % (
                     secs, len(LOADS), ld[0], ld[len(ld) // 2], ld[-1], os.cpu_count() or 0))
