#!/usr/bin/env bash
# guest/build.sh — builds vmkit's guest images from Debian packages only (owned by the guest-images part):
#   build/images/Image              riscv64 Linux 6.1 (Debian linux-source-6.1 + guest/kernel.config)
#   build/images/initramfs.cpio.gz  static busybox (Debian trixie busybox-static, riscv64) + guest/init.sh
#   build/images/fw_dynamic.bin     OpenSBI firmware (Debian opensbi)
#   build/images/disk.ext4          ext4 root/second disk: busybox, httpd serving /www/index.html
#   build/images/manifest           what was built from what
# Every artifact is cached under ${VMKIT_CACHE:-$HOME/.cache/vmkit}/<artifact>/<key>/, keyed by a hash
# of its inputs (the step's own code, config files, package versions); an unchanged re-run only copies.
# Usage: guest/build.sh [all|debian|clean-cache] [--update]   (--update refreshes the trixie package lists)
# Env: VMKIT_CACHE, VMKIT_IMAGES (output dir, default build/images), VMKIT_JOBS (kernel make -j, default nproc)
set -euo pipefail
umask 022

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GUEST=$ROOT/guest
OUT=${VMKIT_IMAGES:-$ROOT/build/images}
CACHE=${VMKIT_CACHE:-$HOME/.cache/vmkit}
LOGS=$OUT/logs
JOBS=${VMKIT_JOBS:-$(nproc 2>/dev/null || echo 2)}
SUITE=trixie
MIRROR=${VMKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
OPENSBI_FW=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
KSRC_TAR=/usr/src/linux-source-6.1.tar.xz
T0=$(date +%s.%N)
UPDATE=0
MODE=all

for a in "$@"; do
  case "$a" in
    all|debian|clean-cache) MODE=$a ;;
    --update) UPDATE=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "guest/build.sh: unknown argument '$a' (see --help)" >&2; exit 2 ;;
  esac
done

. "$GUEST/lib.sh"

mkdir -p "$OUT" "$LOGS" "$CACHE"

# ---------------------------------------------------------------- firmware
build_firmware() {
  [ -f "$OPENSBI_FW" ] || die "OpenSBI firmware $OPENSBI_FW missing (package opensbi): run 'make deps'"
  local key; key=$( { declare -f build_firmware; pkgver opensbi; sha256sum "$OPENSBI_FW"; } | hash_of)
  local dir=$CACHE/firmware/$key
  if [ ! -f "$dir/fw_dynamic.bin" ]; then
    mkdir -p "$dir.tmp"; cp "$OPENSBI_FW" "$dir.tmp/fw_dynamic.bin"; rm -rf "$dir"; mv "$dir.tmp" "$dir"
  fi
  cp "$dir/fw_dynamic.bin" "$OUT/fw_dynamic.bin"
  MANIFEST+=("fw_dynamic.bin  key=$key  from Debian opensbi $(pkgver opensbi) ($OPENSBI_FW)")
  step "firmware: fw_dynamic.bin (opensbi $(pkgver opensbi))"
}

