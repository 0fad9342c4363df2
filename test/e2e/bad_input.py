"""Bad input against a real `garage server`: each check sends a wrong, malformed or abusive
request and asserts the HTTP status and the S3 error code of the XML body; at the end the server
must still serve a normal PUT and GET.

Run by test/e2e/bad_input.sh, which starts the server and passes, in the environment:
GARAGE_S3_PORT, GARAGE_KEY_ID, GARAGE_SECRET, GARAGE_REGION and GARAGE_BUCKET (a bucket the key
may read, write and own). Requests are signed with botocore; malformed ones are written with
http.client or a raw socket. The last line printed is "N passed, N failed".

Where Garage and AWS disagree on an error code, both are accepted and the comment says which is
which (GARAGE-REFERENCE §1.18: Garage answers AccessDenied for every signature failure and
InvalidDigest for checksum mismatches, where AWS says SignatureDoesNotMatch and BadDigest).
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import os
import socket
import sys
import traceback
import xml.etree.ElementTree as ET
import zlib
from urllib.parse import quote

import botocore.auth
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HOST = "127.0.0.1"
PORT = int(os.environ["GARAGE_S3_PORT"])
KEY_ID = os.environ["GARAGE_KEY_ID"]
SECRET = os.environ["GARAGE_SECRET"]
REGION = os.environ["GARAGE_REGION"]
BUCKET = os.environ["GARAGE_BUCKET"]
ENDPOINT = f"http://{HOST}:{PORT}"


# ------------------------------------------------------------------------------------ signing


class _ShiftedClock:
    """Stands in for the `datetime` module inside botocore.auth, `shift` in the past or future."""

    def __init__(self, shift):
        real = datetime.datetime

        class _dt(real):
            @classmethod
            def utcnow(cls):
                return real.utcnow() + shift

        self.datetime = _dt


class shifted_clock:
    """Context manager: botocore signs as if the time were now + `shift`."""

    def __init__(self, shift):
        self.shift = shift

    def __enter__(self):
        self.saved = botocore.auth.datetime
        botocore.auth.datetime = _ShiftedClock(self.shift)

    def __exit__(self, *exc):
        botocore.auth.datetime = self.saved


class _FixedPayloadAuth(S3SigV4Auth):
    """SigV4 with a given x-amz-content-sha256 (e.g. a STREAMING-* mode)."""

    def __init__(self, creds, region, payload_value):
        super().__init__(creds, "s3", region)
        self.payload_value = payload_value

    def payload(self, request):
        return self.payload_value


def url_of(path, query=""):
    return ENDPOINT + quote(path, safe="/~") + ("?" + query if query else "")


def sign(method, path, query="", headers=None, body=b"", secret=SECRET, region=REGION,
         key_id=KEY_ID, payload=None):
    """The headers of a SigV4-signed request (the body's SHA-256 signed unless `payload`)."""
    headers = dict(headers or {})
    headers.setdefault("Host", f"{HOST}:{PORT}")
    req = AWSRequest(method=method, url=url_of(path, query), data=body, headers=headers)
    creds = Credentials(key_id, secret)
    if payload is None:
        S3SigV4Auth(creds, "s3", region).add_auth(req)
    else:
        _FixedPayloadAuth(creds, region, payload).add_auth(req)
    return dict(req.headers.items())


def presign(method, path, expires=3600, secret=SECRET):
    req = AWSRequest(method=method, url=url_of(path))
    S3SigV4QueryAuth(Credentials(KEY_ID, secret), "s3", REGION, expires=expires).add_auth(req)
    return req.url


def signing_key(date, secret=SECRET, region=REGION):
    k = ("AWS4" + secret).encode()
    for part in (date, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def chunked_body(data, chunk_size, headers, secret=SECRET, tamper=None):
    """The aws-chunked body of STREAMING-AWS4-HMAC-SHA256-PAYLOAD for `data`, signed from the
    seed signature of `headers` (tamper(i, sig) may alter chunk i's signature)."""
    amz_date = headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    prev = headers["Authorization"].rsplit("Signature=", 1)[1]
    key = signing_key(amz_date[:8], secret)
    empty = hashlib.sha256(b"").hexdigest()
    chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    out = b""
    for i, c in enumerate(chunks):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty,
                         hashlib.sha256(c).hexdigest()])
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        prev = sig
        if tamper:
            sig = tamper(i, sig)
        out += f"{len(c):x};chunk-signature={sig}\r\n".encode() + c + b"\r\n"
    return out


