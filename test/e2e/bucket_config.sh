#!/usr/bin/env bash
# End-to-end: bucket configurations against a real `garage server` process, set with the AWS CLI
# v2 (s3api) and probed with curl: CORS (put/get/delete, OPTIONS preflights, CORS headers on a
# GET), website (put/get/delete with routing rules), lifecycle (put/get/delete; a Transition rule
# is 501 NotImplemented); every response carries an x-amz-request-id header.
set -euo pipefail
# shellcheck source=test/e2e/lib/e2e.sh
source "$(dirname "$0")/lib/e2e.sh"
e2e_start_node

e2e_create_key e2e-bucket-config
e2e_create_buckets cfg

e2e_export_aws
URL=http://127.0.0.1:$s3_port
awscli() { /usr/bin/aws --endpoint-url "$URL" "$@"; }
# curl signs with SigV4; sub-resources are written `?cors=` because curl 7.88 does not add the
# `=` to a bare `?cors` in its canonical query string (the signature would not match).
SIGN=(--aws-sigv4 "aws:amz:garage:s3" --user "$key_id:$secret" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")

# http NAME CURL-ARGS...: one request; its status, headers and body go to $dir/r/NAME.{status,head,body}.
mkdir "$dir/r"
http() {
    local name=$1
    shift
    curl -sS -D "$dir/r/$name.head" -o "$dir/r/$name.body" -w '%{http_code}' "$@" >"$dir/r/$name.status"
}
# expect NAME STATUS [CODE]: response NAME has that HTTP status (and that S3 error code).
expect() {
    cat "$dir/r/$1.status" "$dir/r/$1.head" "$dir/r/$1.body"
    echo
    [[ $(cat "$dir/r/$1.status") == "$2" ]] || return 1
    [[ -z ${3:-} ]] || grep -q "<Code>$3</Code>" "$dir/r/$1.body"
}
# header NAME FIELD: the value of a header of response NAME (empty if absent).
header() { tr -d '\r' <"$dir/r/$1.head" | sed -n "s/^$2: //Ip" | head -n 1; }
# preflight NAME ORIGIN METHOD [REQUEST-HEADERS]: an OPTIONS preflight for /cfg/obj.txt.
preflight() {
    local args=(-X OPTIONS -H "Origin: $2" -H "Access-Control-Request-Method: $3")
    [[ -z ${4:-} ]] || args+=(-H "Access-Control-Request-Headers: $4")
    http "$1" "${args[@]}" "$URL/cfg/obj.txt"
}
preflight_denied() { # name, origin, method [, request headers]
    preflight "$@" && expect "$1" 403 AccessDenied && [[ -z $(header "$1" access-control-allow-origin) ]]
}
# same_json FILE FILE: the two JSON documents are equal (key order aside).
same_json() {
    cat "$1" "$2"
    /usr/bin/python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' "$1" "$2"
}
# aws_fails_with CODE COMMAND...: the AWS CLI command fails with that S3 error code.
aws_fails_with() {
    local code=$1 out
    shift
    if out=$("$@" 2>&1); then
        echo "unexpectedly succeeded: $out"
        return 1
    fi
    echo "$out"
    grep -q "($code)" <<<"$out"
}

echo hello >"$dir/obj.txt"
awscli s3 cp "$dir/obj.txt" s3://cfg/obj.txt >/dev/null

# ----------------------------------------------------------------------------------------- CORS
cat >"$dir/cors.json" <<'JSON'
{"CORSRules": [
  {"ID": "app", "AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET", "PUT"],
   "AllowedHeaders": ["x-custom", "content-type"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600},
  {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]}]}
JSON
check "get-bucket-cors without a configuration is NoSuchCORSConfiguration" \
    aws_fails_with NoSuchCORSConfiguration awscli s3api get-bucket-cors --bucket cfg
