#!/usr/bin/env bash
# engine.t.sh — the KVM x86-64 engine through `vmkit run --arch x86_64`, with a tiny bzImage-shaped guest
# assembled here (a setup header + 64-bit code at startup_64) that prints the command line it was given
# (from the zero page), the e820 entry count and the virtio device id in window 0 to COM1, then powers
# off through the exit port (the richer guests of tests/kvm/guests/ run in guests.t.sh); bad inputs (not a
# bzImage, --cpus 0, too much memory, /dev/kvm absent / not a KVM device / not permitted) get one line
# and a non-zero exit; a ticking variant of the guest is snapshotted and restored, and live-migrated.
# Prints timings (VM creation to first KVM_RUN, first serial byte, exit) and the max RSS.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
if [ ! -x "$VMKIT" ]; then echo "SKIP kvm_engine: $VMKIT not built"; exit 0; fi
for t in as objcopy; do
  command -v $t >/dev/null || { echo "SKIP kvm_engine: no '$t' (binutils) to assemble the test guest"; exit 0; }
done
T=$(mktemp -d /tmp/vmkit-kvm.XXXXXX)
chmod 755 "$T"
trap '[ -n "${vpid:-}" ] && kill $vpid 2>/dev/null; [ -n "${dpid:-}" ] && kill $dpid 2>/dev/null; rm -rf "$T"' EXIT

cat >"$T/guest.S" <<'EOF'
    .code16
    .section .text
_start:
    .org 0x1f1
    .byte 1                     /* setup_sects */
    .org 0x1fe
    .word 0xaa55
    .byte 0xeb, 0x66
    .ascii "HdrS"
    .word 0x20f                 /* boot protocol 2.15 */
    .org 0x211
    .byte 1                     /* LOADED_HIGH */
    .org 0x22c
    .long 0x7fffffff            /* initrd_addr_max */
    .long 0x200000              /* kernel_alignment */
    .byte 1                     /* relocatable */
    .org 0x236
    .word 1                     /* XLF_KERNEL_64 */
    .long 2047                  /* cmdline_size */
    .org 0x258
    .quad 0x1000000             /* pref_address */
    .long 0x100000              /* init_size */
    .org 0x600                  /* protected-mode kernel at 0x400, loaded at 1 MiB: startup_64 = +0x200 */
    .code64
    mov %rsi, %r15              /* the zero page */
.ifdef TICK                     /* the ticking variant: digits 0..9 on COM1, a busy loop between them */
    mov $0x3f8, %dx
    mov $0x30, %bl
5:  mov %bl, %al
    out %al, (%dx)
    mov $TICK, %ecx
6:  dec %ecx
    jnz 6b
    inc %bl
    cmp $0x3a, %bl
    jne 5b
    mov $0x0a, %al
    out %al, (%dx)
    mov $0x501, %dx
    mov $0, %al
    out %al, (%dx)
7:  hlt
    jmp 7b
.endif
    mov $0x3f8, %dx
    mov $0x21, %al
    out %al, (%dx)              /* '!': first serial byte, as early as possible */
    lea m_cmd(%rip), %rsi
    call puts
    mov 0x228(%r15), %esi       /* cmd_line_ptr */
    call puts
    call nl
    lea m_e820(%rip), %rsi
    call puts
    movzbl 0x1e8(%r15), %eax    /* e820_entries */
    call digit
    call nl
    mov $0xd0000000, %ebx       /* virtio-mmio window 0 */
    mov (%rbx), %eax
    cmp $0x74726976, %eax       /* "virt" */
    jne 1f
    lea m_virtio(%rip), %rsi
    call puts
    mov 8(%rbx), %eax           /* DeviceID */
    call digit
    call nl
1:  lea m_bye(%rip), %rsi
    call puts
    mov $0x501, %dx
    mov $EXITCODE, %al
    out %al, (%dx)
2:  hlt
    jmp 2b
puts:                           /* rsi: NUL-terminated string */
    mov $0x3f8, %dx
3:  lodsb
    test %al, %al
    jz 4f
    out %al, (%dx)
    jmp 3b
4:  ret
digit:                          /* eax: 0..9 */
    add $0x30, %al
    mov $0x3f8, %dx
    out %al, (%dx)
    ret
nl: mov $0x0a, %al
    mov $0x3f8, %dx
    out %al, (%dx)
    ret
m_cmd:    .asciz "\ncmdline: "
m_e820:   .asciz "e820 entries: "
m_virtio: .asciz "virtio device id: "
m_bye:    .asciz "guest done\n"
EOF
build_guest() {   # name exitcode [as options]
  local n=$1 c=$2; shift 2
  as --64 --defsym EXITCODE="$c" "$@" -o "$T/$n.o" "$T/guest.S" && objcopy -O binary "$T/$n.o" "$T/$n" && chmod 644 "$T/$n"
}
if ! build_guest g0 0 || ! build_guest g7 7 || ! build_guest tick 0 --defsym TICK=300000; then echo "FAIL kvm_engine_guest_build: could not assemble the test guest"; exit 0; fi

