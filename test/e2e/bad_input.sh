#!/usr/bin/env bash
# End-to-end: bad input against a real `garage server` process (test/e2e/bad_input.py): wrong
# credentials, malformed XML, bodies and chunking, bad digests, oversized headers, clients that
# disconnect; each checks the HTTP status and the S3 error code, then a normal PUT/GET must work.
set -euo pipefail
# shellcheck source=test/e2e/lib/e2e.sh
source "$(dirname "$0")/lib/e2e.sh"
e2e_start_node

e2e_create_key e2e-bad-input --create-bucket
e2e_create_buckets bad-input

rc=0
GARAGE_S3_PORT=$s3_port GARAGE_KEY_ID=$key_id GARAGE_SECRET=$secret GARAGE_REGION=garage \
    GARAGE_BUCKET=bad-input /usr/bin/python3 test/e2e/bad_input.py || rc=$?
if ! e2e_server_alive; then
    echo "0 passed, 1 failed"
    exit 1
fi
exit $rc
