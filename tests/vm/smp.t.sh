#!/usr/bin/env bash
# smp.t.sh — boots the default guest with --cpus 2 and checks that Linux brings up both harts
# (/proc/cpuinfo lists 2 processors, nproc says 2) and still powers off with status 0.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
IMG=${VMKIT_IMAGES:-$ROOT/build/images}
TMO=${VMKIT_BOOT_TIMEOUT:-600}
if [ ! -x "$VMKIT" ]; then echo "SKIP smp: $VMKIT not built"; exit 0; fi
for f in Image initramfs.cpio.gz; do
  if [ ! -f "$IMG/$f" ]; then echo "SKIP smp: no guest image $IMG/$f (run make images)"; exit 0; fi
done
export VMKIT_IMAGES=$IMG
out=$(timeout "$TMO" "$VMKIT" run --cpus 2 --net none \
      --append 'vmkit.run=echo%20cpus=$(grep%20-c%20^processor%20/proc/cpuinfo)%20nproc=$(nproc)' </dev/null 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -q "cpus=2 nproc=2" <<<"$out"; then echo "PASS smp_two_cpus"
else echo "FAIL smp_two_cpus: rc=$rc; $(grep -E 'cpus=|smp|CPU' <<<"$out" | tail -n 4 | tr '\r\n' '  ')"; fi
exit 0
