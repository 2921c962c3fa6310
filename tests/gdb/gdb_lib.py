# SPDX-License-Identifier: MIT
"""Helpers for tests/gdb: recordings of the gdbt guest, a `kvmrr replay --gdb`
server per case, Debian's gdb in batch mode on a Python script, raw protocol
clients. Every subprocess has a timeout: a test never hangs."""
import os, re, select, socket, subprocess, sys, tempfile, time

BUILD = os.environ.get("KVMRR_BUILD_DIR", "build")
KVMRR = os.path.join(BUILD, "cli", "kvmrr")
GUEST = os.path.join(BUILD, "guests", "gdbt.elf")
GDB_TIMEOUT = 240


class Tap:
    def __init__(self, n):
        self.n, self.i, self.failed = n, 0, 0
        print(f"1..{n}", flush=True)

    def ok(self, cond, name, diag=""):
        self.i += 1
        if not cond:
            self.failed += 1
            for line in str(diag).splitlines()[-40:]:
                print("# " + line)
        print(f"{'ok' if cond else 'not ok'} {self.i} - {name}", flush=True)
        return cond


def record(tmp, name, cmdline, extra=(), guest=GUEST):
    path = os.path.join(tmp, name + ".db")
    p = subprocess.run([KVMRR, "record", "-f", "-q", "-o", path, "--cmdline", cmdline, *extra, guest],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 1:
        raise RuntimeError(f"kvmrr record {cmdline}: status {p.returncode}: {p.stderr}")
    return path


class Server:
    """kvmrr replay --gdb 127.0.0.1:0 REC; the port from its first stderr line."""

    def __init__(self, rec):
        self.err = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen([KVMRR, "replay", "--gdb", "127.0.0.1:0", rec],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.err, text=True)
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline and self.port is None:
            self.err.seek(0)
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.err.read())
            if m:
                self.port = int(m.group(1))
            elif self.p.poll() is not None:
                break
            else:
                time.sleep(0.05)
        if self.port is None:
            self.stop()
            raise RuntimeError("the gdb server did not start: " + self.stderr())

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=30)
        return self.p.returncode


PRELUDE = """
import gdb, re, time
gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("target remote 127.0.0.1:%d")
def regs():
    return gdb.execute("info all-registers", to_string=True)
def gpr(name):
    return int(gdb.parse_and_eval("$" + name)) & 0xffffffffffffffff
def run(cmd):
    return gdb.execute(cmd, to_string=True)
def var(name):
    return int(gdb.parse_and_eval(name))
"""


def run_gdb(port, body, timeout=GDB_TIMEOUT, elf=None):
    """gdb -batch on PRELUDE + body; (ok, output). ok: status 0 and the script's last line ran."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(PRELUDE % port + body + "\nprint('GDB-SCRIPT-DONE')\n")
        script = f.name
    try:
        p = subprocess.run(["gdb", "-nx", "-batch", "-x", script, elf or GUEST], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        out = p.stdout + p.stderr
        return p.returncode == 0 and "GDB-SCRIPT-DONE" in p.stdout and "Traceback" not in out \
            and "Error occurred in Python" not in out, out
    except subprocess.TimeoutExpired as e:
        return False, f"gdb timed out after {timeout} s\n{e.stdout or ''}"
    finally:
        os.unlink(script)


def frame(payload):
    return b"$" + payload + b"#" + b"%02x" % (sum(payload) & 0xff)


class Raw:
    """A bare protocol client (ack mode) for malformed input and timing."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def read_until(self, pred, timeout=30):
        end = time.time() + timeout
        while not pred(self.buf):
            left = end - time.time()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return None
            chunk = self.s.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        return self.buf

    def packet(self, timeout=30):
        """The next whole packet's payload (acks before it dropped), or None."""
        got = self.read_until(lambda b: re.search(rb"\$[^#]*#..", b) is not None, timeout)
        if got is None:
            return None
        m = re.search(rb"\$([^#]*)#(..)", self.buf)
        self.buf = self.buf[m.end():]
        self.s.sendall(b"+")
        return m.group(1)

    def ask(self, payload, timeout=30):
        self.send(frame(payload))
        return self.packet(timeout)

    def close(self):
        self.s.close()
