#!/usr/bin/env bash
# End-to-end: a small static website served by the web endpoint ([s3_web]) of a real `garage server`.
# The site is uploaded with the AWS CLI (an index page, a nested directory, a 404 page, a page
# standing for a redirect through x-amz-website-redirect-location) and configured with
# `aws s3api put-bucket-website` (error document and routing rules, one of them a loop); a second
# bucket is opened with `garage bucket website --allow`. It is checked with curl (status codes,
# bodies, Location headers, bad Host headers, path traversal, ranges, /check for on-demand TLS)
# and with headless Chromium (Debian's `chromium`), which renders the pages, runs their scripts
# and follows the redirects: the test asserts on what the page shows.
# The checks are single-quoted `eval` strings on purpose: they expand when the check runs.
# shellcheck disable=SC2016
set -euo pipefail
# shellcheck source=test/e2e/lib/e2e.sh
source "$(dirname "$0")/lib/e2e.sh"

# e2e_start_node, plus a web endpoint (root domain .web.garage.localhost: Chromium and curl send
# *.localhost to the loopback address without any resolver configuration).
[[ -x $GARAGE_BIN ]] || bazel build //server:garage >/dev/null
dir=$(mktemp -d)
trap 'garage_stop "$dir"; rm -rf "$dir"' EXIT
s3_port=$(garage_free_port)
admin_port=$(garage_free_port)
web_port=$(garage_free_port)
garage_write_config "$dir" "$s3_port" "$admin_port" "$web_port"
garage_start "$dir"
garage_wait_healthy "$dir"

e2e_create_key e2e-website
e2e_create_buckets site plain nowebsite
e2e_export_aws
awscli() { /usr/bin/aws --endpoint-url "http://127.0.0.1:$s3_port" "$@"; }
WEB=http://127.0.0.1:$web_port
SITE=site.web.garage.localhost

# ------------------------------------------------------------------------------------ the site
mkdir -p "$dir/site/dir"
cat >"$dir/site/index.html" <<'HTML'
<!doctype html><html><head><title>Home</title></head><body>
<h1>Welcome to the test site</h1><p id="js">no script</p>
<script>document.getElementById("js").textContent = "rendered by script";</script>
</body></html>
HTML
cat >"$dir/site/dir/index.html" <<'HTML'
<!doctype html><html><head><title>Nested</title></head><body><h1>Nested directory page</h1></body></html>
HTML
cat >"$dir/site/404.html" <<'HTML'
<!doctype html><html><head><title>Not here</title></head><body><h1>Custom not found page</h1></body></html>
HTML
: >"$dir/site/moved.html"
head -c 5000 /dev/urandom >"$dir/site/blob.bin"
upload_site() {
    awscli s3 cp --recursive --exclude moved.html "$dir/site" s3://site/ &&
        awscli s3 cp --website-redirect /dir/ --content-type text/html "$dir/site/moved.html" s3://site/moved.html
}
check "the site uploads with the AWS CLI (one page with --website-redirect)" upload_site

