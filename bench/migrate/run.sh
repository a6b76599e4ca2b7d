#!/usr/bin/env bash
# bench/migrate/run.sh — live migration, vmkit vs QEMU, side by side in the same run: total time and
# downtime for an idle guest and a memory-dirtying guest (a 16 MiB file copied over and over in the
# guest's page cache) at 256 MiB and 1 GiB. Same kernel + initramfs (build/images), 1 vCPU, no NIC.
#  - vmkit: bench/migrate/migbench.c (built here against build/lib) boots the guest, waits, then
#    migrates it over TCP on loopback to a second VM (vmk_vm_migrate_send/recv, pre-copy, default
#    limits: 30 rounds, stop at <= 256 dirty pages) and reports total time and downtime (source paused
#    until the destination confirms the guest runs).
#  - QEMU: qemu-system-riscv64 -M virt (TCG) source and an `-incoming tcp:` destination on loopback;
#    HMP `migrate -d`, then `info migrate` for "total time" and "downtime" (QEMU's defaults: 300 ms
#    downtime limit, 32 MiB/s... bandwidth raised to unlimited here so that only the algorithm differs).
# Each case runs N times (-n, default 3), vmkit and QEMU alternating; the table shows medians.
# Not a test: it never fails on slowness. Usage: bench/migrate/run.sh [-n N] [--sizes "256 1024"]
#   [--workloads "idle dirty"] [--vmkit-only|--qemu-only]. Env: VMKIT_IMAGES, QEMU.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
QEMU=${QEMU:-qemu-system-riscv64}
SIZES="256 1024" WORKLOADS="idle dirty" DO_V=1 DO_Q=1 N=3
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N=$2; shift ;;
    --sizes) SIZES=$2; shift ;; --workloads) WORKLOADS=$2; shift ;;
    --vmkit-only) DO_Q=0 ;; --qemu-only) DO_V=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bench/migrate/run.sh: unknown option $1"; exit 1 ;;
  esac; shift
done
for f in Image initramfs.cpio.gz fw_dynamic.bin; do
  [ -f "$IMG/$f" ] || { echo "bench/migrate: no guest image $IMG/$f (make images)"; exit 1; }
