#!/usr/bin/env bash
# api.t.sh — the per-VM Firecracker-compatible API (`vmkit run --api-sock`, src/vm/api.c) over
# curl --unix-socket: Firecracker's getting-started sequence boots the default guest; GET / states;
# pause stops guest instructions and resume restarts them; bad requests are 400 + fault_message and
# the VMM keeps answering; metrics and logger; SendCtrlAltDel powers off (VMM exits 0); --start;
# snapshot create (paused only) and load into a fresh VMM; live migration to `vmkit run --incoming`;
# one-line errors for the new `vmkit run` options.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
[ -x "$VMKIT" ] || { echo "SKIP api: $VMKIT not built"; exit 0; }
for f in Image initramfs.cpio.gz fw_dynamic.bin disk.ext4; do
  [ -f "$IMG/$f" ] || { echo "SKIP api: guest image $IMG/$f missing (make images)"; exit 0; }
done
command -v curl >/dev/null || { echo "SKIP api: curl not installed"; exit 0; }
export VMKIT_IMAGES=$IMG
T=$(mktemp -d /tmp/vmkit-api.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

CODE= BODY=
api() {   # api SOCK METHOD PATH [JSON] -> $CODE, $BODY
  local out
  out=$(curl -s -m 20 --unix-socket "$1" -X "$2" -w '\n%{http_code}' ${4:+-H 'Content-Type: application/json' -d "$4"} "http://localhost$3")
  CODE=${out##*$'\n'}; BODY=${out%$'\n'*}
}
wait_for() {   # wait_for SECONDS CMD... : polls every 0.2 s
  local n=$(( $1 * 5 )); shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.2; done; return 1
}
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$BODY"; }
start_vmm() {   # start_vmm NAME ARGS... : VMM with console to $T/NAME.con, stderr $T/NAME.err
  local n=$1; shift
  timeout 300 "$VMKIT" run "$@" </dev/null >"$T/$n.con" 2>"$T/$n.err" &
  PIDS+=($!); eval "PID_$n=$!"
}
pass() { echo "PASS api_$1"; }
fail() { echo "FAIL api_$1: $2"; }

# ---- 1. Firecracker's getting-started sequence ----
S=$T/a.sock
cp "$IMG/disk.ext4" "$T/rootfs.ext4"
start_vmm a --api-sock "$S" --console stdio --name api-test
wait_for 10 test -S "$S" || { fail getting_started "no API socket: $(cat "$T/a.err")"; exit 0; }
api "$S" GET /
[ "$CODE" = 200 ] && grep -q '"state":"Not started"' <<<"$BODY" && grep -q '"id":"api-test"' <<<"$BODY" \
  && pass state_not_started || fail state_not_started "$CODE $BODY"
timeout 10 "$VMKIT" run --api-sock "$S" --console null </dev/null >/dev/null 2>"$T/dup.err"; rc=$?
[ $rc = 1 ] && grep -q "in use" "$T/dup.err" && pass second_vmm_same_socket_refused || fail second_vmm_same_socket_refused "rc=$rc $(cat "$T/dup.err")"
mode=$(stat -c %a "$S"); [ "$mode" = 600 ] && pass socket_mode_0600 || fail socket_mode_0600 "mode $mode"

api "$S" PATCH /vm '{"state": "Paused"}'
[ "$CODE" = 400 ] && grep -q fault_message <<<"$BODY" && pass pause_before_start_400 || fail pause_before_start_400 "$CODE $BODY"

ok=1; log=
for req in "PUT /machine-config {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": false, \"track_dirty_pages\": false}" \
           "PUT /boot-source {\"kernel_image_path\": \"$IMG/Image\", \"initrd_path\": \"$IMG/initramfs.cpio.gz\", \"boot_args\": \"console=ttyS0 earlycon=sbi\"}" \
           "PUT /drives/rootfs {\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": true, \"is_read_only\": true, \"cache_type\": \"Unsafe\", \"io_engine\": \"Sync\"}" \
           "PUT /network-interfaces/eth0 {\"iface_id\": \"eth0\", \"guest_mac\": \"06:00:ac:10:00:02\", \"vmkit_net\": \"user\"}" \
           "PUT /metrics {\"metrics_path\": \"$T/metrics.json\"}" \
           "PUT /logger {\"log_path\": \"$T/vmm.log\", \"level\": \"Info\", \"show_level\": true, \"show_log_origin\": false}"; do
  set -- $req; m=$1 p=$2; shift 2
  api "$S" "$m" "$p" "$*"
  [ "$CODE" = 204 ] || { ok=0; log="$log $p=$CODE:$BODY"; }
done
[ $ok = 1 ] && pass configure_204 || fail configure_204 "$log"
api "$S" GET /machine-config
grep -q '"mem_size_mib":128' <<<"$BODY" && grep -q '"vmkit_arch":"riscv64"' <<<"$BODY" && pass get_machine_config \
  || fail get_machine_config "$CODE $BODY"

t0=$(date +%s.%N)
api "$S" PUT /actions '{"action_type": "InstanceStart"}'
if [ "$CODE" = 204 ] && wait_for 60 grep -q "vmkit guest ready" "$T/a.con"; then
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')
  pass "getting_started_boots (InstanceStart to 'vmkit guest ready' in ${secs}s)"
else
  fail getting_started_boots "InstanceStart $CODE $BODY; console: $(tail -n 3 "$T/a.con" | tr '\r\n' '  '); err: $(tail -n 3 "$T/a.err")"
fi
grep -q "root=/dev/vda ro" "$T/a.con" && pass root_device_cmdline || fail root_device_cmdline "no root=/dev/vda ro on the kernel command line"
api "$S" GET /
grep -q '"state":"Running"' <<<"$BODY" && pass state_running || fail state_running "$CODE $BODY"
api "$S" PUT /actions '{"action_type": "InstanceStart"}'
[ "$CODE" = 400 ] && grep -q fault_message <<<"$BODY" && pass instance_start_twice_400 || fail instance_start_twice_400 "$CODE $BODY"

# ---- 2. pause / resume ----
api "$S" PATCH /vm '{"state": "Paused"}'; c1=$CODE
api "$S" GET /; st=$BODY
api "$S" GET /vmkit/stats; i1=$(field instret)
sleep 1
api "$S" GET /vmkit/stats; i2=$(field instret)
if [ "$c1" = 204 ] && grep -q '"state":"Paused"' <<<"$st" && [ -n "$i1" ] && [ "$i1" = "$i2" ]; then
  pass "pause_stops_instret (instret $i1 -> $i2 over 1 s)"
else fail pause_stops_instret "PATCH $c1, state $st, instret $i1 -> $i2"; fi
api "$S" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$T/snap\", \"mem_file_path\": \"$T/snap/memory\"}"
snap_code=$CODE snap_body=$BODY
api "$S" PATCH /vm '{"state": "Resumed"}'; c1=$CODE
sleep 1
api "$S" GET /vmkit/stats; i3=$(field instret)
api "$S" GET /; st=$BODY
if [ "$c1" = 204 ] && grep -q '"state":"Running"' <<<"$st" && [ -n "$i3" ] && [ "$i3" -gt "$i2" ]; then
  pass "resume_advances_instret ($i2 -> $i3)"
else fail resume_advances_instret "PATCH $c1, state $st, instret $i2 -> $i3"; fi

# ---- 3. snapshots: only when paused; the directory then loads into a fresh VMM ----
api "$S" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$T/snap2\"}"
[ "$CODE" = 400 ] && grep -q paused <<<"$BODY" && pass snapshot_running_400 || fail snapshot_running_400 "$CODE $BODY"
if [ "$snap_code" = 204 ] && [ -f "$T/snap/state" ] && [ -f "$T/snap/memory" ]; then
  pass snapshot_create_paused
  S2=$T/b.sock
  start_vmm b --api-sock "$S2" --console stdio --name api-restored
  wait_for 10 test -S "$S2"
  api "$S2" PUT /snapshot/load "{\"snapshot_path\": \"$T/snap\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$T/snap/memory\"}, \"resume_vm\": false}"
  c1=$CODE b1=$BODY
  api "$S2" GET /; st=$BODY
  api "$S2" PATCH /vm '{"state": "Resumed"}'
  api "$S2" GET /vmkit/stats; r1=$(field instret); sleep 1; api "$S2" GET /vmkit/stats; r2=$(field instret)
  if [ "$c1" = 204 ] && grep -q '"state":"Paused"' <<<"$st" && [ -n "$r1" ] && [ "$r2" -gt "$r1" ] && [ "$r1" -ge "$i1" ]; then
    pass "snapshot_load_paused_then_resumed (instret $r1 -> $r2, saved at $i1)"
  else fail snapshot_load_paused_then_resumed "load $c1 $b1; state $st; instret $r1 -> $r2 (saved $i1); $(tail -n 2 "$T/b.err")"; fi
  api "$S2" PUT /actions '{"action_type": "SendCtrlAltDel"}'
  wait "$PID_b"; rc=$?
  [ $rc = 0 ] && grep -q "Power down" "$T/b.con" && pass restored_vm_powers_off || fail restored_vm_powers_off "rc=$rc $(tail -n 2 "$T/b.con" | tr '\r\n' '  ')"
  # the same snapshot from the command line, as a clone (its disk is read-only here), started paused
  mkdir -p "$T/clone1"
  S3=$T/g.sock
  start_vmm g --restore "$T/snap" --clone-dir "$T/clone1" --clone-index 1 --paused --api-sock "$S3" --console stdio --net user
  wait_for 20 test -S "$S3"
  api "$S3" GET /; st=$BODY
  api "$S3" PATCH /vm '{"state": "Resumed"}'
  api "$S3" GET /vmkit/stats; r1=$(field instret); sleep 1; api "$S3" GET /vmkit/stats; r2=$(field instret)
  api "$S3" PUT /actions '{"action_type": "SendCtrlAltDel"}'
  wait "$PID_g"; rc=$?
  if grep -q '"state":"Paused"' <<<"$st" && [ -n "$r1" ] && [ "$r2" -gt "$r1" ] && [ $rc = 0 ]; then
    pass "restore_option_clone_paused (instret $r1 -> $r2)"
  else fail restore_option_clone_paused "state $st, instret $r1 -> $r2, rc=$rc, clone dir: $(ls "$T/clone1"), $(tail -n 2 "$T/g.err")"; fi
else
  fail snapshot_create_paused "$snap_code $snap_body"
fi

# ---- 4. bad requests: 400 + fault_message, the VMM keeps answering ----
bad() {   # bad NAME METHOD PATH JSON [EXPECTED_CODE]
  api "$S" "$2" "$3" "$4"
  if [ "$CODE" = "${5:-400}" ] && grep -q '"fault_message"' <<<"$BODY"; then pass "bad_$1"; else fail "bad_$1" "$CODE $BODY"; fi
}
bad malformed_json      PUT /actions '{"action_type": '
bad unknown_field       PUT /actions '{"action_type": "FlushMetrics", "bogus": 1}'
bad wrong_type          PUT /actions '{"action_type": 5}'
bad not_an_object       PUT /actions '["InstanceStart"]'
bad unknown_action      PUT /actions '{"action_type": "Explode"}'
bad empty_body          PUT /actions ''
bad after_start_config  PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
bad unknown_path        GET /nope ''
bad wrong_method        DELETE /machine-config ''
bad balloon_unsupported PUT /balloon '{"amount_mib": 1}'
bad test_hook_disabled  PUT /vmkit/test/forbidden-syscall '{}' 404
bad bad_state           PATCH /vm '{"state": "Frozen"}'
bad migrate_no_dest     PUT /vmkit/migrate '{"destination": "127.0.0.1:1"}'
api "$S" GET /vmkit/migration
grep -q '"phase":"failed"' <<<"$BODY" && pass migration_status_failed || fail migration_status_failed "$CODE $BODY"
api "$S" GET /
[ "$CODE" = 200 ] && grep -q '"state":"Running"' <<<"$BODY" && pass still_answers_after_bad_requests || fail still_answers_after_bad_requests "$CODE $BODY"

# ---- 5. metrics, logger ----
api "$S" PUT /actions '{"action_type": "FlushMetrics"}'
if [ "$CODE" = 204 ] && [ "$(wc -l <"$T/metrics.json")" -ge 1 ] && grep -q '"instret":[1-9]' "$T/metrics.json"; then
  pass flush_metrics_writes_a_json_line
else fail flush_metrics_writes_a_json_line "$CODE $BODY; $(head -c 200 "$T/metrics.json" 2>/dev/null)"; fi
[ -f "$T/vmm.log" ] && pass logger_file || fail logger_file "no $T/vmm.log"

# ---- 6. SendCtrlAltDel: the guest powers off and the VMM exits 0 ----
api "$S" PUT /actions '{"action_type": "SendCtrlAltDel"}'; c1=$CODE
wait "$PID_a"; rc=$?
[ "$c1" = 204 ] && [ $rc = 0 ] && grep -q "Power down" "$T/a.con" && pass send_ctrl_alt_del_exits_0 \
  || fail send_ctrl_alt_del_exits_0 "PUT $c1, rc=$rc, $(tail -n 2 "$T/a.con" | tr '\r\n' '  ')"
[ ! -e "$S" ] && pass socket_removed_on_exit || fail socket_removed_on_exit "$S still exists"

# ---- 7. validation of configuration requests (fresh VMM, not started) ----
S=$T/c.sock
start_vmm c --api-sock "$S" --console null --net none
wait_for 10 test -S "$S"
bad mem_absurd          PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 1000000000000}'
bad vcpu_zero           PUT /machine-config '{"vcpu_count": 0, "mem_size_mib": 128}'
bad vcpu_fraction       PUT /machine-config '{"vcpu_count": 1.5, "mem_size_mib": 128}'
bad smt_true            PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128, "smt": true}'
bad arch_unknown        PATCH /machine-config '{"vmkit_arch": "arm64"}'
bad put_missing_field   PUT /machine-config '{"vcpu_count": 2}'
bad drive_id_mismatch   PUT /drives/rootfs "{\"drive_id\": \"other\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": false}"
bad drive_missing_file  PUT /drives/d1 "{\"drive_id\": \"d1\", \"path_on_host\": \"$T/nope\", \"is_root_device\": false}"
bad drive_rate_limiter  PUT /drives/d1 "{\"drive_id\": \"d1\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": false, \"rate_limiter\": {}}"
bad drive_bad_id        PUT /drives/a%2Fb "{\"drive_id\": \"a/b\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": false}"
bad kernel_missing      PUT /boot-source "{\"kernel_image_path\": \"$T/nope\"}"
bad net_bad_mac         PUT /network-interfaces/eth0 '{"iface_id": "eth0", "guest_mac": "zz:00:00:00:00:00", "vmkit_net": "user"}'
bad net_bad_spec        PUT /network-interfaces/eth0 '{"iface_id": "eth0", "vmkit_net": "bogus"}'
bad net_no_backend      PUT /network-interfaces/eth0 '{"iface_id": "eth0"}'
bad snapshot_not_started PUT /snapshot/create "{\"snapshot_path\": \"$T/snap3\"}"
bad load_not_a_dir      PUT /snapshot/load "{\"snapshot_path\": \"$T/nope\"}"
bad ctrl_alt_del_not_started PUT /actions '{"action_type": "SendCtrlAltDel"}'
bad flush_no_metrics    PUT /actions '{"action_type": "FlushMetrics"}'
api "$S" PUT /boot-source "{\"kernel_image_path\": \"$T/rootfs.ext4\"}"     # a file, but not a kernel
bad start_not_a_kernel  PUT /actions '{"action_type": "InstanceStart"}'
api "$S" GET /
grep -q '"state":"Not started"' <<<"$BODY" && pass failed_start_stays_not_started || fail failed_start_stays_not_started "$BODY"
kill -TERM "$PID_c"; wait "$PID_c"; rc=$?
[ $rc = 143 ] && pass sigterm_while_waiting_exits_143 || fail sigterm_while_waiting_exits_143 "rc=$rc $(cat "$T/c.err")"

