#!/usr/bin/env bash
# badinput.t.sh — every bad `vmkit run` input must fail before anything starts: non-zero status,
# exactly one line on stderr starting "vmkit: ", nothing on stdout, and no guest running (time-bounded).
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
if [ ! -x "$VMKIT" ]; then echo "SKIP badinput: $VMKIT not built"; exit 0; fi
T=$(mktemp -d /tmp/vmkit-bad.XXXXXX)
trap 'rm -rf "$T"' EXIT
FW=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
printf 'this is not a kernel, just text long enough to have a header area.............................\n' > "$T/notkernel"
: > "$T/empty"
head -c 64 /dev/zero > "$T/k"; printf 'RSC\005' | dd of="$T/k" bs=1 seek=56 conv=notrunc 2>/dev/null   # a valid header
head -c 4096 /dev/zero >> "$T/k"
mkdir "$T/dir"
printf 'x' > "$T/unreadable"; chmod 000 "$T/unreadable"
head -c 1048576 /dev/zero > "$T/disk.img"; chmod 444 "$T/disk.img"
K=(--kernel "$T/k" --bios "$FW" --net none --console null)

check() {   # check <name> <args...>
  local name=$1; shift
  timeout 20 "$VMKIT" "$@" </dev/null >"$T/out" 2>"$T/err"; local rc=$?
  local lines; lines=$(wc -l <"$T/err")
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$lines" -eq 1 ] && grep -q '^vmkit: ' "$T/err" && [ ! -s "$T/out" ]; then
    echo "PASS badinput_$name"
  else
    echo "FAIL badinput_$name: rc=$rc, stderr($lines lines): $(head -c 200 "$T/err" | tr '\n' '|'), stdout: $(head -c 100 "$T/out" | tr '\n' '|')"
  fi
}

check unknown_command       frobnicate
check unknown_option        run --frobnicate
check missing_value         run --kernel
check missing_kernel        run --kernel "$T/nope" --bios "$FW"
check kernel_is_dir         run --kernel "$T/dir" --bios "$FW"
check kernel_unreadable_or_not_kernel run --kernel "$T/unreadable" --bios "$FW" --net none
check not_a_kernel          run --kernel "$T/notkernel" --bios "$FW" --net none
check empty_kernel          run --kernel "$T/empty" --bios "$FW" --net none
check missing_initrd        run "${K[@]}" --initrd "$T/nope"
check missing_bios          run --kernel "$T/k" --bios "$T/nope"
check mem_malformed         run "${K[@]}" --mem lots
check mem_negative          run "${K[@]}" --mem -5M
check mem_too_small         run "${K[@]}" --mem 1M
check mem_too_large         run "${K[@]}" --mem 64T
check mem_more_than_host    run "${K[@]}" --mem 63G
check cpus_zero             run "${K[@]}" --cpus 0
check cpus_too_many         run "${K[@]}" --cpus 33
check cpus_malformed        run "${K[@]}" --cpus two
check cpus_trailing         run "${K[@]}" --cpus 2x
check disk_missing          run "${K[@]}" --disk "$T/nope.img"
check disk_bad_option       run "${K[@]}" --disk "$T/disk.img,bogus"
check disk_empty_path       run "${K[@]}" --disk ",ro"
if [ "$(id -u)" -ne 0 ]; then check disk_readonly_file_rw run "${K[@]}" --disk "$T/disk.img"
else echo "SKIP badinput_disk_readonly_file_rw: running as root, which may write a mode-444 file"; fi
check net_malformed         run --kernel "$T/k" --bios "$FW" --console null --net bogus
check net_bad_hostfwd       run --kernel "$T/k" --bios "$FW" --console null --net user,hostfwd=tcp::x-:22
check net_none_and_user     run --kernel "$T/k" --bios "$FW" --console null --net none --net user
check console_bad           run --kernel "$T/k" --bios "$FW" --net none --console tty9
check console_socket_empty  run --kernel "$T/k" --bios "$FW" --net none --console socket=
check console_socket_dir    run --kernel "$T/k" --bios "$FW" --net none --console socket="$T/dir"
python3 -c "import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4); time.sleep(30)" "$T/live.sock" &
lpid=$!
for _ in $(seq 50); do [ -S "$T/live.sock" ] && break; sleep 0.1; done
check console_socket_in_use run --kernel "$T/k" --bios "$FW" --net none --console socket="$T/live.sock"
kill $lpid 2>/dev/null; wait $lpid 2>/dev/null
check images_missing        env VMKIT_IMAGES="$T/dir" "$VMKIT" run --net none
# a read-only disk opened with ,ro is fine: the VM must then start (it runs until killed by timeout)
timeout 3 "$VMKIT" run "${K[@]}" --disk "$T/disk.img,ro" </dev/null >/dev/null 2>"$T/err"; rc=$?
if [ $rc -eq 124 ]; then echo "PASS badinput_control_ro_disk_accepted"
else echo "FAIL badinput_control_ro_disk_accepted: rc=$rc: $(head -c 200 "$T/err")"; fi
# --help succeeds and mentions every option
# (outputs captured first: `grep -q` closing the pipe early would fail the writer under pipefail)
rh=$("$VMKIT" run --help) gh=$("$VMKIT" --help) ver=$("$VMKIT" --version)
if grep -q -- "--console" <<<"$rh" && grep -q "run" <<<"$gh" && grep -q "^vmkit " <<<"$ver"; then
  echo "PASS cli_help_version"
else echo "FAIL cli_help_version"; fi
exit 0