done
command -v "$QEMU" >/dev/null || { echo "SKIP qemu: $QEMU not installed (package qemu-system-misc)"; DO_Q=0; }
W=$(mktemp -d /tmp/vmkit-migbench.XXXXXX)
QPIDS=()
cleanup() { for p in "${QPIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT

BIN=$ROOT/build/bench/migbench
if [ $DO_V = 1 ]; then
  make -C "$ROOT" -s -j2 build/lib/libvmk_vm.a build/lib/libvmk_riscv.a build/lib/libvmk_kvm.a \
       build/lib/libvmk_virtio.a build/lib/libvmk_dev.a build/lib/libvmk_mem.a build/lib/libvmk_base.a || exit 1
  mkdir -p "$ROOT/build/bench"
  L=$ROOT/build/lib
  cc -std=c17 -D_GNU_SOURCE -O2 -g -pthread -I"$ROOT/src" "$ROOT/bench/migrate/migbench.c" -o "$BIN" \
     -Wl,--start-group $L/libvmk_vm.a $L/libvmk_riscv.a $L/libvmk_kvm.a $L/libvmk_virtio.a $L/libvmk_dev.a \
     $L/libvmk_mem.a $L/libvmk_base.a -Wl,--end-group $(pkg-config --libs slirp glib-2.0) -lfdt -lseccomp \
     -lcrypto -lm || exit 1
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# hmp SOCK CMD...: runs HMP commands on a QEMU monitor socket, prints the replies
hmp() {
  python3 - "$@" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
def read_prompt():
    buf = b""
    while not buf.endswith(b"(qemu) "):
        d = s.recv(65536)
        if not d: break
        buf += d
    return buf.decode(errors="replace")
read_prompt()
for c in sys.argv[2:]:
    s.sendall(c.encode() + b"\n"); print(read_prompt())
EOF
}

# qemu_one MEM WORKLOAD WARMUP: prints "qemu mem=..M workload=.. total_ms=.. downtime_ms=.."
qemu_one() {
  local mem=$1 wl=$2 warm=$3 port append
  port=$(free_port)
  append="console=ttyS0 vmkit.net=0"
  [ "$wl" = dirty ] && append="$append vmkit.run=dd%20if=/dev/urandom%20of=/tmp/a%20bs=1M%20count=16;while%20:;%20do%20cp%20/tmp/a%20/tmp/b;%20done"
  local base=("$QEMU" -M virt -smp 1 -m "${mem}M" -display none -serial null -nic none -no-reboot
              -bios "$IMG/fw_dynamic.bin" -kernel "$IMG/Image" -initrd "$IMG/initramfs.cpio.gz" -append "$append")
  "${base[@]}" -monitor unix:"$W/dst.mon",server,nowait -incoming tcp:127.0.0.1:$port &
  local dpid=$!; QPIDS+=($dpid)
  "${base[@]}" -monitor unix:"$W/src.mon",server,nowait &
  local spid=$!; QPIDS+=($spid)
  sleep "$warm"
  hmp "$W/src.mon" "migrate_set_parameter max-bandwidth 100G" "migrate -d tcp:127.0.0.1:$port" >/dev/null
  local out= i
  for i in $(seq 600); do
    out=$(hmp "$W/src.mon" "info migrate")
    echo "$out" | grep -qE 'Migration status: (completed|failed|cancelled)' && break
    sleep 0.2
  done
  local st tot dt
  st=$(echo "$out" | sed -n 's/.*Migration status: \([a-z-]*\).*/\1/p' | head -1)
  tot=$(echo "$out" | sed -n 's/^total time: \([0-9]*\) ms.*/\1/p' | head -1)
  dt=$(echo "$out" | sed -n 's/^downtime: \([0-9]*\) ms.*/\1/p' | head -1)
  local runs=0
  if [ "$st" = completed ]; then
    sleep 0.3
    for _ in 1 2 3; do   # the monitor may drop a connection made while the VM starts: retry
      hmp "$W/dst.mon" "info status" 2>/dev/null | grep -q 'running' && { runs=1; break; }
      sleep 0.2
    done
  fi
  [ -n "${MIGBENCH_VERBOSE:-}" ] && echo "$out" >&2
  kill -9 $spid $dpid 2>/dev/null; wait $spid $dpid 2>/dev/null
  rm -f "$W/src.mon" "$W/dst.mon"
  echo "qemu mem=${mem}M workload=$wl status=$st total_ms=${tot:-?} downtime_ms=${dt:-?} dest_runs=$runs"
}

RES=$W/results
for rep in $(seq "$N"); do
for mem in $SIZES; do
  for wl in $WORKLOADS; do
    warm=4; [ "$wl" = dirty ] && warm=10
    if [ $DO_V = 1 ]; then
      line=$(timeout 300 "$BIN" "$mem" "$wl" "$IMG" "$warm" 2>"$W/v.err") || line="vmkit mem=${mem}M workload=$wl FAILED: $(tail -n1 "$W/v.err")"
      echo "$line" | tee -a "$RES"
    fi
    if [ $DO_Q = 1 ]; then
      line=$(qemu_one "$mem" "$wl" "$warm")
      echo "$line" | tee -a "$RES"
    fi
  done
done
done

# medians per case (ms), and vmkit/qemu ratios
echo
printf '%-14s %11s %11s %7s   %11s %11s %7s\n' "case (N=$N)" vmkit_total qemu_total ratio vmkit_down qemu_down ratio
awk '
  function med(vm, k, f,   n, i, j, t, a) {
    n = cnt[vm, k]; if (!n) return ""
    for (i = 1; i <= n; i++) a[i] = val[vm, k, f, i] + 0
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  $0 ~ /total_ms=[0-9]/ { split($2, m, "="); split($3, w, "="); k = m[2] " " w[2]; vm = $1; keys[k] = 1
    c = ++cnt[vm, k]; for (i = 4; i <= NF; i++) { split($i, kv, "="); val[vm, k, kv[1], c] = kv[2] } }
  END { for (k in keys) {
    vt = med("vmkit", k, "total_ms"); qt = med("qemu", k, "total_ms"); vd = med("vmkit", k, "downtime_ms"); qd = med("qemu", k, "downtime_ms")
    rt = (qt + 0 > 0 && vt != "") ? sprintf("%.2f", vt / qt) : "-"; rd = (qd + 0 > 0 && vd != "") ? sprintf("%.2f", vd / qd) : "-"
    printf "%-14s %11s %11s %7s   %11s %11s %7s\n", k, vt, qt, rt, vd, qd, rd } }' "$RES" | sort -k1,1n -k2,2