# ---------------------------------------------------------------- kernel
build_kernel() {
  need riscv64-linux-gnu-gcc gcc-riscv64-linux-gnu; need flex flex; need bison bison; need bc bc
  [ -f "$KSRC_TAR" ] || die "kernel source $KSRC_TAR missing (package linux-source-6.1): run 'make deps'"
  local srcver gccver key dir src work
  srcver=$(pkgver linux-source-6.1); gccver=$(pkgver gcc-riscv64-linux-gnu)
  key=$( { declare -f build_kernel run_logged; cat "$GUEST/kernel.config"; echo "$srcver $gccver"; } | hash_of)
  dir=$CACHE/kernel/$key
  if [ -f "$dir/Image" ]; then
    step "kernel: cached ($key)"
  else
    src=$CACHE/src/linux-source-6.1_$srcver
    if [ ! -f "$src/.vmkit-extracted" ]; then
      step "kernel: extracting $KSRC_TAR"
      rm -rf "$src" "$src.tmp"; mkdir -p "$src.tmp"
      tar -xJf "$KSRC_TAR" -C "$src.tmp" || die "cannot extract $KSRC_TAR"
      mv "$src.tmp/linux-source-6.1" "$src"; rmdir "$src.tmp"; touch "$src/.vmkit-extracted"
    fi
    # One persistent out-of-tree build dir: a config change rebuilds only what it touches.
    work=$CACHE/work/kernel
    if [ "$(cat "$work/.vmkit-src" 2>/dev/null)" != "$src" ]; then rm -rf "$work"; fi
    mkdir -p "$work"; echo "$src" > "$work/.vmkit-src"
    local mk=(make -C "$src" O="$work" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- KBUILD_BUILD_USER=vmkit
              KBUILD_BUILD_HOST=vmkit KBUILD_BUILD_TIMESTAMP="vmkit $srcver")
    step "kernel: configuring (tinyconfig + guest/kernel.config)"
    { "${mk[@]}" tinyconfig &&
      "$src/scripts/kconfig/merge_config.sh" -m -O "$work" "$work/.config" "$GUEST/kernel.config" &&
      "${mk[@]}" olddefconfig; } > "$LOGS/kernel-config.log" 2>&1 ||
      die "kernel configuration failed; read $LOGS/kernel-config.log"
    local k v got bad=0
    while IFS='=' read -r k v; do
      got=$(grep -E "^$k=" "$work/.config" | cut -d= -f2- || true)
      if [ "$got" != "$v" ]; then echo "  $k: wanted $v, got '${got:-unset}'" >> "$LOGS/kernel-config.log"; bad=1; fi
    done < <(grep -E '^CONFIG_[A-Z0-9_]+=' "$GUEST/kernel.config")
    while read -r _ k _; do
      if grep -qE "^$k=" "$work/.config"; then echo "  $k: wanted unset, but it is set" >> "$LOGS/kernel-config.log"; bad=1; fi
    done < <(grep -E '^# CONFIG_[A-Z0-9_]+ is not set' "$GUEST/kernel.config")
    [ $bad -eq 0 ] || die "guest/kernel.config options dropped by Kconfig (dependencies?); read $LOGS/kernel-config.log"
    step "kernel: building Image with $JOBS jobs (log: $LOGS/kernel.log)"
    run_logged kernel "$LOGS/kernel.log" "${mk[@]}" -j"$JOBS" Image
    mkdir -p "$dir.tmp"
    cp "$work/arch/riscv/boot/Image" "$work/.config" "$dir.tmp/"
    cp "$work/System.map" "$dir.tmp/" 2>/dev/null || true
    rm -rf "$dir"; mv "$dir.tmp" "$dir"
    step "kernel: built ($key, $(du -k "$dir/Image" | cut -f1) KiB)"
  fi
  cp "$dir/Image" "$OUT/Image"; cp "$dir/.config" "$OUT/kernel.config"
  MANIFEST+=("Image  key=$key  from Debian linux-source-6.1 $srcver, guest/kernel.config on tinyconfig, gcc-riscv64-linux-gnu $gccver")
}