cat >"$dir/website.json" <<'JSON'
{"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "404.html"},
 "RoutingRules": [
   {"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"ReplaceKeyPrefixWith": "dir/"}},
   {"Condition": {"KeyPrefixEquals": "away/"},
    "Redirect": {"HostName": "example.com", "Protocol": "https", "HttpRedirectCode": "302",
                 "ReplaceKeyWith": "landing.html"}},
   {"Condition": {"KeyPrefixEquals": "loop/"}, "Redirect": {"ReplaceKeyPrefixWith": "loop/"}}]}
JSON
check "put-bucket-website stores the index, error document and routing rules" \
    awscli s3api put-bucket-website --bucket site --website-configuration "file://$dir/website.json"
echo "plain bucket" >"$dir/plain.html"
enable_plain() {
    awscli s3 cp "$dir/plain.html" s3://plain/index.html && garage_cli "$dir" bucket website --allow plain
}
check "garage bucket website --allow opens a second bucket" enable_plain

# ------------------------------------------------------------------------------------ curl
mkdir "$dir/r"
# web NAME HOST PATH [CURL-ARGS...]: one request; status, headers, body in $dir/r/NAME.{status,head,body}.
web() {
    local name=$1 host=$2 path=$3
    shift 3
    curl -sS --path-as-is -H "Host: $host" -D "$dir/r/$name.head" -o "$dir/r/$name.body" -w '%{http_code}' \
        "$@" "$WEB$path" >"$dir/r/$name.status"
}
# expect NAME STATUS [BODY-REGEX]
expect() {
    cat "$dir/r/$1.status" "$dir/r/$1.head" "$dir/r/$1.body"
    echo
    [[ $(cat "$dir/r/$1.status") == "$2" ]] || return 1
    [[ -z ${3:-} ]] || grep -Eq "$3" "$dir/r/$1.body"
}
header() { tr -d '\r' <"$dir/r/$1.head" | sed -n "s/^$2: //Ip" | head -n 1; }
redirects_to() { # name status location
    expect "$1" "$2" && [[ $(header "$1" location) == "$3" ]]
}

check "GET / serves index.html" eval 'web root $SITE / && expect root 200 "Welcome to the test site"'
check "GET /dir/ serves dir/index.html" eval 'web dir $SITE /dir/ && expect dir 200 "Nested directory page"'
check "GET /dir redirects to /dir/ (302)" eval 'web dirslash $SITE /dir && redirects_to dirslash 302 /dir/'
check "a missing page gets 404 with the error document" \
    eval 'web missing $SITE /nothing/here.html && expect missing 404 "Custom not found page"'
check "HEAD of a missing page is 404 without a body" \
    eval 'web headmiss $SITE /nothing -I && expect headmiss 404 && ! grep -q "Custom not found" $dir/r/headmiss.body'
check "a page with x-amz-website-redirect-location answers 301 to it" \
    eval 'web moved $SITE /moved.html && redirects_to moved 301 /dir/'
check "a routing rule replaces the key prefix (301)" \
    eval 'web docs $SITE /docs/ && redirects_to docs 301 /dir/'
check "a routing rule redirects to another host with its code (302)" \
    eval 'web away $SITE /away/x && redirects_to away 302 https://example.com/landing.html'
loop() {
    web loop1 $SITE /loop/a && redirects_to loop1 301 /loop/a &&
        # a client that follows gives up; the server answered each request once
        ! curl -sS -L --max-redirs 5 -H "Host: $SITE" -o /dev/null "$WEB/loop/a" 2>"$dir/r/loop.err" &&
        grep -qi "redirects" "$dir/r/loop.err" && e2e_server_alive && web root2 $SITE / && expect root2 200
}
check "a routing rule that loops answers one redirect per request; the node keeps serving" loop
check "a range request on the web endpoint is 206" \
    eval 'web range $SITE /blob.bin -H "Range: bytes=10-19" && expect range 206 &&
          [[ $(stat -c %s $dir/r/range.body) == 10 ]] && [[ $(header range content-range) == "bytes 10-19/5000" ]]'
check "the bucket is also found by its whole name as Host" \
    eval 'web byname site / && expect byname 200 "Welcome"'
check "the CLI-enabled bucket serves its index" \
    eval 'web plain plain.web.garage.localhost / && expect plain 200 "plain bucket"'
check "a bucket without website access is 404" \
    eval 'web private nowebsite.web.garage.localhost / && expect private 404 "Not Found"'
check "a foreign Host is 404 (plain HTML)" \
    eval 'web foreign evil.example.org / && expect foreign 404 "NoSuchBucket" && ! grep -q "<?xml" $dir/r/foreign.body'
no_host() {
    curl -sS --http1.0 -H "Host:" -o "$dir/r/nohost.body" -w '%{http_code}' "$WEB/" >"$dir/r/nohost.status" &&
        cat "$dir/r/nohost.status" "$dir/r/nohost.body" && [[ $(cat "$dir/r/nohost.status") == 400 ]]
}
check "a request without a Host header is 400" no_host
for p in "/../plain/index.html" "/dir/../index.html" "/%2e%2e/index.html" "/dir%2Findex.html" "/%zz"; do
    check "path traversal $p is 400" eval "web trav $SITE '$p' && expect trav 400"
done
check "PUT on the web endpoint is 400" eval 'web put $SITE /index.html -X PUT -d x && expect put 400'
check "/check answers for a website bucket under the web root domain" \
    eval 'curl -fsS "http://127.0.0.1:$admin_port/check?domain=$SITE"'
check "/check refuses a bucket without website access under the web root domain" \
    eval '[[ $(curl -sS -o /dev/null -w "%{http_code}" "http://127.0.0.1:$admin_port/check?domain=nowebsite.web.garage.localhost") == 400 ]]'

# ------------------------------------------------------------------------------------ Chromium
# chromium_dom NAME URL: the DOM Chromium renders for URL (redirects followed, scripts run).
chromium_dom() {
    timeout 90 chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$dir/chromium" \
        --virtual-time-budget=3000 --dump-dom "$2" >"$dir/r/$1.dom" 2>"$dir/r/$1.chromium.log"
    cat "$dir/r/$1.dom"
}
CURL_SITE="http://$SITE:$web_port"
if ! command -v chromium >/dev/null; then
    # run on its own (scripts/test installs it first): install the packages of scripts/packages.txt
    (bash -c 'source scripts/lib.sh && ensure_packages') || true
fi
if command -v chromium >/dev/null; then
    check "Chromium shows the index page, its script run" \
        eval 'chromium_dom c-root "$CURL_SITE/" && grep -q "Welcome to the test site" $dir/r/c-root.dom &&
              grep -q "rendered by script" $dir/r/c-root.dom'
    check "Chromium shows the custom 404 page for a missing page" \
        eval 'chromium_dom c-missing "$CURL_SITE/no/such/page" && grep -q "Custom not found page" $dir/r/c-missing.dom'
    check "Chromium follows the website redirect of moved.html to the nested page" \
        eval 'chromium_dom c-moved "$CURL_SITE/moved.html" && grep -q "Nested directory page" $dir/r/c-moved.dom'
    check "Chromium follows the routing rule docs/ -> dir/ to the nested page" \
        eval 'chromium_dom c-docs "$CURL_SITE/docs/" && grep -q "Nested directory page" $dir/r/c-docs.dom'
    check "Chromium follows the implicit directory redirect /dir -> /dir/" \
        eval 'chromium_dom c-dir "$CURL_SITE/dir" && grep -q "Nested directory page" $dir/r/c-dir.dom'
    screenshot() {
        (cd "$dir" && timeout 90 chromium --headless --no-sandbox --disable-gpu --no-first-run \
            --user-data-dir="$dir/chromium" --window-size=800,600 --screenshot="$dir/r/home.png" "$CURL_SITE/" \
            2>"$dir/r/screenshot.log") && [[ $(head -c 4 "$dir/r/home.png" | tail -c 3) == PNG ]] &&
            [[ $(stat -c %s "$dir/r/home.png") -gt 1000 ]]
    }
    check "Chromium takes a screenshot of the home page" screenshot
else
    failed=$((failed + 1))
    echo "FAIL chromium is not installed (scripts/packages.txt lists it; run scripts/lib.sh's ensure_packages)"
fi

e2e_summary
