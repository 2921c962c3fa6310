#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/gdb (suite 'gdb'): Debian's gdb on `kvmrr replay --gdb`, forwards and
backwards, on recordings of the CPL0 guest gdbt (breakpoints and single steps
work at CPL0 on every host, at CPL3 not on this one). TAP on stdout."""
import os, re, shutil, sqlite3, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdb_lib import GUEST, KVMRR, Raw, Server, Tap, frame, record, run_gdb

ROUNDS = 20


def case_gdb(tap, rec, name, body, must=(), elf=None):
    """gdb runs body (its asserts); must: text gdb prints outside what to_string catches."""
    srv = Server(rec)
    try:
        ok, out = run_gdb(srv.port, body, elf=elf)
    finally:
        srv.stop()
    missing = [m for m in must if out.count(m[0]) != m[1]]
    return tap.ok(ok and not missing, name, f"{out}\nmissing: {missing}\n--- server stderr ---\n{srv.stderr()}")


BREAK_CONTINUE = """
assert gpr("rip") == 0x100000, hex(gpr("rip"))
assert var("gdbt_counter") == 0
gdb.execute("break gdbt_tick")
seen = []
for k in range(3):
    gdb.execute("continue")
    assert gdb.selected_frame().name() == "gdbt_tick"
    assert gpr("rdi") == k, (k, gpr("rdi"))
    assert var("gdbt_counter") == k * (k + 1) // 2, var("gdbt_counter")
    seen.append(regs())
gdb.execute("reverse-continue")
assert gdb.selected_frame().name() == "gdbt_tick"
assert regs() == seen[1], "registers differ from the second forward hit"
assert var("gdbt_counter") == 1
out = run("reverse-continue")
assert regs() == seen[0], "registers differ from the first forward hit"
assert var("gdbt_counter") == 0
out = run("continue")
assert regs() == seen[1]
"""

STEPI_PAIRS = """
gdb.execute("break gdbt_tick")
run("continue")
run("continue")
gdb.execute("delete")
moved_seq = False
seq0 = run("monitor seq")
for i in range(20):
    before = regs()
    run("stepi")
    after = regs()
    assert after != before
    run("reverse-stepi")
    assert regs() == before, "pair %d: reverse-stepi did not give back the registers" % i
    run("stepi")
    assert regs() == after, "pair %d: stepi again differs" % i
seq1 = run("monitor seq")
assert seq0.split()[1] != seq1.split()[1], "20 steps never crossed an exit: " + seq0 + seq1
"""

NO_BP_BEGIN = """
gdb.execute("break gdbt_tick")
run("continue")
run("continue")
gdb.execute("delete")
gdb.execute("reverse-continue")
assert gpr("rip") == 0x100000, hex(gpr("rip"))
assert var("gdbt_counter") == 0
gdb.execute("reverse-stepi")
assert gpr("rip") == 0x100000, hex(gpr("rip"))
"""

WATCH = """
gdb.execute("break gdbt_tick")
run("continue")
gdb.execute("delete")
gdb.execute("watch gdbt_counter")
gdb.execute("continue")
assert var("gdbt_counter") == 1, var("gdbt_counter")
assert gdb.selected_frame().name() == "gdbt_tick"
first = regs()
gdb.execute("continue")
assert var("gdbt_counter") == 3, var("gdbt_counter")
gdb.execute("reverse-continue")
assert var("gdbt_counter") == 1, var("gdbt_counter")
assert regs() == first, "reverse-continue to the watchpoint: registers differ"
"""

SEEK = """
gdb.execute("monitor seek %d")
gdb.execute("maint flush register-cache")
print("STATE rip=%%016x rax=%%016x rbx=%%016x rcx=%%016x rdx=%%016x rsp=%%016x cr3=%%016x" %% (
    gpr("rip"), gpr("rax"), gpr("rbx"), gpr("rcx"), gpr("rdx"), gpr("rsp"), gpr("cr3")))
"""

NEXT_PREV = """
gdb.execute("monitor seek 10")
out = run("monitor next reason=IO port=0x3f8")
m = re.search(r"exit (\\d+): IO out port 0x3f8", out)
assert m, out
a = int(m.group(1))
out = run("monitor next reason=IO port=0x3f8")
b = int(re.search(r"exit (\\d+): IO out port 0x3f8", out).group(1))
assert b > a, (a, b)
out = run("monitor prev port=0x3f8")
assert int(re.search(r"exit (\\d+): IO out", out).group(1)) == a, out
gdb.execute("maint flush register-cache")
print("NEXTPREV %d %d" % (a, b))
out = run("monitor exits 3")
rows = re.findall(r"exit (\\d+): ", out)
assert [int(r) for r in rows] == [a + 1, a + 2, a + 3], out
assert "seek SEQ" in run("monitor help")
try:
    run("monitor next reason=bogus")
    raise AssertionError("a bad filter was accepted")