# ---------------------------------------------------------------- Debian trixie riscv64 packages
# A private apt configuration (never touches the system's): lists and .debs live under $CACHE/apt.
APTD=$CACHE/apt-$SUITE-riscv64
apt_private() {
  mkdir -p "$APTD/lists/partial" "$APTD/archives/partial" "$APTD/etc/sources.list.d" "$APTD/etc/preferences.d"
  [ -f "$APTD/etc/sources.list" ] || echo "deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $SUITE main" > "$APTD/etc/sources.list"
  [ -f "$APTD/status" ] || : > "$APTD/status"
  local tool=$1; shift   # apt-get or apt-cache
  "$tool" -q -o Dir::Etc::SourceList="$APTD/etc/sources.list" -o Dir::Etc::SourceParts="$APTD/etc/sources.list.d" \
    -o Dir::Etc::Preferences="$APTD/etc/preferences" -o Dir::Etc::PreferencesParts="$APTD/etc/preferences.d" \
    -o Dir::State::Lists="$APTD/lists" -o Dir::State::status="$APTD/status" -o Dir::Cache="$APTD/cache" \
    -o Dir::Cache::archives="$APTD/archives" -o APT::Architecture=riscv64 -o APT::Architectures::=riscv64 \
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}
# fetch_deb <package>: prints the path of the cached .deb (downloads it, and the lists, if needed)
fetch_deb() {
  local pkg=$1 f
  # Without --update, the .deb fetched last time is the input (no network, ~1 s re-runs).
  f=$(ls -t "$APTD/archives/${pkg}_"*_riscv64.deb 2>/dev/null | head -n1 || true)
  if [ $UPDATE = 0 ] && [ -n "$f" ]; then echo "$f"; return 0; fi
  if [ $UPDATE = 1 ] || ! ls "$APTD/lists/"*_Packages* >/dev/null 2>&1; then
    step "packages: apt-get update ($SUITE riscv64, private config)" >&2
    apt_private apt-get update > "$LOGS/apt-update.log" 2>&1 || die "apt-get update for $SUITE riscv64 failed; read $LOGS/apt-update.log"
    UPDATE=0
  fi
  local want; want=$(apt_private apt-cache show "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1 || true)
  [ -n "$want" ] || die "package $pkg not found in $SUITE riscv64 lists; read $LOGS/apt-update.log or retry with --update"
  local wantf; wantf="$APTD/archives/${pkg}_$(echo "$want" | sed 's/:/%3a/')_riscv64.deb"
  if [ ! -f "$wantf" ]; then
    step "packages: downloading $pkg $want" >&2
    (cd "$APTD/archives" && apt_private apt-get download "$pkg" > "$LOGS/apt-download-$pkg.log" 2>&1) ||
      die "download of $pkg failed; read $LOGS/apt-download-$pkg.log"
    [ -f "$wantf" ] || die "apt downloaded $pkg but not as $wantf; read $LOGS/apt-download-$pkg.log"
  fi
  echo "$wantf"
}

# ---------------------------------------------------------------- busybox (Debian's static riscv64 build)
BUSYBOX=
BUSYBOX_DESC=
get_busybox() {
  local deb; deb=$(fetch_deb busybox-static)
  local key; key=$( { declare -f get_busybox; filehash "$deb"; } | hash_of)
  local dir=$CACHE/busybox/$key
  if [ ! -f "$dir/busybox" ]; then
    mkdir -p "$dir.tmp"
    dpkg-deb -x "$deb" "$dir.tmp/x" || die "cannot unpack $deb"
    cp "$dir.tmp/x/bin/busybox" "$dir.tmp/busybox" 2>/dev/null || cp "$dir.tmp/x/usr/bin/busybox" "$dir.tmp/busybox" ||
      die "$deb has no busybox binary"
    rm -rf "$dir.tmp/x"
    file -b "$dir.tmp/busybox" | grep -q 'RISC-V.*statically linked' || die "$deb: busybox is not a static RISC-V binary"
    # The applet list, so images get their symlinks at build time (needs qemu-user to run it).
    if command -v qemu-riscv64 >/dev/null; then
      qemu-riscv64 "$dir.tmp/busybox" --list-full > "$dir.tmp/applets" || die "cannot run busybox under qemu-riscv64"
    else
      die "qemu-riscv64 (package qemu-user) is needed to list busybox applets: run 'make deps'"
    fi
    rm -rf "$dir"; mv "$dir.tmp" "$dir"
  fi
  BUSYBOX=$dir/busybox
  BUSYBOX_DESC="Debian $SUITE busybox-static $(basename "$deb" | cut -d_ -f2 | sed 's/%3a/:/') riscv64"
  step "busybox: $BUSYBOX_DESC ($(wc -l < "$dir/applets") applets)"
}

# populate_busybox <rootdir>: busybox, applet symlinks, init script, udhcpc script
populate_busybox() {
  local r=$1 a
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc/udhcpc,proc,sys,dev,tmp,run,mnt,root,var/log}
  chmod 1777 "$r/tmp"
  install -m 0755 "$BUSYBOX" "$r/bin/busybox"
  while read -r a; do
    [ -n "$a" ] && [ "$a" != bin/busybox ] || continue
    ln -sf /bin/busybox "$r/$a"
  done < "$(dirname "$BUSYBOX")/applets"
  install -m 0755 "$GUEST/init.sh" "$r/sbin/vmkit-init"
  install -m 0755 "$GUEST/udhcpc.script" "$r/etc/udhcpc/default.script"
  printf 'root:x:0:0:root:/root:/bin/sh\nwww:x:80:80:www:/www:/bin/false\n' > "$r/etc/passwd"
  printf 'root:x:0:\ntty:x:5:\nwww:x:80:\n' > "$r/etc/group"
  echo vmkit > "$r/etc/hostname"
  printf '127.0.0.1 localhost vmkit\n::1 localhost\n' > "$r/etc/hosts"
  if [ -n "${CPUBENCH:-}" ]; then install -m 0755 "$CPUBENCH" "$r/bin/cpubench"; fi
}

