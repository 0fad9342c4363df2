#!/usr/bin/env bash
# A single node beside a three-node cluster, in one run on one machine, driven by //bench:s3_load.
#
#   bench/cluster_side_by_side.sh        # build (-c opt), run both modes, print the tables
#
# Mode "throughput": a single-node server (`server --single-node`, replication_factor 1) and a
# cluster of 3 `garage server` processes on loopback (replication_factor 3, zones dc1/dc2/dc3,
# joined with `garage node connect` and `garage layout assign/apply` as test/e2e/cluster.sh does),
# both up at once. Against each: 4 KiB PUT over 32 connections (new keys) and BIG_SIZE PUT over
# one connection (one key, overwritten); ops/s, MiB/s and the ratio cluster/single.
#
# Mode "latency": a second cluster of 3 whose RPC traffic goes through test/netproxy/netproxy.py,
# one proxy port in front of each node's RPC port with LATENCY_MS of delay each way; each node's
# rpc_public_addr (announced to its peers, printed by `garage node id`, used by `node connect`)
# is its proxy's port, so every message between nodes (each in its own zone) takes LATENCY_MS
# and a round trip RTT = 2 x LATENCY_MS (100 ms by default, as in Garage's published benchmark).
# A client beside node 1 runs LATENCY_OPS sequential small PUTs (new keys), then as many GETs
# of one key, over one connection, for each of LATENCY_SIZES; p50 and p99 are printed in milliseconds and in RTTs, beside
# the single node and the undelayed cluster of the throughput mode (same sizes, same count).
# A GET waits for one quorum round trip (the object entry), a PUT for two (the object entry's read
# for the new timestamp, then the writes), as the table's footnote says.
#
# Environment:
#   MODES          which modes, in order (default "throughput latency")
#   BENCH_DIR      where the temp dir goes (default /tmp; must be a real disk, not tmpfs)
#   DURATION       seconds per throughput run (default 10)
#   BIG_SIZE       the one-connection object size (default 1GiB)
#   SMALL_CONC     connections of the 4 KiB PUT run (default 32)
#   LOAD_THREADS   s3_load client threads (default 1)
#   LATENCY_MS     one-way delay between zones in the latency mode (default 50)
#   LATENCY_OPS    sequential operations per latency measurement (default 20)
#   LATENCY_SIZES  object sizes of the latency mode (default "1KiB 4KiB": Garage keeps objects of
#                  up to 3 KiB inline in the object table, larger ones go through a data block)
#   SKIP_BUILD=1   use the binaries already built
#   KEEP_WORK=1    keep the temp dir (configurations, logs) after the run
#   GARAGE_BIN     the garage binary (default bazel-out/k8-opt/bin/server/garage)
#   LOAD_BIN       the s3_load binary (default bazel-out/k8-opt/bin/bench/s3_load)
#
# The cluster replicates every write before answering (the entries and blocks of a PUT to the
# other nodes of their write sets, quorum 2 of 3) and reads objects with a read quorum of 2, so
# on one machine the three nodes share the same cores for three times the metadata work.

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

: "${MODES:=throughput latency}"
: "${BENCH_DIR:=/tmp}"
: "${DURATION:=10}"
: "${BIG_SIZE:=1GiB}"
: "${SMALL_CONC:=32}"
: "${LOAD_THREADS:=1}"
: "${LATENCY_MS:=50}"
: "${LATENCY_OPS:=20}"
: "${LATENCY_SIZES:=1KiB 4KiB}"
: "${GARAGE_BIN:=$GARAGE_ROOT/bazel-out/k8-opt/bin/server/garage}"
: "${LOAD_BIN:=$GARAGE_ROOT/bazel-out/k8-opt/bin/bench/s3_load}"
export GARAGE_BIN
# shellcheck source=scripts/node.sh
source "$GARAGE_ROOT/scripts/node.sh"
# shellcheck source=bench/lib.sh
source "$GARAGE_ROOT/bench/lib.sh"
NETPROXY=$GARAGE_ROOT/test/netproxy/netproxy.py

read -r -a modes <<<"$MODES"
read -r -a lat_sizes <<<"$LATENCY_SIZES"
for m in "${modes[@]}"; do
    [[ $m == throughput || $m == latency ]] || die "unknown mode '$m' in MODES (throughput, latency)"
done

ensure_packages

