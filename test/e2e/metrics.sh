#!/usr/bin/env bash
# End-to-end: observability of a real `garage server` — `GET /metrics` in the Prometheus text
# format with a `metrics_token` (no token, a wrong one and the admin token get 403 and the node
# keeps serving), counters that move with S3 requests made by the AWS CLI (requests, errors,
# durations, block bytes, table sizes), the admin API's own counters, one log line per request
# with no secret in it, and `garage stats` / `garage worker list|get|set` showing the figures of
# /metrics.
# shellcheck disable=SC2086 # $AWS is a word list
set -euo pipefail
# shellcheck source=test/e2e/lib/e2e.sh
source "$(dirname "$0")/lib/e2e.sh"

# e2e_start_node, with a metrics_token added to [admin] (the last section of the file)
[[ -x $GARAGE_BIN ]] || bazel build //server:garage >/dev/null
dir=$(mktemp -d)
trap 'garage_stop "$dir"; rm -rf "$dir"' EXIT
s3_port=$(garage_free_port)
admin_port=$(garage_free_port)
garage_write_config "$dir" "$s3_port" "$admin_port"
metrics_token=$(openssl rand -hex 24)
echo "metrics_token = \"$metrics_token\"" >>"$dir/garage.toml"
admin_token=$(sed -n 's/^admin_token = "\(.*\)"$/\1/p' "$dir/garage.toml")
garage_start "$dir"
garage_wait_healthy "$dir"

M="http://127.0.0.1:$admin_port/metrics"
scrape() { curl -fsS -H "Authorization: Bearer $metrics_token" "$M"; }
# value NAME_WITH_LABELS: the value of one sample line of a fresh scrape (empty if absent)
value() { scrape | awk -v k="$1" '$1 == k { print $2 }'; }
# status [CURL ARGS...]: the HTTP status of a /metrics request
status() { curl -s -o "$dir/scrape.out" -w '%{http_code}' "$@" "$M"; }

check "/metrics without a token: 403 'Authorization token must be provided'" bash -c "
    [[ \$(curl -s -o '$dir/a.out' -w '%{http_code}' '$M') == 403 ]] &&
    grep -q 'Authorization token must be provided' '$dir/a.out'"
check "/metrics with a wrong token: 403 'Invalid authorization token'" bash -c "
    [[ \$(curl -s -o '$dir/b.out' -w '%{http_code}' -H 'Authorization: Bearer wrong' '$M') == 403 ]] &&
    grep -q 'Invalid authorization token' '$dir/b.out'"
check "/metrics with the admin token (not the metrics token): 403" \
    test "$(status -H "Authorization: Bearer $admin_token")" = 403
check "/metrics with a malformed Authorization header: 403" test "$(status -H 'Authorization: Basic Zm9vOmJhcg==')" = 403
check "the node keeps serving after refused scrapes (/health 200)" curl -fsS "http://127.0.0.1:$admin_port/health"
check "/metrics with the metrics token: 200, text format 0.0.4" bash -c "
    curl -fsS -D '$dir/h.out' -o /dev/null -H 'Authorization: Bearer $metrics_token' '$M' &&
    grep -qi '^content-type: text/plain; version=0.0.4' '$dir/h.out'"

scrape >"$dir/before.txt"
check "every line of /metrics is a HELP, TYPE or sample line" python3 - "$dir/before.txt" <<'PY'
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(rf'^{name}(?:\{{{label}(?:,{label})*\}})? (?:-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?|\+Inf|-Inf|NaN)$')
typed = re.compile(rf'^# TYPE {name} (counter|gauge|histogram)$')
helped = re.compile(rf'^# HELP {name} .*$')
text = open(sys.argv[1]).read()
assert text.endswith('\n'), 'no final newline'
types = {}
for line in text.splitlines():
    if m := typed.match(line):
        types[line.split()[2]] = m.group(1)
    elif not (helped.match(line) or sample.match(line)):
        sys.exit(f'bad line: {line!r}')
