#!/usr/bin/env bash
# Side-by-side load runs: nginx (static GET, WebDAV PUT) and a real `garage server`, driven by
# //bench:s3_load with the same sizes, key pattern and concurrency, in one run on one machine.
#
#   bench/side_by_side.sh            # build (-c opt), run everything, print the table
#
# Environment:
#   BENCH_DIR        where the temp dir goes (default /tmp; must be a real disk, not tmpfs)
#   DURATION         seconds per timed run (default 10)
#   WORKLOADS        which runs, in order (default "put-big get-big put-4k get-4k")
#   LOAD_THREADS     s3_load client threads (default 1)
#   BIG_SIZE         the one-connection object size (default 1GiB)
#   RSS_CLIENTS      concurrent uploads of the peak-RSS phase (default 32; 0 skips the phase)
#   RSS_SIZE         object size of the peak-RSS phase (default 1GiB; smaller if disk is short)
#   SKIP_BUILD=1     use the binaries already built
#   GARAGE_BIN       the garage binary (default bazel-out/k8-opt/bin/server/garage)
#   LOAD_BIN         the s3_load binary (default bazel-out/k8-opt/bin/bench/s3_load)
#
# Figures in the spirit of issue 4: ratios ours/nginx for 1 GiB PUT and GET over one
# connection, 4 KiB PUT and GET with 32 connections; the garage server's idle RSS and its
# peak RSS while RSS_CLIENTS clients upload RSS_SIZE objects at once.

source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

: "${BENCH_DIR:=/tmp}"
: "${DURATION:=10}"
: "${LOAD_THREADS:=1}"
: "${BIG_SIZE:=1GiB}"
: "${RSS_CLIENTS:=32}"
: "${RSS_SIZE:=1GiB}"
: "${GARAGE_BIN:=$GARAGE_ROOT/bazel-out/k8-opt/bin/server/garage}"
: "${LOAD_BIN:=$GARAGE_ROOT/bazel-out/k8-opt/bin/bench/s3_load}"
export GARAGE_BIN
source "$GARAGE_ROOT/scripts/node.sh"
# shellcheck source=bench/lib.sh
source "$GARAGE_ROOT/bench/lib.sh"

ensure_packages
command -v nginx >/dev/null || die "nginx not found (scripts/packages.txt lists nginx-full)"

bench_prepare side_by_side
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

workers=$(nproc)
echo "work dir $work ($fs_type), $workers cores, load: $(uptime | sed 's/.*load average: //')"
df -h "$BENCH_DIR" | tail -1

# ---- nginx: static files and WebDAV PUT under $work/nginx/root
step "starting nginx"
nginx_port=$(garage_free_port)
mkdir -p "$work/nginx/root" "$work/nginx/tmp" "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes $workers;
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
    client_max_body_size 0;
    client_body_temp_path $work/nginx/tmp;
    proxy_temp_path $work/nginx/tmp;
    fastcgi_temp_path $work/nginx/tmp;
    uwsgi_temp_path $work/nginx/tmp;
    scgi_temp_path $work/nginx/tmp;
    types { }
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/nginx/root;
        location / {
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }
    }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break
    sleep 0.1
done

# ---- garage
step "starting garage server"
s3_port=$(garage_free_port)
admin_port=$(garage_free_port)
garage_write_config "$work/garage" "$s3_port" "$admin_port"
garage_start "$work/garage"
garage_wait_healthy "$work/garage"
garage_pid=$(cat "$work/garage/server.pid")
creds=$(garage_cli "$work/garage" key create bench-key)
key_id=$(sed -n 's/^Key ID: //p' <<<"$creds")
secret=$(sed -n 's/^Secret key: //p' <<<"$creds")
garage_cli "$work/garage" bucket create bench >/dev/null
garage_cli "$work/garage" bucket allow --read --write --owner bench --key bench-key >/dev/null
sleep 1
rss_kib() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
idle_rss=$(rss_kib "$garage_pid" VmRSS)
idle_anon=$(rss_kib "$garage_pid" RssAnon)
echo "garage pid $garage_pid, idle RSS $((idle_rss / 1024)) MiB (anonymous $((idle_anon / 1024)) MiB)"

# ---- the runs
declare -A result
# run NAME TARGET(nginx|garage) S3_LOAD_ARGS...: stores "ops_per_s mib_per_s p50 p99 errors"
run() {
    local name=$1 target=$2
    shift 2
    local -a args
    if [[ $target == nginx ]]; then
        args=(--endpoint "127.0.0.1:$nginx_port" --plain --bucket bench)
    else
        args=(--endpoint "127.0.0.1:$s3_port" --bucket bench --access-key "$key_id" --secret-key "$secret"
            --region garage)
    fi
    sync
    local out
    out=$("$LOAD_BIN" "${args[@]}" --threads "$LOAD_THREADS" "$@" 2>&1) || {
        echo "$out" >&2
        die "s3_load failed for $name on $target"
    }
    echo "$out" | grep -v '^result:' | sed "s/^/  [$target] /"
    local line
    line=$(grep '^result:' <<<"$out" | tail -1)
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    result[$name/$target]="$(field ops_per_s) $(field mib_per_s) $(field p50_ms) $(field p99_ms) $(field errors)"
}

