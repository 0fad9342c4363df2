#!/usr/bin/env bash
# End-to-end: the K2V API of a real `garage server` (with a [k2v_api] section), driven by a small
# Python client that signs with botocore's SigV4Auth (service "k2v"), test/e2e/k2v_client.py:
# items, siblings and causality tokens, PollItem woken by a write and timing out, batches and the
# index counters, PollRange, and bad input (each answered with a K2V JSON error; the node goes on).
set -euo pipefail
# shellcheck source=test/e2e/lib/e2e.sh
source "$(dirname "$0")/lib/e2e.sh"

[[ -x $GARAGE_BIN ]] || bazel build //server:garage >/dev/null
dir=$(mktemp -d)
trap 'garage_stop "$dir"; rm -rf "$dir"' EXIT
s3_port=$(garage_free_port)
admin_port=$(garage_free_port)
k2v_port=$(garage_free_port)
garage_write_config "$dir" "$s3_port" "$admin_port"
cat >>"$dir/garage.toml" <<TOML

[k2v_api]
api_bind_addr = "127.0.0.1:$k2v_port"
TOML
garage_start "$dir"
garage_wait_healthy "$dir"

e2e_create_key e2e-k2v
e2e_create_buckets k2v-e2e
export K2V_ENDPOINT="http://127.0.0.1:$k2v_port" K2V_KEY_ID=$key_id K2V_SECRET=$secret K2V_BUCKET=k2v-e2e

client() { /usr/bin/python3 test/e2e/k2v_client.py "$@"; }
check "insert and read an item (json and octet-stream)" client insert_read
check "concurrent writes make siblings; a causality token overwrites them" client siblings_and_token
check "PollItem wakes on a write and times out with 304" client poll_item
check "InsertBatch, ReadBatch, DeleteBatch and the ReadIndex counters" client batches_and_index
check "PollRange returns the range, then wakes on a write in it" client poll_range
check "bad input gets K2V errors and the node keeps serving" client bad_input

# SIGTERM while a long poll waits: the poll is answered and the node exits within seconds (not
# at the poll's 600 s timeout); then the node is started again on the same data.
shutdown_with_waiting_poll() {
    local pid poll_pid
    pid=$(cat "$dir/server.pid")
    client long_poll &
    poll_pid=$!
    sleep 1
    kill -TERM "$pid"
    for _ in $(seq 1 80); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "the node did not exit within 8 s of SIGTERM"
        return 1
    fi
    wait "$poll_pid"
}
check "SIGTERM with a PollItem waiting: answered, the node exits promptly" shutdown_with_waiting_poll
garage_start "$dir"
garage_wait_healthy "$dir"
check "after a restart, items and index counters are still there" client persisted
e2e_summary