# ---------------------------------------------------------------- CPU benchmark program
CPUBENCH=
build_cpubench() {
  local srcf=$ROOT/bench/riscv/cpubench.c
  [ -f "$srcf" ] || die "$srcf missing"
  need riscv64-linux-gnu-gcc gcc-riscv64-linux-gnu
  local key; key=$( { declare -f build_cpubench; cat "$srcf"; pkgver gcc-riscv64-linux-gnu; } | hash_of)
  local dir=$CACHE/cpubench/$key
  if [ ! -f "$dir/cpubench" ]; then
    mkdir -p "$dir.tmp"
    riscv64-linux-gnu-gcc -O2 -march=rv64gc -mabi=lp64d -static -nostdlib -ffreestanding -fno-builtin \
      -fno-stack-protector -fno-pic -no-pie -Wl,--no-relax -Wl,--no-warn-rwx-segments -Wall -Wextra -Werror -o "$dir.tmp/cpubench" "$srcf" \
      > "$LOGS/cpubench.log" 2>&1 || die "cpubench build failed; read $LOGS/cpubench.log"
    riscv64-linux-gnu-strip "$dir.tmp/cpubench"
    rm -rf "$dir"; mv "$dir.tmp" "$dir"
  fi
  CPUBENCH=$dir/cpubench
  MANIFEST+=("(cpubench in initramfs /bin/cpubench)  key=$key  from bench/riscv/cpubench.c, gcc-riscv64-linux-gnu $(pkgver gcc-riscv64-linux-gnu)")
  step "cpubench: $(du -k "$CPUBENCH" | cut -f1) KiB static riscv64 program"
}

# ---------------------------------------------------------------- initramfs
build_initramfs() {
  need cpio cpio; need gzip gzip
  local key; key=$( { declare -f build_initramfs populate_busybox; echo "$EPOCH"; cat "$GUEST/init.sh" "$GUEST/udhcpc.script";
                      filehash "$BUSYBOX" "$CPUBENCH"; } | hash_of)
  local dir=$CACHE/initramfs/$key
  if [ ! -f "$dir/initramfs.cpio.gz" ]; then
    local r=$dir.tmp/root
    rm -rf "$dir.tmp"; mkdir -p "$r"
    populate_busybox "$r"
    echo initramfs > "$r/etc/vmkit-role"
    ln -s sbin/vmkit-init "$r/init"
    # /dev/console must exist before devtmpfs is mounted: the kernel opens it for init's stdio.
    # Fixed timestamps (and gzip -n): identical inputs give an identical archive.
    asroot sh -c "mknod -m 600 '$r/dev/console' c 5 1 && mknod -m 666 '$r/dev/null' c 1 3 &&
      find '$r' -exec touch -h -d @$EPOCH {} + && cd '$r' && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --renumber-inodes --ignore-devno --quiet" \
      > "$dir.tmp/initramfs.cpio" 2> "$LOGS/initramfs.log" || die "cpio failed; read $LOGS/initramfs.log"
    gzip -9n < "$dir.tmp/initramfs.cpio" > "$dir.tmp/initramfs.cpio.gz"
    rm -rf "$r" "$dir.tmp/initramfs.cpio"
    rm -rf "$dir"; mv "$dir.tmp" "$dir"
  fi
  cp "$dir/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
  MANIFEST+=("initramfs.cpio.gz  key=$key  from $BUSYBOX_DESC, guest/init.sh, guest/udhcpc.script, bench/riscv/cpubench.c")
  step "initramfs: $(du -k "$OUT/initramfs.cpio.gz" | cut -f1) KiB ($key)"
}

