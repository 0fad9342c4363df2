#!/usr/bin/env bash
# End-to-end: bad input against a real `garage server` process (test/e2e/bad_input.py): wrong
# credentials, malformed XML, bodies and chunking, bad digests, oversized headers, clients that
# disconnect; each checks the HTTP status and the S3 error code, then a normal PUT/GET must work.
set -euo pipefail
cd "$(dirname "$0")/../.."
GARAGE_ROOT=$PWD
source scripts/node.sh
[[ -x $GARAGE_BIN ]] || bazel build //server:garage >/dev/null

dir=$(mktemp -d)
trap 'garage_stop "$dir"; rm -rf "$dir"' EXIT
s3_port=$(garage_free_port)
admin_port=$(garage_free_port)
garage_write_config "$dir" "$s3_port" "$admin_port"
garage_start "$dir"
garage_wait_healthy "$dir"

key_out=$(garage_cli "$dir" key create e2e-bad-input)
key_id=$(sed -n 's/^Key ID: //p' <<<"$key_out")
secret=$(sed -n 's/^Secret key: //p' <<<"$key_out")
garage_cli "$dir" key allow --create-bucket "$key_id" >/dev/null
garage_cli "$dir" bucket create bad-input >/dev/null
garage_cli "$dir" bucket allow --read --write --owner bad-input --key "$key_id" >/dev/null

rc=0
GARAGE_S3_PORT=$s3_port GARAGE_KEY_ID=$key_id GARAGE_SECRET=$secret GARAGE_REGION=garage \
    GARAGE_BUCKET=bad-input /usr/bin/python3 test/e2e/bad_input.py || rc=$?
if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
    echo "the server died; the end of its log:"
    tail -n 30 "$dir/server.log"
    echo "0 passed, 1 failed"
    exit 1
fi
exit $rc
