#!/usr/bin/env bash
# guest/x86/build.sh — builds the x86-64 guest images for the KVM engine (`vmkit run --arch x86_64`) from
# Debian packages only (owned by the KVM builders+guests part), with guest/build.sh's conventions:
#   build/images/x86_64/bzImage            Linux 6.1 (Debian linux-source-6.1 + guest/x86/kernel.config)
#   build/images/x86_64/vmlinux            the same kernel uncompressed (ELF, stripped; no decompressor run)
#   build/images/x86_64/initramfs.cpio.gz  static busybox (Debian busybox-static, amd64) + guest/init.sh,
#                                          /sbin/poweroff through vmkit's exit port (guest/x86/vmkit-exit.c)
#   build/images/x86_64/manifest           what was built from what
# Cached under ${VMKIT_CACHE:-$HOME/.cache/vmkit}/x86-*/<key>/, keyed by a hash of the inputs.
# Usage: guest/x86/build.sh            Env: VMKIT_CACHE, VMKIT_IMAGES (default build/images), VMKIT_JOBS
set -euo pipefail
umask 022

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GX=$ROOT/guest/x86
OUT=${VMKIT_IMAGES:-$ROOT/build/images}/x86_64
CACHE=${VMKIT_CACHE:-$HOME/.cache/vmkit}
LOGS=$OUT/logs
JOBS=${VMKIT_JOBS:-$(nproc 2>/dev/null || echo 2)}
KSRC_TAR=/usr/src/linux-source-6.1.tar.xz
EPOCH=1735689600
T0=$(date +%s.%N)

case "${1:-}" in
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "guest/x86/build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

GUEST_TAG="x86: "
. "$ROOT/guest/lib.sh"

[ "$(uname -m)" = x86_64 ] || die "building the x86-64 guest needs an x86-64 host (native gcc)"
mkdir -p "$OUT" "$LOGS" "$CACHE"

# ---------------------------------------------------------------- kernel
build_kernel() {
  need gcc gcc; need flex flex; need bison bison; need bc bc
  [ -f "$KSRC_TAR" ] || die "kernel source $KSRC_TAR missing (package linux-source-6.1): run 'make deps'"
  local srcver gccver key dir src work
  srcver=$(pkgver linux-source-6.1); gccver=$(pkgver gcc)
  key=$( { declare -f build_kernel run_logged; cat "$GX/kernel.config"; echo "$srcver $gccver"; } | hash_of)
  dir=$CACHE/x86-kernel/$key
  if [ -f "$dir/bzImage" ] && [ -f "$dir/vmlinux" ]; then
    step "kernel: cached ($key)"
  else
    src=$CACHE/src/linux-source-6.1_$srcver
    # The source tree is shared with guest/build.sh (same layout); extract it if that never ran.
    if [ ! -f "$src/.vmkit-extracted" ]; then
      step "kernel: extracting $KSRC_TAR"
      rm -rf "$src" "$src.tmp"; mkdir -p "$src.tmp"
      tar -xJf "$KSRC_TAR" -C "$src.tmp" || die "cannot extract $KSRC_TAR"
      mv "$src.tmp/linux-source-6.1" "$src"; rmdir "$src.tmp"; touch "$src/.vmkit-extracted"
    fi
    work=$CACHE/work/x86-kernel
    if [ "$(cat "$work/.vmkit-src" 2>/dev/null)" != "$src" ]; then rm -rf "$work"; fi
    mkdir -p "$work"; echo "$src" > "$work/.vmkit-src"
    local mk=(make -C "$src" O="$work" ARCH=x86_64 KBUILD_BUILD_USER=vmkit KBUILD_BUILD_HOST=vmkit
              KBUILD_BUILD_TIMESTAMP="vmkit $srcver")
    step "kernel: configuring (tinyconfig + guest/x86/kernel.config)"
    { "${mk[@]}" tinyconfig &&
      "$src/scripts/kconfig/merge_config.sh" -m -O "$work" "$work/.config" "$GX/kernel.config" &&
      "${mk[@]}" olddefconfig; } > "$LOGS/kernel-config.log" 2>&1 ||
      die "kernel configuration failed; read $LOGS/kernel-config.log"
    local k v got bad=0
    while IFS='=' read -r k v; do
      got=$(grep -E "^$k=" "$work/.config" | cut -d= -f2- || true)
      if [ "$got" != "$v" ]; then echo "  $k: wanted $v, got '${got:-unset}'" >> "$LOGS/kernel-config.log"; bad=1; fi
    done < <(grep -E '^CONFIG_[A-Z0-9_]+=' "$GX/kernel.config")
    while read -r _ k _; do
      if grep -qE "^$k=" "$work/.config"; then echo "  $k: wanted unset, but it is set" >> "$LOGS/kernel-config.log"; bad=1; fi
    done < <(grep -E '^# CONFIG_[A-Z0-9_]+ is not set' "$GX/kernel.config")
    [ $bad -eq 0 ] || { grep '^  CONFIG' "$LOGS/kernel-config.log" >&2;
                        die "guest/x86/kernel.config options dropped by Kconfig; read $LOGS/kernel-config.log"; }
    step "kernel: building bzImage with $JOBS jobs (log: $LOGS/kernel.log)"
    run_logged kernel "$LOGS/kernel.log" "${mk[@]}" -j"$JOBS" bzImage
    mkdir -p "$dir.tmp"
    cp "$work/arch/x86/boot/bzImage" "$work/.config" "$dir.tmp/"
    strip -o "$dir.tmp/vmlinux" "$work/vmlinux"      # uncompressed ELF: vmkit enters it at e_entry
    cp "$work/System.map" "$dir.tmp/" 2>/dev/null || true
    rm -rf "$dir"; mv "$dir.tmp" "$dir"
    step "kernel: built ($key, $(du -k "$dir/bzImage" | cut -f1) KiB)"
  fi
  cp "$dir/bzImage" "$OUT/bzImage"; cp "$dir/vmlinux" "$OUT/vmlinux"; cp "$dir/.config" "$OUT/kernel.config"
  MANIFEST+=("bzImage, vmlinux  key=$key  from Debian linux-source-6.1 $srcver, guest/x86/kernel.config on x86_64 tinyconfig, gcc $gccver")
}

