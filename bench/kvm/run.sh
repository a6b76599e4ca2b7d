#!/usr/bin/env bash
# bench/kvm/run.sh — vmkit's KVM engine vs `qemu-system-x86_64 -M microvm -enable-kvm` on the same
# freestanding guests (tests/kvm/guests, bzImage-shaped) in the same run, alternating VMMs:
#   hello   — COM1 line + exit port: VMM start (exec) to the guest's first serial byte, to exit, max RSS
#   virtio  — virtio-blk read/write/flush + virtio-rng by polling (4 MiB disk), to exit, max RSS
# Medians of N runs (default 10) and vmkit/QEMU ratios. vmkit's own "VM creation -> first KVM_RUN"
# (VMKIT_LOG=info) is reported too. Usage: bench/kvm/run.sh [N]     Env: VMKIT (default build/vmkit)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VMKIT=${VMKIT:-$ROOT/build/vmkit}
N=${1:-10}
[ -x "$VMKIT" ] || { echo "bench/kvm: build vmkit first (make)"; exit 1; }
[ -e /dev/kvm ] || { echo "bench/kvm: /dev/kvm is absent"; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "bench/kvm: qemu-system-x86_64 missing (make deps)"; exit 1; }
make -s -C "$ROOT" kvm-guests >/dev/null
exec python3 - "$VMKIT" "$ROOT/build/kvm-guests" "$N" <<'PY'
import os, re, statistics, subprocess, sys, tempfile, time
vmkit, gdir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tmp = tempfile.mkdtemp(prefix="vmkit-benchkvm.")
disk = os.path.join(tmp, "disk.img")

def mkdisk():
    with open(disk, "wb") as f:
        f.write(b"VMKIT-DISK-SECTOR0 bench".ljust(4 << 20, b"\0"))

def cmds(guest):
    k = os.path.join(gdir, guest + ".bzimage")
    v = [vmkit, "run", "--arch", "x86_64", "--mem", "64M", "--net", "none", "--console", "stdio",
         "--initrd", "none", "--kernel", k]
    q = ["qemu-system-x86_64", "-M", "microvm" + (",acpi=off" if guest == "virtio" else ""), "-enable-kvm",
         "-m", "64M", "-kernel", k, "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
         "-no-reboot", "-device", "isa-debug-exit,iobase=0x501,iosize=1"]
    if guest == "virtio":
        v += ["--disk", disk]
        q += ["-global", "virtio-mmio.force-legacy=false", "-drive", "id=d0,file=%s,format=raw,if=none" % disk,
              "-device", "virtio-blk-device,drive=d0", "-device", "virtio-rng-device"]
    return v, q

def run(argv, want, env=None):
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first, out = None, b""
    while True:
        b = os.read(p.stdout.fileno(), 65536)
        if not b:
            break
        if first is None:
            first = time.monotonic()
        out += b
    _, status, ru = os.wait4(p.pid, 0)
    t_exit = time.monotonic()
    err = p.stderr.read().decode(errors="replace")
    p.returncode = os.waitstatus_to_exitcode(status)
    if want.encode() not in out:
        raise SystemExit("bench/kvm: %s did not print %r: %s %s" % (argv[0], want, out[-200:], err[-300:]))
    m = re.search(r"first KVM_RUN ([0-9.]+) ms", err)
    return {"first": (first - t0) * 1e3, "exit": (t_exit - t0) * 1e3, "rss": ru.ru_maxrss / 1024.0,
            "kvmrun": float(m.group(1)) if m else None}

env = dict(os.environ, VMKIT_LOG="info")
res = {}
for guest, want in (("hello", "vmkit-x86 hello"), ("virtio", "virtio: 0 failures")):
    v, q = cmds(guest)
    for i in range(n):
        for name, argv in (("vmkit", v), ("qemu", q)) if i % 2 == 0 else (("qemu", q), ("vmkit", v)):
            if guest == "virtio":
                mkdisk()
            res.setdefault((guest, name), []).append(run(argv, want, env if name == "vmkit" else None))

med = lambda xs: statistics.median(xs)
print("bench/kvm: %d runs each, alternating; medians (host: %s, nested KVM)" % (n, os.uname().release))
print("%-8s %-32s %10s %10s %8s" % ("guest", "metric", "vmkit", "qemu", "ratio"))
for guest in ("hello", "virtio"):
    for key, label, unit in (("first", "exec -> first serial byte", "ms"), ("exit", "exec -> VMM exit", "ms"),
                             ("rss", "VMM max RSS", "MiB")):
        a = med([r[key] for r in res[(guest, "vmkit")]])
        b = med([r[key] for r in res[(guest, "qemu")]])
        print("%-8s %-32s %8.1f%-2s %8.1f%-2s %8.2f" % (guest, label, a, unit, b, unit, a / b))
ks = [r["kvmrun"] for r in res[("hello", "vmkit")] if r["kvmrun"] is not None]
if ks:
    print("vmkit: VM creation -> first KVM_RUN (hello, from VMKIT_LOG=info): median %.1f ms" % med(ks))
PY