if [ ! -c /dev/kvm ]; then
  echo "SKIP kvm_boot_test_guest: no /dev/kvm on this host"
else
  # 1. the test guest: command line, e820, virtio window, exit status 0
  start=$(date +%s%N)
  VMKIT_LOG=info /usr/bin/time -f "maxrss_kb=%M" timeout 60 "$VMKIT" run --arch x86_64 --kernel "$T/g0" --initrd none \
      --mem 64M --net none --console stdio --append "vmkit.test=1" </dev/null >"$T/out0" 2>"$T/err0"
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ $rc -eq 0 ] && grep -q "^cmdline: .*console=ttyS0.*vmkit.test=1.*virtio_mmio.device=4K@0xd0000000:5" "$T/out0" &&
     grep -q "e820 entries: 3" "$T/out0" && grep -q "virtio device id: 4" "$T/out0" && grep -q "guest done" "$T/out0"; then
    echo "PASS kvm_boot_test_guest (${ms} ms wall for the whole vmkit process)"
  else
    echo "FAIL kvm_boot_test_guest: rc=$rc; out: $(tr '\n' '|' <"$T/out0" | head -c 400); err: $(tr '\n' '|' <"$T/err0" | head -c 400)"
  fi
  grep -h "kvm: from VM creation\|maxrss" "$T/err0" | sed 's/^/  /'

  # 2. the exit port's value is vmkit's exit status; 2 vCPUs (the AP waits for INIT/SIPI)
  timeout 60 "$VMKIT" run --arch x86_64 --kernel "$T/g7" --initrd none --mem 64M --cpus 2 --net none \
      --console stdio </dev/null >"$T/out7" 2>&1
  rc=$?
  if [ $rc -eq 7 ] && grep -q "guest done" "$T/out7"; then echo "PASS kvm_exit_port_status_2cpus"
  else echo "FAIL kvm_exit_port_status_2cpus: rc=$rc (want 7): $(tail -n 3 "$T/out7" | tr '\n' '|')"; fi

  # 3. median timings over 5 runs
  : >"$T/times"
  for i in 1 2 3 4 5; do
    s=$(date +%s%N)
    VMKIT_LOG=info "$VMKIT" run --arch x86_64 --kernel "$T/g0" --initrd none --mem 64M --net none --console null \
        </dev/null >/dev/null 2>"$T/erri"
    e=$(( ($(date +%s%N) - s) / 1000 ))
    sed -n 's/.*first KVM_RUN \([0-9.]*\) ms, first COM1 byte \([0-9.]*\) ms, guest exit \([0-9.]*\) ms.*/\1 \2 \3/p' "$T/erri" |
      awk -v w="$e" '{print $1, $2, $3, w/1000}' >>"$T/times"
  done
  if [ "$(wc -l <"$T/times")" -eq 5 ]; then
    med() { sort -n | sed -n 3p; }
    echo "PASS kvm_timings: medians of 5: VM creation -> first KVM_RUN $(cut -d' ' -f1 "$T/times" | med) ms," \
         "-> first serial byte $(cut -d' ' -f2 "$T/times" | med) ms, -> guest exit $(cut -d' ' -f3 "$T/times" | med) ms;" \
         "whole vmkit process $(cut -d' ' -f4 "$T/times" | med) ms"
  else
    echo "FAIL kvm_timings: $(cat "$T/erri" | head -c 300)"
  fi
fi

# 4. snapshot of a running x86 guest through the API (pause, snapshot, kill), restore: it goes on where it was
if [ -c /dev/kvm ] && command -v curl >/dev/null; then
  "$VMKIT" run --arch x86_64 --kernel "$T/tick" --initrd none --mem 64M --net none --console stdio \
      --api-sock "$T/api.sock" --start </dev/null >"$T/tick1" 2>"$T/tick1.err" &
  vpid=$!
  for _ in $(seq 300); do grep -q '[0-9]' "$T/tick1" 2>/dev/null && break; sleep 0.1; done
  api() { curl -s -m 30 --unix-socket "$T/api.sock" -X "$1" "http://localhost$2" -d "$3" -o /dev/null -w '%{http_code}'; }
  c1=$(api PATCH /vm '{"state":"Paused"}'); c2=$(api PUT /snapshot/create "{\"snapshot_path\": \"$T/snap\"}")
  before=$(tr -d '\n' <"$T/tick1")
  kill $vpid 2>/dev/null; wait $vpid 2>/dev/null
  timeout 120 "$VMKIT" run --restore "$T/snap" --console stdio </dev/null >"$T/tick2" 2>"$T/tick2.err"
  rc=$?
  after=$(tr -d '\n' <"$T/tick2")
  if [ "$c1" = 204 ] && [ "$c2" = 204 ] && [ $rc -eq 0 ] && [ -n "$before" ] && [ "$before$after" = 0123456789 ]; then
    echo "PASS kvm_snapshot_restore_continues (before the snapshot: $before, after the restore: $after)"
  else
    echo "FAIL kvm_snapshot_restore_continues: pause $c1, snapshot $c2, restore rc=$rc, output '$before' + '$after'; $(cat "$T/tick1.err" "$T/tick2.err" | head -n 3 | tr '\n' '|')"
  fi
