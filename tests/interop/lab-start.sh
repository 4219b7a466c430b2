# Sourced by the suites that drive a lab: `start_lab BIN STATE OUT` starts `writeback-sim
# lab` on free ports with its state in STATE and everything it prints in OUT, removes it
# (and WORK, when set) on exit, and waits until its control endpoint answers (60 s).
# Afterwards LAB_PID is its process, LAB its lab.json, and `j KEY` reads a key of it.
# Environment given to the call (WRITEBACK_SIM_LOG=…) reaches the lab. Expects `fail`.

start_lab() {
  local bin=$1 state=$2 out=$3
  "$bin" lab --state "$state" --ports auto > "$out" 2>&1 &
  LAB_PID=$!
  trap 'kill $LAB_PID 2>/dev/null || true; wait $LAB_PID 2>/dev/null || true; [ -z "${WORK:-}" ] || rm -rf "$WORK"' EXIT
  LAB=$state/lab.json
  local up=
  for _ in $(seq 1 600); do
    if [ -s "$LAB" ] && [ -n "$(j control_url)" ] && curl -sf "$(j control_url)/health" > /dev/null; then
      up=1
      break
    fi
    kill -0 "$LAB_PID" 2> /dev/null || fail "the lab exited"
    sleep 0.1
  done
  [ -n "$up" ] || fail "the lab did not answer within 60 s"
}

j() { jq -r ".$1" "$LAB"; }
