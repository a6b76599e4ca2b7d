#!/usr/bin/env bash
# guest/debian.sh — builds build/images/debian.ext4: a Debian trixie riscv64 root filesystem booting
# systemd to multi-user.target (owned by the guest-images part). Built on demand only:
# `guest/build.sh debian` or `make debian-image`. Steps: debootstrap --foreign (download + unpack on the
# host), the second stage under qemu-riscv64-static through binfmt_misc — or, where binfmt_misc cannot be
# used (or VMKIT_DEBIAN_STAGE2=vm), inside qemu-system-riscv64 booting build/images/Image on the half-made
# root filesystem, read back with debugfs rdump — then vmkit's configuration (fstab, serial getty with root
# auto-login, the vmkit-ready marker unit) and mke2fs -d (no loop mounts anywhere).
# Needs root (debootstrap, chroot). Cached by its inputs like guest/build.sh.
# Env: VMKIT_CACHE, VMKIT_IMAGES, VMKIT_DEBIAN_MIRROR, DEBIAN_SIZE_MB (default 1536),
#      VMKIT_DEBIAN_STAGE2=auto|binfmt|vm (default auto: binfmt if it works, else vm).
set -euo pipefail
umask 022
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GUEST=$ROOT/guest
OUT=${VMKIT_IMAGES:-$ROOT/build/images}
CACHE=${VMKIT_CACHE:-$HOME/.cache/vmkit}
LOGS=$OUT/logs
SUITE=trixie
MIRROR=${VMKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SIZE_MB=${DEBIAN_SIZE_MB:-1536}
INCLUDE=systemd-sysv,udev,iproute2,ifupdown,isc-dhcp-client,netbase,procps,less
T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
step()    { printf '[%6ss] debian: %s\n' "$(elapsed)" "$*"; }
die()     { printf '[%6ss] debian: ERROR: %s\n' "$(elapsed)" "$*" >&2; exit 1; }
mkdir -p "$OUT" "$LOGS" "$CACHE/debian"

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot and binfmt_misc need it): sudo guest/build.sh debian"
command -v debootstrap >/dev/null || die "debootstrap missing: run 'make deps'"
command -v mke2fs >/dev/null || die "mke2fs missing (e2fsprogs): run 'make deps'"
[[ $SIZE_MB =~ ^[0-9]+$ ]] && [ "$SIZE_MB" -ge 512 ] && [ "$SIZE_MB" -le 16384 ] || die "DEBIAN_SIZE_MB must be 512..16384"

# Two cached stages. 1: the debootstrapped rootfs, keyed by suite, package list and host tools (slow:
# download + emulated second stage). 2: the configured debian.ext4, keyed by stage 1 and this script.
# Debian's archive moves on, so a cached rootfs stays until its inputs change or the cache is removed.
RKEY=$( { echo "$SUITE $INCLUDE $MIRROR"; dpkg-query -W -f='${Version}\n' debootstrap qemu-user-static 2>/dev/null; } |
        sha256sum | cut -c1-16)
RFS=$CACHE/debian/rootfs-$RKEY
KEY=$( { echo "$RKEY $SIZE_MB"; cat "$0" "$GUEST/debian-ready.sh"; dpkg-query -W -f='${Version}' e2fsprogs; } | sha256sum | cut -c1-16)
DIR=$CACHE/debian/$KEY