# ---- 8. --start: boots at once from the command line, API alongside ----
S=$T/d.sock
start_vmm d --api-sock "$S" --start --mem 64M --net none --console stdio --append 'vmkit.run=sleep%202'
wait_for 10 test -S "$S"
api "$S" GET /
st=$BODY
wait "$PID_d"; rc=$?
grep -q '"state":"Running"' <<<"$st" && [ $rc = 0 ] && grep -q "VMKIT-RUN-END rc=0" "$T/d.con" && pass start_option \
  || fail start_option "state $st rc=$rc"

# ---- 8b. guest_mac reaches the guest; a command run through boot_args ----
S=$T/h.sock
start_vmm h --api-sock "$S" --console stdio
wait_for 10 test -S "$S"
api "$S" PUT /boot-source "{\"kernel_image_path\": \"$IMG/Image\", \"initrd_path\": \"$IMG/initramfs.cpio.gz\", \"boot_args\": \"console=ttyS0 vmkit.net=0 vmkit.run=cat%20/sys/class/net/eth0/address\"}"
api "$S" PUT /network-interfaces/eth0 '{"iface_id": "eth0", "guest_mac": "06:00:ac:10:00:02", "vmkit_net": "user"}'
api "$S" PUT /actions '{"action_type": "InstanceStart"}'; c1=$CODE
wait "$PID_h"; rc=$?
[ "$c1" = 204 ] && [ $rc = 0 ] && grep -q "^06:00:ac:10:00:02" "$T/h.con" && pass guest_mac_applied \
  || fail guest_mac_applied "start $c1 rc=$rc: $(grep -A1 VMKIT-RUN-BEGIN "$T/h.con" | tr '\r\n' '  ')"

