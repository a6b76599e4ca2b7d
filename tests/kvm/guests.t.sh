#!/usr/bin/env bash
# tests/kvm/guests.t.sh — the KVM engine end to end with the freestanding test guests of tests/kvm/guests/
# (bzImage-shaped, booted by `vmkit run --arch x86_64` exactly like Linux; hello and bootcheck also as ELF
# vmlinux files): hello (COM1 + exit port),
# bootcheck (zero page, e820 vs --mem, initrd, CPUID, paging, GDT in vmkit's strict layout), virtio
# (virtio-blk read/write/flush by polling, checked on the host file afterwards; virtio-rng; a hostile guest
# programming garbage), smp (MP table,
# INIT/SIPI of every AP for --cpus 1/2/4), exit status propagation, and bad input (not a bzImage,
# truncated image, --cpus 0, too much memory). SKIPs everything when /dev/kvm is absent or unusable.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
G=$ROOT/build/kvm-guests
TMO=${VMKIT_KVM_GUEST_TIMEOUT:-120}
if [ ! -x "$VMKIT" ]; then echo "SKIP kvm_guests: $VMKIT not built"; exit 0; fi
if [ "$(uname -m)" != x86_64 ]; then echo "SKIP kvm_guests: not an x86-64 host"; exit 0; fi
if [ ! -e /dev/kvm ]; then echo "SKIP kvm_guests: /dev/kvm is absent (no hardware virtualization here)"; exit 0; fi
make -s -C "$ROOT" kvm-guests >/dev/null 2>&1 || { echo "FAIL kvm_guests_build: make kvm-guests failed"; exit 1; }
T=$(mktemp -d /tmp/vmkit-kvmg.XXXXXX)
trap 'rm -rf "$T"' EXIT

# run <name> <vmkit run args...>: output in $T/<name>.out, status in RC, wall time in MS
run() {
  local name=$1; shift
  local a b
  a=$(date +%s%N)
  timeout "$TMO" "$VMKIT" run --arch x86_64 --net none --console stdio --initrd none "$@" </dev/null >"$T/$name.out" 2>"$T/$name.err"
  RC=$?
  b=$(date +%s%N)
  MS=$(( (b - a) / 1000000 ))
}
last() { tail -n 4 "$T/$1.out" "$T/$1.err" 2>/dev/null | tr '\r\n' '  ' | cut -c1-300; }

# 0. is KVM usable at all? (absent module, no permission, nested KVM refusing): SKIP, with vmkit's reason
run probe --mem 32M --kernel "$G/hello.bzimage"
if grep -q "unknown option '--arch'" "$T/probe.err"; then echo "SKIP kvm_guests: this vmkit has no --arch x86_64"; exit 0; fi
if [ $RC -ne 0 ] && grep -qiE 'kvm' "$T/probe.err" && ! grep -q 'vmkit-x86 hello' "$T/probe.out"; then
  echo "SKIP kvm_guests: KVM unusable here: $(head -n1 "$T/probe.err")"; exit 0
fi

# 1. hello
if [ $RC -eq 0 ] && grep -q '^vmkit-x86 hello' "$T/probe.out" && [ ! -s "$T/probe.err" ]; then
  echo "PASS kvm_hello (${MS} ms from exec to exit, status 0)"
else echo "FAIL kvm_hello: rc=$RC: $(last probe)"; fi
run hello2 --cpus 2 --mem 64M --kernel "$G/hello.bzimage"
if [ $RC -eq 0 ] && grep -q '^vmkit-x86 hello' "$T/hello2.out"; then echo "PASS kvm_hello_2cpus_exits (${MS} ms; APs never started)"
else echo "FAIL kvm_hello_2cpus_exits: rc=$RC: $(last hello2)"; fi

# 2. bootcheck, strict vmkit layout, several sizes; with an initrd
for mem in 64M 1G 3G; do
  run "boot$mem" --mem $mem --kernel "$G/bootcheck.bzimage" --cmdline "bootcheck.mem=$mem bootcheck.strict=vmkit"
  if [ $RC -eq 0 ] && grep -q '^bootcheck: 0 failures' "$T/boot$mem.out" && ! grep -q '^FAIL' "$T/boot$mem.out"; then
    echo "PASS kvm_bootcheck_mem_$mem ($(grep -c '^ok ' "$T/boot$mem.out") checks, ${MS} ms)"
  else echo "FAIL kvm_bootcheck_mem_$mem: rc=$RC: $(grep '^FAIL' "$T/boot$mem.out" | head -n3 | tr '\r\n' '  ') $(last boot$mem)"; fi