bench_prepare cluster_side_by_side
node_dirs=()  # every node started, stopped at exit
proxy_pids=() # every proxy started, stopped at exit
cleanup() {
    local d p
    for d in "${node_dirs[@]}"; do
        garage_stop "$d" 2>/dev/null || true
    done
    for p in "${proxy_pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [[ ${KEEP_WORK:-0} == 1 ]]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "work dir $work ($fs_type), $(nproc) cores, load: $(uptime | sed 's/.*load average: //')"
df -h "$BENCH_DIR" | tail -1

# wait_for SECONDS COMMAND...: retries COMMAND every 0.5 s until it succeeds or time runs out.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

# admin DIR PATH: GET on the node's admin API with its admin token.
admin() {
    local token
    token=$(sed -n 's/^admin_token = "\(.*\)"/\1/p' "$1/garage.toml")
    curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$(garage_admin_port "$1")$2"
}

nodes_up() { # DIR COUNT: the node's /v1/status lists COUNT nodes up
    admin "$1" /v1/status | python3 -c "
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if sum(1 for n in s['nodes'] if n['isUp']) == $2 else 1)"
}

health_is() { # DIR STATUS
    [[ $(admin "$1" /v1/health | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])') == "$2" ]]
}

# make_key DIR TARGET: creates key "bench-key" and bucket "bench" (read/write/owner) on the node
# in DIR; stores "KEY_ID SECRET" in creds[TARGET].
make_key() {
    local out key_id secret
    out=$(garage_cli "$1" key create bench-key)
    key_id=$(sed -n 's/^Key ID: //p' <<<"$out")
    secret=$(sed -n 's/^Secret key: //p' <<<"$out")
    [[ -n $key_id && -n $secret ]] || die "key create on $1 printed no key: $out"
    garage_cli "$1" bucket create bench >/dev/null
    garage_cli "$1" bucket allow --read --write --owner bench --key bench-key >/dev/null
    creds[$2]="$key_id $secret"
}

s3_port_of() { sed -n '/^\[s3_api\]/,/^\[/s/^api_bind_addr = "127.0.0.1:\([0-9]*\)"/\1/p' "$1/garage.toml"; }

# start_single NAME: a single-node server in $work/NAME; sets creds[NAME] and endpoint[NAME].
declare -A creds endpoint
start_single() {
    local d=$work/$1
    step "starting the single node ($1)"
    garage_write_config "$d" "$(garage_free_port)" "$(garage_free_port)"
    node_dirs+=("$d")
    garage_start "$d"
    garage_wait_healthy "$d"
    make_key "$d" "$1"
    endpoint[$1]=127.0.0.1:$(s3_port_of "$d")
    echo "single node: S3 on ${endpoint[$1]}"
}

# start_cluster NAME [DELAY_MS]: three nodes in $work/NAME/n{1,2,3}, rf 3, zones dc1..dc3;
# with DELAY_MS, each node's RPC port sits behind a netproxy port with that one-way delay, and
# that port is the node's rpc_public_addr. Sets creds[NAME] and endpoint[NAME] (node 1's S3).
start_cluster() {
    local name=$1 delay=${2:-} root=$work/$1 secret token n d rpc pub
    local -a maps=() rpc_ports=()
    step "starting the 3-node cluster ($name${delay:+, ${delay} ms one way between nodes through netproxy})"
    secret=$(openssl rand -hex 32)
    token=$(openssl rand -base64 32)
    for n in 1 2 3; do
        d=$root/n$n
        rpc=$(garage_free_port)
        pub=$rpc
        if [[ -n $delay ]]; then
            pub=$(garage_free_port)
            maps+=("127.0.0.1:$pub=127.0.0.1:$rpc")
        fi
        rpc_ports+=("$rpc")
        mkdir -p "$d/meta" "$d/data"
        (
            umask 077
            cat >"$d/garage.toml" <<TOML
metadata_dir = "$d/meta"
data_dir = "$d/data"
db_engine = "lmdb"
replication_factor = 3
consistency_mode = "consistent"
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$pub"
rpc_secret = "$secret"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$(garage_free_port)"

[admin]
api_bind_addr = "127.0.0.1:$(garage_free_port)"
admin_token = "$token"
TOML
        )
    done
    if [[ -n $delay ]]; then
        python3 "$NETPROXY" --log-connections --delay-ms "$delay" --ready-file "$root/proxy.ready" "${maps[@]}" \
            2>"$root/proxy.log" &
        proxy_pids+=($!)
        wait_for 10 test -s "$root/proxy.ready" || {
            cat "$root/proxy.log" >&2
            die "netproxy did not start"
        }
        sed 's/^/  netproxy /' "$root/proxy.ready"
    fi
    for n in 1 2 3; do
        d=$root/n$n
        node_dirs+=("$d")
        GARAGE_SERVER_ARGS="" garage_start "$d"
    done
    for n in 1 2 3; do
        garage_wait_healthy "$root/n$n"
    done
    local -a ids=()
    for n in 1 2 3; do
        ids+=("$(garage_cli "$root/n$n" node id -q)")
    done
    echo "  node ids: ${ids[*]}"
    garage_cli "$root/n2" node connect "${ids[0]}" >/dev/null
    garage_cli "$root/n3" node connect "${ids[0]}" >/dev/null
    wait_for 60 nodes_up "$root/n1" 3 || die "$name: node 1 does not see 3 nodes up: $(admin "$root/n1" /v1/status)"
    for n in 1 2 3; do
        garage_cli "$root/n1" layout assign "${ids[n - 1]:0:16}" -z "dc$n" -c 1T >/dev/null
    done
    garage_cli "$root/n1" layout apply --version 1 | sed 's/^/  /'
    wait_for 60 health_is "$root/n1" healthy || die "$name: not healthy: $(admin "$root/n1" /v1/health)"
    for n in 2 3; do
        wait_for 60 health_is "$root/n$n" healthy || die "$name: node $n not healthy: $(admin "$root/n$n" /v1/health)"
    done
    if [[ -n $delay ]]; then
        # Every link between nodes must go through a proxy: one connection per pair at least, and
        # no garage process connected straight to a peer's real RPC port.
        local through bypass=0 p
        through=$(grep -c ' open$' "$root/proxy.log" || true)
        for p in "${rpc_ports[@]}"; do
            if ss -tnpH state established "( dport = :$p )" 2>/dev/null | grep -q '"garage"'; then
                bypass=1
            fi
        done
        echo "  netproxy: $through connection(s) between nodes so far"
        ((through >= 3)) || echo "  WARNING: fewer than 3 connections through netproxy: some links may be missing" >&2
        ((bypass == 0)) || echo "  WARNING: a node is connected to a peer's RPC port directly, not through netproxy" >&2
    fi
    make_key "$root/n1" "$name"
    endpoint[$name]=127.0.0.1:$(s3_port_of "$root/n1")
    echo "cluster $name: healthy, S3 on node 1 at ${endpoint[$name]}"
}

# run NAME TARGET S3_LOAD_ARGS...: stores "ops_per_s mib_per_s p50_ms p99_ms max_ms errors" in
# result[NAME/TARGET]; prints s3_load's summary lines.
declare -A result
run() {
    local name=$1 target=$2 key_id secret out line
    shift 2
    read -r key_id secret <<<"${creds[$target]}"
    sync
    out=$("$LOAD_BIN" --endpoint "${endpoint[$target]}" --bucket bench --access-key "$key_id" \
        --secret-key "$secret" --region garage --threads "$LOAD_THREADS" "$@" 2>&1) || {
        echo "$out" | tail -20 >&2
        echo "  [$target] s3_load failed for $name (figures kept, errors counted)" >&2
    }
    echo "$out" | grep -v '^result:' | tail -5 | sed "s/^/  [$target] /"
    line=$(grep '^result:' <<<"$out" | tail -1) || line=""
    field() { local v; v=$(sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"); echo "${v:--}"; }
    local ops_s
    ops_s=$(awk -v o="$(field ops)" -v s="$(field secs)" 'BEGIN { if (o != "-" && s > 0) printf "%.3f", o / s; else print "-" }')
    result[$name/$target]="$ops_s $(field mib_per_s) $(field p50_ms) $(field p99_ms) $(field max_ms) $(field errors)"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b > 0) printf "%.2f", a / b; else print "-" }'; }
in_rtt() { awk -v a="$1" -v r="$2" 'BEGIN { if (a != "-" && r > 0) printf "%.2f", a / r; else print "-" }'; }

started_single="" started_cluster="" lat_targets=()
for m in "${modes[@]}"; do
    if [[ $m == throughput ]]; then
        [[ -n $started_single ]] || { start_single single && started_single=1; }
        [[ -n $started_cluster ]] || { start_cluster cluster && started_cluster=1; }
        for t in single cluster; do
            step "4 KiB PUT, $SMALL_CONC connections, ${DURATION}s: $t (load: $(uptime | sed 's/.*load average: //'))"
            run put-4k "$t" --op put --size 4KiB --concurrency "$SMALL_CONC" --duration "$DURATION" --key-prefix put4k-
        done
        for t in single cluster; do
            step "$BIG_SIZE PUT, 1 connection, ${DURATION}s: $t (load: $(uptime | sed 's/.*load average: //'))"
            run put-big "$t" --op put --size "$BIG_SIZE" --concurrency 1 --objects 1 --duration "$DURATION" \
                --key-prefix big-
        done
    else
        start_cluster wan "$LATENCY_MS"
        lat_targets=(wan ${started_cluster:+cluster} ${started_single:+single})
        for t in "${lat_targets[@]}"; do
            for sz in "${lat_sizes[@]}"; do
                step "latency: $LATENCY_OPS sequential $sz PUTs then GETs, 1 connection: $t"
                run "lat-put-$sz" "$t" --op put --size "$sz" --concurrency 1 --count "$LATENCY_OPS" \
                    --key-prefix "lat-$sz-"
                run "lat-get-$sz" "$t" --op get --size "$sz" --concurrency 1 --objects 1 --count "$LATENCY_OPS" \
                    --key-prefix "latget-$sz-"
            done
        done
    fi
done

step "results (load now: $(uptime | sed 's/.*load average: //'))"
for m in "${modes[@]}"; do
    if [[ $m == throughput ]]; then
        echo "Throughput: single node (rf 1) vs 3-node cluster (rf 3, 3 zones, loopback), client on node 1"
        printf '%-22s | %11s %9s | %12s %9s | %14s\n' workload "single op/s" "MiB/s" "cluster op/s" \
            "MiB/s" "cluster/single"
        for w in put-4k put-big; do
            read -r s_ops s_mib _ _ _ s_err <<<"${result[$w/single]:-- - - - - -}"
            read -r c_ops c_mib _ _ _ c_err <<<"${result[$w/cluster]:-- - - - - -}"
            label="PUT 4KiB x$SMALL_CONC conn"
            [[ $w == put-big ]] && label="PUT $BIG_SIZE x1 conn"
            printf '%-22s | %11s %9s | %12s %9s | %14s%s\n' "$label" "$s_ops" "$s_mib" "$c_ops" "$c_mib" \
                "$(ratio "$c_ops" "$s_ops")" \
                "$([[ $s_err == 0 && $c_err == 0 ]] || echo "  errors single $s_err cluster $c_err")"
        done
        echo
    else
        rtt=$((2 * LATENCY_MS))
        echo "Latency: 1 connection, $LATENCY_OPS sequential ops; RTT between zones = $rtt ms" \
            "($LATENCY_MS ms each way through netproxy)"
        printf '%-44s %6s | %9s %9s | %9s %9s | %s\n' target size "PUT p50" "p50/RTT" "GET p50" "p50/RTT" \
            "PUT p99 / GET p99 (ms)"
        for t in "${lat_targets[@]}"; do
          for sz in "${lat_sizes[@]}"; do
            read -r _ _ p_p50 p_p99 _ p_err <<<"${result[lat-put-$sz/$t]:-- - - - - -}"
            read -r _ _ g_p50 g_p99 _ g_err <<<"${result[lat-get-$sz/$t]:-- - - - - -}"
            case $t in
            wan) label="3-node cluster, $rtt ms RTT between zones" ;;
            cluster) label="3-node cluster, loopback (no delay)" ;;
            single) label="single node" ;;
            esac
            printf '%-44s %6s | %9s %9s | %9s %9s | %s / %s%s\n' "$label" "$sz" "$p_p50" \
                "$(in_rtt "$p_p50" "$rtt")" "$g_p50" "$(in_rtt "$g_p50" "$rtt")" "$p_p99" "$g_p99" \
                "$([[ $p_err == 0 && $g_err == 0 ]] || echo "  errors PUT $p_err GET $g_err")"
          done
        done
        echo "(Quorum round trips per request here: a GET waits for 1, the object entry's read (a one-block"
        echo " object's block is usually local); a PUT for 2, the object entry's read for the new timestamp,"
        echo " then the writes. Garage v1.2's code waits for the same 2 on an inline PUT, and on a PUT with a"
        echo " data block for the object read, the 'uploading' object, the version, the blocks and the final"
        echo " object in turn. The netproxy adds ~2 ms per traversal: a 1 KiB GET, one round trip, measures it.)"
        echo
    fi
done