# setup_binfmt: binfmt_misc + qemu-user-static, so riscv64 programs run in a chroot. Returns 1 (with the
# reason in BINFMT_WHY) when that is not possible here.
BINFMT_WHY=
setup_binfmt() {
  local qs=/usr/bin/qemu-riscv64-static bm=/proc/sys/fs/binfmt_misc line
  [ -x "$qs" ] || { BINFMT_WHY="$qs missing (package qemu-user-static)"; return 1; }
  [ -e $bm/register ] || mount -t binfmt_misc binfmt_misc $bm 2>/dev/null ||
    { BINFMT_WHY="cannot mount binfmt_misc on $bm"; return 1; }
  if [ ! -e $bm/qemu-riscv64 ]; then
    # Debian's rule (magic and mask for riscv64 ELF), with the F flag: the interpreter is opened now,
    # so it works inside the chroot without copying it there.
    line=$(grep -h '^:qemu-riscv64:' /usr/lib/binfmt.d/qemu-riscv64.conf 2>/dev/null || true)
    [ -n "$line" ] || { BINFMT_WHY="no /usr/lib/binfmt.d/qemu-riscv64.conf (package qemu-user-static)"; return 1; }
    printf '%s' "$line" > $bm/register 2>/dev/null || { BINFMT_WHY="cannot register qemu-riscv64 in binfmt_misc"; return 1; }
    step "registered qemu-riscv64-static in binfmt_misc"
  fi
  grep -q '^flags:.*F' $bm/qemu-riscv64 || { BINFMT_WHY="binfmt qemu-riscv64 is registered without the F flag"; return 1; }
}

# stage2_vm <rootfs dir>: runs debootstrap's second stage (and the steps that must run riscv64 code)
# inside qemu-system-riscv64 with vmkit's kernel, on an ext4 image of the directory; then dumps the image
# back into the directory (debugfs rdump) and restores the set-id/sticky bits rdump drops.
stage2_vm() {
  local rfs=$1 img=$DIR.tmp/stage2.ext4 qemu=qemu-system-riscv64
  mkdir -p "$DIR.tmp"
  command -v $qemu >/dev/null || die "no binfmt ($BINFMT_WHY) and no $qemu (package qemu-system-misc): cannot run the second stage"
  if [ ! -s "$OUT/Image" ] || [ ! -s "$OUT/initramfs.cpio.gz" ] || [ ! -s "$OUT/fw_dynamic.bin" ]; then
    step "building the guest kernel first (guest/build.sh)"
    bash "$GUEST/build.sh" > "$LOGS/debian-guest-build.log" 2>&1 || die "guest/build.sh failed; read $LOGS/debian-guest-build.log"
  fi
  # /debootstrap is removed by a successful second stage: our init and busybox live in / meanwhile.
  # panic=1 + -no-reboot: if the init dies, qemu exits instead of hanging until the timeout.
  ( cd "$DIR.tmp" && gzip -dc "$OUT/initramfs.cpio.gz" | cpio -id --quiet bin/busybox && mv bin/busybox "$rfs/busybox.vmkit" ) ||
    die "cannot take busybox from $OUT/initramfs.cpio.gz"
  cat > "$rfs/.vmkit-stage2" <<'EOS'
#!/bin/sh
# init of the second-stage VM (written by guest/debian.sh)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys
/debootstrap/debootstrap --second-stage
rc=$?
if [ $rc = 0 ]; then
  ldconfig && journalctl --update-catalog >/dev/null 2>&1
  find / -xdev -perm /7000 ! -type l -printf '%m %p\n' > /.vmkit-special-perms
fi
echo "VMKIT-STAGE2 rc=$rc"
sync; mount -o remount,ro / 2>/dev/null
/busybox.vmkit poweroff -f   # (busybox runs applet argv[1] when its name starts with "busybox")
EOS
  chmod 755 "$rfs/.vmkit-stage2"
  mke2fs -q -F -t ext4 -E root_owner=0:0 -d "$rfs" "$img" "${SIZE_MB}M" > "$LOGS/debian-stage2-mkfs.log" 2>&1 ||
    die "mke2fs for the second stage failed; read $LOGS/debian-stage2-mkfs.log"
  step "second stage inside $qemu (no binfmt: $BINFMT_WHY; log $LOGS/debian-stage2.log)"
  timeout 5400 $qemu -M virt -smp 2 -m 1G -nographic -no-reboot -bios "$OUT/fw_dynamic.bin" -kernel "$OUT/Image" \
    -append "root=/dev/vda rw console=ttyS0 panic=1 init=/.vmkit-stage2" \
    -drive "file=$img,if=none,format=raw,id=d0" -device virtio-blk-device,drive=d0 < /dev/null \
    > "$LOGS/debian-stage2.log" 2>&1 &
  local pid=$! t=0
  while kill -0 $pid 2>/dev/null; do
    sleep 1; t=$((t+1))
    [ $((t % 10)) -eq 0 ] && step "  second stage (vm): $(grep -c '^I: Unpacking\|^I: Configuring' "$LOGS/debian-stage2.log") steps, $(grep -a '^I: ' "$LOGS/debian-stage2.log" | tail -n1 | tr -d '\r' | cut -c1-60)"
  done
  wait $pid || true
  grep -aq 'VMKIT-STAGE2 rc=0' "$LOGS/debian-stage2.log" || die "second stage in $qemu failed; read $LOGS/debian-stage2.log"
  step "reading the root filesystem back (debugfs rdump)"
  rm -rf "$rfs"; mkdir -p "$rfs"
  debugfs -R "rdump / $rfs" "$img" > "$LOGS/debian-rdump.log" 2>&1 || die "debugfs rdump failed; read $LOGS/debian-rdump.log"
  local m f
  while read -r m f; do [ -e "$rfs$f" ] && chmod "$m" "$rfs$f"; done < "$rfs/.vmkit-special-perms"
  rm -f "$rfs/.vmkit-special-perms" "$rfs/.vmkit-stage2" "$rfs/busybox.vmkit" "$img"; rm -rf "$rfs/lost+found"
  [ -x "$rfs/usr/bin/dpkg" ] && [ ! -d "$rfs/debootstrap" ] || die "the second stage left no complete system; read $LOGS/debian-stage2.log"
}

