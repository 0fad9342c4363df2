"""A small K2V client for the end-to-end test test/e2e/k2v.sh: every request is signed with
botocore's SigV4Auth (service "k2v"), as any AWS-style client would sign it.

Run as `k2v_client.py SCENARIO`; the endpoint, credentials and bucket come from the environment
(K2V_ENDPOINT, K2V_KEY_ID, K2V_SECRET, K2V_BUCKET). Exit status 0 when the scenario holds."""

import base64
import hashlib
import json
import os
import sys
import threading
import time
import urllib.parse

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import urllib3

ENDPOINT = os.environ.get("K2V_ENDPOINT", "http://127.0.0.1:3904")
BUCKET = os.environ.get("K2V_BUCKET", "k2v-e2e")
CREDS = botocore.credentials.Credentials(os.environ.get("K2V_KEY_ID", ""), os.environ.get("K2V_SECRET", ""))
HTTP = urllib3.PoolManager(maxsize=16)


class Response:
    def __init__(self, r):
        self.status = r.status
        self.headers = {k.lower(): v for k, v in r.headers.items()}
        self.body = r.data

    def token(self):
        return self.headers.get("x-garage-causality-token")

    def json(self):
        return json.loads(self.body)


def request(method, path, query=None, body=b"", headers=None, sign=True, secret=None, timeout=30):
    """Sends one request; `path` is already percent-encoded, `query` a list of (key, value)."""
    url = ENDPOINT + path
    if query:
        url += "?" + "&".join(
            urllib.parse.quote(k, safe="") + ("=" + urllib.parse.quote(v, safe="") if v is not None else "")
            for k, v in query
        )
    if isinstance(body, str):
        body = body.encode()
    hdrs = dict(headers or {})
    if sign:
        hdrs["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
        req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=hdrs)
        creds = CREDS if secret is None else botocore.credentials.Credentials(CREDS.access_key, secret)
        botocore.auth.SigV4Auth(creds, "k2v", "garage").add_auth(req)
        hdrs = dict(req.headers.items())
    r = HTTP.request(method, url, body=body, headers=hdrs, retries=False, timeout=timeout)
    return Response(r)


def item_path(pk):
    return "/" + BUCKET + "/" + urllib.parse.quote(pk, safe="")


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def expect(cond, what):
    if not cond:
        print("assertion failed:", what)
        sys.exit(1)


# ---- scenarios --------------------------------------------------------------------------------------

def insert_read():
    r = request("PUT", item_path("mail box"), [("sort_key", "IN/BOX")], "hello k2v")
    expect(r.status == 204, f"insert 204, got {r.status} {r.body!r}")
    r = request("GET", item_path("mail box"), [("sort_key", "IN/BOX")])
    expect(r.status == 200 and r.json() == [b64("hello k2v")], f"json read: {r.status} {r.body!r}")
    expect(r.token(), "a causality token")
    r = request("GET", item_path("mail box"), [("sort_key", "IN/BOX")], headers={"Accept": "application/octet-stream"})
    expect(r.status == 200 and r.body == b"hello k2v", f"binary read: {r.status} {r.body!r}")


