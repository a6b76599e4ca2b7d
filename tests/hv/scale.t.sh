#!/usr/bin/env bash
# scale.t.sh — many VMs under one daemon: (1) 20 VMs (64 MiB, no network) created and started
# concurrently, all boot ("vmkit guest ready" in their console logs) and answer on their consoles
# (a command typed through `vmkit console` prints its result), then all stopped concurrently;
# (2) 200 create/start/stop/rm cycles (4 clients in parallel, short-lived guests stopped with a 1 s
# timeout) with no growth in the daemon's open fds or RSS between the first 20 and the last cycle.
set -uo pipefail
N=hv_scale
NVM=${HV_SCALE_VMS:-20}
NCYC=${HV_SCALE_CYCLES:-200}
HV_SCALE_JAIL=${HV_SCALE_JAIL---no-jail}   # HV_SCALE_JAIL= (empty): jailed VMMs
P=sc$$
. "$(dirname "$0")/lib.sh"
hv_require cgroups
export VMKIT_IMAGES=$IMG
hv_tmp hvscale
export VMKIT_SOCK=$T/d.sock
if ! "$VMKIT" serve --sock "$VMKIT_SOCK" --state-dir "$T/state" $HV_SCALE_JAIL --overcommit-cpu 16 2>"$T/err"; then
  echo "FAIL hv_scale_daemon: $(cat "$T/err")"; exit 0
fi
hv_note_cgb "$VMKIT_SOCK"
D=$(daemon_pid)

# 1. NVM VMs at once
t0=$(date +%s%N)
for i in $(seq $NVM); do
  ( V create $P-$i --mem 64M --net none --append vmkit.net=0 >/dev/null && V start $P-$i >"$T/start.$i" 2>&1 ) &
done
wait
t1=$(date +%s%N)
booted=0
for _ in $(seq 600); do
  booted=0
  for i in $(seq $NVM); do grep -q "vmkit guest ready" "$T/state/vms/$P-$i/root/console.log" 2>/dev/null && booted=$((booted + 1)); done
  [ $booted = $NVM ] && break
  sleep 0.2
done
t2=$(date +%s%N)
running=$(V ls | grep -c "^$P-.* running ")
if [ $booted = $NVM ] && [ "$running" = $NVM ]; then
  echo "PASS hv_scale_${NVM}_vms_boot (all started in $(( (t1 - t0) / 1000000 )) ms, all booted after $(( (t2 - t0) / 1000000 )) ms)"
else
  echo "FAIL hv_scale_${NVM}_vms_boot: $booted booted, $running running; $(cat "$T"/start.* | sort | uniq -c | head -5 | tr '\n' ' ')"
fi
rss=0
for i in $(seq $NVM); do
  p=$(V inspect $P-$i | sed -n 's/^\t"vmm_pid":\t\([0-9]*\),$/\1/p')
  [ -z "$HV_SCALE_JAIL" ] && p=$(tr -d ' ' <"/proc/$p/task/$p/children" 2>/dev/null)
  r=$(awk '/VmRSS/ {print $2}' /proc/$p/status 2>/dev/null); rss=$((rss + ${r:-0}))
done
echo "mean VMM RSS of a booted 64 MiB guest: $((rss / NVM / 1024)) MiB"
answered=0
for i in $(seq $NVM); do
  printf 'echo pong-$((700+%d))\n' "$i" | timeout 5 "$VMKIT" console $P-$i >/dev/null 2>&1 &
done
wait
for _ in $(seq 50); do
  answered=0
  for i in $(seq $NVM); do grep -q "pong-$((700 + i))" "$T/state/vms/$P-$i/root/console.log" 2>/dev/null && answered=$((answered + 1)); done
  [ $answered = $NVM ] && break
  sleep 0.2
done
[ $answered = $NVM ] && echo "PASS hv_scale_consoles_answer ($answered/$NVM)" || echo "FAIL hv_scale_consoles_answer: $answered/$NVM"
t0=$(date +%s%N)
for i in $(seq $NVM); do V stop $P-$i >"$T/stop.$i" 2>&1 & done
wait
t1=$(date +%s%N)
stopped=$(V ls | grep -c "^$P-.* stopped ")
graceful=$(cat "$T"/stop.* | grep -c "guest powered off")
[ "$stopped" = $NVM ] && echo "PASS hv_scale_stop_all ($stopped stopped in $(( (t1 - t0) / 1000000 )) ms, $graceful gracefully)" ||
  echo "FAIL hv_scale_stop_all: $stopped stopped; $(cat "$T"/stop.* | sort | uniq -c | head -3 | tr '\n' ' ')"
for i in $(seq $NVM); do V rm $P-$i >/dev/null 2>&1 & done
wait

# 2. NCYC cycles, 4 clients
cycle() {   # worker count
  local w=$1 n=$2 j
  for j in $(seq "$n"); do
    local nm=$P-c$w-$j
    V create $nm --mem 64M --net none --append vmkit.net=0 >/dev/null 2>>"$T/cyc.err" &&
      V start $nm >/dev/null 2>>"$T/cyc.err" &&
      V stop $nm --timeout 1 >/dev/null 2>>"$T/cyc.err" &&
      V rm $nm >/dev/null 2>>"$T/cyc.err" && echo ok >>"$T/cyc.ok.$w"
  done
}
fds() { ls /proc/$D/fd | wc -l; }
rssk() { awk '/VmRSS/ {print $2}' /proc/$D/status; }
warm=$((NCYC / 10 / 4)); [ $warm -lt 1 ] && warm=1
rest=$(( (NCYC - warm * 4) / 4 ))
t0=$(date +%s%N)
for w in 1 2 3 4; do cycle $w $warm & done; wait
sleep 1      # let the last connections' threads finish
f1=$(fds); r1=$(rssk)
for w in 1 2 3 4; do cycle $((w + 4)) $rest & done; wait
t1=$(date +%s%N)
sleep 1
f2=$(fds); r2=$(rssk)
ok=$(cat "$T"/cyc.ok.* 2>/dev/null | wc -l)
total=$((warm * 4 + rest * 4))
left=$(V ls | grep -c "^$P-")
secs=$(( (t1 - t0) / 1000000000 ))
if [ "$ok" = $total ] && [ "$left" = 0 ] && [ "$f2" -le $((f1 + 2)) ] && [ "$r2" -le $((r1 + 4096)) ]; then
  echo "PASS hv_scale_${total}_cycles (${secs}s; daemon fds $f1 -> $f2, RSS $r1 -> $r2 KiB)"
else
  echo "FAIL hv_scale_${total}_cycles: $ok/$total ok, $left left; fds $f1 -> $f2, RSS $r1 -> $r2 KiB; $(sort "$T/cyc.err" 2>/dev/null | uniq -c | head -3 | tr '\n' ' ')"
fi
kill -0 "$D" 2>/dev/null && echo "PASS hv_scale_daemon_alive" || echo "FAIL hv_scale_daemon_alive: the daemon died"
exit 0
