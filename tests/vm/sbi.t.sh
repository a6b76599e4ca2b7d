#!/usr/bin/env bash
# sbi.t.sh — platform end-to-end tests without Linux: OpenSBI (Debian's fw_dynamic.bin) boots on the
# vmkit machine, hands over to tests/vm/payload.S in S-mode, which talks to the UART, the test device
# and SBI. Covers: firmware boot + device tree, poweroff exit 0, fail code, UART input, Ctrl-A x,
# SIGTERM, the socket console, and the host CPU an idle guest costs.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
FW=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
[ -n "${VMKIT_IMAGES:-}" ] && [ -f "$VMKIT_IMAGES/fw_dynamic.bin" ] && FW=$VMKIT_IMAGES/fw_dynamic.bin
CC=riscv64-linux-gnu-gcc
if [ ! -x "$VMKIT" ]; then echo "SKIP sbi: $VMKIT not built"; exit 0; fi
if ! command -v $CC >/dev/null; then echo "SKIP sbi: no $CC (gcc-riscv64-linux-gnu) to assemble the payload"; exit 0; fi
if [ ! -f "$FW" ]; then echo "SKIP sbi: no OpenSBI firmware ($FW)"; exit 0; fi
T=$(mktemp -d /tmp/vmkit-sbi.XXXXXX)
trap 'rm -rf "$T"' EXIT

for m in HELLO FAIL ECHO IDLE; do
  if ! $CC -DMODE_$m -nostdlib -nostartfiles -static -no-pie -Wl,--build-id=none -Wl,-Ttext=0x80200000 \
       -o "$T/$m.elf" "$ROOT/tests/vm/payload.S" 2>"$T/cc.log" ||
     ! riscv64-linux-gnu-objcopy -O binary -j .text "$T/$m.elf" "$T/$m.bin"; then
    echo "FAIL sbi_build: cannot assemble the payload: $(head -c 300 "$T/cc.log")"; exit 1
  fi
done
run() { local k=$1; shift; timeout 30 "$VMKIT" run --bios "$FW" --kernel "$T/$k.bin" --net none "$@"; }

