#!/usr/bin/env bash
# boot.t.sh — boots the default guest (OpenSBI + Linux 6.1 + initramfs from build/images) with the
# console on a pipe: (1) non-interactively with vmkit.run= (guest/README.md protocol): the kernel log,
# the command's output, the wall clock from the RTC and a clean poweroff with exit status 0; (2) interactively, typing into the
# serial console through stdin (a fifo), then `exit` makes init power off.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
TMO=${VMKIT_BOOT_TIMEOUT:-600}
if [ ! -x "$VMKIT" ]; then echo "SKIP boot: $VMKIT not built"; exit 0; fi
for f in Image initramfs.cpio.gz; do
  if [ ! -f "$IMG/$f" ]; then echo "SKIP boot: no guest image $IMG/$f (run make images)"; exit 0; fi
done
export VMKIT_IMAGES=$IMG
T=$(mktemp -d /tmp/vmkit-boot.XXXXXX)
trap 'rm -rf "$T"; [ -n "${pid:-}" ] && kill $pid 2>/dev/null' EXIT

# 1. non-interactive: run a command, check its output, power off
start=$(date +%s.%N)
timeout "$TMO" "$VMKIT" run --append 'vmkit.run=echo%20answer=$((6*7));%20uname%20-sm;%20echo%20guest-date=$(date%20-u%20+%Y)' </dev/null >"$T/out1" 2>&1
rc=$?
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
if [ $rc -eq 0 ] && grep -q "Linux version 6.1" "$T/out1" && grep -q "vmkit guest ready" "$T/out1" &&
   grep -q "answer=42" "$T/out1" && grep -q "Linux riscv64" "$T/out1" && grep -q "VMKIT-RUN-END rc=0" "$T/out1" &&
   grep -q "guest-date=$(date -u +%Y)" "$T/out1"; then
  echo "PASS boot_run_command (${secs}s to poweroff)"
else
  echo "FAIL boot_run_command: rc=$rc after ${secs}s; last lines: $(tail -n 5 "$T/out1" | tr '\r\n' '  ')"
fi

# 2. interactive: keystrokes on stdin reach the guest shell on ttyS0
mkfifo "$T/in"
timeout "$TMO" "$VMKIT" run --net none <"$T/in" >"$T/out2" 2>&1 &
pid=$!
exec 3>"$T/in"
ok=0
for _ in $(seq $((TMO * 2))); do
  if grep -q "vmkit guest ready" "$T/out2"; then ok=1; break; fi
  kill -0 $pid 2>/dev/null || break
  sleep 0.5
done
idle_ms=
if [ $ok = 1 ]; then
  sleep 2
  # an idle guest (shell waiting on the console) must cost next to no host CPU
  vpid=$(pgrep -P $pid | head -n1)     # vmkit under timeout
  a=$(awk '{print $1}' /proc/$vpid/schedstat 2>/dev/null || echo x); sleep 5
  b=$(awk '{print $1}' /proc/$vpid/schedstat 2>/dev/null || echo x)
  [ "$a" = x ] || [ "$b" = x ] || [ "$a" = 0 ] && a=0 b=-1000000000
  idle_ms=$(( (b - a) / 1000000 )); echo "idle: vmkit pid $vpid schedstat $a -> $b"
  printf 'echo typed-$((7*6))-ok\n' >&3
  for _ in $(seq 60); do grep -q "typed-42-ok" "$T/out2" && break; sleep 0.5; done
  printf 'exit\n' >&3
fi
wait $pid; rc=$?
pid=
exec 3>&-
if [ $ok = 1 ] && [ $rc -eq 0 ] && grep -q "typed-42-ok" "$T/out2"; then echo "PASS boot_interactive_console"
else echo "FAIL boot_interactive_console: ready=$ok rc=$rc; last lines: $(tail -n 5 "$T/out2" | tr '\r\n' '  ')"; fi
if [ -n "$idle_ms" ] && [ "$idle_ms" -ge 0 ] && [ "$idle_ms" -lt 250 ]; then echo "PASS boot_idle_cpu (${idle_ms} ms of host CPU in 5 s idle)"
else echo "FAIL boot_idle_cpu: ${idle_ms:-?} ms of host CPU in 5 s of an idle guest (limit 250)"; fi
# 3. reboot: with --no-reboot vmkit exits 0; by default a fresh VM boots again (two banners), and a
#    poweroff in the second boot ends vmkit with status 0
out=$(timeout "$TMO" "$VMKIT" run --no-reboot --net none --append 'vmkit.run=reboot%20-f' </dev/null 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "reboot: Restarting system" <<<"$out"; then echo "PASS boot_no_reboot_exits"
else echo "FAIL boot_no_reboot_exits: rc=$rc; $(tail -n 3 <<<"$out" | tr '\r\n' '  ')"; fi
rm -f "$T/in"; mkfifo "$T/in"
timeout "$TMO" "$VMKIT" run --net none <"$T/in" >"$T/out3" 2>&1 &
pid=$!
exec 3>"$T/in"
n=0
for _ in $(seq $((TMO * 2))); do
  n=$(grep -c "vmkit guest ready" "$T/out3")
  [ "$n" -ge 1 ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.5
done
[ "$n" -ge 1 ] && { sleep 1; printf 'reboot -f\n' >&3; }
for _ in $(seq $((TMO * 2))); do
  n=$(grep -c "vmkit guest ready" "$T/out3")
  [ "$n" -ge 2 ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.5
done
[ "$n" -ge 2 ] && { sleep 1; printf 'poweroff -f\n' >&3; }
wait $pid; rc=$?
pid=
exec 3>&-
if [ "$n" -ge 2 ] && [ $rc -eq 0 ] && grep -q "guest rebooted" "$T/out3"; then echo "PASS boot_reboot_restarts"
else echo "FAIL boot_reboot_restarts: $n boots, rc=$rc; $(tail -n 3 "$T/out3" | tr '\r\n' '  ')"; fi
exit 0