except gdb.error:
    pass
"""

END_AND_LIMITS = """
for f in ("gdbt_tick", "main", "rt_putc"):
    gdb.execute("hbreak " + f)
try:
    gdb.execute("hbreak rt_exit")
    run("continue")
    raise AssertionError("a fourth hardware breakpoint was accepted")
except gdb.error as e:
    pass
gdb.execute("delete")
try:
    gdb.execute("set var gdbt_counter = 5")
    raise AssertionError("a memory write was accepted")
except gdb.error:
    pass
try:
    run("x/2xg 0xffff800000000000")
    raise AssertionError("an unmapped read gave data")
except gdb.error:
    pass
gdb.execute("continue")
gdb.execute("break gdbt_tick")
gdb.execute("reverse-continue")
assert gpr("rdi") == %d, gpr("rdi")
assert var("gdbt_counter") == %d, var("gdbt_counter")
""" % (ROUNDS - 1, (ROUNDS - 1) * ROUNDS // 2)

DETACH = """
gdb.execute("break gdbt_tick")
run("continue")
run("continue")
print("RIP1 %x" % gpr("rip"))
gdb.execute("detach")
"""

REATTACH = """
print("RIP2 %x RDI %d" % (gpr("rip"), gpr("rdi")))
"""


PREEMPT = """
gdb.execute("break tick")
seen = []
for k in range(4):
    gdb.execute("continue")
    assert gdb.selected_frame().name() == "tick"
    seen.append(regs())
gdb.execute("reverse-continue")
assert regs() == seen[2], "reverse-continue over asynchronous points: registers differ"
gdb.execute("delete")
for i in range(10):
    before = regs()
    run("stepi")
    run("reverse-stepi")
    assert regs() == before, "pair %d differs" % i
    run("stepi")
