#!/usr/bin/env bash
# lifecycle.t.sh — the daemon (`vmkit serve`, own temp socket and state dir, --no-jail) drives VMs
# through the CLI and through curl on its socket: create, start (the guest boots: "vmkit guest ready"
# in `vmkit logs`), ls, inspect, stats (cgroup figures), pause/resume, graceful stop, kill, rm; a
# daemon killed with -9 while a VM runs: the VM keeps running and the new daemon re-adopts it (ls
# shows it running, stop works); a VMM killed with -9 is reported crashed with its reason while
# another VM keeps running. Runs twice: with --no-jail, then (when the VMM has --jail) with the
# default jailed VMMs, whose checks are named hv_jail_*.
set -uo pipefail
N=hv_lifecycle
P=lc$$            # VM name prefix (unique: cgroups are host-wide)
HV_TIMEOUT=60
. "$(dirname "$0")/lib.sh"
hv_require cgroups
export VMKIT_IMAGES=$IMG
hv_tmp hvlc
export VMKIT_SOCK=$T/d.sock
MODE=${HV_MODE:-nojail}
JAILOPT=--no-jail; [ "$MODE" = jail ] && JAILOPT=
vmm_of() {        # the VMM process of a VM (jailed: the child of the jail's waiter)
  local p; p=$(field "$1" vmm_pid)
  if [ "$MODE" = jail ]; then pgrep -P "$p" | head -n1; else echo "$p"; fi
}
C() { curl -s --max-time 60 --unix-socket "$VMKIT_SOCK" -o "$T/body" -w '%{http_code}' "$@"; }
wait_ready() {   # NAME: the guest printed its banner
  for _ in $(seq 240); do V logs "$1" 2>/dev/null | grep -q "vmkit guest ready" && return 0; sleep 0.25; done
  return 1
}
start_daemon() { VMKIT_TEST_HOOKS=1 "$VMKIT" serve --sock "$VMKIT_SOCK" --state-dir "$T/state" $JAILOPT "$@" 2>>"$T/serve.err"; }

if ! start_daemon; then echo "FAIL hv_daemon_start: $(tail -n 3 "$T/serve.err" "$T/state/daemon.log" 2>/dev/null | tr '\n' ' ')"; exit 0; fi
hv_note_cgb "$VMKIT_SOCK"
mode=$(stat -c %a "$VMKIT_SOCK")
[ "$mode" = 600 ] && echo "PASS hv_socket_mode_0600" || echo "FAIL hv_socket_mode_0600: mode $mode"

# 1. CLI lifecycle
A=$P-a
out=$(V create $A --mem 64M --net none --append vmkit.net=0 2>&1)
st1=$(state_of $A)
t0=$(date +%s%N)
out2=$(V start $A 2>&1)
t1=$(date +%s%N)
if [ "$st1" = created ] && [ "$(state_of $A)" = running ] && wait_ready $A; then
  echo "PASS hv_cli_create_start_boot (start returned in $(( (t1 - t0) / 1000000 )) ms; guest ready)"
else
  echo "FAIL hv_cli_create_start_boot: create '$out' start '$out2' state $(state_of $A); $(V logs $A --vmm 2>&1 | tail -n 3 | tr '\n' ' ')"
fi
ls=$(V ls)
if echo "$ls" | head -1 | grep -q "NAME *ENGINE *STATE *VCPUS *MEMORY *UPTIME" &&
   echo "$ls" | grep -q "^$A  *riscv64  *running  *1  *64M"; then echo "PASS hv_cli_ls"
else echo "FAIL hv_cli_ls: $ls"; fi
stats=$(V stats $A 2>&1)
if echo "$stats" | grep -q "memory.limit_in_bytes *100663296\|memory.max *100663296" && echo "$stats" | grep -q "pids.max"; then
  echo "PASS hv_cli_stats_cgroup (memory limit 64+32 MiB)"
