#!/usr/bin/env bash
# End-to-end: browser-form uploads (PostObject) and bucket quotas against a real `garage server`
# process. The forms are signed by boto3's generate_presigned_post and sent by curl -F: 201 with
# a PostResponse, the stored content type, a field outside the policy and a bad signature refused,
# a file outside content-length-range refused, a virtual-hosted-style POST (204 + Location).
# Quotas are set with `garage bucket set-quotas`; uploads that would exceed them (PutObject,
# CopyObject, PostObject, CompleteMultipartUpload) are refused with 403 AccessDenied.
# shellcheck disable=SC2016 # the single-quoted Python bodies contain ${filename} and $key literally
set -euo pipefail
# shellcheck source=test/e2e/lib/e2e.sh
source "$(dirname "$0")/lib/e2e.sh"
e2e_start_node

e2e_create_key e2e-post
e2e_create_buckets post-bucket quota-bucket

export S3_PORT=$s3_port KEY_ID=$key_id SECRET=$secret D=$dir GARAGE_BIN
export -f garage_cli

echo "hello from curl -F" >"$dir/upload.txt"
head -c 2000 /dev/urandom >"$dir/big.bin"
# Shared by the Python checks: a boto3 client, a form POST through curl, an S3 error matcher.
cat >"$dir/e2e.py" <<'PY'
import os, re, subprocess, boto3, botocore
from botocore.config import Config

