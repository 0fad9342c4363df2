#!/usr/bin/env bash
# End-to-end: a real `garage server` process, driven by the real AWS CLI and boto3 over TCP.
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

key_out=$(garage_cli "$dir" key create e2e-key)
key_id=$(sed -n 's/^Key ID: //p' <<<"$key_out")
secret=$(sed -n 's/^Secret key: //p' <<<"$key_out")
garage_cli "$dir" key allow --create-bucket "$key_id" >/dev/null
garage_cli "$dir" bucket create e2e-bucket >/dev/null
garage_cli "$dir" bucket allow --read --write --owner e2e-bucket --key "$key_id" >/dev/null

export AWS_ACCESS_KEY_ID=$key_id AWS_SECRET_ACCESS_KEY=$secret AWS_DEFAULT_REGION=garage
export AWS_EC2_METADATA_DISABLED=true
AWS="/usr/bin/aws --endpoint-url http://127.0.0.1:$s3_port"

passed=0 failed=0
check() { # name, command...
    local name=$1
    shift
    if "$@" >"$dir/check.log" 2>&1; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        sed 's/^/     /' "$dir/check.log" | tail -20
    fi
}

head -c 1000 /dev/urandom >"$dir/small.bin"
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$dir/medium.bin"
head -c $((20 * 1024 * 1024 + 1)) /dev/urandom >"$dir/large.bin"

check "awscli lists the bucket" bash -c "$AWS s3 ls | grep -q e2e-bucket"
check "awscli creates a bucket" bash -c "$AWS s3 mb s3://made-by-aws && $AWS s3 ls | grep -q made-by-aws"
for f in small medium large; do
    check "awscli puts and gets $f" bash -c "$AWS s3 cp '$dir/$f.bin' s3://e2e-bucket/dir/$f.bin &&
       $AWS s3 cp s3://e2e-bucket/dir/$f.bin '$dir/$f.back' && cmp '$dir/$f.bin' '$dir/$f.back'"
done
check "awscli lists with a prefix and delimiter" bash -c "$AWS s3 ls s3://e2e-bucket/dir/ | grep -c '\.bin' | grep -qx 3"
check "awscli copies an object" bash -c "$AWS s3 cp s3://e2e-bucket/dir/medium.bin s3://e2e-bucket/copy.bin &&
    $AWS s3 cp s3://e2e-bucket/copy.bin '$dir/copy.back' && cmp '$dir/medium.bin' '$dir/copy.back'"
check "a presigned GET works through curl" bash -c "url=\$($AWS s3 presign s3://e2e-bucket/dir/small.bin) &&
    curl -fsS \"\$url\" -o '$dir/presigned.back' && cmp '$dir/small.bin' '$dir/presigned.back'"
check "awscli deletes objects" bash -c "$AWS s3 rm s3://e2e-bucket/copy.bin && ! $AWS s3 ls s3://e2e-bucket/copy.bin"
check "a wrong secret is refused" bash -c "AWS_SECRET_ACCESS_KEY=wrong /usr/bin/aws --endpoint-url http://127.0.0.1:$s3_port s3 ls 2>&1 | grep -q -i 'SignatureDoesNotMatch\|AccessDenied\|Forbidden'"
check "boto3 round-trips an object" /usr/bin/python3 - <<PY
import boto3, hashlib
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:$s3_port", region_name="garage",
                  aws_access_key_id="$key_id", aws_secret_access_key="$secret")
data = bytes(range(256)) * 5000
s3.put_object(Bucket="e2e-bucket", Key="boto/obj", Body=data, ContentType="application/x-test")
got = s3.get_object(Bucket="e2e-bucket", Key="boto/obj")
assert got["Body"].read() == data
assert got["ContentType"] == "application/x-test"
r = s3.get_object(Bucket="e2e-bucket", Key="boto/obj", Range="bytes=10-19")
assert r["Body"].read() == data[10:20]
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="e2e-bucket", Prefix="boto/")["Contents"]]
assert keys == ["boto/obj"], keys
s3.delete_object(Bucket="e2e-bucket", Key="boto/obj")
PY

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