# ------------------------------------------------------------------------------------ transport


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def code(self):
        """The S3 error code of the body, or None if the body is no S3 error document."""
        try:
            root = ET.fromstring(self.body)
        except ET.ParseError:
            return None
        if root.tag != "Error":
            return None
        el = root.find("Code")
        return el.text if el is not None else None

    def __repr__(self):
        return f"HTTP {self.status}: {self.body[:400]!r}"


def send(method, path, query="", headers=None, body=b"", timeout=30):
    """Sends exactly these headers (no Host or Accept-Encoding added) and this body."""
    conn = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    try:
        target = quote(path, safe="/~") + ("?" + query if query else "")
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        headers = dict(headers or {})
        if body and not any(k.lower() == "content-length" for k in headers):
            headers["Content-Length"] = str(len(body))
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        r = conn.getresponse()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def signed(method, path, query="", headers=None, body=b"", **kw):
    h = sign(method, path, query, headers, body, **kw)
    return send(method, path, query, h, body)


def send_url(method, url, body=b""):
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    try:
        target = url[len(ENDPOINT):]
        conn.request(method, target, body=body or None)
        r = conn.getresponse()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def raw_exchange(data, read=True, timeout=10):
    """Writes `data` on a fresh TCP connection, half-closes, and returns what came back."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:  # the server may close (or reset) before reading everything
            pass
        out = b""
        if read:
            try:
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    out += b
            except OSError:
                pass
        return out
    finally:
        s.close()


def request_bytes(method, path, headers, query=""):
    target = quote(path, safe="/~") + ("?" + query if query else "")
    lines = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# ------------------------------------------------------------------------------------ checks

passed = 0
failed = 0


def check(name):
    def run(fn):
        global passed, failed
        try:
            fn()
            passed += 1
            print(f"ok   {name}", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {name}", flush=True)
            for line in traceback.format_exc().splitlines()[-12:]:
                print("     " + line, flush=True)
        return fn
    return run


def expect(reply, status, codes):
    """Asserts the status and that the body is an S3 error whose code is one of `codes`."""
    codes = (codes,) if isinstance(codes, str) else tuple(codes)
    assert reply.status == status and reply.code() in codes, \
        f"expected {status} {'/'.join(codes)}, got {reply!r}"


def expect_ok(reply, status=200):
    assert reply.status == status, f"expected {status}, got {reply!r}"


def put(key, data, headers=None):
    expect_ok(signed("PUT", f"/{BUCKET}/{key}", headers=headers, body=data))


def head_status(key):
    return signed("HEAD", f"/{BUCKET}/{key}").status


def assert_absent(key):
    st = head_status(key)
    assert st == 404, f"{key} should not exist, HEAD gave {st}"


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def create_upload(key):
    r = signed("POST", f"/{BUCKET}/{key}", "uploads=")
    expect_ok(r)
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    root = ET.fromstring(r.body)
    el = root.find("s3:UploadId", ns)
    if el is None:
        el = root.find("UploadId")
    return el.text


def upload_part(key, upload_id, n, data):
    r = signed("PUT", f"/{BUCKET}/{key}", f"partNumber={n}&uploadId={upload_id}", body=data)
    expect_ok(r)
    return r.headers["etag"]


def complete_xml(parts):
    body = "<CompleteMultipartUpload>"
    for n, etag in parts:
        body += f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
    return (body + "</CompleteMultipartUpload>").encode()


put("exists.txt", b"0123456789" * 10)


# --- authentication


@check("a wrong secret key is refused (403 AccessDenied as Garage, or SignatureDoesNotMatch)")
def _():
    expect(signed("GET", f"/{BUCKET}/exists.txt", secret="x" * 64), 403,
           ("SignatureDoesNotMatch", "AccessDenied"))


@check("an unknown access key is refused (403 InvalidAccessKeyId or AccessDenied)")
def _():
    expect(signed("GET", f"/{BUCKET}/exists.txt", key_id="GK" + "0" * 24), 403,
           ("InvalidAccessKeyId", "AccessDenied"))


@check("an unsigned request is refused (403 AccessDenied)")
def _():
    expect(send("GET", f"/{BUCKET}/exists.txt", headers={"Host": f"{HOST}:{PORT}"}), 403, "AccessDenied")


@check("a request signed for another region is refused (400 AuthorizationHeaderMalformed)")
def _():
    expect(signed("GET", f"/{BUCKET}/exists.txt", region="us-east-1"), 400, "AuthorizationHeaderMalformed")


@check("a body that differs from the signed x-amz-content-sha256 is refused (400)")
def _():
    h = sign("PUT", f"/{BUCKET}/sha-mismatch", body=b"the signed body")
    expect(send("PUT", f"/{BUCKET}/sha-mismatch", headers=h, body=b"another body!!!"), 400,
           ("XAmzContentSHA256Mismatch", "InvalidDigest", "BadDigest"))
    assert_absent("sha-mismatch")


@check("a request dated 25 hours ago is refused (403 RequestTimeTooSkewed or AccessDenied)")
def _():
    # Garage accepts dates up to 24 hours old (GARAGE-REFERENCE §1.2), AWS 15 minutes.
    with shifted_clock(datetime.timedelta(hours=-25)):
        h = sign("GET", f"/{BUCKET}/exists.txt")
    expect(send("GET", f"/{BUCKET}/exists.txt", headers=h), 403, ("RequestTimeTooSkewed", "AccessDenied"))


@check("a valid presigned URL works (control)")
def _():
    r = send_url("GET", presign("GET", f"/{BUCKET}/exists.txt", expires=60))
    expect_ok(r)
    assert r.body == b"0123456789" * 10


@check("an expired presigned URL is refused (403 AccessDenied)")
def _():
    with shifted_clock(datetime.timedelta(hours=-2)):
        url = presign("GET", f"/{BUCKET}/exists.txt", expires=60)
    expect(send_url("GET", url), 403, "AccessDenied")


@check("a presigned URL with a wrong signature is refused (403)")
def _():
    url = presign("GET", f"/{BUCKET}/exists.txt", secret="y" * 64)
    expect(send_url("GET", url), 403, ("SignatureDoesNotMatch", "AccessDenied"))


# --- names and lookups


@check("an unknown bucket answers 404 NoSuchBucket")
def _():
    expect(signed("GET", "/no-such-bucket-here/key"), 404, "NoSuchBucket")
    expect(signed("GET", "/no-such-bucket-here", "list-type=2"), 404, "NoSuchBucket")


@check("an unknown key answers 404 NoSuchKey")
def _():
    expect(signed("GET", f"/{BUCKET}/no/such/key"), 404, "NoSuchKey")


@check("HEAD on an unknown key answers 404 without a body")
def _():
    r = signed("HEAD", f"/{BUCKET}/no/such/key")
    assert r.status == 404 and r.body == b"", r


@check("creating a bucket with an invalid name answers 400 InvalidBucketName")
def _():
    for name in ("Upper-Case", "ab", "bad_underscore", "-leading-dash", "a" * 64, "192.168.1.1"):
        expect(signed("PUT", f"/{name}"), 400, "InvalidBucketName")


@check("a range past the end answers 416 InvalidRange with Content-Range bytes */size")
def _():
    r = signed("GET", f"/{BUCKET}/exists.txt", headers={"Range": "bytes=1000-2000"})
    expect(r, 416, "InvalidRange")
    assert r.headers.get("content-range") == "bytes */100", r.headers


# --- XML bodies


@check("malformed XML on DeleteObjects answers 400 MalformedXML")
def _():
    body = b"<Delete><Object><Key>exists.txt</Key></Obj"
    expect(signed("POST", f"/{BUCKET}", "delete=", headers={"Content-MD5": md5_b64(body)}, body=body),
           400, "MalformedXML")
    expect_ok(signed("HEAD", f"/{BUCKET}/exists.txt"))


@check("DeleteObjects with a non-XML body answers 400 MalformedXML")
def _():
    body = b"this is not xml at all"
    expect(signed("POST", f"/{BUCKET}", "delete=", headers={"Content-MD5": md5_b64(body)}, body=body),
           400, "MalformedXML")


@check("malformed XML on CompleteMultipartUpload answers 400 MalformedXML (upload kept)")
def _():
    uid = create_upload("mpu-malformed")
    upload_part("mpu-malformed", uid, 1, b"part one")
    expect(signed("POST", f"/{BUCKET}/mpu-malformed", f"uploadId={uid}",
                  body=b"<CompleteMultipartUpload><Part><PartNumber>1</Part>"), 400, "MalformedXML")
    assert_absent("mpu-malformed")
    # The upload is still there and can be aborted.
    expect_ok(signed("DELETE", f"/{BUCKET}/mpu-malformed", f"uploadId={uid}"), 204)


@check("an oversized XML body (2 MiB DeleteObjects) is refused with an S3 error (400 or 413)")
def _():
    one = b"<Object><Key>" + b"k" * 200 + b"</Key></Object>"
    body = b"<Delete>" + one * (2 * 1024 * 1024 // len(one)) + b"</Delete>"
    r = signed("POST", f"/{BUCKET}", "delete=", headers={"Content-MD5": md5_b64(body)}, body=body)
    assert r.status in (400, 413) and r.code() in (
        "InvalidRequest", "MalformedXML", "EntityTooLarge", "MaxMessageLengthExceeded"), r


@check("CompleteMultipartUpload with parts out of order answers 400 InvalidPartOrder")
def _():
    uid = create_upload("mpu-order")
    e1 = upload_part("mpu-order", uid, 1, os.urandom(5 * 1024 * 1024))
    e2 = upload_part("mpu-order", uid, 2, b"last part")
    expect(signed("POST", f"/{BUCKET}/mpu-order", f"uploadId={uid}", body=complete_xml([(2, e2), (1, e1)])),
           400, "InvalidPartOrder")
    assert_absent("mpu-order")
    # The same upload completes once the list is in order.
    expect_ok(signed("POST", f"/{BUCKET}/mpu-order", f"uploadId={uid}", body=complete_xml([(1, e1), (2, e2)])))
    assert head_status("mpu-order") == 200


@check("CompleteMultipartUpload naming a part never uploaded answers 400 InvalidPart")
def _():
    uid = create_upload("mpu-missing")
    e1 = upload_part("mpu-missing", uid, 1, b"only part")
    expect(signed("POST", f"/{BUCKET}/mpu-missing", f"uploadId={uid}",
                  body=complete_xml([(7, '"0123456789abcdef0123456789abcdef"')])), 400, "InvalidPart")
    expect(signed("POST", f"/{BUCKET}/mpu-missing", f"uploadId={uid}",
                  body=complete_xml([(1, '"ffffffffffffffffffffffffffffffff"')])), 400, "InvalidPart")
    assert_absent("mpu-missing")
    expect_ok(signed("POST", f"/{BUCKET}/mpu-missing", f"uploadId={uid}", body=complete_xml([(1, e1)])))
    r = signed("GET", f"/{BUCKET}/mpu-missing")
    assert r.status == 200 and r.body == b"only part", r


@check("an unknown upload id answers 404 NoSuchUpload")
def _():
    expect(signed("PUT", f"/{BUCKET}/x", "partNumber=1&uploadId=" + "ab" * 32, body=b"x"), 404, "NoSuchUpload")


# --- digests and checksums


@check("a wrong Content-MD5 is refused (400 BadDigest, InvalidDigest in Garage) and stores nothing")
def _():
    body = b"some content"
    r = signed("PUT", f"/{BUCKET}/bad-md5", headers={"Content-MD5": md5_b64(b"other content")}, body=body)
    expect(r, 400, ("BadDigest", "InvalidDigest"))
    assert_absent("bad-md5")


@check("a Content-MD5 that is not base64 of 16 bytes is refused (400 InvalidDigest)")
def _():
    r = signed("PUT", f"/{BUCKET}/bad-md5-2", headers={"Content-MD5": "not-a-digest"}, body=b"abc")
    expect(r, 400, ("InvalidDigest", "InvalidRequest", "BadDigest"))
    assert_absent("bad-md5-2")


@check("a wrong x-amz-checksum-crc32 is refused (400 BadDigest/InvalidDigest/InvalidRequest)")
def _():
    body = b"checksummed content"
    r = signed("PUT", f"/{BUCKET}/bad-crc", headers={"x-amz-checksum-crc32": crc32_b64(b"other")}, body=body)
    expect(r, 400, ("BadDigest", "InvalidDigest", "InvalidRequest"))
    assert_absent("bad-crc")


@check("a right x-amz-checksum-crc32 is accepted (control)")
def _():
    body = b"checksummed content"
    r = signed("PUT", f"/{BUCKET}/good-crc", headers={"x-amz-checksum-crc32": crc32_b64(body)}, body=body)
    expect_ok(r)


# --- aws-chunked bodies


def chunked_put(key, data, mangle=None, tamper=None, declared=None):
    path = f"/{BUCKET}/{key}"
    h = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(declared or len(data))}
    h = sign("PUT", path, headers=h, payload="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    body = chunked_body(data, 64 * 1024, h, tamper=tamper)
    if mangle:
        body = mangle(body)
    h["Content-Length"] = str(len(body))
    return send("PUT", path, headers=h, body=body)


CHUNKED_DATA = os.urandom(200 * 1024)


@check("a well-formed signed aws-chunked PUT succeeds (control)")
def _():
    expect_ok(chunked_put("chunked-ok", CHUNKED_DATA))
    r = signed("GET", f"/{BUCKET}/chunked-ok")
    assert r.status == 200 and r.body == CHUNKED_DATA, r


@check("a truncated aws-chunked body is refused and stores nothing")
def _():
    # The body ends in the middle of the second chunk (Content-Length is the truncated length).
    r = chunked_put("chunked-truncated", CHUNKED_DATA, mangle=lambda b: b[:100 * 1024])
    assert 400 <= r.status < 500 and r.code() is not None, r
    assert_absent("chunked-truncated")


@check("an aws-chunked body without its final chunk is refused and stores nothing")
def _():
    r = chunked_put("chunked-nofinal", CHUNKED_DATA, mangle=lambda b: b[:b.rindex(b"0;chunk-signature=")])
    assert 400 <= r.status < 500 and r.code() is not None, r
    assert_absent("chunked-nofinal")


@check("a mis-chunked body (chunk size larger than its data) is refused and stores nothing")
def _():
    def mangle(b):
        first = b.index(b";")
        return b"ffffff" + b[first:]  # claims 16 MiB in the first chunk
    r = chunked_put("chunked-bad-size", CHUNKED_DATA, mangle=mangle)
    assert 400 <= r.status < 500 and r.code() is not None, r
    assert_absent("chunked-bad-size")


@check("a chunk size that is not hex is refused (400) and stores nothing")
def _():
    r = chunked_put("chunked-nothex", CHUNKED_DATA, mangle=lambda b: b"zz" + b[b.index(b";"):])
    assert r.status == 400 and r.code() is not None, r
    assert_absent("chunked-nothex")


@check("a chunk whose data is not followed by CRLF is refused and stores nothing")
def _():
    def mangle(b):
        i = b.index(b"\r\n") + 2 + 64 * 1024  # end of the first chunk's data
        return b[:i] + b"XX" + b[i + 2:]
    r = chunked_put("chunked-nocrlf", CHUNKED_DATA, mangle=mangle)
    assert 400 <= r.status < 500 and r.code() is not None, r
    assert_absent("chunked-nocrlf")


@check("a wrong chunk signature is refused (403) and stores nothing")
def _():
    r = chunked_put("chunked-badsig", CHUNKED_DATA,
                    tamper=lambda i, s: ("0" * 64 if i == 1 else s))
    expect(r, 403, ("SignatureDoesNotMatch", "AccessDenied"))
    assert_absent("chunked-badsig")


@check("an x-amz-decoded-content-length that differs from the data is refused and stores nothing")
def _():
    r = chunked_put("chunked-badlen", CHUNKED_DATA, declared=len(CHUNKED_DATA) + 5)
    assert 400 <= r.status < 500 and r.code() is not None, r
    assert_absent("chunked-badlen")


# --- unusual but valid input (found with ceph/s3-tests)


@check("DeleteObjects deletes keys made of whitespace or XML special characters")
def _():
    keys = [" ", "_ ", "  two", "<&>'\""]
    for k in keys:
        put(k, b"x")
    objs = "".join(f"<Object><Key>{k.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</Key></Object>"
                   for k in keys)
    body = f"<Delete><Quiet>true</Quiet>{objs}</Delete>".encode()
    expect_ok(signed("POST", f"/{BUCKET}", "delete=", headers={"Content-MD5": md5_b64(body)}, body=body))
    for k in keys:
        assert_absent(k)


@check("ListObjects with max-keys=0 is empty and not truncated")
def _():
    for q in ("max-keys=0", "list-type=2&max-keys=0"):
        r = signed("GET", f"/{BUCKET}", q)
        expect_ok(r)
        assert b"<IsTruncated>false</IsTruncated>" in r.body and b"<Contents>" not in r.body, r


@check("ListObjectsV2 with an empty continuation-token lists from the start")
def _():
    r = signed("GET", f"/{BUCKET}", "list-type=2&continuation-token=")
    expect_ok(r)
    assert b"<Key>exists.txt</Key>" in r.body, r


@check("ListObjectsV2 lists owners with fetch-owner=true only; ListObjects always")
def _():
    owner = f"<Owner><ID>{KEY_ID}</ID>".encode()
    r = signed("GET", f"/{BUCKET}", "list-type=2&fetch-owner=true")
    assert r.status == 200 and owner in r.body, r
    r = signed("GET", f"/{BUCKET}", "list-type=2")
    assert r.status == 200 and b"<Owner>" not in r.body, r
    r = signed("GET", f"/{BUCKET}", "")
    assert r.status == 200 and owner in r.body, r


@check("ListBuckets pages with max-buckets and continuation-token")
def _():
    for name in ("page-a", "page-b"):
        expect_ok(signed("PUT", f"/{name}"))
    seen = []
    query = "max-buckets=1&prefix=page-"
    for _ in range(3):
        r = signed("GET", "/", query)
        expect_ok(r)
        root = ET.fromstring(r.body)
        names = [e.text for e in root.iter() if e.tag.split("}")[-1] == "Name"]
        seen += names
        token = [e.text for e in root.iter() if e.tag.split("}")[-1] == "ContinuationToken"]
        if not token:
            break
        assert len(names) == 1, r
        query = f"max-buckets=1&prefix=page-&continuation-token={quote(token[0], safe='')}"
    assert seen == ["page-a", "page-b"], seen
    expect(signed("GET", "/", "max-buckets=0"), 400, "InvalidArgument")


@check("Content-Encoding is stored without aws-chunked, wherever it is in the list")
def _():
    for sent, stored in (("gzip", "gzip"), ("deflate, gzip", "deflate, gzip"), ("gzip, aws-chunked", "gzip")):
        put("encoded", b"data", headers={"Content-Encoding": sent})
        r = signed("HEAD", f"/{BUCKET}/encoded")
        assert r.status == 200 and r.headers.get("content-encoding") == stored, (sent, r.headers)


# --- HTTP-level abuse


@check("headers over the size bound get 431 (or the connection is closed)")
def _():
    h = sign("GET", f"/{BUCKET}/exists.txt")
    h["x-padding"] = "p" * (64 * 1024)
    out = raw_exchange(request_bytes("GET", f"/{BUCKET}/exists.txt", h))
    assert out == b"" or out.startswith(b"HTTP/1.1 431"), out[:200]


@check("a request line that is not HTTP gets 400 (or the connection is closed)")
def _():
    out = raw_exchange(b"THIS IS NOT HTTP\r\n\r\n")
    assert out == b"" or out.startswith(b"HTTP/1.1 400"), out[:200]


@check("a client that disconnects mid-upload leaves no object and the server still answers")
def _():
    path = f"/{BUCKET}/disconnected-upload"
    data = os.urandom(4 * 1024 * 1024)
    h = sign("PUT", path, body=data)
    h["Content-Length"] = str(len(data))
    s = socket.create_connection((HOST, PORT), timeout=10)
    s.sendall(request_bytes("PUT", path, h) + data[:1024 * 1024])
    s.close()
    expect_ok(signed("HEAD", f"/{BUCKET}/exists.txt"))
    assert_absent("disconnected-upload")


@check("a client that disconnects mid-upload of an unsigned-payload PUT leaves no object")
def _():
    path = f"/{BUCKET}/disconnected-unsigned"
    h = sign("PUT", path, payload="UNSIGNED-PAYLOAD")
    h["Content-Length"] = str(8 * 1024 * 1024)
    s = socket.create_connection((HOST, PORT), timeout=10)
    s.sendall(request_bytes("PUT", path, h) + os.urandom(3 * 1024 * 1024))
    s.close()
    expect_ok(signed("HEAD", f"/{BUCKET}/exists.txt"))
    assert_absent("disconnected-unsigned")


@check("a client that disconnects mid-download leaves the server answering")
def _():
    data = os.urandom(6 * 1024 * 1024)
    put("big-download", data)
    for _ in range(3):
        h = sign("GET", f"/{BUCKET}/big-download")
        s = socket.create_connection((HOST, PORT), timeout=10)
        s.sendall(request_bytes("GET", f"/{BUCKET}/big-download", h))
        got = s.recv(64 * 1024)
        assert got.startswith(b"HTTP/1.1 200"), got[:200]
        s.close()
    r = signed("GET", f"/{BUCKET}/big-download")
    assert r.status == 200 and r.body == data


@check("after all of that the server still serves a normal PUT, GET and LIST")
def _():
    data = os.urandom(300 * 1024)
    put("final/object", data)
    r = signed("GET", f"/{BUCKET}/final/object")
    assert r.status == 200 and r.body == data, r
    r = signed("GET", f"/{BUCKET}", "list-type=2&prefix=final%2F")
    expect_ok(r)
    assert b"<Key>final/object</Key>" in r.body, r


print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