gdb.execute("continue")
"""

DIVERGE = """
gdb.execute("continue")
gdb.execute("monitor seek 10")
gdb.execute("maint flush register-cache")
out = run("monitor seq")
assert "seq 10 " in out and "replaying" in out, out
"""

CTRL_C = """
import os, signal, threading
threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
t = time.time()
gdb.execute("continue")
print("INTERRUPTED after %.2f s at %x" % (time.time() - t, gpr("rip")))
assert time.time() - t < 20
gdb.execute("stepi")
"""


def until_state(rec, seq):
    p = subprocess.run([KVMRR, "replay", "-q", "--until", str(seq), rec], capture_output=True, text=True,
                       timeout=120)
    regs = dict(re.findall(r"(\w+)\s*=([0-9a-f]{16})", p.stdout + p.stderr))
    return "STATE " + " ".join(f"{k}={regs[k]}" for k in ("rip", "rax", "rbx", "rcx", "rdx", "rsp", "cr3"))


def case_seek(tap, rec):
    db = sqlite3.connect(rec)
    seq = db.execute("SELECT max(seq) FROM exit WHERE seq < 80 AND reason = 2 AND dir = 1").fetchone()[0]
    db.close()
    srv = Server(rec)
    try:
        ok, out = run_gdb(srv.port, SEEK % seq)
    finally:
        srv.stop()
    want = until_state(rec, seq)
    got = re.search(r"STATE .*", out)
    tap.ok(ok and got and got.group(0) == want, f"monitor seek {seq} equals kvmrr replay --until {seq} "
           "(an OUT: the same before and after completion)", f"{out}\nwant {want}")


def case_parser(tap, rec):
    srv = Server(rec)
    try:
        c = Raw(srv.port)
        c.send(b"$g#00")
        bad = c.read_until(lambda b: b"-" in b, 10)
        c.buf = b""
        c.send(b"$" + b"q" * 10000 + b"#00")            # oversized: dropped whole
        over = c.read_until(lambda b: b"-" in b, 10)
        c.buf = b""
        c.send(b"$m1000")                                  # truncated, then a new packet starts
        reply = c.ask(b"m100000,4")
        empty = c.ask(b"qNoSuchThing")
        noaddr = c.ask(b"m1,")
        write = c.ask(b"M100000,1:00")
        zbad = c.ask(b"Z9,1,1")
        c.send(b"+" * 5 + b"\x00garbage")
        alive = c.ask(b"qC")
        c.close()
    finally:
        srv.stop()
    tap.ok(bad and over and re.fullmatch(rb"fa[0-9a-f]{6}", reply or b"") and empty == b"" and noaddr == b"E16" and write == b"E01"
           and zbad == b"" and alive == b"QC01",
           "malformed, truncated, oversized packets and bad checksums: '-' or an error, then still served",
           f"{bad} {over} {reply} {empty} {noaddr} {write} {zbad} {alive}")


def case_interrupt(tap, tmp):
    rec = record(tmp, "spin", "rounds=3 spin=3000000")
    srv = Server(rec)
    try:
        c = Raw(srv.port)
        c.ask(b"qSupported")
        c.send(frame(b"c"))
        time.sleep(0.5)
        t0 = time.time()
        c.send(b"\x03")
        stop = c.packet(10)
        latency = time.time() - t0
        spins = c.ask(b"qSymbol::")   # a harmless packet after the stop
        c.ask(b"D")
        c.close()
        c = Raw(srv.port)                                  # reconnect after the detach
        again = c.ask(b"?")
        c.ask(b"vKill;1")
        c.close()
        status = srv.p.wait(timeout=30)
    finally:
        srv.stop()
    print(f"# interrupt latency {latency * 1000:.1f} ms")
    tap.ok(stop is not None and stop.startswith(b"T02") and latency < 0.1 and spins is not None,
           f"0x03 stops a long continue within 100 ms ({latency * 1000:.1f} ms)", f"{stop} {latency}")
    tap.ok(again is not None and again.startswith(b"T05") and status == 0,
           "reconnect after D, then vKill ends the server with status 0", f"{again} {status}")


def case_reattach(tap, rec):
    srv = Server(rec)
    try:
        ok1, out1 = run_gdb(srv.port, DETACH)
        ok2, out2 = run_gdb(srv.port, REATTACH)
    finally:
        srv.stop()
    a = re.search(r"RIP1 (\w+)", out1)
    b = re.search(r"RIP2 (\w+) RDI (\d+)", out2)
    tap.ok(ok1 and ok2 and a and b and a.group(1) == b.group(1) and b.group(2) == "1",
           "gdb detaches and a second gdb finds the replay where the first left it", out1 + out2)


def main():
    tap = Tap(15)
    with tempfile.TemporaryDirectory() as tmp:
        rec = record(tmp, "gdbt", f"rounds={ROUNDS}")
        case_gdb(tap, rec, "break at a CPL0 function, continue 3x, read a variable and registers, "
                 "reverse-continue: registers equal to the forward visits", BREAK_CONTINUE)
        case_gdb(tap, rec, "stepi then reverse-stepi, 20 pairs across an exit: registers identical", STEPI_PAIRS)
        case_gdb(tap, rec, "reverse-continue with no breakpoint ends at the start: No more reverse-execution "
                 "history", NO_BP_BEGIN, must=[("No more reverse-execution history", 2)])
        case_gdb(tap, rec, "a watchpoint on the memory counter, then reverse-continue to the last write", WATCH,
                 must=[("Old value = 0", 1), ("New value = 1", 2), ("New value = 3", 1)])
        case_seek(tap, rec)
        case_gdb(tap, rec, "monitor next/prev reason=IO port=0x3f8: forwards and backwards; monitor exits 3, help", NEXT_PREV)
        case_gdb(tap, rec, "3 hardware breakpoints at most, writes refused, unmapped reads an error, the end "
                 "of the recording a stop with its explanation, then back from it", END_AND_LIMITS,
                 must=[("No more reverse-execution history", 1), ("the replay ended after exit seq", 1)])
        case_parser(tap, rec)
        case_interrupt(tap, tmp)
        case_reattach(tap, rec)
        pre = record(tmp, "preempt", "cpl0 ticks=20", guest=os.path.join(os.path.dirname(GUEST), "preempt.elf"))
        case_gdb(tap, pre, "preempt cpl0 (timer interrupts replayed at asynchronous points, DR0): breakpoints, "
                 "reverse-continue, 10 stepi/reverse-stepi pairs, then on to the end", PREEMPT,
                 must=[("the replay ended after exit seq", 1)], elf=os.path.join(os.path.dirname(GUEST), "preempt.elf"))
        bad = os.path.join(tmp, "bad.db")
        shutil.copy(rec, bad)
        db = sqlite3.connect(bad)
        db.execute("UPDATE exit SET addr = 0x3f9 WHERE seq = 41")
        db.commit()
        db.close()
        case_gdb(tap, bad, "a divergence stops gdb with its message; monitor seek still goes back", DIVERGE,
                 must=[("the replay diverged at exit seq 41: port differs", 1)])
        spin = os.path.join(tmp, "spin.db")
        case_gdb(tap, spin, "Ctrl-C (SIGINT to gdb) during a long continue, then stepi", CTRL_C,
                 must=[("Program received signal SIGINT", 1), ("INTERRUPTED after", 1)])
        out = subprocess.run([KVMRR, "replay", "--gdb", "127.0.0.1:99999", rec], capture_output=True, text=True,
                             timeout=30)
        tap.ok(out.returncode == 2 and "PORT 0 to 65535" in out.stderr, "--gdb with a bad port: status 2 and why",
               out.stderr)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