for n in ['garage_build_info', 'cluster_healthy', 'cluster_available', 'table_size', 'block_resync_queue_length',
          'block_resync_errored_blocks', 'block_bytes_read', 'block_bytes_written', 'block_read_duration',
          'api_admin_request_counter']:
    assert n in types, f'{n} missing'
assert types['block_read_duration'] == 'histogram'
assert types['api_admin_request_counter'] == 'counter'
PY
check "single node: cluster_healthy 1, cluster_available 1, 256 partitions with quorum" bash -c "
    grep -qx 'cluster_healthy 1' '$dir/before.txt' && grep -qx 'cluster_available 1' '$dir/before.txt' &&
    grep -qx 'cluster_partitions_quorum 256' '$dir/before.txt' && grep -q '^garage_build_info{version=\"' '$dir/before.txt'"
check "refused scrapes are counted: api_admin_error_counter{Metrics,403} = 4" \
    test "$(value 'api_admin_error_counter{api_endpoint="Metrics",status_code="403"}')" = 4
check "/health and /v1/health: Garage's v1 fields" bash -c "
    curl -fsS 'http://127.0.0.1:$admin_port/health' | grep -q 'Garage is fully operational' &&
    curl -fsS -H 'Authorization: Bearer $admin_token' 'http://127.0.0.1:$admin_port/v1/health' |
        python3 -c 'import json,sys; h=json.load(sys.stdin); assert h[\"status\"]==\"healthy\"; assert all(k in h for k in [\"knownNodes\",\"connectedNodes\",\"storageNodes\",\"storageNodesOk\",\"partitions\",\"partitionsQuorum\",\"partitionsAllOk\"])'"

# ---- S3 traffic
e2e_create_key e2e-metrics
e2e_create_buckets metrics
e2e_export_aws
AWS="/usr/bin/aws --endpoint-url http://127.0.0.1:$s3_port"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$dir/big.bin"
echo small >"$dir/small.txt"
head -c 32 /dev/urandom >"$dir/ssec.key"

puts_before=$(value 'api_s3_request_counter{api_endpoint="PutObject"}')
check "PutObject x3, GetObject x2, HeadObject, ListObjectsV2 through the AWS CLI" bash -c "
    $AWS s3api put-object --bucket metrics --key big.bin --body '$dir/big.bin' >/dev/null &&
    $AWS s3api put-object --bucket metrics --key small.txt --body '$dir/small.txt' >/dev/null &&
    $AWS s3 cp --sse-c AES256 --sse-c-key 'fileb://$dir/ssec.key' '$dir/small.txt' s3://metrics/secret.txt >/dev/null &&
    $AWS s3api get-object --bucket metrics --key big.bin '$dir/big.out' >/dev/null &&
    $AWS s3api get-object --bucket metrics --key small.txt '$dir/small.out' >/dev/null &&
    $AWS s3api head-object --bucket metrics --key small.txt >/dev/null &&
    $AWS s3api list-objects-v2 --bucket metrics >/dev/null && cmp '$dir/big.bin' '$dir/big.out'"
