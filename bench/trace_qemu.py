#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kvmrr trace's cost per exit on QEMU (issue 19), measured by hand.

Usage: bench/trace_qemu.py [BUILD_DIR] [--n N] [--rounds R]

Runs qemu-system-x86_64 -enable-kvm -M microvm with the exits guest at n=1000
and n=N, plain, under `kvmrr trace` and under `kvmrr trace --regs`, in
interleaved rounds, and prints the median wall time of each and the marginal
cost per exit, (t(N) - t(1000)) / (exits(N) - exits(1000)), which takes QEMU's
start-up and the recording's set-up out. Exits are counted in the trace.
"""
import os, resource, statistics, subprocess, sys, tempfile, time

def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def main():
    args = sys.argv[1:]
    build = args[0] if args and not args[0].startswith("--") else "build"
    n = int(args[args.index("--n") + 1]) if "--n" in args else 200000
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
    kvmrr = os.path.join(build, "cli", "kvmrr")
    guest = os.path.join(build, "guests", "exits.elf")
    qemu = ["qemu-system-x86_64", "-enable-kvm", "-M", "microvm", "-m", "64", "-nographic",
            "-no-reboot", "-net", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-serial", "stdio", "-monitor", "none", "-display", "none", "-kernel", guest]
    modes = {"qemu": [], "trace": ["--quiet"], "trace --regs": ["--quiet", "--regs"]}
    times = {(m, k): [] for m in modes for k in (1000, n)}
    cpu = {(m, k): [] for m in modes for k in (1000, n)}
    exits = {}
    tmp = tempfile.mkdtemp(prefix="kvmrr-bench-trace-")
    for _ in range(rounds):
        for k in (1000, n):
            for m, opts in modes.items():
                db = os.path.join(tmp, "t.db")
                cmd = qemu + ["-append", "n=%d" % k]
                if m != "qemu":
                    cmd = [kvmrr, "trace", "--force", "-o", db] + opts + ["--"] + cmd
                c0, t0 = child_cpu(), time.monotonic()
                p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                times[(m, k)].append(time.monotonic() - t0)
                cpu[(m, k)].append(child_cpu() - c0)
                if p.returncode != 1:
                    sys.exit("%s: status %d: %s" % (" ".join(cmd), p.returncode, p.stderr.decode()))
                if m != "qemu":
                    out = subprocess.run(["sqlite3", db, "SELECT count(*) FROM exit"],
                                         capture_output=True, text=True).stdout
                    exits[k] = int(out)
    qv = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                        text=True).stdout.splitlines()[0]
    print("%s; exits guest n=1000 (%d exits) and n=%d (%d exits), %d rounds, medians"
          % (qv, exits[1000], n, exits[n], rounds))
    print("| command | wall s (n=1000) | wall s (n=%d) | us/exit (marginal) | x qemu |"
          " cpu us/exit (marginal, all threads) | x qemu (cpu) |" % n)
    print("|---|---|---|---|---|---|---|")
    base = cbase = None
    d = (exits[n] - exits[1000]) / 1e6
    for m in modes:
        t1, t2 = statistics.median(times[(m, 1000)]), statistics.median(times[(m, n)])
        c1, c2 = statistics.median(cpu[(m, 1000)]), statistics.median(cpu[(m, n)])
        per, cper = (t2 - t1) / d, (c2 - c1) / d
        base, cbase = base or per, cbase or cper
        print("| %s | %.3f | %.3f | %.2f | %.3f | %.2f | %.3f |"
              % (m, t1, t2, per, per / base, cper, cper / cbase))

if __name__ == "__main__":
    main()
