#!/usr/bin/env bash
# bench/hv/run.sh — the hypervisor side by side with QEMU (qemu-system-riscv64 -M virt, TCG), same
# guests (build/images: OpenSBI + Linux 6.1 + busybox initramfs, 64 MiB, 1 vCPU, no network):
#  1. VMM start to API-ready: fork/exec of `vmkit run --api-sock S` until GET / answers, vs QEMU
#     (-qmp unix:S -S, same kernel/initrd/firmware) until its QMP greeting; median of N runs;
#  2. create-to-boot throughput: K guests created and started at once through the daemon
#     (vmkit create + start) until every console shows "vmkit guest ready", vs K QEMUs launched at
#     once until every serial log shows it; VMs per second on this host;
#     and K clones of a snapshot of a booted guest (`vmkit clone`), until all run;
#  3. host CPU used by 20 idle guests (booted, shell waiting) over 10 s, from /proc/PID/stat.
# Prints medians and vmkit/QEMU ratios; not a test (never fails on slowness). Needs root (the
# daemon's cgroups). Usage: bench/hv/run.sh [-n N] [-k K] [--idle M]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VMKIT=${VMKIT:-$ROOT/build/vmkit}
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
QEMU=${QEMU:-qemu-system-riscv64}
NRUN=20; K=10; IDLE=20
while [ $# -gt 0 ]; do
  case "$1" in
    -n) NRUN=$2; shift ;; -k) K=$2; shift ;; --idle) IDLE=$2; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench/hv/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$VMKIT" ] || { echo "bench/hv: $VMKIT not built"; exit 1; }