# ---- 8c. vmkit_arch x86_64 selects the KVM engine (the freestanding test guest of make kvm-guests) ----
XK=$ROOT/build/kvm-guests/hello.bzimage
if [ ! -f "$XK" ]; then echo "SKIP api_x86_64_engine: $XK not built (make kvm-guests)"
elif [ ! -w /dev/kvm ]; then echo "SKIP api_x86_64_engine: /dev/kvm not usable"
else
  S=$T/x.sock
  start_vmm x --api-sock "$S" --console stdio
  wait_for 10 test -S "$S"
  api "$S" PATCH /machine-config '{"vmkit_arch": "x86_64", "mem_size_mib": 64}'; c1=$CODE
  api "$S" PUT /boot-source "{\"kernel_image_path\": \"$XK\"}"; c2=$CODE
  api "$S" PUT /actions '{"action_type": "InstanceStart"}'; c3=$CODE
  wait "$PID_x"; rc=$?
  [ "$c1$c2$c3" = 204204204 ] && [ $rc = 0 ] && grep -q "vmkit-x86 hello" "$T/x.con" && pass x86_64_engine \
    || fail x86_64_engine "$c1 $c2 $c3 rc=$rc $(tail -n 2 "$T/x.con" "$T/x.err" | tr '\r\n' '  ')"