D = os.environ["D"]
ENDPOINT = f"http://127.0.0.1:{os.environ['S3_PORT']}"
s3 = boto3.client("s3", endpoint_url=ENDPOINT, region_name="garage",
                  aws_access_key_id=os.environ["KEY_ID"], aws_secret_access_key=os.environ["SECRET"],
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

def post_form(url, fields, path, host=None):
    """POSTs fields then the file as multipart/form-data; returns (status, headers lower-cased, body)."""
    args = ["curl", "-sS", "-D", D + "/post.head", "-o", D + "/post.body", "-w", "%{http_code}", url]
    if host:
        args += ["-H", "Host: " + host]
    for k, v in fields:
        args += ["--form-string", f"{k}={v}"]
    args += ["-F", f"file=@{path}"]
    status = int(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    head = open(D + "/post.head").read().lower()
    body = open(D + "/post.body").read()
    print(status, head, body, sep="\n")
    return status, head, body

def s3_error(f, *args, **kw):
    """Calls f, which must fail; returns (HTTP status, S3 error code)."""
    try:
        f(*args, **kw)
    except botocore.exceptions.ClientError as e:
        print(e.response["Error"], e.response["ResponseMetadata"]["HTTPStatusCode"])
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    raise AssertionError(f"{f.__name__} succeeded")

def exists(bucket, key):
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except botocore.exceptions.ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response
        return False

# A policy for uploads/${filename} (text/plain, 1..1000 bytes, answer 201).
policy = s3.generate_presigned_post(
    "post-bucket", "uploads/${filename}",
    Fields={"Content-Type": "text/plain", "success_action_status": "201"},
    Conditions=[["starts-with", "$key", "uploads/"], {"Content-Type": "text/plain"},
                {"success_action_status": "201"}, ["content-length-range", 1, 1000]],
    ExpiresIn=600)
FIELDS = list(policy["fields"].items())
PY
py() { PYTHONPATH=$dir /usr/bin/python3 -c "from e2e import *; $1"; }

# --------------------------------------------------------------------------------- PostObject
check "a presigned form POST answers 201 with a PostResponse" py '
status, head, body = post_form(policy["url"], FIELDS, D + "/upload.txt")
assert status == 201
for part in ("<PostResponse", "<Bucket>post-bucket</Bucket>", "<Key>uploads/upload.txt</Key>", "<ETag>", "<Location>"):
    assert part in body, part
assert "etag:" in head'
check "the uploaded object has the file content and the form content type" py '
obj = s3.get_object(Bucket="post-bucket", Key="uploads/upload.txt")
assert obj["Body"].read() == open(D + "/upload.txt", "rb").read()
assert obj["ContentType"] == "text/plain", obj["ContentType"]'
check "a field outside the policy is refused (403 AccessDenied)" py '
status, head, body = post_form(policy["url"], FIELDS + [("x-amz-meta-extra", "1")], D + "/upload.txt")
assert status == 403 and "<Code>AccessDenied</Code>" in body'
check "a form violating an eq condition is refused (403)" py '
fields = [(k, "text/html" if k == "Content-Type" else v) for k, v in FIELDS]
status, head, body = post_form(policy["url"], fields, D + "/upload.txt")
assert status == 403 and "<Code>AccessDenied</Code>" in body'
check "a bad signature is refused (403)" py '
fields = [(k, "0" * 64 if k == "x-amz-signature" else v) for k, v in FIELDS]
status, head, body = post_form(policy["url"], fields, D + "/upload.txt")
assert status == 403, status'
check "a file larger than content-length-range is refused and not stored" py '
status, head, body = post_form(policy["url"], FIELDS, D + "/big.bin")
assert status == 400 and "<Code>" in body
assert not exists("post-bucket", "uploads/big.bin")'
check "a virtual-hosted-style POST answers 204 with the Location of the object" py '
vpost = s3.generate_presigned_post("post-bucket", "vhost/${filename}",
                                   Conditions=[["starts-with", "$key", "vhost/"]], ExpiresIn=600)
status, head, body = post_form(ENDPOINT + "/", list(vpost["fields"].items()), D + "/upload.txt",
                               host="post-bucket.s3.garage.localhost")
assert status == 204
assert "location: https://post-bucket.s3.garage.localhost/vhost/upload.txt" in head
assert s3.get_object(Bucket="post-bucket", Key="vhost/upload.txt")["Body"].read() == open(D + "/upload.txt", "rb").read()'

# ------------------------------------------------------------------------------------- quotas
check "set-quotas --max-objects 2 is shown by bucket info" bash -c "
    garage_cli '$dir' bucket set-quotas quota-bucket --max-objects 2 --max-size none &&
    garage_cli '$dir' bucket info quota-bucket | grep -x 'Quotas: max size none, max objects 2'"
check "puts up to the object quota are accepted" py '
s3.put_object(Bucket="quota-bucket", Key="a", Body=b"1")
s3.put_object(Bucket="quota-bucket", Key="b", Body=b"2")'
check "a put beyond the object quota is refused (403 AccessDenied)" py '
assert s3_error(s3.put_object, Bucket="quota-bucket", Key="c", Body=b"3") == (403, "AccessDenied")
assert not exists("quota-bucket", "c")'
check "replacing an object at the object quota is accepted" py '
s3.put_object(Bucket="quota-bucket", Key="a", Body=b"replaced")
assert s3.get_object(Bucket="quota-bucket", Key="a")["Body"].read() == b"replaced"'
check "a copy beyond the object quota is refused (403 AccessDenied)" py '
assert s3_error(s3.copy_object, Bucket="quota-bucket", Key="d",
                CopySource={"Bucket": "quota-bucket", "Key": "a"}) == (403, "AccessDenied")
assert not exists("quota-bucket", "d")'
check "a form POST beyond the object quota is refused (403 AccessDenied)" py '
qpost = s3.generate_presigned_post("quota-bucket", "post/${filename}",
                                   Conditions=[["starts-with", "$key", "post/"]], ExpiresIn=600)
status, head, body = post_form(qpost["url"], list(qpost["fields"].items()), D + "/upload.txt")
assert status == 403 and "<Code>AccessDenied</Code>" in body
assert not exists("quota-bucket", "post/upload.txt")'
check "set-quotas --max-size 10KiB replaces the object quota" bash -c "
    garage_cli '$dir' bucket set-quotas quota-bucket --max-objects none --max-size 10KiB &&
    garage_cli '$dir' bucket info quota-bucket | grep -x 'Quotas: max size 10240, max objects none'"
check "a put within the size quota is accepted" py '
s3.put_object(Bucket="quota-bucket", Key="c", Body=b"x" * 8000)'
check "a put beyond the size quota is refused (403 AccessDenied)" py '
assert s3_error(s3.put_object, Bucket="quota-bucket", Key="d", Body=b"y" * 4000) == (403, "AccessDenied")
assert not exists("quota-bucket", "d")'
check "a multipart upload beyond the size quota is refused at completion (403 AccessDenied)" py '
up = s3.create_multipart_upload(Bucket="quota-bucket", Key="mpu")
part = s3.upload_part(Bucket="quota-bucket", Key="mpu", UploadId=up["UploadId"], PartNumber=1, Body=b"z" * 5000)
assert s3_error(s3.complete_multipart_upload, Bucket="quota-bucket", Key="mpu", UploadId=up["UploadId"],
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}) == (403, "AccessDenied")
assert not exists("quota-bucket", "mpu")'
check "shrinking an object at the size quota is accepted" py '
s3.put_object(Bucket="quota-bucket", Key="c", Body=b"x" * 100)'
check "without quotas the refused put is accepted" bash -c "
    garage_cli '$dir' bucket set-quotas quota-bucket --max-objects none --max-size none &&
    PYTHONPATH='$dir' /usr/bin/python3 -c 'from e2e import *; s3.put_object(Bucket=\"quota-bucket\", Key=\"d\", Body=b\"y\" * 40000)'"

e2e_summary