HAVE_Q=1; command -v "$QEMU" >/dev/null || { echo "bench/hv: $QEMU not installed: QEMU columns skipped"; HAVE_Q=0; }
export VMKIT_IMAGES=$IMG
T=$(mktemp -d /tmp/vmkit-hvbench.XXXXXX)
export VMKIT_SOCK=$T/d.sock
P=hb$$
APPEND="console=ttyS0 earlycon=sbi vmkit.net=0"
QPIDS=()
cleanup() {
  [ -f "$T/state/daemon.pid" ] && kill "$(cat "$T/state/daemon.pid")" 2>/dev/null
  for p in "${QPIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for cg in $(find /sys/fs/cgroup -maxdepth 4 -type d -path '*/vmkit/*' -name "$P*" 2>/dev/null); do
    for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  done
  sleep 0.5
  for cg in $(find /sys/fs/cgroup -maxdepth 4 -type d -path '*/vmkit/*' -name "$P*" 2>/dev/null); do rmdir "$cg" 2>/dev/null; done
  [ -n "${CGB:-}" ] && rmdir /sys/fs/cgroup/*/"$CGB" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
now() { date +%s%N; }
cc -O2 -Wall -o "$T/apiready" "$ROOT/bench/hv/apiready.c" || exit 1
qemu_args() {   # LOGFILE: the QEMU command line for one guest, serial console to LOGFILE
  echo "$QEMU -M virt -smp 1 -m 64M -nodefaults -display none -no-reboot -bios $IMG/fw_dynamic.bin -kernel $IMG/Image -initrd $IMG/initramfs.cpio.gz -serial file:$1"
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "host: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); vmkit $("$VMKIT" --version | cut -d' ' -f2); $($QEMU --version 2>/dev/null | head -1)"

# 1. API-ready
for i in $(seq "$NRUN"); do
  "$T/apiready" http "$T/api.sock" -- "$VMKIT" run --api-sock "$T/api.sock" --mem 64M --net none --console null >>"$T/api.v"
  if [ $HAVE_Q = 1 ]; then
    # shellcheck disable=SC2046
    "$T/apiready" qmp "$T/qmp.sock" -- $(qemu_args /dev/null) -append "$APPEND" -qmp "unix:$T/qmp.sock,server,nowait" -S >>"$T/api.q"
  fi
done
av=$(median <"$T/api.v"); aq=$( [ $HAVE_Q = 1 ] && median <"$T/api.q" || echo 0)
echo "api_ready_ms: vmkit $av, qemu $aq, ratio vmkit/qemu $(ratio "$av" "$aq")   (median of $NRUN; Firecracker publishes ~12 ms)"

# 2. create-to-boot throughput through the daemon
"$VMKIT" serve --sock "$VMKIT_SOCK" --state-dir "$T/state" --no-jail --overcommit-cpu 32 2>"$T/serve.err" ||
  { echo "bench/hv: the daemon did not start: $(cat "$T/serve.err")"; exit 1; }
CGB=$(curl -s --unix-socket "$VMKIT_SOCK" http://d/host | sed -n 's/.*"cgroup_base":"\([^"]*\)".*/\1/p')
all_ready() {   # DIR-GLOB COUNT
  local n=0 f
  for f in $1; do grep -q "vmkit guest ready" "$f" 2>/dev/null && n=$((n + 1)); done
  [ "$n" -ge "$2" ]
}
boot_batch_vmkit() {   # COUNT TAG: SECS = seconds until all COUNT guests booted
  local n=$1 tag=$2 t0 i
  t0=$(now)
  for i in $(seq "$n"); do ("$VMKIT" create $P-$tag-$i --mem 64M --net none --append vmkit.net=0 >/dev/null && "$VMKIT" start $P-$tag-$i >/dev/null) & done
  wait
  until all_ready "$T/state/vms/$P-$tag-*/root/console.log" "$n"; do sleep 0.05; [ $(( ($(now) - t0) / 1000000000 )) -gt 600 ] && break; done
  SECS=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
}
boot_batch_qemu() {
  local n=$1 tag=$2 t0 i
  t0=$(now)
  for i in $(seq "$n"); do
    # shellcheck disable=SC2046
    $(qemu_args "$T/q-$tag-$i.log") -append "$APPEND" </dev/null >/dev/null 2>&1 &
    QPIDS+=($!)
  done
  until all_ready "$T/q-$tag-*.log" "$n"; do sleep 0.05; [ $(( ($(now) - t0) / 1000000000 )) -gt 600 ] && break; done
  SECS=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
}
stop_vmkit() { local v; for v in $("$VMKIT" ls | awk -v p="$P-$1-" 'index($1, p) == 1 {print $1}'); do "$VMKIT" rm --force "$v" >/dev/null & done; wait; }
stop_qemu() { local p; for p in "${QPIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; for p in "${QPIDS[@]}"; do wait "$p" 2>/dev/null; done; QPIDS=(); }
boot_batch_vmkit "$K" tp; sv=$SECS; stop_vmkit tp
sq=0; [ $HAVE_Q = 1 ] && { boot_batch_qemu "$K" tp; sq=$SECS; stop_qemu; }
vps_v=$(awk -v n="$K" -v s="$sv" 'BEGIN { printf "%.2f", n / s }')
vps_q=$(awk -v n="$K" -v s="$sq" 'BEGIN { if (s > 0) printf "%.2f", n / s; else print 0 }')
echo "create_to_boot: $K guests: vmkit ${sv} s = $vps_v VMs/s ($(awk -v v="$vps_v" -v c="$(nproc)" 'BEGIN{printf "%.2f", v/c}') per core), qemu ${sq} s = $vps_q VMs/s, ratio vmkit/qemu $(ratio "$vps_v" "$vps_q") (Firecracker publishes 5 VMs/s per host core)"

# 2b. the same guests from a snapshot of a booted one: `vmkit clone` (memory shared copy-on-write)
boot_batch_vmkit 1 src
"$VMKIT" snapshot $P-src-1 "$T/snap" >/dev/null
t0=$(now)
"$VMKIT" clone "$T/snap" --count "$K" --prefix $P-cl >/dev/null
t1=$(now)
answered=0
for i in $(seq 0 $((K - 1))); do
  printf 'echo up-$((6*7))\n' | timeout 5 "$VMKIT" console $P-cl-$i >/dev/null 2>&1 &
done
wait
for i in $(seq 0 $((K - 1))); do grep -q "up-42" "$T/state/vms/$P-cl-$i/root/console.log" 2>/dev/null && answered=$((answered + 1)); done
sc=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
vps_c=$(awk -v n="$K" -v s="$sc" 'BEGIN { printf "%.1f", n / s }')
echo "clone_to_running: $K clones of a booted guest: ${sc} s = $vps_c VMs/s ($(awk -v v="$vps_c" -v c="$(nproc)" 'BEGIN{printf "%.1f", v/c}') per core), $answered/$K answered on their consoles"
stop_vmkit cl; stop_vmkit src

# 3. idle CPU of IDLE booted guests over 10 s
ticks() {  # PIDS...: utime+stime of the processes and their threads, in clock ticks
  local s=0 p
  for p in "$@"; do s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo $s
}
hz=$(getconf CLK_TCK)
boot_batch_vmkit "$IDLE" idle; bi=$SECS
sleep 3
vp=$(for i in $(seq "$IDLE"); do "$VMKIT" inspect $P-idle-$i | sed -n 's/^\t"vmm_pid":\t\([0-9]*\),$/\1/p'; done)
a=$(ticks $vp); sleep 10; b=$(ticks $vp)
cv=$(awk -v d=$((b - a)) -v hz="$hz" 'BEGIN { printf "%.0f", d * 1000 / hz }')
stop_vmkit idle
cq=0
if [ $HAVE_Q = 1 ]; then
  boot_batch_qemu "$IDLE" idle; bq=$SECS
  sleep 3
  a=$(ticks "${QPIDS[@]}"); sleep 10; b=$(ticks "${QPIDS[@]}")
  cq=$(awk -v d=$((b - a)) -v hz="$hz" 'BEGIN { printf "%.0f", d * 1000 / hz }')
  stop_qemu
fi
echo "idle_cpu: $IDLE idle guests over 10 s: vmkit ${cv} ms CPU (booted in ${bi} s), qemu ${cq} ms CPU (booted in ${bq:-0} s), ratio vmkit/qemu $(ratio "$cv" "$cq")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