fi

# ---- 9. live migration to `vmkit run --incoming` ----
if command -v python3 >/dev/null; then
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  S=$T/e.sock S2=$T/f.sock
  start_vmm e --api-sock "$S" --start --mem 64M --net none --console stdio --name mig-src
  start_vmm f --incoming "tcp:127.0.0.1:$PORT" --api-sock "$S2" --console stdio
  wait_for 10 test -S "$S"; wait_for 60 grep -q "vmkit guest ready" "$T/e.con"
  wait_for 10 grep -q "waiting for the migration" "$T/f.err"
  # a destination that refuses: 400 with its reason, the VM keeps running here
  RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 - "$RPORT" "$T/hello.json" <<'PY' &
import socket, struct, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(60)
c, _ = s.accept(); c.settimeout(10)
h = b""
while len(h) < 16: h += c.recv(16 - len(h))
n = struct.unpack("<I", h[12:16])[0]; js = b""
while len(js) < n: js += c.recv(n - len(js))
open(sys.argv[2], "wb").write(h[:8] + b" " + js)
msg = b"no room for this VM"
c.sendall(b"R" + struct.pack("<I", len(msg)) + msg); c.close()
PY
  RPID=$!; PIDS+=($RPID)
  sleep 0.5
  api "$S" PUT /vmkit/migrate "{\"destination\": \"127.0.0.1:$RPORT\"}"; c1=$CODE b1=$BODY
  wait $RPID
  api "$S" GET /
  if [ "$c1" = 400 ] && grep -q "no room for this VM" <<<"$b1" && grep -q '"state":"Running"' <<<"$BODY" &&
     grep -q '^VMKITMIG {"name":"mig-src","definition":{"name":"mig-src","engine":"riscv64","vcpus":1,"mem_mib":64,' "$T/hello.json"; then pass migrate_refused_keeps_running
  else fail migrate_refused_keeps_running "$c1 $b1; $BODY; hello: $(head -c 100 "$T/hello.json")"; fi

  api "$S" PUT /vmkit/migrate "{\"destination\": \"127.0.0.1:$PORT\", \"definition\": {\"name\": \"mig-src\"}, \"max_rounds\": 10}"
  c1=$CODE b1=$BODY
  wait "$PID_e"; rc=$?
  if [ "$c1" = 204 ] && [ $rc = 0 ] && grep -q migrated "$T/e.err" && wait_for 10 test -S "$S2"; then
    api "$S2" GET /vmkit/stats; r1=$(field instret); sleep 1; api "$S2" GET /vmkit/stats; r2=$(field instret)
    if [ -n "$r1" ] && [ "$r2" -gt "$r1" ]; then pass "migrate_to_incoming (destination instret $r1 -> $r2)"
    else fail migrate_to_incoming "destination not running: $BODY $(tail -n 2 "$T/f.err")"; fi
    api "$S2" PUT /actions '{"action_type": "SendCtrlAltDel"}'
    wait "$PID_f"; rc=$?
    [ $rc = 0 ] && pass migrated_vm_powers_off || fail migrated_vm_powers_off "rc=$rc $(tail -n 2 "$T/f.err")"
  else
    fail migrate_to_incoming "PUT $c1 $b1, source rc=$rc, $(tail -n 2 "$T/e.err" | tr '\n' ' ') / $(tail -n 2 "$T/f.err" | tr '\n' ' ')"
  fi