done
{ printf 'VMKIT-INITRD'; head -c 300000 /dev/urandom; } > "$T/initrd"
isz=$(stat -c %s "$T/initrd")
run bootinitrd --mem 128M --kernel "$G/bootcheck.bzimage" --initrd "$T/initrd" \
    --cmdline "bootcheck.mem=128M bootcheck.strict=vmkit bootcheck.initrd=$isz"
if [ $RC -eq 0 ] && grep -q '^ok initrd' "$T/bootinitrd.out" && grep -q '^bootcheck: 0 failures' "$T/bootinitrd.out"; then
  echo "PASS kvm_bootcheck_initrd ($isz bytes: $(grep '^ok initrd' "$T/bootinitrd.out" | cut -d' ' -f3 | tr -d ','))"
else echo "FAIL kvm_bootcheck_initrd: rc=$RC: $(grep '^FAIL' "$T/bootinitrd.out" | tr '\r\n' '  ') $(last bootinitrd)"; fi
# the same guests as ELF vmlinux files, entered at their ELF entry point (the Firecracker way)
run elfhello --mem 64M --kernel "$G/hello.vmlinux"
run elfboot --mem 64M --kernel "$G/bootcheck.vmlinux" --initrd "$T/initrd" --cmdline "bootcheck.mem=64M bootcheck.strict=vmkit bootcheck.initrd=$isz"
if [ $RC -eq 0 ] && grep -q '^bootcheck: 0 failures' "$T/elfboot.out" && grep -q '^vmkit-x86 hello' "$T/elfhello.out"; then
  echo "PASS kvm_elf_vmlinux (hello and bootcheck strict with initrd, booted from ELF files)"
else echo "FAIL kvm_elf_vmlinux: rc=$RC: $(grep '^FAIL' "$T/elfboot.out" | tr '\r\n' '  ') $(last elfboot) $(last elfhello)"; fi
# the guest's exit status reaches vmkit's: a wrong expectation gives 1 failure -> status 1
run bootwrong --mem 64M --kernel "$G/bootcheck.bzimage" --cmdline "bootcheck.mem=32M bootcheck.strict=vmkit"
if [ $RC -eq 1 ] && grep -q '^FAIL e820_mem' "$T/bootwrong.out" && grep -q '^bootcheck: 1 failures' "$T/bootwrong.out"; then
  echo "PASS kvm_exit_status_propagates (guest wrote 1 to port 0x501, vmkit exited 1)"
else echo "FAIL kvm_exit_status_propagates: rc=$RC: $(last bootwrong)"; fi

# 3. virtio-blk + virtio-rng by polling; the write and flush must be on the host file afterwards
python3 - "$T/disk.img" <<'PY'
import sys
d = bytearray(4 << 20); d[0:32] = b'VMKIT-DISK-SECTOR0 x86 e2e test!'
open(sys.argv[1], 'wb').write(d)
PY
run virtio --mem 64M --kernel "$G/virtio.bzimage" --disk "$T/disk.img"
s1=$(dd if="$T/disk.img" bs=512 skip=1 count=1 2>/dev/null | tr -d '\0' | head -c 100)
if [ $RC -eq 0 ] && grep -q '^ok blk read sector 0: "VMKIT-DISK-SECTOR0' "$T/virtio.out" && grep -q '^ok blk flush' "$T/virtio.out" &&
   grep -q '^ok blk read past the end: IOERR' "$T/virtio.out" && grep -q '^virtio: 0 failures' "$T/virtio.out" &&
   [[ "$s1" == "vmkit-x86 virtio guest wrote sector 1; sector 0 began: VMKIT-DISK-SECTO"* ]]; then
  echo "PASS kvm_virtio_blk (read, write, flush, out-of-range IOERR; sector 1 on the host file; ${MS} ms)"
else echo "FAIL kvm_virtio_blk: rc=$RC sector1='${s1:0:60}': $(grep -E '^(FAIL|virtio:)' "$T/virtio.out" | tr '\r\n' '  ') $(last virtio)"; fi
if grep -qE '^ok rng 0x[0-9a-f]+: [0-9]+ random bytes' "$T/virtio.out"; then echo "PASS kvm_virtio_rng"
else echo "FAIL kvm_virtio_rng: $(grep -i rng "$T/virtio.out" | tr '\r\n' '  ')"; fi
# read-only disk: the write must fail in the device (IOERR), the VMM stays up and the file is unchanged
python3 - "$T/ro.img" <<'PY'
import sys
d = bytearray(1 << 20); d[0:32] = b'VMKIT-DISK-SECTOR0 read-only!!!!'
open(sys.argv[1], 'wb').write(d)
PY
h0=$(sha256sum < "$T/ro.img")
run virtio_ro --mem 64M --kernel "$G/virtio.bzimage" --disk "$T/ro.img,ro"
if grep -q '^FAIL blk write sector 1: status 1' "$T/virtio_ro.out" && [ "$(sha256sum < "$T/ro.img")" = "$h0" ] && [ $RC -ge 1 ] && [ $RC -lt 128 ]; then
  echo "PASS kvm_virtio_blk_readonly (write refused with IOERR, file unchanged, clean exit $RC)"