else
  echo "SKIP kvm_snapshot_restore_continues: no /dev/kvm or no curl"
fi

# 5. live migration of a running x86 guest to another vmkit (same host, TCP): it goes on at the destination
if [ -c /dev/kvm ] && command -v curl >/dev/null; then
  port=$(( 40000 + RANDOM % 20000 ))
  timeout 120 "$VMKIT" run --incoming "tcp:127.0.0.1:$port" --console stdio </dev/null >"$T/dst" 2>"$T/dst.err" &
  dpid=$!
  sleep 0.5
  "$VMKIT" run --arch x86_64 --kernel "$T/tick" --initrd none --mem 64M --net none --console stdio \
      --api-sock "$T/m.sock" --start </dev/null >"$T/src" 2>"$T/src.err" &
  vpid=$!
  for _ in $(seq 300); do grep -q '[0-9]' "$T/src" 2>/dev/null && break; sleep 0.1; done
  s=$(date +%s%N)
  code=$(curl -s -m 60 --unix-socket "$T/m.sock" -X PUT http://localhost/vmkit/migrate \
         -d "{\"destination\": \"127.0.0.1:$port\"}" -o "$T/mig" -w '%{http_code}')
  mms=$(( ($(date +%s%N) - s) / 1000000 ))
  wait $vpid; src_rc=$?; vpid=
  wait $dpid; dst_rc=$?
  a=$(tr -d '\n' <"$T/src"); b=$(tr -d '\n' <"$T/dst")
  if [ "$code" = 204 ] && [ $src_rc -eq 0 ] && [ $dst_rc -eq 0 ] && [ -n "$a" ] && [ -n "$b" ] && [ "$a$b" = 0123456789 ]; then
    echo "PASS kvm_live_migration (source printed $a, destination $b; migrate call ${mms} ms)"
  else
    echo "FAIL kvm_live_migration: http $code ($(cat "$T/mig" 2>/dev/null)), source rc=$src_rc '$a', destination rc=$dst_rc '$b'; $(cat "$T/src.err" "$T/dst.err" | head -n 3 | tr '\n' '|')"
  fi
else
  echo "SKIP kvm_live_migration: no /dev/kvm or no curl"
fi

# 6. bad input: one line "vmkit: ..." and a non-zero exit, nothing started
one_line() {   # name expected-regex command...
  local name=$1 re=$2; shift 2
  timeout 30 "$@" </dev/null >"$T/bo" 2>"$T/be"
  local rc=$? lines
  lines=$(cat "$T/bo" "$T/be" | grep -c .)
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$lines" -eq 1 ] && grep -Eq "^vmkit: .*($re)" "$T/be"; then echo "PASS kvm_bad_$name"
  else echo "FAIL kvm_bad_$name: rc=$rc, $lines lines: $(cat "$T/bo" "$T/be" | head -n 3 | tr '\n' '|')"; fi
}
echo "this is not a kernel" >"$T/notkernel"; chmod 644 "$T/notkernel"
one_line not_bzimage "bzImage" "$VMKIT" run --arch x86_64 --kernel "$T/notkernel" --initrd none --net none --console null
one_line cpus0 "CPU|cpus" "$VMKIT" run --arch x86_64 --kernel "$T/g0" --initrd none --cpus 0 --net none --console null
one_line mem_host "mem|memory|RAM" "$VMKIT" run --arch x86_64 --kernel "$T/g0" --initrd none --mem 100000G --net none --console null
one_line mem_3g "at most 3072 MiB" "$VMKIT" run --arch x86_64 --kernel "$T/g0" --initrd none --mem 4G --net none --console null
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
  one_line kvm_not_device "not usable" unshare -m sh -c \
    "mount --bind /dev/null /dev/kvm && exec \"$VMKIT\" run --arch x86_64 --kernel \"$T/g0\" --initrd none --net none --console null"
  one_line kvm_absent "does not exist" unshare -m sh -c \
    "mkdir -p $T/dev && mount -t tmpfs t $T/dev && for f in null zero urandom random; do touch $T/dev/\$f && mount --bind /dev/\$f $T/dev/\$f; done &&
     mount --rbind $T/dev /dev && exec \"$VMKIT\" run --arch x86_64 --kernel \"$T/g0\" --initrd none --net none --console null"
  if command -v setpriv >/dev/null && [ -c /dev/kvm ] && [ "$(stat -c %a /dev/kvm)" = 600 ]; then
    cp "$VMKIT" "$T/vmkit" && chmod 755 "$T/vmkit"
    one_line kvm_not_permitted "not permitted" setpriv --reuid=65534 --regid=65534 --clear-groups \
      "$T/vmkit" run --arch x86_64 --kernel "$T/g0" --initrd none --net none --console null
  else
    echo "SKIP kvm_bad_kvm_not_permitted: /dev/kvm is not mode 600 here (or no setpriv)"
  fi
else
  echo "SKIP kvm_bad_kvm_unusable: needs root and unshare for a private mount namespace"
fi