else echo "FAIL hv_cli_stats_cgroup: $(echo "$stats" | tr '\n' ' ')"; fi
if echo "$stats" | grep -q "cpu time:"; then echo "PASS hv_cli_stats_vmm"
else echo "SKIP hv_cli_stats_vmm: the VMM's API stats are unavailable ($(echo "$stats" | grep vmm: | tr '\n' ' '))"; fi
if V pause $A >"$T/p" 2>&1; then
  s=$(state_of $A); V resume $A >/dev/null 2>&1; s2=$(state_of $A)
  [ "$s" = paused ] && [ "$s2" = running ] && echo "PASS hv_cli_pause_resume" || echo "FAIL hv_cli_pause_resume: $s $s2"
else echo "SKIP hv_cli_pause_resume: $(cat "$T/p")"; fi
t0=$(date +%s%N)
out=$(V stop $A 2>&1)
t1=$(date +%s%N)
if [ "$(state_of $A)" = stopped ]; then echo "PASS hv_cli_stop ($out, $(( (t1 - t0) / 1000000 )) ms)"
else echo "FAIL hv_cli_stop: $out"; fi
V start $A >/dev/null 2>&1
out=$(V kill $A 2>&1)
[ "$(state_of $A)" = stopped ] && echo "$out" | grep -q killed && echo "PASS hv_cli_kill" || echo "FAIL hv_cli_kill: $out"
out=$(V rm $A 2>&1)
if [ $? = 0 ] && ! V ls | grep -q "^$A " && [ ! -d "$T/state/vms/$A" ]; then echo "PASS hv_cli_rm"
else echo "FAIL hv_cli_rm: $out"; fi

