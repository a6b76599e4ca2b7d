#!/usr/bin/env bash
# bench/riscv/boot.sh — software-engine benchmark (owned by the guest-images/benchmark part): boots the
# same kernel + initramfs (build/images) under vmkit and under qemu-system-riscv64 -M virt (TCG),
# alternately, N times each, and measures per run:
#   banner_s   host wall time from VMM start to the guest's "vmkit guest ready" line
#   off_s      host wall time from VMM start to VMM exit (the guest powers off after the program)
#   guest_ms   bench/riscv/cpubench (sieve + CRC32 + matmul) timed by the guest's own clock
#   rss_mb     host maximum resident set size of the VMM (GNU time -v)
# and prints medians per VMM plus vmkit/qemu ratios. Not a test: it never fails on slowness.
# Usage: bench/riscv/boot.sh [-n N] [--scale S] [--smp H] [--mem MB] [--qemu-only] [--vmkit-only]
# Env: VMKIT (default build/vmkit), VMKIT_IMAGES (default build/images), QEMU (qemu-system-riscv64),
#      VMKIT_RUN_CMD: vmkit command template overriding the default
#        '{vmkit} run --bios {bios} --kernel {kernel} --initrd {initrd} --cmdline {append} --mem {mem}M --cpus {smp} --net none'
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
QEMU=${QEMU:-qemu-system-riscv64}
N=5 SCALE=20 SMP=1 MEM=256 DO_Q=1 DO_V=1 TIMEOUT=${BENCH_TIMEOUT:-600}
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N=$2; shift ;;
    --scale) SCALE=$2; shift ;;
    --smp) SMP=$2; shift ;;
    --mem) MEM=$2; shift ;;
    --qemu-only) DO_V=0 ;;
    --vmkit-only) DO_Q=0 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/riscv/boot.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for v in N SCALE SMP MEM; do
  [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || { echo "bench/riscv/boot.sh: $v must be a positive integer" >&2; exit 2; }
done
for f in Image initramfs.cpio.gz fw_dynamic.bin; do
  [ -s "$IMG/$f" ] || { echo "bench/riscv/boot.sh: $IMG/$f missing: run 'make images' (guest/build.sh)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench/riscv/boot.sh: /usr/bin/time missing (package time)" >&2; exit 1; }

CMD="cpubench $SCALE"
APPEND="console=ttyS0 vmkit.net=0 vmkit.run=$(printf '%s' "$CMD" | sed 's/ /%20/g')"
OUTD=$ROOT/build/bench/riscv; mkdir -p "$OUTD"
RES=$OUTD/results-$(date -u +%Y%m%dT%H%M%SZ).tsv

if [ $DO_Q = 1 ] && ! command -v "$QEMU" >/dev/null; then
  echo "SKIP qemu: $QEMU not installed (package qemu-system-misc)"; DO_Q=0
fi
if [ $DO_V = 1 ]; then
  if [ ! -x "$VMKIT" ]; then
    echo "SKIP vmkit: $VMKIT not built (make)"; DO_V=0
  elif [ -z "${VMKIT_RUN_CMD:-}" ] && ! "$VMKIT" run --help 2>&1 | grep -q -- '--kernel'; then
    echo "SKIP vmkit: '$VMKIT run --help' has no --kernel option yet (the RISC-V engine cannot boot Linux); set VMKIT_RUN_CMD to override"
    DO_V=0
  fi
fi
[ $DO_Q = 1 ] || [ $DO_V = 1 ] || { echo "bench/riscv/boot.sh: nothing to run"; exit 0; }

qemu_cmd() {
  Q=("$QEMU" -M virt -smp "$SMP" -m "${MEM}M" -nographic -no-reboot -bios "$IMG/fw_dynamic.bin"
     -kernel "$IMG/Image" -initrd "$IMG/initramfs.cpio.gz" -append "$APPEND")
}
vmkit_cmd() {
  local t=${VMKIT_RUN_CMD:-'{vmkit} run --bios {bios} --kernel {kernel} --initrd {initrd} --cmdline {append} --mem {mem}M --cpus {smp} --net none'}
  local w; Q=()
  for w in $t; do
    case "$w" in
      '{vmkit}') Q+=("$VMKIT") ;; '{bios}') Q+=("$IMG/fw_dynamic.bin") ;; '{kernel}') Q+=("$IMG/Image") ;;
      '{initrd}') Q+=("$IMG/initramfs.cpio.gz") ;; '{append}') Q+=("$APPEND") ;;
      *) w=${w//'{mem}'/$MEM}; Q+=("${w//'{smp}'/$SMP}") ;;
    esac
  done
}

