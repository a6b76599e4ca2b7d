#!/usr/bin/env bash
# tests/vm/console.t.sh — the default guest's interactive shell on a real terminal (a pty): Ctrl-C
# interrupts a foreground command, job control works, `poweroff` ends vmkit with status 0, and leaving
# the shell (Ctrl-D) powers off too.
set -u
VMKIT=${VMKIT:-build/vmkit}; IMG=${VMKIT_IMAGES:-build/images}
if [ ! -x "$VMKIT" ] || [ ! -f "$IMG/Image" ]; then
  echo "SKIP console_pty: no vmkit binary or guest images (run 'make images')"; exit 0
fi
command -v python3 >/dev/null || { echo "SKIP console_pty: python3 missing"; exit 0; }
VMKIT_IMAGES=$IMG python3 - "$VMKIT" <<'PY'
import os, pty, select, sys, time
def session(keys_after_prompt):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.argv[1], [sys.argv[1], "run", "--net", "none"])
    buf = bytearray()
    def pump(t):
        end = time.time() + t
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    d = os.read(fd, 4096)
                except OSError:
                    return False
                if not d:
                    return False
                buf.extend(d)
        return True
    def waitfor(s, t=60):
        end = time.time() + t
        while s.encode() not in buf and time.time() < end:
            if not pump(0.2):
                break
        return s.encode() in buf
    ok = waitfor("/ # ")
    res = keys_after_prompt(fd, pump, waitfor) if ok else {"prompt": False}
    end = time.time() + 30
    st = None
    while time.time() < end:
        pump(0.2)
        p, st = os.waitpid(pid, os.WNOHANG)
        if p:
            break
    else:
        os.kill(pid, 9); os.waitpid(pid, 0); st = None
    res["exit0"] = st is not None and os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0
    return res, bytes(buf[-400:]).decode(errors="replace")

def interactive(fd, pump, waitfor):
    os.write(fd, b"sleep 100\r"); pump(1.5)
    os.write(fd, b"\x03"); pump(0.5)
    os.write(fd, b"echo after-ctrl-c-$((6*7))\r")
    r = {"ctrl_c": waitfor("after-ctrl-c-42", 20)}
    os.write(fd, b"sleep 50 &\r"); pump(0.5)
    os.write(fd, b"jobs\r")
    r["jobs"] = waitfor("Running", 20)
    os.write(fd, b"poweroff\r")
    return r

def ctrl_d(fd, pump, waitfor):
    os.write(fd, b"\x04")
    return {}

r, tail = session(interactive)
for k in ("ctrl_c", "jobs"):
    print(("PASS console_%s" % k) if r.get(k) else ("FAIL console_%s: tail: %r" % (k, tail[-200:])))
print("PASS console_poweroff_exit0" if r.get("exit0") else "FAIL console_poweroff_exit0: tail: %r" % tail[-200:])
r, tail = session(ctrl_d)
print("PASS console_ctrl_d_powers_off" if r.get("exit0") else "FAIL console_ctrl_d_powers_off: tail: %r" % tail[-200:])
PY
