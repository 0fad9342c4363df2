#!/usr/bin/env bash
# End-to-end: a real `garage server` process, driven by the real AWS CLI and boto3 over TCP.
set -euo pipefail
# shellcheck source=test/e2e/lib/e2e.sh
source "$(dirname "$0")/lib/e2e.sh"
e2e_start_node

e2e_create_key e2e-key --create-bucket
e2e_create_buckets e2e-bucket

e2e_export_aws
AWS="/usr/bin/aws --endpoint-url http://127.0.0.1:$s3_port"

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

e2e_summary
