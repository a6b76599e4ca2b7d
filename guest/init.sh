#!/bin/sh
# guest/init.sh — PID 1 of vmkit's busybox guests: /init of initramfs.cpio.gz and /sbin/init of disk.ext4
# (owned by the guest-images part). Mounts the API filesystems, brings up eth0 with DHCP, mounts extra
# disks when asked, prints "vmkit guest ready", then runs the command from vmkit.run= (the non-interactive
# protocol used by the e2e tests, documented in guest/README.md) or an interactive shell; powers off after.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root TERM=${TERM:-vt100}
role=$(cat /etc/vmkit-role 2>/dev/null || echo initramfs)
say() { echo "vmkit: $*"; }

[ -e /proc/self ] || mount -t proc proc /proc
mounted() { grep -q "^[^ ]* $1 " /proc/mounts; }
mounted /sys || mount -t sysfs sysfs /sys
mounted /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mounted /dev/pts || mount -t devpts -o mode=620,ptmxmode=666 devpts /dev/pts
mounted /tmp || mount -t tmpfs -o mode=1777 tmpfs /tmp
mounted /run || mount -t tmpfs -o mode=755 tmpfs /run
hostname -F /etc/hostname 2>/dev/null || hostname vmkit
ip link set lo up 2>/dev/null

# finish: flush and unmount so a disk root stays clean, then power off (SBI system reset).
finish() {
  sync
  for d in $(awk '$3 ~ /^(ext[234]|vfat)$/ && $2 != "/" {print $2}' /proc/mounts); do umount "$d" 2>/dev/null; done
  mount -o remount,ro / 2>/dev/null
  poweroff -f
}

# Kernel command line: word-split without globbing; values are %-encoded or b64: so they have no spaces.
run= mounts= net=1 debug=0 haverun=0
set -f
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    vmkit.run=*) run=${arg#vmkit.run=}; haverun=1 ;;
    vmkit.mount=*) mounts=${arg#vmkit.mount=} ;;
    vmkit.net=0|vmkit.net=off) net=0 ;;
    vmkit.debug=1) debug=1 ;;
  esac
done
set +f

# decode <value>: "b64:<base64>" or %-encoded text ("%20" is a space; other bytes may appear as is).
decode() {
  case "$1" in
    b64:*) printf '%s' "${1#b64:}" | base64 -d ;;
    *) printf '%s' "$1" | sed 's/\\/%5C/g; s/%\([0-9A-Fa-f][0-9A-Fa-f]\)/\\x\1/g' | { IFS= read -r x; printf '%b' "$x"; } ;;
  esac
}

# Keep the console for the command's output in run mode: only kernel errors and worse are printed.
[ $haverun = 1 ] && [ $debug = 0 ] && dmesg -n 4 2>/dev/null

if [ $net = 1 ] && [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  if udhcpc -i eth0 -s /etc/udhcpc/default.script -f -q -n -t 4 -T 1 >/tmp/udhcpc.log 2>&1; then
    say "eth0 $(ip -4 -o addr show dev eth0 | awk '{print $4}' | head -n1)"
  else
    say "eth0: no DHCP lease (see /tmp/udhcpc.log)"
  fi
fi

# vmkit.mount=/dev/vdb:/mnt[:ro],/dev/vdc:/data  — extra disks, mounted only when asked.
if [ -n "$mounts" ]; then
  old=$IFS; IFS=,; set -f
  for m in $mounts; do
    IFS=:; set -- $m; IFS=,
    dev=$1 dir=${2:-/mnt} opt=${3:-rw}
    mkdir -p "$dir"
    if mount -o "$opt" "$dev" "$dir"; then say "mounted $dev on $dir ($opt)"; else say "cannot mount $dev on $dir"; fi
  done
  IFS=$old; set +f
fi

if [ "$role" = disk ] && [ -d /www ]; then
  if httpd -p 80 -h /www; then say "httpd serving /www on port 80"; else say "httpd failed to start"; fi
fi

up=$(cut -d' ' -f1 /proc/uptime)
echo "vmkit guest ready ($role, uptime ${up}s)"

if [ $haverun = 1 ]; then
  cmd=$(decode "$run")
  echo "VMKIT-RUN-BEGIN"
  sh -c "$cmd" </dev/null
  rc=$?
  echo "VMKIT-RUN-END rc=$rc"
  finish
fi

# Interactive: hand PID 1 over to busybox init, which gives the shell a session of its own with default
# signal dispositions (Ctrl-C, job control), and which handles busybox's poweroff/halt/reboot (signals to
# PID 1: USR2/USR1/TERM) by running the shutdown actions, then powering off / rebooting. Leaving the shell
# (exit, Ctrl-D) powers off. If /etc is read-only (a read-only disk root), fall back to a plain shell.
if { printf '%s\n' \
      "::once:/bin/sh -c 'setsid cttyhack sh -l; poweroff'" \
      "::shutdown:/bin/sh /etc/vmkit-shutdown" > /etc/inittab &&
     printf '%s\n' 'sync' \
      "for d in \$(awk '\$3 ~ /^(ext[234]|vfat)\$/ && \$2 != \"/\" {print \$2}' /proc/mounts); do umount \"\$d\"; done" \
      'mount -o remount,ro / 2>/dev/null' 'sync' > /etc/vmkit-shutdown; } 2>/dev/null; then
  exec /bin/busybox init
fi
setsid cttyhack sh -l
finish