else echo "FAIL kvm_virtio_blk_readonly: rc=$RC: $(grep -E '^(ok|FAIL) blk' "$T/virtio_ro.out" | tr '\r\n' '  ') $(last virtio_ro)"; fi

# a guest programming the blk device with garbage fails the device (NEEDS_RESET, one warning line each), never
# the VMM; a reset brings the device back
python3 - "$T/h.img" <<'PY'
import sys
d = bytearray(1 << 20); d[0:32] = b'VMKIT-DISK-SECTOR0 hostile guest'
open(sys.argv[1], 'wb').write(d)
PY
run hostile --mem 64M --kernel "$G/virtio.bzimage" --disk "$T/h.img" --cmdline "virtio.hostile=1"
nr=$(grep -c 'device needs reset' "$T/hostile.err")
if [ $RC -eq 0 ] && [ "$(grep -c '^ok hostile' "$T/hostile.out")" -ge 10 ] && grep -q '^virtio: 0 failures' "$T/hostile.out" && [ "$nr" -ge 5 ]; then
  echo "PASS kvm_virtio_hostile_guest (5 kinds of garbage: device failed $nr times, recovered after reset, VMM unharmed)"
else echo "FAIL kvm_virtio_hostile_guest: rc=$RC, $nr device failures: $(grep -E '^FAIL' "$T/hostile.out" | tr '\r\n' '  ') $(last hostile)"; fi

# 4. SMP: the MP table shows --cpus CPUs and every AP starts (INIT + SIPI)
for n in 1 2 4; do
  run "smp$n" --cpus $n --mem 64M --kernel "$G/smp.bzimage" --cmdline "smp.cpus=$n"
  if [ $RC -eq 0 ] && grep -q "^smp: mptable $n cpus" "$T/smp$n.out" && grep -q '^smp: 0 failures' "$T/smp$n.out" &&
     { [ $n -eq 1 ] || grep -q "^smp: started $((n-1)) of $((n-1)) application processors" "$T/smp$n.out"; }; then
    echo "PASS kvm_smp_$n (${MS} ms)"
  else echo "FAIL kvm_smp_$n: rc=$RC: $(grep -E '^(FAIL|smp:)' "$T/smp$n.out" | tr '\r\n' '  ') $(last smp$n)"; fi
done

# 5. bad input: one line "vmkit: ..." and a non-zero exit, nothing started
bad() {  # bad <name> <expected regex in the message> <args...>
  local name=$1 re=$2; shift 2
  run "$name" "$@"
  local lines; lines=$(grep -c . "$T/$name.err")
  if [ $RC -ne 0 ] && [ $RC -lt 128 ] && [ "$lines" -eq 1 ] && grep -qE "^vmkit: .*($re)" "$T/$name.err" && [ ! -s "$T/$name.out" ]; then
    echo "PASS kvm_bad_$name ($(cut -c1-110 "$T/$name.err"))"
  else echo "FAIL kvm_bad_$name: rc=$RC, $lines stderr lines: $(head -c 300 "$T/$name.err" | tr '\n' ' ') out: $(head -c 100 "$T/$name.out")"; fi
}
bad not_bzimage 'not a bzImage' --mem 64M --kernel /etc/passwd
head -c 700 "$G/hello.bzimage" > "$T/trunc.bz"
bad truncated 'not a bzImage|bzImage' --mem 64M --kernel "$T/trunc.bz"
head -c 4700 "$G/hello.bzimage" > "$T/nokernel.bz"
bad setup_only 'not a bzImage|past the end|bzImage' --mem 64M --kernel "$T/nokernel.bz"
bad no_kernel 'kernel|No such file' --mem 64M --kernel "$T/does-not-exist"
bad cpus0 'cpus|CPU' --cpus 0 --mem 64M --kernel "$G/hello.bzimage"
bad mem_huge 'memory|RAM|mem' --mem 4096G --kernel "$G/hello.bzimage"
bad mem_over_3g 'memory|RAM|mem|GiB|MiB' --mem 4G --kernel "$G/hello.bzimage"
exit 0