cors_round_trip() {
    awscli s3api put-bucket-cors --bucket cfg --cors-configuration "file://$dir/cors.json" &&
        awscli s3api get-bucket-cors --bucket cfg --output json >"$dir/cors.back" &&
        same_json "$dir/cors.json" "$dir/cors.back"
}
check "put-bucket-cors then get-bucket-cors round-trips the rules" cors_round_trip
preflight_allowed() {
    preflight pre-ok https://app.example.com PUT x-custom && expect pre-ok 200 &&
        [[ $(header pre-ok access-control-allow-origin) == https://app.example.com ]] &&
        [[ $(header pre-ok access-control-allow-methods) == "GET, PUT" ]] &&
        [[ $(header pre-ok access-control-allow-headers) == x-custom ]]
}
check "an OPTIONS preflight from an allowed origin is 200 with Access-Control-Allow-*" preflight_allowed
check "an OPTIONS preflight from another origin is 403" \
    preflight_denied pre-origin https://evil.example.com GET
check "an OPTIONS preflight for a method no rule allows is 403" \
    preflight_denied pre-method https://app.example.com DELETE
check "an OPTIONS preflight with a header no rule allows is 403" \
    preflight_denied pre-header https://app.example.com PUT x-other
preflight_incomplete() {
    http pre-incomplete -X OPTIONS -H "Origin: https://app.example.com" "$URL/cfg/obj.txt" &&
        expect pre-incomplete 400
}
check "an OPTIONS preflight without Access-Control-Request-Method is 400" preflight_incomplete
get_with_origin() {
    http get-origin "${SIGN[@]}" -H "Origin: https://app.example.com" "$URL/cfg/obj.txt" &&
        expect get-origin 200 && [[ $(cat "$dir/r/get-origin.body") == hello ]] &&
        [[ $(header get-origin access-control-allow-origin) == https://app.example.com ]] &&
        [[ $(header get-origin access-control-expose-headers) == ETag ]]
}
check "a signed GET with an allowed Origin gets the CORS headers" get_with_origin
get_without_cors() {
    http get-plain "${SIGN[@]}" "$URL/cfg/obj.txt" && expect get-plain 200 &&
        http get-other "${SIGN[@]}" -H "Origin: https://evil.example.com" "$URL/cfg/obj.txt" &&
        expect get-other 200 &&
        ! grep -qi '^access-control-' "$dir/r/get-plain.head" "$dir/r/get-other.head"
}
check "a GET without Origin, or from an origin no rule allows, gets no CORS headers" get_without_cors
head_any_origin() {
    http head-any "${SIGN[@]}" -I -H "Origin: https://anywhere.example.org" "$URL/cfg/obj.txt" &&
        expect head-any 200 && [[ $(header head-any access-control-allow-origin) == "*" ]]
}
check "a HEAD from any origin matches the wildcard rule" head_any_origin
delete_cors() {
    awscli s3api delete-bucket-cors --bucket cfg &&
        aws_fails_with NoSuchCORSConfiguration awscli s3api get-bucket-cors --bucket cfg &&
        http cors-deleted "${SIGN[@]}" "$URL/cfg?cors=" && expect cors-deleted 404 NoSuchCORSConfiguration &&
        preflight_denied pre-after-delete https://app.example.com GET
}
check "delete-bucket-cors: get is NoSuchCORSConfiguration (404), preflights are 403" delete_cors
cors_invalid() {
    http cors-bad "${SIGN[@]}" -X PUT --data-binary \
        '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>G ET</AllowedMethod></CORSRule></CORSConfiguration>' \
        "$URL/cfg?cors=" && expect cors-bad 400 &&
        aws_fails_with NoSuchCORSConfiguration awscli s3api get-bucket-cors --bucket cfg
}
check "put-bucket-cors with an invalid method is 400 and stores nothing" cors_invalid

# -------------------------------------------------------------------------------------- website
cat >"$dir/website.json" <<'JSON'
{"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "errors/404.html"},
 "RoutingRules": [
   {"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"ReplaceKeyPrefixWith": "documents/"}},
   {"Condition": {"HttpErrorCodeReturnedEquals": "404"},
    "Redirect": {"HostName": "example.com", "Protocol": "https", "HttpRedirectCode": "302",
                 "ReplaceKeyWith": "missing.html"}}]}
JSON
check "get-bucket-website without a configuration is NoSuchWebsiteConfiguration" \
    aws_fails_with NoSuchWebsiteConfiguration awscli s3api get-bucket-website --bucket cfg
website_round_trip() {
    awscli s3api put-bucket-website --bucket cfg --website-configuration "file://$dir/website.json" &&
        awscli s3api get-bucket-website --bucket cfg --output json >"$dir/website.back" &&
        same_json "$dir/website.json" "$dir/website.back"
}
check "put-bucket-website then get-bucket-website round-trips (with RoutingRules)" website_round_trip
website_invalid() {
    http web-bad "${SIGN[@]}" -X PUT --data-binary \
        '<WebsiteConfiguration><IndexDocument><Suffix>a/b</Suffix></IndexDocument></WebsiteConfiguration>' \
        "$URL/cfg?website=" && expect web-bad 400 InvalidArgument &&
        awscli s3api get-bucket-website --bucket cfg --output json >"$dir/website.back2" &&
        same_json "$dir/website.json" "$dir/website.back2"
}
check "put-bucket-website with a '/' in the index suffix is 400 InvalidArgument, the old one stays" website_invalid
delete_website() {
    awscli s3api delete-bucket-website --bucket cfg &&
        aws_fails_with NoSuchWebsiteConfiguration awscli s3api get-bucket-website --bucket cfg &&
        http web-deleted "${SIGN[@]}" "$URL/cfg?website=" && expect web-deleted 404 NoSuchWebsiteConfiguration
}
check "delete-bucket-website: get is NoSuchWebsiteConfiguration (404)" delete_website

# ------------------------------------------------------------------------------------ lifecycle
cat >"$dir/lifecycle.json" <<'JSON'
{"Rules": [
  {"ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}},
  {"ID": "abort-uploads", "Status": "Enabled", "Filter": {},
   "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]}
JSON
cat >"$dir/transition.xml" <<'XML'
<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>to-glacier</ID><Status>Enabled</Status><Filter><Prefix>old/</Prefix></Filter><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>
XML
check "get-bucket-lifecycle-configuration without one is NoSuchLifecycleConfiguration" \
    aws_fails_with NoSuchLifecycleConfiguration awscli s3api get-bucket-lifecycle-configuration --bucket cfg
lifecycle_round_trip() {
    awscli s3api put-bucket-lifecycle-configuration --bucket cfg --lifecycle-configuration "file://$dir/lifecycle.json" &&
        awscli s3api get-bucket-lifecycle-configuration --bucket cfg --output json >"$dir/lifecycle.back" &&
        same_json "$dir/lifecycle.json" "$dir/lifecycle.back"
}
check "put-bucket-lifecycle-configuration (Expiration, AbortIncompleteMultipartUpload) round-trips" lifecycle_round_trip
transition() {
    aws_fails_with NotImplemented awscli s3api put-bucket-lifecycle-configuration --bucket cfg \
        --lifecycle-configuration '{"Rules": [{"ID": "t", "Status": "Enabled", "Filter": {"Prefix": "old/"},
                                    "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}]}' &&
        http transition "${SIGN[@]}" -X PUT --data-binary "@$dir/transition.xml" "$URL/cfg?lifecycle=" &&
        expect transition 501 NotImplemented &&
        awscli s3api get-bucket-lifecycle-configuration --bucket cfg --output json >"$dir/lifecycle.back2" &&
        same_json "$dir/lifecycle.json" "$dir/lifecycle.back2"
}
check "a Transition rule is 501 NotImplemented and leaves the configuration unchanged" transition
lifecycle_invalid() {
    http lc-bad "${SIGN[@]}" -X PUT --data-binary \
        '<LifecycleConfiguration><Rule><ID>x</ID><Status>Enabled</Status><Filter><Prefix>a/</Prefix></Filter><Expiration><Days>3</Days><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule></LifecycleConfiguration>' \
        "$URL/cfg?lifecycle=" && expect lc-bad 400 MalformedXML
}
check "an Expiration with both Days and Date is 400 MalformedXML" lifecycle_invalid
delete_lifecycle() {
    awscli s3api delete-bucket-lifecycle --bucket cfg &&
        aws_fails_with NoSuchLifecycleConfiguration awscli s3api get-bucket-lifecycle-configuration --bucket cfg &&
        http lc-deleted "${SIGN[@]}" "$URL/cfg?lifecycle=" && expect lc-deleted 404 NoSuchLifecycleConfiguration
}
check "delete-bucket-lifecycle: get is NoSuchLifecycleConfiguration (404)" delete_lifecycle

# ----------------------------------------------------------------------------------- request ids
more_responses() {
    http list-buckets "${SIGN[@]}" "$URL/" && expect list-buckets 200 &&
        http no-such-key "${SIGN[@]}" "$URL/cfg/missing" && expect no-such-key 404 NoSuchKey &&
        http no-such-bucket "${SIGN[@]}" "$URL/nope?cors=" && expect no-such-bucket 404 NoSuchBucket &&
        http anonymous "$URL/cfg/obj.txt" && expect anonymous 403 AccessDenied &&
        http bad-method -X PATCH "$URL/cfg/obj.txt" && expect bad-method 400 &&
        http put-cors "${SIGN[@]}" -X PUT --data-binary '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>' "$URL/cfg?cors=" &&
        expect put-cors 200 &&
        http del-cors "${SIGN[@]}" -X DELETE "$URL/cfg?cors=" && expect del-cors 204
}
check "more responses: ListBuckets, NoSuchKey, NoSuchBucket, anonymous, bad method, Put/DeleteBucketCors" more_responses
request_ids() {
    local n=0 f id
    for f in "$dir"/r/*.head; do
        id=$(header "$(basename "$f" .head)" x-amz-request-id)
        echo "$(basename "$f" .head): ${id:-MISSING}"
        [[ -n $id ]] || return 1
        echo "$id" >>"$dir/ids"
        n=$((n + 1))
    done
    [[ $n -ge 20 ]] && [[ $(sort -u "$dir/ids" | wc -l) == "$n" ]]
}
check "every response carries its own x-amz-request-id" request_ids

e2e_summary
