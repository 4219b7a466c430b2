#!/usr/bin/env bash
# Run every fuzz target for SECONDS (default 60) from the committed seed corpus; new
# inputs go to a scratch folder, not into fuzz/corpus. Extra arguments go to cargo fuzz
# (.ci/run: `--dev -s none`, a quicker build). Prints one line per target; exits 1 when a
# target finds a crash, a timeout (10 s for one input) or an input that needs more than
# 2 GiB — the input is then in fuzz/artifacts/TARGET/ (make it a regression test).
#
#   bash fuzz/run.sh [SECONDS] [cargo fuzz flags...]
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
# FUZZ_TARGETS="ldap_session graph" runs only those.
read -r -a targets <<< "${FUZZ_TARGETS:-ldap_message ldap_session filter dn ldif scenario graph relay_frames}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cargo +nightly fuzz build "$@" > "$scratch/build.log" 2>&1 || { cat "$scratch/build.log"; exit 1; }
status=0
printf '| target | runs | runs/s | new inputs | peak RSS | result |\n|---|---|---|---|---|---|\n'
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  cargo +nightly fuzz run "$@" "$t" "$scratch/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    > "$scratch/$t.log" 2>&1
  rc=$?
  stat() { grep -m1 "stat::$1:" "$scratch/$t.log" | awk '{print $2}'; }
  result=ok
  if [ $rc -ne 0 ]; then
    result="FAILED (exit $rc): $(grep -m1 -E 'panicked|ERROR: libFuzzer|SUMMARY' "$scratch/$t.log")"
    status=1
  fi
  printf '| %s | %s | %s | %s | %s MB | %s |\n' "$t" "$(stat number_of_executed_units)" \
    "$(stat average_exec_per_sec)" "$(stat new_units_added)" "$(stat peak_rss_mb)" "$result"
  [ $rc -ne 0 ] && tail -40 "$scratch/$t.log"
done
exit $status
