#!/usr/bin/env bash
# bench/evm/run.sh — the EVM benchmark: runs every benchmark of ../shared/evm/bench (main/ and micro/,
# state-test format) on vmkit (`vmkit evm statetest --bench N`) and on @ethereumjs/evm (ejs.mjs) in the
# same run and prints one table row per (benchmark, input): median time of each, Mgas/s of each, and
# the speed ratio ethereumjs/vmkit, then the geometric mean of the ratios. Gas used must agree (the
# ethereumjs figure adds the intrinsic gas); a mismatch is flagged with '!'.
# Usage: bench/evm/run.sh [-n VMKIT_RUNS] [-e EJS_RUNS] [--no-ejs] [FILE.json|DIR ...]
#   defaults: -n 11 -e 3, all of main/ and micro/. Env: VMKIT (binary), EVM_BENCH_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VMKIT=${VMKIT:-$ROOT/build/vmkit}
BDIR=${EVM_BENCH_DIR:-$ROOT/../shared/evm/bench}
N=11 E=3 EJS=1 ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N=$2; shift ;;
    -e) E=$2; shift ;;
    --no-ejs) EJS=0 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) ARGS+=("$1") ;;
  esac
  shift
done
[ -x "$VMKIT" ] || { echo "run.sh: no vmkit binary at $VMKIT (run make first)" >&2; exit 1; }
if [ ${#ARGS[@]} -eq 0 ]; then
  [ -d "$BDIR" ] || { echo "run.sh: benchmark directory $BDIR not found (set EVM_BENCH_DIR)" >&2; exit 1; }
  ARGS=("$BDIR/main" "$BDIR/micro")
fi
FILES=()
for a in "${ARGS[@]}"; do
  if [ -d "$a" ]; then while IFS= read -r f; do FILES+=("$f"); done < <(find "$a" -name '*.json' | sort)
  elif [ -f "$a" ]; then FILES+=("$a")
  else echo "run.sh: no such file or directory: $a" >&2; exit 1; fi
done
if [ $EJS = 1 ]; then
  command -v node >/dev/null || { echo "run.sh: node not found (use --no-ejs)" >&2; exit 1; }
  if [ ! -d "$HERE/node_modules/@ethereumjs/evm" ]; then
    echo "run.sh: installing @ethereumjs/evm (npm ci) ..." >&2
    (cd "$HERE" && npm ci --no-audit --no-fund >/dev/null) || { echo "run.sh: npm ci failed" >&2; exit 1; }
  fi
fi
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
for f in "${FILES[@]}"; do
  "$VMKIT" evm statetest --bench "$N" "$f" | grep '^BENCH ' >> "$TMP/vmkit" || { echo "run.sh: vmkit failed on $f" >&2; exit 1; }
  if [ $EJS = 1 ]; then
    node "$HERE/ejs.mjs" "$E" "$f" >> "$TMP/ejs" || { echo "run.sh: ethereumjs failed on $f" >&2; exit 1; }
  fi
done
touch "$TMP/ejs"
echo "vmkit: $N runs per input (median); ethereumjs $( [ $EJS = 1 ] && node -e 'console.log(require(process.argv[1]).version)' "$HERE/node_modules/@ethereumjs/evm/package.json" || echo '-'): $E runs (median)"
awk '
  FNR == NR { k = $2 " " $3;
              ej[k] = substr($4, 11) + 0; eg[k] = substr($5, 5) + 0; next }
  { split($4, idx, ":"); k = $3 " " idx[1]; order[++n] = k; lab[k] = ($5 == "-" ? idx[1] : $5)
    for (i = 6; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "median_us") vt[k] = kv[2] + 0; if (kv[1] == "gas") vg[k] = kv[2] + 0 } }
  END {
    printf "%-26s %-22s %11s %13s %10s %10s %9s\n", "benchmark", "input", "vmkit ms", "ethereumjs ms", "vmkit Mg/s", "ejs Mg/s", "ratio"
    lg = 0; m = 0
    for (i = 1; i <= n; i++) {
      k = order[i]; split(k, p, " ")
      have = (k in ej)
      flag = (have && eg[k] != vg[k]) ? "!" : ""
      vms = vt[k] / 1000.0
      if (have) {
        ems = ej[k] / 1000.0; r = (vt[k] > 0 ? ej[k] / vt[k] : 0)
        if (r > 0) { lg += log(r); m++ }
        printf "%-26s %-22s %11.3f %13.3f %10.1f %10.1f %8.1fx%s\n", p[1], lab[k], vms, ems,
               (vt[k] > 0 ? vg[k] / vt[k] : 0), (ej[k] > 0 ? eg[k] / ej[k] : 0), r, flag
      } else
        printf "%-26s %-22s %11.3f %13s %10.1f %10s %9s\n", p[1], lab[k], vms, "-", (vt[k] > 0 ? vg[k] / vt[k] : 0), "-", "-"
    }
    if (m) printf "geometric mean speed-up of vmkit over ethereumjs: %.1fx over %d inputs\n", exp(lg / m), m
  }' "$TMP/ejs" "$TMP/vmkit"