# ---------------------------------------------------------------- busybox (Debian's static amd64 build)
BUSYBOX= BUSYBOX_DESC=
get_busybox() {
  local debdir=$CACHE/x86-debs deb
  mkdir -p "$debdir"
  deb=$(ls -t "$debdir"/busybox-static_*_amd64.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    step "busybox: apt-get download busybox-static (amd64)"
    (cd "$debdir" && apt-get download busybox-static > "$LOGS/apt-download.log" 2>&1) ||
      die "apt-get download busybox-static failed; read $LOGS/apt-download.log"
    deb=$(ls -t "$debdir"/busybox-static_*_amd64.deb | head -n1)
  fi
  local key; key=$( { declare -f get_busybox; filehash "$deb"; } | hash_of)
  local dir=$CACHE/x86-busybox/$key
  if [ ! -f "$dir/busybox" ]; then
    rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
    dpkg-deb -x "$deb" "$dir.tmp/x" || die "cannot unpack $deb"
    cp "$dir.tmp/x/bin/busybox" "$dir.tmp/busybox" 2>/dev/null || cp "$dir.tmp/x/usr/bin/busybox" "$dir.tmp/busybox" ||
      die "$deb has no busybox binary"
    rm -rf "$dir.tmp/x"
    file -b "$dir.tmp/busybox" | grep -q 'x86-64.*static' || die "$deb: busybox is not a static x86-64 binary"
    "$dir.tmp/busybox" --list-full > "$dir.tmp/applets" || die "cannot list busybox applets"
    rm -rf "$dir"; mv "$dir.tmp" "$dir"
  fi
  BUSYBOX=$dir/busybox
  BUSYBOX_DESC="Debian busybox-static $(basename "$deb" | cut -d_ -f2 | sed 's/%3a/:/') amd64"
  step "busybox: $BUSYBOX_DESC ($(wc -l < "$dir/applets") applets)"
}

# ---------------------------------------------------------------- vmkit-exit (power-off through port 0x501)
EXITPROG=
build_exit() {
  local key; key=$( { declare -f build_exit; cat "$GX/vmkit-exit.c"; pkgver gcc; } | hash_of)
  local dir=$CACHE/x86-exit/$key
  if [ ! -f "$dir/vmkit-exit" ]; then
    rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
    gcc -O2 -static -nostdlib -ffreestanding -fno-stack-protector -fno-pic -no-pie -Wall -Wextra -Werror \
      -o "$dir.tmp/vmkit-exit" "$GX/vmkit-exit.c" > "$LOGS/vmkit-exit.log" 2>&1 || die "vmkit-exit build failed; read $LOGS/vmkit-exit.log"
    strip "$dir.tmp/vmkit-exit"
    rm -rf "$dir"; mv "$dir.tmp" "$dir"
  fi
  EXITPROG=$dir/vmkit-exit
}

# ---------------------------------------------------------------- initramfs
build_initramfs() {
  need cpio cpio; need gzip gzip
  local key; key=$( { declare -f build_initramfs; echo "$EPOCH"; cat "$ROOT/guest/init.sh" "$ROOT/guest/udhcpc.script";
                      filehash "$BUSYBOX" "$EXITPROG"; } | hash_of)
  local dir=$CACHE/x86-initramfs/$key
  if [ ! -f "$dir/initramfs.cpio.gz" ]; then
    local r=$dir.tmp/root a
    rm -rf "$dir.tmp"; mkdir -p "$r"
    mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc/udhcpc,proc,sys,dev,tmp,run,mnt,root,var/log}
    chmod 1777 "$r/tmp"
    install -m 0755 "$BUSYBOX" "$r/bin/busybox"
    while read -r a; do
      [ -n "$a" ] && [ "$a" != bin/busybox ] || continue
      ln -sf /bin/busybox "$r/$a"
    done < "$(dirname "$BUSYBOX")/applets"
    # guest/init.sh, except that powering off goes through vmkit's exit port: without ACPI the kernel
    # can only halt, and busybox's sh runs its own poweroff applet before anything on PATH.
    sed 's|poweroff -f|/sbin/vmkit-poweroff|' "$ROOT/guest/init.sh" > "$r/sbin/vmkit-init"
    chmod 0755 "$r/sbin/vmkit-init"
    [ "$(grep -c '/sbin/vmkit-poweroff' "$r/sbin/vmkit-init")" -ge 1 ] && ! grep -q 'poweroff -f' "$r/sbin/vmkit-init" ||
      die "guest/init.sh no longer powers off with 'poweroff -f'; update guest/x86/build.sh"
    install -m 0755 "$ROOT/guest/udhcpc.script" "$r/etc/udhcpc/default.script"
    install -m 0755 "$EXITPROG" "$r/sbin/vmkit-exit"
    # No ACPI here, so the kernel cannot power off by itself: vmkit-poweroff syncs, unmounts and writes
    # to vmkit's exit port; login shells get poweroff/halt functions calling it (functions win over
    # busybox applets); reboot uses the kernel (reboot=k: i8042 reset).
    printf '%s\n' '#!/bin/sh' '# x86 microVM power-off: vmkit exit port 0x501 (guest/x86/vmkit-exit.c)' 'sync' \
      "for d in \$(awk '\$3 ~ /^(ext[234]|vfat)\$/ && \$2 != \"/\" {print \$2}' /proc/mounts); do umount \"\$d\" 2>/dev/null; done" \
      'mount -o remount,ro / 2>/dev/null' 'sync' 'exec /sbin/vmkit-exit 0' > "$r/sbin/vmkit-poweroff"
    chmod 0755 "$r/sbin/vmkit-poweroff"
    printf '%s\n' 'poweroff() { /sbin/vmkit-poweroff; }' 'halt() { /sbin/vmkit-poweroff; }' > "$r/etc/profile"
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$r/etc/passwd"
    printf 'root:x:0:\ntty:x:5:\n' > "$r/etc/group"
    echo vmkit > "$r/etc/hostname"
    printf '127.0.0.1 localhost vmkit\n::1 localhost\n' > "$r/etc/hosts"
    echo initramfs > "$r/etc/vmkit-role"
    ln -s sbin/vmkit-init "$r/init"
    asroot sh -c "mknod -m 600 '$r/dev/console' c 5 1 && mknod -m 666 '$r/dev/null' c 1 3 &&
      find '$r' -exec touch -h -d @$EPOCH {} + && cd '$r' && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --renumber-inodes --ignore-devno --quiet" \
      > "$dir.tmp/initramfs.cpio" 2> "$LOGS/initramfs.log" || die "cpio failed; read $LOGS/initramfs.log"
    gzip -9n < "$dir.tmp/initramfs.cpio" > "$dir.tmp/initramfs.cpio.gz"
    rm -rf "$r" "$dir.tmp/initramfs.cpio"
    rm -rf "$dir"; mv "$dir.tmp" "$dir"
  fi
  cp "$dir/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
  MANIFEST+=("initramfs.cpio.gz  key=$key  from $BUSYBOX_DESC, guest/init.sh, guest/udhcpc.script, guest/x86/vmkit-exit.c")
  step "initramfs: $(du -k "$OUT/initramfs.cpio.gz" | cut -f1) KiB ($key)"
}

MANIFEST=()
exec 9> "$CACHE/.build-x86.lock"
flock -n 9 || { step "waiting for another guest/x86/build.sh using $CACHE"; flock 9; }
need file file; need sha256sum coreutils; need dpkg-deb dpkg; need apt-get apt
[ "$(id -u)" -eq 0 ] || need fakeroot fakeroot
step "x86-64 guest images -> $OUT (cache $CACHE)"
build_kernel
get_busybox
build_exit
build_initramfs
{
  echo "# vmkit x86-64 guest images — written by guest/x86/build.sh; keys are input hashes under $CACHE"
  for m in "${MANIFEST[@]}"; do echo "$m"; done
  ( cd "$OUT" && sha256sum bzImage vmlinux initramfs.cpio.gz | sed 's/^/sha256 /' )
} > "$OUT/manifest"
step "done: $OUT/{bzImage,vmlinux,initramfs.cpio.gz,manifest}"