if [ -f "$DIR/debian.ext4" ]; then
  step "cached ($KEY)"
else
  MODE2=${VMKIT_DEBIAN_STAGE2:-auto}
  case "$MODE2" in
    auto) if setup_binfmt; then MODE2=binfmt; else MODE2=vm; fi ;;
    binfmt) setup_binfmt || die "binfmt_misc cannot be used: $BINFMT_WHY" ;;
    vm) BINFMT_WHY="VMKIT_DEBIAN_STAGE2=vm" ;;
    *) die "VMKIT_DEBIAN_STAGE2 must be auto, binfmt or vm" ;;
  esac
  rm -rf "$DIR.tmp"
  if [ ! -f "$RFS/.vmkit-done" ]; then
    rm -rf "$RFS.tmp" "$RFS"; mkdir -p "$RFS.tmp"
    step "debootstrap --foreign $SUITE riscv64 (download + unpack; log $LOGS/debian-stage1.log)"
    debootstrap --foreign --arch=riscv64 --variant=minbase --include="$INCLUDE" \
      --keyring=/usr/share/keyrings/debian-archive-keyring.gpg "$SUITE" "$RFS.tmp" "$MIRROR" \
      > "$LOGS/debian-stage1.log" 2>&1 || die "debootstrap first stage failed; read $LOGS/debian-stage1.log"
    if [ "$MODE2" = binfmt ]; then
      step "second stage under qemu-riscv64-static (log $LOGS/debian-stage2.log)"
      chroot "$RFS.tmp" /debootstrap/debootstrap --second-stage > "$LOGS/debian-stage2.log" 2>&1 &
      pid=$! t=0
      while kill -0 $pid 2>/dev/null; do
        sleep 1; t=$((t+1))
        [ $((t % 10)) -eq 0 ] && step "  second stage: $(grep -c '^I: Unpacking\|^I: Configuring' "$LOGS/debian-stage2.log") steps, $(tail -n1 "$LOGS/debian-stage2.log" | cut -c1-60)"
      done
      wait $pid || die "debootstrap second stage failed; read $LOGS/debian-stage2.log"
    else
      stage2_vm "$RFS.tmp"
    fi
    rm -rf "$RFS.tmp/var/cache/apt/archives/"*.deb
    touch "$RFS.tmp/.vmkit-done"; mv "$RFS.tmp" "$RFS"
  fi
  R=$DIR.tmp/root
  rm -rf "$DIR.tmp"; mkdir -p "$DIR.tmp"
  cp -a "$RFS" "$R"; rm -f "$R/.vmkit-done"
  step "configuring: fstab, hostname, network, serial auto-login, vmkit-ready unit"
  echo vmkit-debian > "$R/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 vmkit-debian\n::1 localhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
  printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$R/etc/fstab"
  sed -i 's/^root:[^:]*:/root::/' "$R/etc/shadow"
  # Network: systemd-networkd with DHCP on eth0 (ifupdown's networking.service and its udev settle are
  # slow on an emulator and are masked; ifupdown stays installed for manual use).
  printf 'auto lo\niface lo inet loopback\n' > "$R/etc/network/interfaces"
  mkdir -p "$R/etc/systemd/network"
  printf '[Match]\nName=eth0 en*\n\n[Network]\nDHCP=yes\n' > "$R/etc/systemd/network/20-vmkit-dhcp.network"
  systemctl --root="$R" enable systemd-networkd.service > "$LOGS/debian-enable.log" 2>&1 ||
    die "cannot enable systemd-networkd; read $LOGS/debian-enable.log"
  for u in networking.service ifupdown-pre.service systemd-networkd-wait-online.service serial-getty@hvc0.service; do
    ln -sf /dev/null "$R/etc/systemd/system/$u"
  done
  # The serial console (ttyS0) logs root in automatically. hvc0 (SBI console) gets no getty: it is the same
  # UART underneath and would interleave with ttyS0.
  mkdir -p "$R/etc/systemd/system/serial-getty@ttyS0.service.d"
  printf '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 - $TERM\n' \
    > "$R/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf"
  # Not a first boot every time: a fixed machine id, the linker cache and journal catalog built after the
  # second stage, and /etc/.updated + /var/.updated newer than /usr (ConditionNeedsUpdate= jobs skipped).
  echo 6d6b69740000400080000000000000de > "$R/etc/machine-id"
  if [ "$MODE2" = binfmt ]; then   # (the vm mode did these inside the second-stage VM)
    chroot "$R" ldconfig
    chroot "$R" journalctl --update-catalog > /dev/null 2>&1 || true
  fi
  touch "$R/usr"
  for f in etc/.updated var/.updated; do
    printf 'TIMESTAMP_NSEC=%s\n' "$(stat -c %Y "$R/usr")000000000" > "$R/$f"; touch -r "$R/usr" "$R/$f"
  done
  install -m 0755 "$GUEST/debian-ready.sh" "$R/usr/local/sbin/vmkit-ready"
  cat > "$R/etc/systemd/system/vmkit-ready.service" <<'EOF'
