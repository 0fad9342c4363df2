#!/usr/bin/env bash
# The web endpoint against nginx: GET of the same 4 KiB page over 32 keep-alive connections, in
# one run on one machine, driven by //bench:s3_load in plain-HTTP mode (no signatures).
#
#   bench/web_side_by_side.sh          # build (-c opt), run both, print ops/s and the ratio
#
# Garage serves a website bucket named `localhost` (the Host s3_load sends, `localhost:PORT`,
# names it) holding a 4 KiB index.html, and the page s3_load asks for (`/site/page0`, key
# `site/page0`) with the same bytes; nginx serves the same file at the same path with sendfile.
# Issue 6's target: garage at least 40% of nginx's ops/s.
#
# Environment:
#   BENCH_DIR     where the temp dir goes (default /tmp; a real disk, not tmpfs)
#   DURATION      seconds per timed run (default 10)
#   CONCURRENCY   connections (default 32)
#   LOAD_THREADS  s3_load client threads (default 1)
#   SKIP_BUILD=1  use the binaries already built
#   GARAGE_BIN    the garage binary (default bazel-out/k8-opt/bin/server/garage)
#   LOAD_BIN      the s3_load binary (default bazel-out/k8-opt/bin/bench/s3_load)

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

: "${BENCH_DIR:=/tmp}"
: "${DURATION:=10}"
: "${CONCURRENCY:=32}"
: "${LOAD_THREADS:=1}"
: "${GARAGE_BIN:=$GARAGE_ROOT/bazel-out/k8-opt/bin/server/garage}"
: "${LOAD_BIN:=$GARAGE_ROOT/bazel-out/k8-opt/bin/bench/s3_load}"
export GARAGE_BIN
source "$GARAGE_ROOT/scripts/node.sh"
# shellcheck source=bench/lib.sh
source "$GARAGE_ROOT/bench/lib.sh"

ensure_packages
command -v nginx >/dev/null || die "nginx not found (scripts/packages.txt lists nginx-full)"
command -v aws >/dev/null || die "aws not found (scripts/packages.txt lists awscli)"

bench_prepare web_side_by_side
nginx_pid=""
cleanup() {
    if [[ -n $nginx_pid ]]; then
        kill -QUIT "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    garage_stop "$work/garage" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
echo "work dir $work ($fs_type), $(nproc) cores, load: $(uptime | sed 's/.*load average: //')"

# ---- the page: 4 KiB of HTML
mkdir -p "$work/nginx/root/site" "$work/nginx/tmp" "$work/nginx/logs"
page=$work/nginx/root/site/page0
{
    printf '<!doctype html><html><head><title>bench</title></head><body><pre>\n'
    head -c 3000 /dev/urandom | base64 -w 100
} | head -c 4080 >"$page"
size=$(stat -c %s "$page")
printf '</pre></body></html>\n' | head -c $((4096 - size)) >>"$page"
[[ $(stat -c %s "$page") == 4096 ]] || die "the page is not 4 KiB"
cp "$page" "$work/nginx/root/site/index.html"

# ---- nginx
step "starting nginx"
nginx_port=$(garage_free_port)
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes $(nproc);
user $(id -un) $(id -gn);
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 120;
    keepalive_requests 100000000;
    client_body_temp_path $work/nginx/tmp;
    proxy_temp_path $work/nginx/tmp;
    fastcgi_temp_path $work/nginx/tmp;
    uwsgi_temp_path $work/nginx/tmp;
    scgi_temp_path $work/nginx/tmp;
    types { text/html html; }
    default_type text/html;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/nginx/root;
    }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break
    sleep 0.1
done

# ---- garage, with a website bucket `localhost`
step "starting garage server"
s3_port=$(garage_free_port)
admin_port=$(garage_free_port)
web_port=$(garage_free_port)
garage_write_config "$work/garage" "$s3_port" "$admin_port" "$web_port"
garage_start "$work/garage"
garage_wait_healthy "$work/garage"
creds=$(garage_cli "$work/garage" key create bench-key)
AWS_ACCESS_KEY_ID=$(sed -n 's/^Key ID: //p' <<<"$creds")
AWS_SECRET_ACCESS_KEY=$(sed -n 's/^Secret key: //p' <<<"$creds")
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=garage AWS_EC2_METADATA_DISABLED=true
garage_cli "$work/garage" bucket create localhost >/dev/null
garage_cli "$work/garage" bucket allow --read --write --owner localhost --key bench-key >/dev/null
for key in site/page0 site/index.html; do
    aws --endpoint-url "http://127.0.0.1:$s3_port" s3 cp --content-type text/html "$page" "s3://localhost/$key" \
        >/dev/null || die "upload of $key failed"
done
garage_cli "$work/garage" bucket website --allow localhost >/dev/null
for url in "http://localhost:$web_port/site/" "http://localhost:$web_port/site/page0" \
    "http://127.0.0.1:$nginx_port/site/page0"; do
    curl -fsS "$url" | cmp -s - "$page" || die "$url does not serve the page"
done
echo "both serve the same 4096-byte page (garage also as the index document of /site/)"

# ---- the runs
declare -A ops
run() { # name endpoint
    local out line
    sync
    out=$("$LOAD_BIN" --plain --endpoint "$2" --bucket site --key-prefix page --objects 1 --no-prefill \
        --op get --size 4KiB --concurrency "$CONCURRENCY" --threads "$LOAD_THREADS" --duration "$DURATION" 2>&1) || {
        echo "$out" >&2
        die "s3_load failed against $1"
    }
    echo "$out" | grep -v '^result:' | sed "s/^/  [$1] /"
    line=$(grep '^result:' <<<"$out" | tail -1)
    echo "  [$1] $line"
    ops[$1]=$(sed -n 's/.* ops_per_s=\([^ ]*\).*/\1/p' <<<"$line")
    local errors
    errors=$(sed -n 's/.* errors=\([^ ]*\).*/\1/p' <<<"$line")
    [[ $errors == 0 ]] || die "$1: $errors errors"
}
step "GET 4 KiB, $CONCURRENCY connections, ${DURATION}s each"
run nginx "127.0.0.1:$nginx_port"
run garage-web "localhost:$web_port"

ratio=$(awk -v a="${ops[garage-web]}" -v b="${ops[nginx]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
step "results (load now: $(uptime | sed 's/.*load average: //'))"
printf 'web GET 4 KiB, %s connections: nginx %s ops/s, garage web endpoint %s ops/s, ratio %s (target >= 0.40)\n' \
    "$CONCURRENCY" "${ops[nginx]}" "${ops[garage-web]}" "$ratio"
