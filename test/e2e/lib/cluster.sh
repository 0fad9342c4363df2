# Shared by the multi-process cluster tests (test/e2e/cluster.sh, test/fault/*.sh): sourced after
# e2e.sh, it sets $root (a temporary directory removed, with every node stopped, at exit) and
# $secret / $token, and provides:
#
#   cluster_config N SECRET [RF]   writes $root/nN/garage.toml (fresh ports, replication factor RF, 3 by default)
#   start_node N                   starts node N (no --single-node) and waits for its admin API
#   node_id N                      prints <id>@<addr> of node N
#   admin N PATH                   GET on node N's admin API (bearer token)
#   g N ARGS...                    the `garage` CLI against node N
#   wait_for SECONDS COMMAND...    retries COMMAND every 0.5 s until it succeeds or time runs out
#   kill_node N                    SIGKILL node N and reap it
#   s3_port N                      node N's S3 API port
#   s3_addr N                      node N's S3 API host:port
#   s3 N ARGS...                   the AWS CLI against node N's S3 API
#   metric N NAME LABELS           a gauge of node N's /metrics (LABELS: 'k="v"', or '')
#   nodes_up N COUNT               node N's /v1/status lists COUNT nodes up
#   all_on_layout VERSION          nodes 1, 2 and 3 show layout VERSION
#   setup_three_zones              starts nodes 1-3 (configured), connects them, layout dc1/dc2/dc3
#   key_and_bucket KEY BUCKET      creates them on node 1 (read/write/owner), exports the AWS
#                                  credentials; sets $key_id and $secret_key
#
# Node N listens (RPC, S3, admin) on ${cluster_host[N]:-127.0.0.1}; it is started, and `admin N`
# and `g N` run, under the command prefix ${cluster_launch[N]} if set (test/fault/partition.sh puts
# each node in a network namespace of its own that way: its admin API stays reachable when the
# node is cut off from the others).
# shellcheck shell=bash disable=SC2034

root=$(mktemp -d)
dir=$root/n1 # e2e.sh's check() and e2e_summary() use $dir (node 1)
mkdir -p "$dir"
secret=$(openssl rand -hex 32)
token=$(openssl rand -base64 32)

cluster_cleanup() {
    local n
    for n in 1 2 3 4 5; do
        [[ -f $root/n$n/server.pid ]] && garage_stop "$root/n$n" 2>/dev/null
    done
    rm -rf "$root"
}
trap cluster_cleanup EXIT

declare -a cluster_host cluster_launch

cluster_config() { # N SECRET [RF]
    local d=$root/n$1 rpc s3 admin host=${cluster_host[$1]:-127.0.0.1}
    rpc=$(garage_free_port) s3=$(garage_free_port) admin=$(garage_free_port)
    mkdir -p "$d/meta" "$d/data"
    (
        umask 077
        cat >"$d/garage.toml" <<TOML
metadata_dir = "$d/meta"
data_dir = "$d/data"
db_engine = "lmdb"
replication_factor = ${3:-3}
rpc_bind_addr = "$host:$rpc"
rpc_public_addr = "$host:$rpc"
rpc_secret = "$2"
# a block referenced but missing is fetched after twice this (Garage's rule), not 10 minutes
rpc_timeout_msec = 10000

[s3_api]
s3_region = "garage"
api_bind_addr = "$host:$s3"

[admin]
api_bind_addr = "$host:$admin"
admin_token = "$token"
TOML
    )
}

start_node() { # N
    GARAGE_SERVER_ARGS="" GARAGE_LAUNCH=${cluster_launch[$1]:-} garage_start "$root/n$1" &&
        garage_wait_healthy "$root/n$1"
}

node_id() { # N: <id>@<addr>
    garage_cli "$root/n$1" node id -q
}

admin() { # N PATH
    ${cluster_launch[$1]:-} curl -fsS -H "Authorization: Bearer $token" "http://$(garage_admin_addr "$root/n$1")$2"
}

g() { # N ARGS...: the CLI against node N
    local n=$1
    shift
    ${cluster_launch[$n]:-} "$GARAGE_BIN" -c "$root/n$n/garage.toml" "$@"
}

wait_for() { # SECONDS COMMAND...
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

kill_node() { # N
    local pid
    pid=$(cat "$root/n$1/server.pid")
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    rm -f "$root/n$1/server.pid"
}

s3_addr() { # N
    sed -n '/^\[s3_api\]/,/^\[/s/^api_bind_addr = "\([^"]*:[0-9]*\)"/\1/p' "$root/n$1/garage.toml"
}

s3_port() { # N
    local addr
    addr=$(s3_addr "$1")
    echo "${addr##*:}"
}

s3() { # N ARGS...
    local n=$1
    shift
    aws --endpoint-url "http://$(s3_addr "$n")" "$@"
}

metric() { # N NAME LABELS
    local m=$2
    [[ -n $3 ]] && m="$2{$3}"
    ${cluster_launch[$1]:-} curl -fsS --max-time 5 "http://$(garage_admin_addr "$root/n$1")/metrics" |
        awk -v m="$m" '$1 == m { print $2 }'
}

nodes_up() { # N COUNT
    admin "$1" /v1/status | python3 -c "
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if sum(1 for n in s['nodes'] if n['isUp']) == $2 else 1)"
}

all_on_layout() { # VERSION
    local n
    for n in 1 2 3; do
        g $n layout show | grep -q "^Current cluster layout version: $1\$" || return 1
    done
}

setup_three_zones() {
    local n
    for n in 1 2 3; do
        start_node $n || return 1
    done
    id1=$(node_id 1) id2=$(node_id 2) id3=$(node_id 3)
    g 2 node connect "$id1" && g 3 node connect "$id1" && wait_for 40 nodes_up 1 3 && wait_for 40 nodes_up 3 3 &&
        g 1 layout assign "${id1:0:8}" -z dc1 -c 1G && g 1 layout assign "${id2:0:8}" -z dc2 -c 1G &&
        g 1 layout assign "${id3:0:8}" -z dc3 -c 1G && g 1 layout apply --version 1 &&
        wait_for 30 all_on_layout 1
}

key_and_bucket() { # KEY BUCKET
    local out
    out=$(g 1 key create "$1") || return 1
    key_id=$(sed -n 's/^Key ID: //p' <<<"$out")
    secret_key=$(sed -n 's/^Secret key: //p' <<<"$out")
    export AWS_ACCESS_KEY_ID=$key_id AWS_SECRET_ACCESS_KEY=$secret_key
    g 1 bucket create "$2" && g 1 bucket allow --read --write --owner "$2" --key "$key_id"
}
