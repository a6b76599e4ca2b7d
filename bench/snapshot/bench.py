#!/usr/bin/env python3
"""bench.py — process-level snapshot figures, vmkit vs QEMU side by side (driven by run.sh).

Both VMMs run the same guest (build/images kernel + initramfs, 1 vCPU, no NIC, no disk) whose
program prints "tick" lines in a tight loop, so "running" is visible as console output.
  create:  vmkit: PATCH /vm Paused, then time PUT /snapshot/create (Full) on the per-VM API.
           QEMU:  HMP stop, then `migrate "exec:cat > FILE"`; its own "total time" from `info migrate`
           (the wall time until the status reads "completed" is printed too: about 1 s more; QEMU
           does not fsync the file, vmkit fsyncs memory and state)
           (restores use a second stream saved from the running guest: one saved stopped loads stopped).
  restore-to-running: from launching the VMM process on the snapshot (vmkit run --restore DIR;
           qemu -incoming "exec:cat FILE") until the guest's first console byte.
  clones/s: N VMMs launched at once from one snapshot until every one has printed
           (vmkit: --clone-dir/--clone-index; QEMU: N -incoming from the same file).
Prints "key value" lines."""
import argparse, base64, os, re, socket, statistics, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--vmkit", required=True)
ap.add_argument("--qemu", default="qemu-system-riscv64")
ap.add_argument("--images", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--mem", type=int, default=256)
ap.add_argument("--reps", type=int, default=5)
ap.add_argument("--clones", type=int, default=10)
ap.add_argument("--which", default="vmkit,qemu")
a = ap.parse_args()

PROG = "while :; do echo tick; done"
APPEND = "vmkit.net=0 vmkit.run=b64:" + base64.b64encode(PROG.encode()).decode()
CMDLINE = "console=ttyS0 earlycon=sbi " + APPEND
procs = []


def out(k, v):
    print(f"{k} {v}", flush=True)


def wait_file(path, needle=None, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if needle is None:
                if os.path.getsize(path) > 0:
                    return time.monotonic()
            else:
                with open(path, "rb") as f:
                    if needle in f.read():
                        return time.monotonic()
        except OSError:
            pass
        time.sleep(0.0002)
    raise SystemExit(f"bench.py: timeout waiting for {path}")


def http(sock, method, path, body=None):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(sock)
    b = (body or "").encode()
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(b)}\r\nConnection: close\r\n\r\n".encode() + b)
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    code = int(data.split(b" ", 2)[1])
    if code >= 300:
        raise SystemExit(f"bench.py: {method} {path}: {data!r}")
    return code


def wait_sock(path, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return
        time.sleep(0.001)
    raise SystemExit(f"bench.py: no socket {path}")


class Hmp:
    def __init__(self, path):
        wait_sock(path)
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(60)
        for _ in range(1000):
            try:
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.001)
        self.read()

    def read(self):
        buf = b""
        while not buf.endswith(b"(qemu) "):
            d = self.s.recv(65536)
            if not d:
                break
            buf += d
        return buf.decode(errors="replace")

    def cmd(self, c):
        self.s.sendall(c.encode() + b"\n")
        return self.read()


def kill_all():
    for p in procs:
        try:
            p.kill()
            p.wait()
        except Exception:
            pass
    procs.clear()


def launch(argv, stdout_path):
    f = open(stdout_path, "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.DEVNULL)
    f.close()
    procs.append(p)
    return p


def bench_vmkit():
    w = os.path.join(a.work, "vmkit")
    os.makedirs(w, exist_ok=True)
    sock = os.path.join(w, "api.sock")
    launch([a.vmkit, "run", "--mem", f"{a.mem}M", "--net", "none", "--console", "stdio", "--api-sock", sock,
            "--start", "--append", APPEND], os.path.join(w, "boot.out"))
    wait_file(os.path.join(w, "boot.out"), b"tick")
    time.sleep(0.5)
    ts = []
    for i in range(a.reps):
        http(sock, "PATCH", "/vm", '{"state": "Paused"}')
        t0 = time.monotonic()
        http(sock, "PUT", "/snapshot/create", '{"snapshot_type": "Full", "snapshot_path": "%s/s%d"}' % (w, i))
        ts.append(time.monotonic() - t0)
        http(sock, "PATCH", "/vm", '{"state": "Resumed"}')
        time.sleep(0.2)
    out("vmkit_create_ms", f"{statistics.median(ts) * 1e3:.1f}")
    out("vmkit_snapshot_kib", sum(os.stat(os.path.join(w, "s0", f)).st_blocks for f in ("state", "memory")) // 2)
    kill_all()
    snap = os.path.join(w, "s0")
    ts = []
    for i in range(a.reps):
        o = os.path.join(w, f"r{i}.out")
        t0 = time.monotonic()
        launch([a.vmkit, "run", "--restore", snap, "--console", "stdio"], o)
        ts.append(wait_file(o) - t0)
        kill_all()
    out("vmkit_restore_to_running_ms", f"{statistics.median(ts) * 1e3:.1f}")
    t0 = time.monotonic()
    for k in range(a.clones):
        launch([a.vmkit, "run", "--restore", snap, "--console", "stdio", "--clone-dir", os.path.join(w, f"c{k}"),
                "--clone-index", str(k)], os.path.join(w, f"c{k}.out"))
    for k in range(a.clones):
        wait_file(os.path.join(w, f"c{k}.out"))
    el = time.monotonic() - t0
    out("vmkit_clones_all_running_ms", f"{el * 1e3:.0f}")
    out("vmkit_clones_per_s", f"{a.clones / el:.1f}")
    kill_all()


def qemu_argv(mon, serial, extra):
    return [a.qemu, "-M", "virt", "-m", f"{a.mem}M", "-smp", "1", "-bios", os.path.join(a.images, "fw_dynamic.bin"),
            "-kernel", os.path.join(a.images, "Image"), "-initrd", os.path.join(a.images, "initramfs.cpio.gz"),
            "-append", CMDLINE, "-display", "none", "-nic", "none", "-serial", f"file:{serial}",
            "-monitor", f"unix:{mon},server=on,wait=off"] + extra


def bench_qemu():
    w = os.path.join(a.work, "qemu")
    os.makedirs(w, exist_ok=True)
    mon = os.path.join(w, "mon.sock")
    launch(qemu_argv(mon, os.path.join(w, "boot.out"), []), os.devnull)
    wait_file(os.path.join(w, "boot.out"), b"tick")
    time.sleep(0.5)
    h = Hmp(mon)
    h.cmd("migrate_set_parameter max-bandwidth 100G")
    ts, tw = [], []
    for i in range(a.reps):
        h.cmd("stop")
        t0 = time.monotonic()
        h.cmd(f'migrate "exec:cat > {w}/s{i}"')
        while "Migration status: completed" not in (r := h.cmd("info migrate")):
            time.sleep(0.0005)
        tw.append(time.monotonic() - t0)
        m = re.search(r"total time: (\d+) ms", r)
        ts.append(int(m.group(1)) / 1e3 if m else tw[-1])
        h.cmd("cont")
        time.sleep(0.2)
    out("qemu_create_ms", f"{statistics.median(ts) * 1e3:.1f}")
    out("qemu_create_wall_ms", f"{statistics.median(tw) * 1e3:.1f}")
    out("qemu_snapshot_kib", os.stat(os.path.join(w, "s0")).st_blocks // 2)
    # a stream taken from a stopped VM loads stopped: restore from one saved while running
    # (QEMU stops the guest at the end of the migration itself; the stream records "running")
    h.cmd(f'migrate "exec:cat > {w}/live"')
    while "Migration status: completed" not in h.cmd("info migrate"):
        time.sleep(0.001)
    kill_all()
    snap = os.path.join(w, "live")
    ts = []
    for i in range(a.reps):
        o = os.path.join(w, f"r{i}.out")
        t0 = time.monotonic()
        launch(qemu_argv(os.path.join(w, f"m{i}.sock"), o, ["-incoming", f"exec:cat {snap}"]), os.devnull)
        ts.append(wait_file(o) - t0)
        kill_all()
    out("qemu_restore_to_running_ms", f"{statistics.median(ts) * 1e3:.1f}")
    t0 = time.monotonic()
    for k in range(a.clones):
        launch(qemu_argv(os.path.join(w, f"cm{k}.sock"), os.path.join(w, f"c{k}.out"), ["-incoming", f"exec:cat {snap}"]),
               os.devnull)
    for k in range(a.clones):
        wait_file(os.path.join(w, f"c{k}.out"))
    el = time.monotonic() - t0
    out("qemu_clones_all_running_ms", f"{el * 1e3:.0f}")
    out("qemu_clones_per_s", f"{a.clones / el:.1f}")
    kill_all()


try:
    if "vmkit" in a.which:
        bench_vmkit()
    if "qemu" in a.which:
        bench_qemu()
finally:
    kill_all()