# 1. boot to the payload and power off
out=$(run HELLO </dev/null 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "OpenSBI v" <<<"$out" && grep -q "payload: hello from S-mode" <<<"$out" &&
   grep -q "Platform Shutdown Device  : sifive_test" <<<"$out"; then echo "PASS sbi_poweroff"
else echo "FAIL sbi_poweroff: rc=$rc, output: $(tail -n 3 <<<"$out" | tr '\n' '|')"; fi

# 2. two harts: OpenSBI sees both, boot still completes
out=$(run HELLO --cpus 2 </dev/null 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "Platform HART Count       : 2" <<<"$out" && grep -q "payload: hello" <<<"$out"; then
  echo "PASS sbi_two_harts"
else echo "FAIL sbi_two_harts: rc=$rc, output: $(tail -n 3 <<<"$out" | tr '\n' '|')"; fi

# 3. the test device's fail code becomes the exit status
out=$(run FAIL </dev/null 2>&1); rc=$?
if [ $rc -eq 7 ] && grep -q "payload: hello" <<<"$out"; then echo "PASS sbi_fail_code"
else echo "FAIL sbi_fail_code: rc=$rc (want 7)"; fi

# 4. UART input from a pipe reaches the guest and comes back
out=$( { sleep 0.5; printf 'abc'; sleep 0.3; printf 'xyzq'; } | run ECHO 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "payload: hello from S-mode" <<<"$out" && grep -q "abcxyzq" <<<"$out"; then
  echo "PASS sbi_uart_input"
else echo "FAIL sbi_uart_input: rc=$rc, tail: $(tail -c 100 <<<"$out" | tr '\n' '|')"; fi

# 4b. flow control: 50000 bytes pasted at once reach the guest without loss (the UART queue is 4 KiB;
#     the console pauses reading instead of dropping), also when the writer has already closed the pipe
python3 -c "import sys; a='abcdefghijklmnoprstuvwxyz0123456789'; sys.stdout.write(''.join(a[i%len(a)] for i in range(50000)))" >"$T/big"
out=$( { sleep 0.5; cat "$T/big"; printf q; } | run ECHO 2>&1); rc=$?
got=$(printf '%s' "$out" | python3 -c "import sys; d=sys.stdin.read(); i=d.find('S-mode'); print(len(d[i+7:].split('q')[0]) if i>=0 else -1)")
want=$(head -c 50000 "$T/big")
if [ $rc -eq 0 ] && grep -qF "$want" <<<"$out"; then echo "PASS sbi_uart_flow_control"
else echo "FAIL sbi_uart_flow_control: rc=$rc, $got of 50000 bytes echoed intact"; fi

# 5. Ctrl-A x quits with status 0 (Ctrl-A Ctrl-A and other keys before it do not)
out=$( { sleep 0.5; printf '\001\001\001h'; sleep 0.3; printf '\001x'; sleep 5; } | run IDLE 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "payload: hello" <<<"$out" && grep -q "C-a x" <<<"$out"; then echo "PASS sbi_ctrl_a_x"
else echo "FAIL sbi_ctrl_a_x: rc=$rc, tail: $(tail -c 200 <<<"$out" | tr '\n' '|')"; fi

# 6. SIGTERM: clean shutdown with status 143; idle guest costs (almost) no host CPU
"$VMKIT" run --bios "$FW" --kernel "$T/IDLE.bin" --net none </dev/null >"$T/idle.out" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q "payload: hello" "$T/idle.out" && break; sleep 0.1; done
vpid=$pid
t0=$(awk '{print $14+$15}' /proc/$vpid/stat 2>/dev/null)
sleep 5
t1=$(awk '{print $14+$15}' /proc/$vpid/stat 2>/dev/null)
kill -TERM $vpid 2>/dev/null
wait $pid; rc=$?
ticks=$(( ${t1:-0} - ${t0:-0} )); hz=$(getconf CLK_TCK)
if [ $rc -eq 143 ] && grep -q "terminated by signal 15" "$T/idle.out"; then echo "PASS sbi_sigterm"
else echo "FAIL sbi_sigterm: rc=$rc (want 143), tail: $(tail -c 100 "$T/idle.out" | tr '\n' '|')"; fi
# less than 5% of one core over 5 s
# t0/t1 empty = the VMM's /proc/PID/stat was unreadable (it died); 0 ticks of CPU is a pass
if [ -n "$t0" ] && [ -n "$t1" ] && [ $((ticks * 100)) -lt $((5 * hz * 5)) ]; then echo "PASS sbi_idle_cpu ($ticks ticks of 1/$hz s in 5 s)"
else echo "FAIL sbi_idle_cpu: $ticks ticks of 1/$hz s of CPU in 5 s of idle guest"; fi

# 7. socket console: output produced before the client connects is replayed to it; input works
sock=$T/console.sock
run ECHO --console socket="$sock" </dev/null >"$T/sock.out" 2>&1 &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
got=$(python3 - "$sock" <<'PY' 2>&1
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
buf = b""
while b"payload: hello" not in buf:
    d = s.recv(4096)
    if not d: break
    buf += d
s.sendall(b"sockq")
end = time.time() + 10
while b"sockq" not in buf and time.time() < end:
    d = s.recv(4096)
    if not d: break
    buf += d
print(buf.decode(errors="replace"))
PY
)
wait $pid; rc=$?
if [ $rc -eq 0 ] && grep -q "payload: hello" <<<"$got" && grep -q "sockq" <<<"$got" && [ ! -e "$sock" ]; then
  echo "PASS sbi_socket_console"
else echo "FAIL sbi_socket_console: rc=$rc, got: $(tail -c 200 <<<"$got" | tr '\n' '|')"; fi
# 8. on a terminal: raw mode while running (Ctrl-C goes to the guest), restored after Ctrl-A x and
#    after SIGTERM
ptyres=$(python3 - "$VMKIT" "$FW" "$T/IDLE.bin" <<'PY' 2>&1
import os, pty, sys, termios, time, select, signal
def run(quit_with):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.argv[1], [sys.argv[1], "run", "--bios", sys.argv[2], "--kernel", sys.argv[3], "--net", "none"])
    buf = b""; end = time.time() + 20
    while b"payload: hello" not in buf and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try: buf += os.read(fd, 4096)
            except OSError: break
    lflag = termios.tcgetattr(fd)[3]
    raw = not (lflag & (termios.ICANON | termios.ECHO | termios.ISIG))
    if quit_with == "ctrl-a": os.write(fd, b"\x03\x01x")     # Ctrl-C must not kill vmkit; C-a x quits
    else: os.kill(pid, signal.SIGTERM)
    end = time.time() + 10; status = None
    while time.time() < end:
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid: status = os.waitstatus_to_exitcode(st); break
        try: os.read(fd, 4096)
        except OSError: pass
        time.sleep(0.05)
    lflag = termios.tcgetattr(fd)[3]
    restored = bool(lflag & termios.ICANON) and bool(lflag & termios.ECHO)
    print(quit_with, "raw=%s status=%s restored=%s" % (raw, status, restored))
run("ctrl-a"); run("sigterm")
PY
)
if grep -q "ctrl-a raw=True status=0 restored=True" <<<"$ptyres" && grep -q "sigterm raw=True status=143 restored=True" <<<"$ptyres"; then
  echo "PASS sbi_tty_raw_mode_restored"
else echo "FAIL sbi_tty_raw_mode_restored: $(tr '\n' '|' <<<"$ptyres")"; fi
exit 0