[Unit]
Description=vmkit: announce multi-user.target on the console, run vmkit.run= if given
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/vmkit-ready
StandardOutput=tty
TTYPath=/dev/console
[Install]
WantedBy=multi-user.target
EOF
  ln -sf /etc/systemd/system/vmkit-ready.service "$R/etc/systemd/system/multi-user.target.wants/vmkit-ready.service"
  rm -rf "$R/var/cache/apt/archives/"*.deb "$R/var/lib/apt/lists/"* "$R/debootstrap"
  printf 'deb %s %s main\n' "$MIRROR" "$SUITE" > "$R/etc/apt/sources.list"

  step "mke2fs -d -> debian.ext4 (${SIZE_MB} MiB, log $LOGS/debian-mkfs.log)"
  mke2fs -q -F -t ext4 -L vmkit-debian -E root_owner=0:0 -d "$R" "$DIR.tmp/debian.ext4" "${SIZE_MB}M" \
    > "$LOGS/debian-mkfs.log" 2>&1 || die "mke2fs failed; read $LOGS/debian-mkfs.log"
  e2fsck -fn "$DIR.tmp/debian.ext4" >> "$LOGS/debian-mkfs.log" 2>&1 || die "e2fsck of debian.ext4 failed; read $LOGS/debian-mkfs.log"
  dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Package} ${Version}\n' > "$DIR.tmp/packages.txt"
  rm -rf "$R"
  rm -rf "$DIR"; mv "$DIR.tmp" "$DIR"
fi
cp --sparse=always "$DIR/debian.ext4" "$OUT/debian.ext4"
cp "$DIR/packages.txt" "$OUT/debian.packages"
step "done: $OUT/debian.ext4 ($(wc -l < "$DIR/packages.txt") packages, key $KEY); boot: root=/dev/vda rw console=ttyS0"