# one_run <vmm> <i>: appends "vmm i banner_s off_s guest_ms rss_mb ok" to $RES
one_run() {
  local vmm=$1 i=$2 log=$OUTD/$1-$2.log tv=$OUTD/$1-$2.time
  if [ "$vmm" = qemu ]; then qemu_cmd; else vmkit_cmd; fi
  local t0=$EPOCHREALTIME banner=
  # Each console line is stamped with the host time at which it arrived.
  { timeout "$TIMEOUT" /usr/bin/time -v -o "$tv" "${Q[@]}" < /dev/null 2>&1 || true; } |
    while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done > "$log"
  local t1=$EPOCHREALTIME
  banner=$(awk -v t0="$t0" '/vmkit guest ready/ {printf "%.3f", $1-t0; exit}' "$log")
  local off; off=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
  local gms; gms=$(grep -o 'CPUBENCH .*total_ms=[0-9]*' "$log" | sed 's/.*total_ms=//' | head -n1 || true)
  local chk; chk=$(grep -o 'check=[0-9a-f]*' "$log" | head -n1 || true)
  local rss; rss=$(awk -F: '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$tv" 2>/dev/null || true)
  local ok=ok
  grep -q 'VMKIT-RUN-END rc=0' "$log" || ok=failed
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$vmm" "$i" "${banner:-NA}" "$off" "${gms:-NA}" "${rss:-NA}" "$ok" "${chk:-NA}" >> "$RES"
  printf '  %-5s run %d: banner %ss, power-off %ss, guest cpubench %s ms, max RSS %s MiB %s\n' \
    "$vmm" "$i" "${banner:-NA}" "$off" "${gms:-NA}" "${rss:-NA}" "$([ $ok = ok ] || echo "(FAILED: see $log)")"
}

printf 'vmm\trun\tbanner_s\toff_s\tguest_ms\trss_mb\tstatus\tcheck\n' > "$RES"
echo "bench/riscv/boot.sh: $N runs each, smp=$SMP mem=${MEM}M, guest program '$CMD'; logs in $OUTD"
for i in $(seq 1 "$N"); do
  if [ $DO_V = 1 ]; then one_run vmkit "$i"; fi
  if [ $DO_Q = 1 ]; then one_run qemu "$i"; fi
done

python3 - "$RES" <<'EOF'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
cols = ["banner_s", "off_s", "guest_ms", "rss_mb"]
med = {}
for vmm in ("vmkit", "qemu"):
    rs = [r for r in rows if r[0] == vmm and r[6] == "ok"]
    nall = len([r for r in rows if r[0] == vmm])
    if not nall:
        continue
    med[vmm] = {}
    for k, c in enumerate(cols):
        vals = [float(r[2 + k]) for r in rs if r[2 + k] != "NA"]
        med[vmm][c] = statistics.median(vals) if vals else None
    checks = sorted({r[7] for r in rs})
    print(f"{vmm:6s} median of {len(rs)}/{nall} good runs: " + "  ".join(
        f"{c}={med[vmm][c]:.3f}" if med[vmm][c] is not None else f"{c}=NA" for c in cols) + f"  {','.join(checks)}")
if "vmkit" in med and "qemu" in med:
    print("ratio vmkit/qemu: " + "  ".join(
        f"{c}={med['vmkit'][c] / med['qemu'][c]:.2f}" if med['vmkit'][c] and med['qemu'][c] else f"{c}=NA" for c in cols))
    cv, cq = ({r[7] for r in rows if r[0] == v and r[6] == "ok"} for v in ("vmkit", "qemu"))
    if cv and cq and cv != cq:
        print("WARNING: cpubench check values differ between vmkit and qemu: the emulator computes wrongly")
print(f"results: {sys.argv[1]}")
EOF
