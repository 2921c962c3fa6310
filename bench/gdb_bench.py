#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Numbers for `kvmrr replay --gdb` (BENCHMARKS.md, issue 15), with Debian's gdb:
reverse-continue and reverse-stepi latency deep in a recording, breakpoint
hits per second, and the server's memory (VmHWM, checkpoints in memory
included) after a debugging script.

    bench/gdb_bench.py BUILD REC.db BREAK_ADDR SEQ

REC.db: e.g. `kvmrr record -o exits.db --cmdline n=1000000 build/guests/exits.elf`;
BREAK_ADDR: an instruction of its CPL0 loop (the OUT in storm); SEQ: where
to start (monitor seek)."""
import os, re, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gdb"))
os.environ.setdefault("KVMRR_BUILD_DIR", sys.argv[1])
import gdb_lib  # noqa: E402

BODY = """
def timed(cmd):
    t = time.time()
    gdb.execute(cmd, to_string=True)
    return time.time() - t
gdb.execute("monitor seek %(seq)d")
gdb.execute("maint flush register-cache")
gdb.execute("hbreak *%(addr)s")
t = timed("continue")
n = 2000
t0 = time.time()
for i in range(n):
    gdb.execute("continue", to_string=True)
hits = n / (time.time() - t0)
rc = [timed("reverse-continue") for i in range(5)]
gdb.execute("delete")
for i in range(30):
    gdb.execute("stepi", to_string=True)
rs = [timed("reverse-stepi") for i in range(10)]
seq = gdb.execute("monitor seq", to_string=True).split()[1]
print("BENCH hits_per_s=%%.0f reverse_continue_s=%%s reverse_stepi_s=%%s at_seq=%%s" %% (
    hits, ",".join("%%.3f" %% x for x in rc), ",".join("%%.3f" %% x for x in rs), seq))
"""


def main():
    rec, addr, seq = sys.argv[2], sys.argv[3], int(sys.argv[4])
    srv = gdb_lib.Server(rec)
    try:
        ok, out = gdb_lib.run_gdb(srv.port, BODY % {"seq": seq, "addr": addr}, timeout=1800)
        with open(f"/proc/{srv.p.pid}/status") as f:
            hwm = re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)
    finally:
        srv.stop()
    line = re.search(r"BENCH .*", out)
    print(line.group(0) if line else out[-3000:])
    print(f"server VmHWM {int(hwm) / 1024:.0f} MiB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
