"""pytest plugin loaded by scripts/s3tests (`-p s3tests_garage`) into a ceph/s3-tests run.

Garage refuses to delete a bucket that still has unfinished multipart uploads (409
BucketNotEmpty, GARAGE-REFERENCE §1.14), while the suite's cleanup (nuke_prefixed_buckets, run
before and after every test) only deletes objects. Without help, one test that leaves an upload
behind (e.g. test_multipart_upload_empty) makes the setup and teardown of every later test fail.
Before each test's teardown, this plugin aborts the uploads left in the run's buckets, for the
main, alt and tenant users. It changes nothing else and asserts nothing.
"""

import pytest


def _abort_uploads(client, prefix):
    try:
        buckets = [b["Name"] for b in client.list_buckets().get("Buckets", []) if prefix in b["Name"]]
    except Exception:
        return
    for bucket in buckets:
        try:
            kwargs = {"Bucket": bucket}
            while True:
                listing = client.list_multipart_uploads(**kwargs)
                for u in listing.get("Uploads", []):
                    client.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
                if not listing.get("IsTruncated"):
                    break
                kwargs["KeyMarker"] = listing.get("NextKeyMarker")
                kwargs["UploadIdMarker"] = listing.get("NextUploadIdMarker")
        except Exception:
            pass


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    try:
        import s3tests.functional as f
    except ImportError:
        return
    if not f.prefix:
        return
    for get in (f.get_client, f.get_alt_client, f.get_tenant_client):
        try:
            client = get()
        except Exception:
            continue
        _abort_uploads(client, f.prefix)