# ---------------------------------------------------------------- disk.ext4
EPOCH=1735689600   # fixed file timestamp in the images (2025-01-01)
DISK_MB=32
DISK_TEXT="vmkit disk.ext4: busybox httpd OK"
build_disk() {
  need mke2fs e2fsprogs
  local key; key=$( { declare -f build_disk populate_busybox; echo "$DISK_MB $DISK_TEXT $EPOCH"; pkgver e2fsprogs;
                      cat "$GUEST/init.sh" "$GUEST/udhcpc.script"; filehash "$BUSYBOX" "$CPUBENCH"; } | hash_of)
  local dir=$CACHE/disk/$key
  if [ ! -f "$dir/disk.ext4" ]; then
    local r=$dir.tmp/root
    rm -rf "$dir.tmp"; mkdir -p "$r"
    populate_busybox "$r"
    echo disk > "$r/etc/vmkit-role"
    ln -sf vmkit-init "$r/sbin/init"
    mkdir -p "$r/www" "$r/lost+found"
    echo "$DISK_TEXT" > "$r/www/index.html"
    # Fixed UUID and hash seed so identical inputs give an identical image.
    find "$r" -exec touch -h -d @$EPOCH {} +
    asroot sh -c "chown -R 80:80 '$r/www' && E2FSPROGS_FAKE_TIME=$EPOCH mke2fs -q -F -t ext4 -L vmkit-disk -U 6d6b6974-0000-4000-8000-000000000001 \
      -E root_owner=0:0,hash_seed=6d6b6974-0000-4000-8000-000000000002 -d '$r' '$dir.tmp/disk.ext4' ${DISK_MB}M" \
      > "$LOGS/disk.log" 2>&1 || die "mke2fs failed; read $LOGS/disk.log"
    e2fsck -fn "$dir.tmp/disk.ext4" >> "$LOGS/disk.log" 2>&1 || die "e2fsck of the new disk.ext4 failed; read $LOGS/disk.log"
    rm -rf "$r"; rm -rf "$dir"; mv "$dir.tmp" "$dir"
  fi
  cp --sparse=always "$dir/disk.ext4" "$OUT/disk.ext4"
  MANIFEST+=("disk.ext4  key=$key  ext4 ${DISK_MB} MiB (e2fsprogs $(pkgver e2fsprogs), mke2fs -d), $BUSYBOX_DESC, /www/index.html = \"$DISK_TEXT\"")
  step "disk.ext4: ${DISK_MB} MiB ($key)"
}

write_manifest() {
  {
    echo "# vmkit guest images — written by guest/build.sh; keys are input hashes under $CACHE"
    local m; for m in "${MANIFEST[@]}"; do echo "$m"; done
    ( cd "$OUT" && sha256sum Image initramfs.cpio.gz fw_dynamic.bin disk.ext4 2>/dev/null | sed 's/^/sha256 /' )
  } > "$OUT/manifest"
}

MANIFEST=()
case "$MODE" in
  clean-cache) rm -rf "$CACHE"; step "removed $CACHE"; exit 0 ;;
  debian) exec bash "$GUEST/debian.sh" ;;
esac

# One build at a time per cache (parallel test runs share it); waiting is announced.
exec 9> "$CACHE/.build.lock"
flock -n 9 || { step "waiting for another guest/build.sh using $CACHE"; flock 9; }
need file file; need sha256sum coreutils; need dpkg-deb dpkg; need apt-get apt
[ "$(id -u)" -eq 0 ] || need fakeroot fakeroot
step "guest images -> $OUT (cache $CACHE)"
build_firmware
build_kernel
get_busybox
build_cpubench
build_initramfs
build_disk
write_manifest
step "done: $(cd "$OUT" && echo Image initramfs.cpio.gz fw_dynamic.bin disk.ext4 manifest)"