read -r -a workloads <<<"${WORKLOADS:-put-big get-big put-4k get-4k}"
for w in "${workloads[@]}"; do
    step "$w (load: $(uptime | sed 's/.*load average: //'))"
    for t in nginx garage; do
        case $w in
        put-big) run "$w" "$t" --op put --size "$BIG_SIZE" --concurrency 1 --objects 1 --duration "$DURATION" ;;
        get-big) run "$w" "$t" --op get --size "$BIG_SIZE" --concurrency 1 --objects 1 --no-prefill \
            --duration "$DURATION" ;;
        put-4k) run "$w" "$t" --op put --size 4KiB --concurrency 32 --duration "$DURATION" --key-prefix put4k- ;;
        get-4k) run "$w" "$t" --op get --size 4KiB --concurrency 32 --objects 1000 --duration "$DURATION" \
            --key-prefix get4k- ;;
        esac
    done
done
after_rss=$(rss_kib "$garage_pid" VmRSS)
after_anon=$(rss_kib "$garage_pid" RssAnon)

# ---- peak RSS while RSS_CLIENTS clients upload RSS_SIZE objects at once
peak_rss=""
sampled_peak=0
sampled_anon=0
if [[ $RSS_CLIENTS -gt 0 ]]; then
    step "peak RSS: $RSS_CLIENTS concurrent uploads of $RSS_SIZE"
    echo 5 >"/proc/$garage_pid/clear_refs" 2>/dev/null || echo "(cannot reset VmHWM; it covers the whole run)"
    "$LOAD_BIN" --endpoint "127.0.0.1:$s3_port" --bucket bench --access-key "$key_id" --secret-key "$secret" \
        --op put --size "$RSS_SIZE" --concurrency "$RSS_CLIENTS" --count "$RSS_CLIENTS" --key-prefix rss- \
        --threads "$LOAD_THREADS" >"$work/rss_load.txt" 2>&1 &
    load_pid=$!
    while kill -0 "$load_pid" 2>/dev/null; do
        r=$(rss_kib "$garage_pid" VmRSS)
        ((r > sampled_peak)) && sampled_peak=$r
        a=$(rss_kib "$garage_pid" RssAnon)
        ((a > sampled_anon)) && sampled_anon=$a
        sleep 0.2
    done
    wait "$load_pid" || {
        cat "$work/rss_load.txt" >&2
        die "the peak-RSS uploads failed"
    }
    sed 's/^/  /' "$work/rss_load.txt" | grep -v result:
    peak_rss=$(rss_kib "$garage_pid" VmHWM)
fi

# ---- the table
step "results (load now: $(uptime | sed 's/.*load average: //'))"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
printf '%-8s | %12s %12s | %12s %12s | %6s | %s\n' workload "nginx op/s" "nginx MiB/s" "garage op/s" \
    "garage MiB/s" ratio "garage p50/p99 ms (nginx p50/p99)"
for w in "${workloads[@]}"; do
    read -r n_ops n_mib n_p50 n_p99 n_err <<<"${result[$w/nginx]}"
    read -r g_ops g_mib g_p50 g_p99 g_err <<<"${result[$w/garage]}"
    printf '%-8s | %12s %12s | %12s %12s | %6s | %s/%s (%s/%s)%s\n' "$w" "$n_ops" "$n_mib" "$g_ops" "$g_mib" \
        "$(ratio "$g_mib" "$n_mib")" "$g_p50" "$g_p99" "$n_p50" "$n_p99" \
        "$([[ $n_err != 0 || $g_err != 0 ]] && echo "  errors nginx $n_err garage $g_err")"
done
echo
# RSS counts the metadata DB's mapped file pages too (page cache, reclaimable); RssAnon is the
# memory the server itself allocated.
echo "garage RSS: idle $((idle_rss / 1024)) MiB (anonymous $((idle_anon / 1024)) MiB)," \
    "after the runs $((after_rss / 1024)) MiB (anonymous $((after_anon / 1024)) MiB)"
if [[ -n $peak_rss ]]; then
    echo "garage peak RSS with $RSS_CLIENTS uploads of $RSS_SIZE: VmHWM $((peak_rss / 1024)) MiB" \
        "(sampled VmRSS max $((sampled_peak / 1024)) MiB, RssAnon max $((sampled_anon / 1024)) MiB)"
fi