else
  echo "SKIP api_migrate_to_incoming: python3 not installed (used to pick a free port)"
fi

# ---- 9b. --incoming refuses a stream that is not a migration hello ----
if command -v python3 >/dev/null; then
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  start_vmm i --incoming "tcp:127.0.0.1:$PORT" --console null
  wait_for 10 grep -q "waiting for the migration" "$T/i.err"
  ans=$(python3 - "$PORT" <<'PY'
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
c.sendall(b"GET / HTTP/1.1\r\n\r\n")
print(c.recv(100)[:1].decode(errors="replace"))
PY
)
  wait "$PID_i"; rc=$?
  [ "$ans" = R ] && [ $rc = 1 ] && [ "$(grep -c . "$T/i.err")" = 2 ] && grep -q "not a vmkit migration stream" "$T/i.err" \
    && pass incoming_refuses_bad_hello || fail incoming_refuses_bad_hello "answer '$ans' rc=$rc $(cat "$T/i.err" | tr '\n' '|')"
fi

# ---- 10. bad `vmkit run` options: one line, non-zero, nothing started ----
badopt() {   # badopt NAME ARGS...
  local n=$1; shift
  timeout 20 "$VMKIT" run "$@" </dev/null >"$T/bo.out" 2>"$T/bo.err"; local rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$(wc -l <"$T/bo.err")" -eq 1 ] && grep -q '^vmkit: ' "$T/bo.err" && [ ! -s "$T/bo.out" ]; then
    pass "badopt_$n"
  else fail "badopt_$n" "rc=$rc $(head -c 200 "$T/bo.err" | tr '\n' '|')"; fi
}
badopt start_without_api  --start
badopt riscv_kvm          --arch riscv64 --accel kvm
badopt x86_tcg            --arch x86_64 --accel tcg
badopt arch_unknown       --arch arm64
badopt accel_unknown      --accel hvf
badopt api_sock_empty     --api-sock ''
badopt restore_missing    --restore "$T/nope"
badopt restore_with_kernel --restore "$T" --kernel "$IMG/Image"
badopt clone_without_restore --clone-dir "$T"
badopt clone_index_bad    --restore "$T" --clone-dir "$T" --clone-index 70000
badopt paused_without_restore --paused
badopt incoming_bad       --incoming udp:1.2.3.4:5
badopt incoming_port_bad  --incoming tcp:127.0.0.1:0
badopt incoming_fd_closed --incoming-fd 99
badopt incoming_and_restore --incoming tcp::4444 --restore "$T"
badopt jail_relative      --jail relative/dir --uid 1000 --gid 1000
badopt jail_without_uid   --jail /tmp
badopt uid_without_jail   --uid 1000
badopt uid_zero           --jail /tmp --uid 0 --gid 1000
badopt jail_api_outside   --jail "$T" --uid 1000 --gid 1000 --api-sock /tmp/elsewhere.sock
badopt name_bad           --name 'a b'
