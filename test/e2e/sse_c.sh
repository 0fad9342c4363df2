#!/usr/bin/env bash
# End-to-end: SSE-C (server-side encryption with customer keys) against a real `garage server`
# process, driven by the AWS CLI v2: round trips of a small, a 3 MiB and a multipart 20 MiB object,
# GET without the key or with another key (400), HeadObject, a range GET, copies between two keys
# and to and from a plain object, and no plaintext in the block files on disk.
# shellcheck disable=SC2086 # $AWS, $K, $K2 and $SK are word lists
set -euo pipefail
# shellcheck source=test/e2e/lib/e2e.sh
source "$(dirname "$0")/lib/e2e.sh"
e2e_start_node

e2e_create_key e2e-sse-c
e2e_create_buckets ssec

e2e_export_aws
AWS="/usr/bin/aws --endpoint-url http://127.0.0.1:$s3_port"

head -c 32 /dev/urandom >"$dir/key"
head -c 32 /dev/urandom >"$dir/key2"
head -c 1000 /dev/urandom >"$dir/small.bin"
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$dir/medium.bin"
head -c $((20 * 1024 * 1024 + 1)) /dev/urandom >"$dir/large.bin"
K="--sse-c AES256 --sse-c-key fileb://$dir/key"
K2="--sse-c AES256 --sse-c-key fileb://$dir/key2"
SK="--sse-customer-algorithm AES256 --sse-customer-key fileb://$dir/key"
key_md5=$(openssl md5 -binary <"$dir/key" | base64)

# fails_with_400 COMMAND...: the command fails and its error output names HTTP 400 / InvalidRequest.
fails_with_400() {
    local out
    if out=$("$@" 2>&1); then
        echo "unexpectedly succeeded: $out"
        return 1
    fi
    echo "$out"
    grep -Eq '\(400\)|InvalidRequest|Bad Request' <<<"$out"
}

for f in small medium large; do
    check "SSE-C cp up and down: $f" bash -c "$AWS s3 cp $K '$dir/$f.bin' s3://ssec/$f.bin &&
        $AWS s3 cp $K s3://ssec/$f.bin '$dir/$f.back' && cmp '$dir/$f.bin' '$dir/$f.back'"
    check "GET of $f without the key is a 400" fails_with_400 $AWS s3 cp "s3://ssec/$f.bin" "$dir/x"
    check "GET of $f with another key is a 400" fails_with_400 $AWS s3 cp $K2 "s3://ssec/$f.bin" "$dir/x"
done
check "the multipart object is stored as several parts" bash -c "$AWS s3api head-object --bucket ssec --key large.bin $SK \
    --query ETag --output text | grep -Eq -- '-[0-9]+\"?\$'"
check "HeadObject with the key echoes the algorithm and the key MD5" bash -c "
    out=\$($AWS s3api head-object --bucket ssec --key medium.bin $SK --output json) && echo \"\$out\" &&
    grep -q '\"SSECustomerAlgorithm\": \"AES256\"' <<<\"\$out\" &&
    grep -qF '\"SSECustomerKeyMD5\": \"$key_md5\"' <<<\"\$out\" &&
    grep -q '\"ContentLength\": $((3 * 1024 * 1024 + 12345))' <<<\"\$out\""
check "HeadObject without the key is a 400" fails_with_400 $AWS s3api head-object --bucket ssec --key medium.bin
check "a range GET with the key returns the right bytes" bash -c "
    $AWS s3api get-object --bucket ssec --key medium.bin --range bytes=1048000-1049000 $SK '$dir/r' >/dev/null &&
    cmp '$dir/r' <(tail -c +1048001 '$dir/medium.bin' | head -c 1001)"
check "a range GET across the multipart object's parts" bash -c "
    $AWS s3api get-object --bucket ssec --key large.bin --range bytes=5242000-15729000 $SK '$dir/r2' >/dev/null &&
    cmp '$dir/r2' <(tail -c +5242001 '$dir/large.bin' | head -c 10487001)"
check "copy from one key to another (s3 cp, multipart copy)" bash -c "
    $AWS s3 cp --copy-props none $K2 --sse-c-copy-source AES256 --sse-c-copy-source-key fileb://$dir/key \
        s3://ssec/large.bin s3://ssec/large2.bin &&
    $AWS s3 cp $K2 s3://ssec/large2.bin '$dir/l2' && cmp '$dir/l2' '$dir/large.bin'"
check "the copy cannot be read with the source key" fails_with_400 $AWS s3 cp $K s3://ssec/large2.bin "$dir/x"
check "copy from SSE-C to plain (s3api copy-object)" bash -c "
    $AWS s3api copy-object --bucket ssec --key plain.bin --copy-source ssec/medium.bin \
        --copy-source-sse-customer-algorithm AES256 --copy-source-sse-customer-key fileb://$dir/key >/dev/null &&
    $AWS s3 cp s3://ssec/plain.bin '$dir/p' && cmp '$dir/p' '$dir/medium.bin'"
check "copy from SSE-C without the source key is a 400" fails_with_400 \
    $AWS s3api copy-object --bucket ssec --key nokey.bin --copy-source ssec/medium.bin
check "copy from plain to SSE-C (s3api copy-object)" bash -c "
    $AWS s3api copy-object --bucket ssec --key back.bin --copy-source ssec/plain.bin $SK >/dev/null &&
    $AWS s3 cp $K s3://ssec/back.bin '$dir/bk' && cmp '$dir/bk' '$dir/medium.bin'"
check "no block file contains plaintext" /usr/bin/python3 - "$dir" <<'PY'
import os, sys
d = sys.argv[1]
# plain.bin is a plain copy of medium.bin: only small.bin and large.bin (and their copies) must
# never appear in clear
needles = []
for name in ("small", "large"):
    data = open(os.path.join(d, name + ".bin"), "rb").read()
    needles += [data[i:i + 48] for i in (100, len(data) * 2 // 3, len(data) - 148)]
assert all(len(n) == 48 for n in needles)
files = 0
for root, _, names in os.walk(os.path.join(d, "data")):
    for n in names:
        files += 1
        content = open(os.path.join(root, n), "rb").read()
        for needle in needles:
            assert needle not in content, os.path.join(root, n)
# the plain copy is stored in clear: the scan must see it (zstd keeps random data raw)
plain = open(os.path.join(d, "medium.bin"), "rb").read()[100:148]
found = any(plain in open(os.path.join(r, n), "rb").read()
            for r, _, ns in os.walk(os.path.join(d, "data")) for n in ns)
print(files, "block files scanned; plaintext of the plain copy found:", found)
assert files > 0 and found
PY
e2e_summary
