#!/usr/bin/env bash
# statetests.t.sh — runs the public Ethereum state tests (Frontier..Cancun) with `vmkit evm statetest`
# (release build, --jobs 2) and prints per-fork "TOTALS <passed> <failed> <known-failures> statetests-<fork>".
# A failing case listed in tests/evm/known-failures.txt counts as skipped; any other failure is a FAIL line.
# Also runs a subset under the ASan+UBSan build when build-asan/vmkit exists.
# Env: VMKIT, VMKIT_ROOT (from tests/run.sh). The stTimeConsuming blake2f max-rounds file (6 cases of
# 4.3 billion blake2f rounds, ~1 CPU-minute each) runs alongside the main run; VMKIT_EVM_FAST=1 skips it.
set -uo pipefail
ROOT=${VMKIT_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VMKIT=${VMKIT:-$ROOT/build/vmkit}
TAR=$ROOT/../shared/evm/state-tests-public.tar.xz
FIX=$ROOT/build/evm-fixtures
KNOWN=$ROOT/tests/evm/known-failures.txt
if [ ! -x "$VMKIT" ]; then echo "SKIP statetests: no vmkit binary at $VMKIT"; exit 0; fi
if [ ! -f "$FIX/.unpacked" ]; then
  if [ ! -f "$TAR" ]; then echo "SKIP statetests: fixtures $TAR not present"; exit 0; fi
  rm -rf "$FIX.tmp" && mkdir -p "$FIX.tmp" && tar -xJf "$TAR" -C "$FIX.tmp" || { echo "FAIL statetests: cannot unpack $TAR"; exit 1; }
  rm -rf "$FIX" && mv "$FIX.tmp" "$FIX" && touch "$FIX/.unpacked"
fi
SLOW=stTimeConsuming/CALLBlake2f_MaxRounds
OUT=$(mktemp); trap 'rm -f "$OUT" "$OUT.slow" "$OUT.slow2" "$OUT.err" "$OUT.asan"' EXIT
start=$(date +%s)
if [ "${VMKIT_EVM_FAST:-0}" = 1 ]; then
  echo "SKIP statetests-blake2f-maxrounds: VMKIT_EVM_FAST=1 (about 6 CPU-minutes)"; : > "$OUT.slow"
else
  # its 6 cases (one per fork) are independent: two processes, next to the 2-job main run
  "$VMKIT" evm statetest "$FIX/Cancun/GeneralStateTests/$SLOW.json" --summary --fork Istanbul,Berlin,London \
    > "$OUT.slow" 2>&1 &
  slowpid=$!
  "$VMKIT" evm statetest "$FIX/Cancun/GeneralStateTests/$SLOW.json" --summary --fork Merge,Shanghai,Cancun \
    > "$OUT.slow2" 2>&1 &
  slowpid2=$!
fi
"$VMKIT" evm statetest "$FIX/Constantinople/GeneralStateTests" "$FIX/Cancun/GeneralStateTests" \
  --jobs 2 --summary --skip "$SLOW" > "$OUT" 2> "$OUT.err"
rc=$?
if [ -n "${slowpid:-}" ]; then
  wait "$slowpid" "$slowpid2"
  for f in "$OUT.slow" "$OUT.slow2"; do
    grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$f" || { echo "FAIL statetests-blake2f-maxrounds: runner did not finish"; tail -3 "$f"; }
  done
  cat "$OUT.slow2" >> "$OUT.slow"
fi
end=$(date +%s)
if ! grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$OUT"; then
  echo "FAIL statetests: runner did not finish (exit $rc)"; tail -5 "$OUT.err"; exit 1
fi
if [ -s "$OUT.err" ]; then echo "FAIL statetests-files: $(head -1 "$OUT.err")"; fi
awk -v known="$KNOWN" '
  BEGIN {
    while ((getline line < known) > 0) {
      sub(/[ \t]*#.*/, "", line); gsub(/[ \t]+$/, "", line)
      if (line != "") K[line] = 1
    }
  }
  /^FAIL / {
    id = $2; sub(/:$/, "", id)
    n = split(id, f, ":"); fork = f[n-3]
    if (id in K) { kn[fork]++; seen[id] = 1; print "SKIP " id ": known failure" }
    else { fl[fork]++; print }
    next
  }
  /^fork +passed +failed$/ { intable = 1; next }
  intable && NF == 3 && $2 ~ /^[0-9]+$/ { if (!($1 in pass)) order[++no] = $1; pass[$1] += $2; next }
  /passed, .* failed$/ { intable = 0; next }
  END {
    for (i = 1; i <= no; i++) { fk = order[i]; printf "TOTALS %d %d %d statetests-%s\n", pass[fk], fl[fk] + 0, kn[fk] + 0, fk }
    for (id in K) if (!(id in seen)) print "note: known failure now passes (remove it from known-failures.txt): " id
  }' "$OUT" "$OUT.slow"
grep -hE '^unknown-fork|could not be run' "$OUT" "$OUT.slow" | sed 's/^/note: /'
slow=$(grep -hE 'passed, .*failed$' "$OUT.slow" | tr '\n' ' '); [ -n "$slow" ] || slow="skipped "
echo "note: main run $(tail -1 "$OUT"), blake2f file ${slow}in $((end - start)) s"

# sanitizer subset
ASAN=$ROOT/build-asan/vmkit
if [ -x "$ASAN" ]; then
  C=$FIX/Cancun/GeneralStateTests K=$FIX/Constantinople/GeneralStateTests
  ASAN_OPTIONS=detect_leaks=1 "$ASAN" evm statetest "$C/stExample" "$C/stCreateTest" "$C/stRefundTest" \
    "$C/Cancun" "$C/Shanghai" "$C/stEIP158Specific" "$C/stTransactionTest" "$C/stCallCodes" "$C/stStaticCall" \
    "$C/stPreCompiledContracts2" "$C/stZeroCallsRevert" "$C/stEIP2930" "$K/stEIP150Specific" \
    "$K/stSystemOperationsTest" \
    --jobs 2 > "$OUT.asan" 2>&1
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$OUT.asan"; then
    echo "FAIL statetests-asan: $(grep -m1 -E 'ERROR: |runtime error:' "$OUT.asan")"
  elif grep -qE '^[0-9]+ passed, 0 failed$' "$OUT.asan"; then
    echo "PASS statetests-asan ($(tail -1 "$OUT.asan"))"
  else
    echo "FAIL statetests-asan: $(grep -m1 '^FAIL ' "$OUT.asan" || tail -1 "$OUT.asan")"
  fi
else
  echo "SKIP statetests-asan: no $ASAN (make SAN=1)"
fi
exit 0
