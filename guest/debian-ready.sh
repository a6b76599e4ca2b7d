#!/bin/bash
# guest/debian-ready.sh — /usr/local/sbin/vmkit-ready in debian.ext4 (owned by the guest-images part), run
# by vmkit-ready.service after multi-user.target: prints the marker line on the console and, when the
# kernel command line has vmkit.run=<b64:...|%-encoded>, runs that command between the same
# VMKIT-RUN-BEGIN / VMKIT-RUN-END rc=N markers as the busybox guests, then powers off.
up=$(cut -d' ' -f1 /proc/uptime)
echo "vmkit debian ready: multi-user.target reached (uptime ${up}s)"
run=
set -f
for arg in $(cat /proc/cmdline); do
  case "$arg" in vmkit.run=*) run=${arg#vmkit.run=} ;; esac
done
set +f
[ -n "$run" ] || exit 0
case "$run" in
  b64:*) cmd=$(printf '%s' "${run#b64:}" | base64 -d) ;;
  *) cmd=$(printf '%b' "$(printf '%s' "$run" | sed 's/\\/%5C/g; s/%\([0-9A-Fa-f][0-9A-Fa-f]\)/\\x\1/g')") ;;
esac
echo "VMKIT-RUN-BEGIN"
sh -c "$cmd" </dev/null 2>&1
echo "VMKIT-RUN-END rc=$?"
systemctl --no-block poweroff