# 2. the same through curl on the socket
B=$P-b
c1=$(C -X POST -d "{\"name\":\"$B\",\"mem_mib\":64,\"nets\":[],\"append\":\"vmkit.net=0\"}" http://d/vms)
c2=$(C -X POST http://d/vms/$B/start); b2=$(cat "$T/body")
c3=$(C http://d/vms/$B); b3=$(cat "$T/body")
wait_ready $B; r=$?
c4=$(C -X POST -d '{"timeout": 5}' http://d/vms/$B/stop); b4=$(cat "$T/body")
c5=$(C -X DELETE http://d/vms/$B)
c6=$(C http://d/vms/$B)
if [ "$c1" = 201 ] && [ "$c2" = 200 ] && [ "$c3" = 200 ] && [ $r = 0 ] && [ "$c4" = 200 ] && [ "$c5" = 200 ] &&
   [ "$c6" = 404 ] && echo "$b3" | grep -q '"state":"running"' && echo "$b4" | grep -q '"state":"stopped"'; then
  echo "PASS hv_curl_lifecycle"
else echo "FAIL hv_curl_lifecycle: codes $c1 $c2 $c3 ready=$r $c4 $c5 $c6; $b2 $b4"; fi

# 3. daemon restart (kill -9) with a VM running: the VM survives and is re-adopted
R=$P-r; K=$P-k
V create $R --mem 64M --net none --append vmkit.net=0 >/dev/null; V start $R >/dev/null
V create $K --mem 64M --net none --append vmkit.net=0 >/dev/null; V start $K >/dev/null
wait_ready $R; vpid=$(field $R vmm_pid)
if [ "$MODE" = jail ]; then
  inner=$(vmm_of $R); uid=$(awk '/^Uid:/ {print $2}' /proc/$inner/status 2>/dev/null)
  [ -n "$inner" ] && [ "$uid" = 65534 ] && echo "PASS hv_vmm_unprivileged (VMM $inner uid $uid)" ||
    echo "FAIL hv_vmm_unprivileged: VMM '$inner' uid '$uid'"
fi
d=$(daemon_pid); kill -9 "$d"; sleep 0.3
alive=no; kill -0 "$vpid" 2>/dev/null && alive=yes
rm -f "$T/state/daemon.pid"
start_daemon
if [ "$alive" = yes ] && [ "$(daemon_pid)" != "$d" ] && [ "$(state_of $R)" = running ] && kill -0 "$vpid" 2>/dev/null &&
   [ "$(field $R vmm_pid)" = "$vpid" ]; then
  echo "PASS hv_daemon_restart_readopts (VMM $vpid kept running)"
else echo "FAIL hv_daemon_restart_readopts: alive=$alive state=$(state_of $R) pid=$(field $R vmm_pid)/$vpid"; fi

# 4. a VMM killed -9 is reported crashed with the reason; the other VM keeps running
kpid=$(vmm_of $K)
kill -9 "$kpid"
for _ in $(seq 40); do [ "$(state_of $K)" = crashed ] && break; sleep 0.1; done
reason=$(field $K reason)
if [ "$(state_of $K)" = crashed ] && echo "$reason" | grep -q "SIGKILL" && [ "$(state_of $R)" = running ]; then
  echo "PASS hv_vmm_crash_reported ($reason; the other VM still running)"
else echo "FAIL hv_vmm_crash_reported: $K $(state_of $K) '$reason', $R $(state_of $R)"; fi
if [ "$MODE" = jail ]; then   # a syscall outside the allowlist kills the jailed VMM: reported crashed (SIGSYS)
  S=$P-s
  V create $S --mem 64M --net none --append vmkit.net=0 >/dev/null; V start $S >/dev/null
  curl -s --max-time 10 --unix-socket "$T/state/vms/$S/root/api.sock" -X PUT http://d/vmkit/test/forbidden-syscall >/dev/null 2>&1
  for _ in $(seq 50); do [ "$(state_of $S)" = crashed ] && break; sleep 0.1; done
  reason=$(field $S reason)
  [ "$(state_of $S)" = crashed ] && echo "$reason" | grep -q "SIGSYS" && echo "PASS hv_seccomp_kill_reported ($reason)" ||
    echo "FAIL hv_seccomp_kill_reported: $(state_of $S) '$reason'"
  V rm $S >/dev/null
  # a jailed VMM writes its snapshot inside its root; the daemon moves it to the requested directory
  out=$(V snapshot $R "$T/snapj" 2>&1)
  [ -f "$T/snapj/state" ] && [ -f "$T/snapj/memory" ] && [ "$(state_of $R)" = running ] &&
    echo "PASS hv_snapshot_jailed ($out)" || echo "FAIL hv_snapshot_jailed: $out"
  # and restores it jailed (the snapshot bound read-only into the new VM's jail)
  out=$(V restore "$T/snapj" --name $P-rj 2>&1); rc=$?
  [ $rc = 0 ] && [ "$(state_of $P-rj)" = running ] && [ "$(field $P-rj jailed)" = true ] &&
    echo "PASS hv_restore_jailed ($out)" || echo "FAIL hv_restore_jailed: rc=$rc $out; $(state_of $P-rj)"
fi
out=$(V stop $R --timeout 5 2>&1)
gone() { [ ! -e /proc/$1 ] || awk '{exit !($3 == "Z")}' "/proc/$1/stat" 2>/dev/null; }   # exited (maybe unreaped)
if [ "$(state_of $R)" = stopped ] && gone "$vpid"; then echo "PASS hv_stop_after_readopt ($out)"
else echo "FAIL hv_stop_after_readopt: $out"; fi
V rm $R >/dev/null; V rm $K >/dev/null

# 5. no daemon: a clear one-line error
out=$(VMKIT_SOCK=$T/none.sock "$VMKIT" ls 2>&1); rc=$?
if [ $rc != 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "cannot reach the daemon at $T/none.sock"; then
  echo "PASS hv_cli_no_daemon"
else echo "FAIL hv_cli_no_daemon: rc=$rc $out"; fi
if [ "$MODE" = nojail ]; then
  if "$VMKIT" run --help 2>/dev/null | grep -- "--jail" >/dev/null; then
    cleanup; trap - EXIT
    HV_MODE=jail bash "$0" | sed -u 's/^\(PASS\|FAIL\|SKIP\) hv_/\1 hv_jail_/'
  else
    echo "SKIP hv_jail_lifecycle: this VMM has no --jail"
  fi
fi
exit 0