def siblings_and_token():
    pk = "siblings"
    threads = [threading.Thread(target=lambda v=v: request("PUT", item_path(pk), [("sort_key", "k")], v))
               for v in ("from-a", "from-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r = request("GET", item_path(pk), [("sort_key", "k")])
    expect(sorted(r.json()) == sorted([b64("from-a"), b64("from-b")]), f"two siblings: {r.body!r}")
    c = request("GET", item_path(pk), [("sort_key", "k")], headers={"Accept": "application/octet-stream"})
    expect(c.status == 409, f"409 for siblings as octet-stream, got {c.status}")
    w = request("PUT", item_path(pk), [("sort_key", "k")], "merged", headers={"X-Garage-Causality-Token": r.token()})
    expect(w.status == 204, f"insert with token: {w.status}")
    r = request("GET", item_path(pk), [("sort_key", "k")])
    expect(r.json() == [b64("merged")], f"one value after the token write: {r.body!r}")
    d = request("DELETE", item_path(pk), [("sort_key", "k")], headers={"X-Garage-Causality-Token": r.token()})
    expect(d.status == 204, f"delete: {d.status}")
    t = request("GET", item_path(pk), [("sort_key", "k")], headers={"Accept": "application/octet-stream"})
    expect(t.status == 204, f"tombstone is 204: {t.status}")


def poll_item():
    pk = "poll"
    request("PUT", item_path(pk), [("sort_key", "k")], "v1")
    token = request("GET", item_path(pk), [("sort_key", "k")]).token()
    out = {}

    def poller():
        out["r"] = request("GET", item_path(pk), [("sort_key", "k"), ("causality_token", token), ("timeout", "20")])
        out["t"] = time.monotonic()

    th = threading.Thread(target=poller)
    th.start()
    time.sleep(0.3)  # let the poll reach the server; it returns the new value whenever it arrives
    t0 = time.monotonic()
    request("PUT", item_path(pk), [("sort_key", "k")], "v2", headers={"X-Garage-Causality-Token": token})
    th.join(30)
    r = out["r"]
    expect(r.status == 200 and r.json() == [b64("v2")], f"poll returned the write: {r.status} {r.body!r}")
    expect(out["t"] - t0 < 2, f"woken promptly ({out['t'] - t0:.3f} s)")
    t1 = time.monotonic()
    idle = request("GET", item_path(pk), [("sort_key", "k"), ("causality_token", r.token()), ("timeout", "1")])
    expect(idle.status == 304, f"timeout is 304: {idle.status}")
    expect(0.9 < time.monotonic() - t1 < 5, "the poll waited about its timeout")


def batches_and_index():
    items = [{"pk": "idx-a", "sk": str(i), "ct": None, "v": b64("x" * i)} for i in range(1, 6)]
    items.append({"pk": "idx-b", "sk": "only", "ct": None, "v": b64("yy")})
    r = request("POST", "/" + BUCKET, body=json.dumps(items))
    expect(r.status == 204, f"insert batch: {r.status} {r.body!r}")
    r = request("POST", "/" + BUCKET, [("search", None)],
                json.dumps([{"partitionKey": "idx-a", "start": "2", "limit": 2}, {"partitionKey": "idx-b"}]))
    expect(r.status == 200, f"read batch: {r.status} {r.body!r}")
    res = r.json()
    expect([i["sk"] for i in res[0]["items"]] == ["2", "3"] and res[0]["more"] and res[0]["nextStart"] == "4",
           f"paged search: {res[0]}")
    expect(res[1]["items"][0]["v"] == [b64("yy")], f"second search: {res[1]}")
    r = request("POST", "/" + BUCKET, [("delete", None)], json.dumps([{"partitionKey": "idx-a", "start": "4"}]))
    expect(r.status == 200 and r.json()[0]["deletedItems"] == 2, f"delete batch: {r.body!r}")
    deadline = time.monotonic() + 10
    while True:  # the index is updated asynchronously (by the counter table's queue worker)
        idx = request("GET", "/" + BUCKET, [("prefix", "idx-")]).json()
        pks = {p["pk"]: p for p in idx["partitionKeys"]}
        if pks.get("idx-a", {}).get("entries") == 3 and "idx-b" in pks:
            break
        expect(time.monotonic() < deadline, f"index converges: {idx}")
        time.sleep(0.1)
    expect(pks["idx-a"]["bytes"] == 1 + 2 + 3 and pks["idx-a"]["values"] == 3, f"counters: {pks['idx-a']}")
    expect(pks["idx-b"]["entries"] == 1 and pks["idx-b"]["bytes"] == 2, f"counters: {pks['idx-b']}")


def poll_range():
    pk = "range"
    request("PUT", item_path(pk), [("sort_key", "a1")], "x")
    first = request("POST", item_path(pk), [("poll_range", None)], json.dumps({"prefix": "a"}))
    expect(first.status == 200 and len(first.json()["items"]) == 1, f"initial range: {first.body!r}")
    marker = first.json()["seenMarker"]
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("r", request(
        "SEARCH", item_path(pk), [("poll_range", None)],
        json.dumps({"prefix": "a", "seenMarker": marker, "timeout": 20}))))
    th.start()
    time.sleep(0.3)
    request("PUT", item_path(pk), [("sort_key", "a2")], "y")
    th.join(30)
    r = out["r"]
    expect(r.status == 200 and [i["sk"] for i in r.json()["items"]] == ["a2"], f"range poll woke: {r.body!r}")


def bad_input():
    r = request("PUT", item_path("bad"), [("sort_key", "k")], "v", headers={"X-Garage-Causality-Token": "!!"})
    expect(r.status == 400 and r.json()["code"] == "CausalityToken", f"bad token: {r.status} {r.body!r}")
    r = request("POST", "/" + BUCKET, body="[{not json")
    expect(r.status == 400 and r.json()["code"] == "InvalidRequest", f"bad json: {r.status} {r.body!r}")
    big = [{"pk": "bad", "sk": str(i), "ct": None, "v": None} for i in range(5000)]
    r = request("POST", "/" + BUCKET, body=json.dumps(big))
    expect(r.status == 400, f"oversized batch: {r.status} {r.body!r}")
    r = request("GET", item_path("bad"), [("sort_key", "k")], sign=False)
    expect(r.status == 403 and r.json()["code"] == "AccessDenied", f"unsigned: {r.status} {r.body!r}")
    r = request("GET", item_path("bad"), [("sort_key", "k")], secret="0" * 64)
    expect(r.status == 403, f"wrong secret: {r.status}")
    r = request("GET", item_path("bad"), [("sort_key", "k")])
    expect(r.status == 404, f"nothing was written by the refused requests: {r.status}")
    r = request("PUT", item_path("bad"), [("sort_key", "k")], "fine")
    expect(r.status == 204, "the node keeps serving")


def persisted():
    """After a restart: what insert_read and batches_and_index wrote is still there."""
    r = request("GET", item_path("mail box"), [("sort_key", "IN/BOX")], headers={"Accept": "application/octet-stream"})
    expect(r.status == 200 and r.body == b"hello k2v", f"item kept: {r.status} {r.body!r}")
    idx = request("GET", "/" + BUCKET, [("prefix", "idx-")]).json()
    pks = {p["pk"]: p for p in idx["partitionKeys"]}
    expect(pks.get("idx-a", {}).get("entries") == 3, f"index kept: {idx}")


def long_poll():
    """Waits on a poll of 600 s; the node shutting down must answer it (304) at once."""
    request("PUT", item_path("shutdown"), [("sort_key", "k")], "v")
    token = request("GET", item_path("shutdown"), [("sort_key", "k")]).token()
    t0 = time.monotonic()
    r = request("GET", item_path("shutdown"), [("sort_key", "k"), ("causality_token", token), ("timeout", "600")],
                timeout=60)
    expect(r.status == 304, f"the poll was answered at shutdown: {r.status}")
    expect(time.monotonic() - t0 < 30, "promptly")


if __name__ == "__main__":
    globals()[sys.argv[1]]()