check "GetObject of a missing key fails (404)" bash -c "! $AWS s3api get-object --bucket metrics --key nope '$dir/x' 2>/dev/null"
presigned=$($AWS s3 presign s3://metrics/small.txt --expires-in 300)
presigned_sig=$(sed -n 's/.*X-Amz-Signature=\([0-9a-f]*\).*/\1/p' <<<"$presigned")
check "a presigned GET works" bash -c "curl -fsS '$presigned' | grep -qx small"

scrape >"$dir/after.txt"
get() { awk -v k="$1" '$1 == k { print $2 }' "$dir/after.txt"; }
check "api_s3_request_counter{PutObject} moved by 3 (from ${puts_before:-0})" \
    test "$(get 'api_s3_request_counter{api_endpoint="PutObject"}')" = $((${puts_before:-0} + 3))
check "api_s3_request_counter{GetObject} = 4 (2 + missing + presigned)" \
    test "$(get 'api_s3_request_counter{api_endpoint="GetObject"}')" = 4
check "api_s3_request_counter{HeadObject} = 1 and {ListObjectsV2} = 1" bash -c "
    grep -qx 'api_s3_request_counter{api_endpoint=\"HeadObject\"} 1' '$dir/after.txt' &&
    grep -qx 'api_s3_request_counter{api_endpoint=\"ListObjectsV2\"} 1' '$dir/after.txt'"
check "api_s3_error_counter{GetObject,404} = 1" \
    test "$(get 'api_s3_error_counter{api_endpoint="GetObject",status_code="404"}')" = 1
check "api_s3_request_duration_count{PutObject} = 3, with a positive sum" bash -c "
    grep -qx 'api_s3_request_duration_count{api_endpoint=\"PutObject\"} 3' '$dir/after.txt' &&
    awk '\$1 == \"api_s3_request_duration_sum{api_endpoint=\\\"PutObject\\\"}\" && \$2 > 0 { ok = 1 } END { exit !ok }' '$dir/after.txt'"
check "block_bytes_written >= 3 MiB and block_bytes_read >= 3 MiB (random data: stored uncompressed)" bash -c "
    [[ \$(awk '\$1 == \"block_bytes_written\" { print \$2 }' '$dir/after.txt') -ge $((3 * 1024 * 1024)) ]] &&
    [[ \$(awk '\$1 == \"block_bytes_read\" { print \$2 }' '$dir/after.txt') -ge $((3 * 1024 * 1024)) ]]"
check "block_write_duration_count moved (>= 3 blocks)" bash -c "
    [[ \$(awk '\$1 == \"block_write_duration_count\" { print \$2 }' '$dir/after.txt') -ge 3 ]]"
check "table_size{object} = 3 and block_rc_size >= 3" bash -c "
    grep -qx 'table_size{table_name=\"object\"} 3' '$dir/after.txt' &&
    [[ \$(awk '\$1 == \"block_rc_size\" { print \$2 }' '$dir/after.txt') -ge 3 ]]"

# ---- request log
check "one log line per S3 request, with method, path, status, bytes, duration, request id" bash -c "
    grep -E 'api=s3 method=PUT path=\"/metrics/big.bin\" status=200 bytes_in=[0-9]+ bytes_out=0 duration_ms=[0-9.]+ request_id=[0-9a-f]+ remote=127.0.0.1:' '$dir/server.log' &&
    grep -E 'api=s3 method=GET path=\"/metrics/nope[^\"]*\" status=404 ' '$dir/server.log'"
check "the presigned request is logged with its signature redacted" bash -c "
    grep -q 'X-Amz-Signature=REDACTED' '$dir/server.log' && grep -q 'X-Amz-Credential=REDACTED' '$dir/server.log'"
check "no secret in the server log (S3 secret, signature, SSE-C key, tokens)" bash -c "
    ! grep -qF '$secret' '$dir/server.log' && ! grep -qF '$presigned_sig' '$dir/server.log' &&
    ! grep -qF '$(base64 <"$dir/ssec.key")' '$dir/server.log' && ! grep -qF '$metrics_token' '$dir/server.log' &&
    ! grep -qF '$admin_token' '$dir/server.log' && ! grep -qi 'authorization' '$dir/server.log'"

# ---- CLI: the same figures as /metrics
garage_cli "$dir" stats >"$dir/stats.txt"
scrape >"$dir/now.txt"
now() { awk -v k="$1" '$1 == k { print $2 }' "$dir/now.txt"; }
check "garage stats: table items equal table_size" bash -c "
    for t in object version block_ref bucket_v2 key; do
        want=\$(awk -v k=\"table_size{table_name=\\\"\$t\\\"}\" '\$1 == k { print \$2 }' '$dir/now.txt')
        got=\$(awk -v t=\"\$t\" '\$1 == t { print \$2 }' '$dir/stats.txt')
        [[ -n \$want && \$want == \"\$got\" ]] || { echo \"\$t: metrics \$want, stats \$got\"; exit 1; }
    done"
check "garage stats: RC entries, resync queue and errors equal block_rc_size, block_resync_*" bash -c "
    grep -qx '  number of RC entries (~= number of blocks): $(now block_rc_size)' '$dir/stats.txt' &&
    grep -qx '  resync queue length: $(now block_resync_queue_length)' '$dir/stats.txt' &&
    grep -qx '  blocks with resync errors: $(now block_resync_errored_blocks)' '$dir/stats.txt'"
check "garage stats: S3 PutObject requests equal api_s3_request_counter" bash -c "
    grep -Eq '^  PutObject +$(now 'api_s3_request_counter{api_endpoint="PutObject"}') +0$' '$dir/stats.txt'"

garage_cli "$dir" worker list >"$dir/workers.txt"
check "garage worker list: the block resync and scrub workers and the table workers" bash -c "
    grep -q 'Block resync worker #1' '$dir/workers.txt' && grep -q 'Block scrub worker' '$dir/workers.txt' &&
    grep -q 'object Merkle' '$dir/workers.txt' && grep -q 'object lifecycle worker' '$dir/workers.txt'"
# The list and the metric are two snapshots of a queue the workers change: they must agree at
# some moment (a few tries), not necessarily at the first.
resync_queue_agrees() {
    local w m
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        w=$("$GARAGE_BIN" -c "$dir/garage.toml" worker list | awk '/Block resync worker #1/ { print $(NF-3) }')
        m=$(value block_resync_queue_length)
        [[ -n $w && $w == "$m" ]] && return 0
        sleep 0.3
    done
    echo "worker list says $w, block_resync_queue_length $m"
    return 1
}
check "garage worker list: the resync worker's queue equals block_resync_queue_length" resync_queue_agrees
check "garage worker list -e: no worker with errors" bash -c "
    [[ \$('$GARAGE_BIN' -c '$dir/garage.toml' worker list -e | wc -l) == 1 ]]"
check "garage worker get: Garage's variables" bash -c "
    garage_out=\$('$GARAGE_BIN' -c '$dir/garage.toml' worker get) &&
    for v in resync-tranquility resync-worker-count scrub-tranquility lifecycle-last-completed; do
        grep -q \"^\$v \" <<<\"\$garage_out\" || exit 1
    done"
check "garage worker set resync-tranquility 7, then get shows 7" bash -c "
    '$GARAGE_BIN' -c '$dir/garage.toml' worker set resync-tranquility 7 | grep -Eq '^resync-tranquility +7$' &&
    '$GARAGE_BIN' -c '$dir/garage.toml' worker get resync-tranquility | grep -Eq '^resync-tranquility +7$'"
check "garage worker set resync-worker-count 3, then get shows 3" bash -c "
    '$GARAGE_BIN' -c '$dir/garage.toml' worker set resync-worker-count 3 >/dev/null &&
    '$GARAGE_BIN' -c '$dir/garage.toml' worker get resync-worker-count | grep -Eq '^resync-worker-count +3$'"
check "garage worker set scrub-tranquility 9 reaches the scrub worker" bash -c "
    '$GARAGE_BIN' -c '$dir/garage.toml' worker set scrub-tranquility 9 >/dev/null &&
    for _ in \$(seq 50); do
        '$GARAGE_BIN' -c '$dir/garage.toml' worker get scrub-tranquility | grep -Eq '^scrub-tranquility +9$' && exit 0
        sleep 0.1
    done; exit 1"
check "garage worker set of an unknown variable, or a bad value, fails" bash -c "
    ! '$GARAGE_BIN' -c '$dir/garage.toml' worker set no-such-var 1 2>/dev/null &&
    ! '$GARAGE_BIN' -c '$dir/garage.toml' worker set resync-worker-count 99 2>/dev/null &&
    ! '$GARAGE_BIN' -c '$dir/garage.toml' worker set resync-tranquility abc 2>/dev/null"
check "garage worker info 1 shows the first worker" bash -c "
    '$GARAGE_BIN' -c '$dir/garage.toml' worker info 1 | grep -q '^Worker name: '"

check "metrics scrape still answers after all of it" test "$(status -H "Authorization: Bearer $metrics_token")" = 200
e2e_summary
