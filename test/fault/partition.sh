#!/usr/bin/env bash
# A network partition of a real cluster: three `garage server` processes, each in a network
# namespace of its own, joined by a bridge in a fourth ("switch") namespace where the clients and
# this script run; three zones, replication factor 3. Node 3's cable is pulled (its bridge port
# set down) while 10,000 small objects are written and some deleted through nodes 1 and 2, which
# keep their write quorum; the cable is put back and the Merkle anti-entropy must bring node 3 to
# the same trees as the others (equal Merkle root digests of every table, empty todo queues), then
# its blocks by resync; node 3 then serves what it missed. The time from the heal to equal Merkle
# roots is printed (issue 5's figure: within 60 s); the checks give it a liveness bound only.
#
# Needs root (network namespaces, veth, bridge). Environment: PARTITION_WRITES (default 10000).
# e2e-timeout: 1200

set -u
if [[ -z ${PARTITION_NS:-} ]]; then
    # Outside: make the namespaces, run this script again inside the switch namespace, clean up.
    if [[ $(id -u) != 0 ]] || ! command -v ip >/dev/null; then
        echo "FAIL partition test needs root and iproute2 (network namespaces)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    ns=gp$$
    net_cleanup() {
        local n p
        for n in 1 2 3; do
            for p in $(ip netns pids "${ns}n$n" 2>/dev/null); do
                kill -9 "$p" 2>/dev/null
            done
            ip netns del "${ns}n$n" 2>/dev/null
        done
        ip netns del "${ns}sw" 2>/dev/null
    }
    trap net_cleanup EXIT
    ip netns add "${ns}sw" && ip -n "${ns}sw" link set lo up &&
        ip -n "${ns}sw" link add br0 type bridge && ip -n "${ns}sw" link set br0 up &&
        ip -n "${ns}sw" addr add 10.55.0.254/24 dev br0 || {
        echo "FAIL cannot create the switch namespace"
        echo "0 passed, 1 failed"
        exit 1
    }
    for n in 1 2 3; do
        ip netns add "${ns}n$n" && ip -n "${ns}n$n" link set lo up &&
            ip link add "eth$n" netns "${ns}n$n" type veth peer name "port$n" netns "${ns}sw" &&
            ip -n "${ns}n$n" addr add "10.55.0.$n/24" dev "eth$n" && ip -n "${ns}n$n" link set "eth$n" up &&
            ip -n "${ns}sw" link set "port$n" master br0 && ip -n "${ns}sw" link set "port$n" up || {
            echo "FAIL cannot create the namespace of node $n"
            echo "0 passed, 1 failed"
            exit 1
        }
    done
    rc=0
    ip netns exec "${ns}sw" env PARTITION_NS="$ns" bash "$0" "$@" || rc=$?
    exit $rc
fi

# Inside the switch namespace.
# shellcheck source=test/e2e/lib/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib/e2e.sh"
[[ -x $GARAGE_BIN ]] || bazel build //server:garage >/dev/null
load_bin=${LOAD_BIN:-$GARAGE_ROOT/bazel-bin/bench/s3_load}
[[ -x $load_bin ]] || bazel build //bench:s3_load >/dev/null
# shellcheck source=test/e2e/lib/cluster.sh
source "$GARAGE_ROOT/test/e2e/lib/cluster.sh"
ns=$PARTITION_NS
for n in 1 2 3; do
    cluster_host[n]=10.55.0.$n
    cluster_launch[n]="ip netns exec ${ns}n$n"
    cluster_config $n "$secret"
done
writes=${PARTITION_WRITES:-10000}

export AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=garage
files=$root/files
mkdir -p "$files"

tables=(object version block_ref bucket_v2 key bucket_alias)

# Every table's Merkle root digest and size are equal on nodes 1, 2 and 3, with no todo pending.
same_roots() {
    local t n d s first_d first_s
    for t in "${tables[@]}"; do
        first_d="" first_s=""
        for n in 1 2 3; do
            [[ $(metric $n table_merkle_updater_todo_queue_length "table_name=\"$t\"") == 0 ]] || return 1
            d=$(metric $n table_merkle_root_digest "table_name=\"$t\"")
            s=$(metric $n table_size "table_name=\"$t\"")
            [[ -n $d && -n $s ]] || return 1
            if [[ $n == 1 ]]; then
                first_d=$d first_s=$s
            elif [[ $d != "$first_d" || $s != "$first_s" ]]; then
                return 1
            fi
        done
    done
}

describe() { # what same_roots compares, node by node
    local t n
    for t in "${tables[@]}"; do
        for n in 1 2 3; do
            echo "node $n $t: size $(metric $n table_size "table_name=\"$t\"")" \
                "todo $(metric $n table_merkle_updater_todo_queue_length "table_name=\"$t\"")" \
                "digest $(metric $n table_merkle_root_digest "table_name=\"$t\"")"
        done
    done
    for n in 1 2 3; do
        echo "node $n: block rc $(metric $n block_rc_size '') resync queue $(metric $n block_resync_queue_length '')"
    done
}

key_and_bucket_everywhere() {
    key_and_bucket part-key part && wait_for 30 same_roots
}

before_partition() {
    local i
    for i in 1 2 3 4 5; do
        head -c 5000 /dev/urandom >"$files/before$i"
        s3 1 s3 cp --quiet "$files/before$i" "s3://part/before$i" || return 1
    done
}

cut_node3() {
    local t0
    # marked down after 4 failed pings, 15 s apart (Garage's rule)
    t0=$(date +%s)
    ip link set port3 down && wait_for 120 nodes_up 1 2 && wait_for 120 nodes_up 2 2 && wait_for 30 nodes_up 3 1 &&
        echo "node 3 seen down by nodes 1 and 2 $(($(date +%s) - t0)) s after the cut" | tee -a "$root/figures"
}

# While node 3 is cut off: WRITES objects of 4 KiB through node 1 (s3_load, 16 connections),
# two objects deleted through node 2, one overwritten through node 2.
writes_during_partition() {
    "$load_bin" --endpoint "$(s3_addr 1)" --bucket part --access-key "$key_id" --secret-key "$secret_key" \
        --region garage --op put --size 4KiB --concurrency 16 --count "$writes" --key-prefix during- \
        >"$root/load.txt" 2>&1 || {
        cat "$root/load.txt"
        return 1
    }
    grep -q ' errors=0' "$root/load.txt" || {
        cat "$root/load.txt"
        return 1
    }
    head -c 7000 /dev/urandom >"$files/before3"
    s3 2 s3 rm --quiet s3://part/before1 && s3 2 s3 rm --quiet s3://part/before2 &&
        s3 2 s3 cp --quiet "$files/before3" s3://part/before3
}

node3_behind() { # node 3 really missed the writes
    local a b
    a=$(metric 1 table_size 'table_name="object"') b=$(metric 3 table_size 'table_name="object"')
    echo "objects: node 1 $a, node 3 $b"
    [[ -n $a && -n $b ]] && ((b < a - writes / 2))
}

heal_and_converge() {
    local t0
    written3=$(metric 3 block_bytes_written '')
    [[ -n $written3 ]] || return 1
    ip link set port3 up || return 1
    t0=$(date +%s.%N)
    # Liveness bound only (the figure is the time printed): ten minutes would mean no sync at all.
    wait_for 300 same_roots || {
        describe
        return 1
    }
    converged=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    echo "Merkle roots equal on the three nodes ${converged} s after the heal ($writes writes during the partition)" |
        tee -a "$root/figures"
}

# Node 3 fetched the blocks it missed: it wrote at least 4 KiB of block data per write since
# the heal (its resync), and no block is in error.
blocks_converge() {
    local t0
    t0=$(date +%s)
    fetched() {
        local w
        w=$(metric 3 block_bytes_written '')
        [[ -n $w ]] && awk -v w="$w" -v b="$written3" -v n="$writes" 'BEGIN { exit !(w - b >= n * 4096) }' &&
            [[ $(metric 3 block_resync_errored_blocks '') == 0 ]]
    }
    wait_for 300 fetched || {
        echo "node 3 wrote $(metric 3 block_bytes_written '') bytes of blocks, $written3 before the heal"
        describe
        return 1
    }
    echo "node 3 fetched the missed blocks $(($(date +%s) - t0)) s after the roots were equal" | tee -a "$root/figures"
}

node3_serves() {
    local i k n
    for i in 3 4 5; do
        s3 3 s3 cp --quiet "s3://part/before$i" "$files/before$i.from3" && cmp "$files/before$i" "$files/before$i.from3" ||
            return 1
    done
    ! s3 3 s3api head-object --bucket part --key before1 2>/dev/null || return 1
    s3 3 s3api list-objects-v2 --bucket part --prefix during- --query 'Contents[].Key' --output text |
        tr '\t' '\n' >"$root/listed3"
    n=$(wc -l <"$root/listed3")
    echo "node 3 lists $n objects written during the partition"
    [[ $n == "$writes" ]] || return 1
    for k in $(sed -n '1p; 17p; 5000p; $p' "$root/listed3"); do
        s3 3 s3 cp --quiet "s3://part/$k" "$files/$k" && [[ $(stat -c %s "$files/$k") == 4096 ]] || {
            echo "$k unreadable through node 3"
            return 1
        }
    done
}

check "three nodes in three namespaces, layout applied" setup_three_zones
check "key and bucket known everywhere" key_and_bucket_everywhere
if ((failed > 0)); then
    [[ -f $root/figures ]] && sed 's/^/figure: /' "$root/figures"
e2e_summary
    exit 1
fi
check "five objects before the partition" before_partition
check "node 3's link cut: nodes 1 and 2 see it down" cut_node3
check "$writes writes (4 KiB) and 3 updates through nodes 1 and 2 during the partition" writes_during_partition
check "node 3 missed them" node3_behind
check "healed: equal Merkle roots everywhere" heal_and_converge
check "healed: node 3's blocks caught up (resync)" blocks_converge
check "node 3 serves what it missed, deletions included" node3_serves
for n in 1 2 3; do
    check "node $n alive" kill -0 "$(cat "$root/n$n/server.pid")"
done
[[ -f $root/figures ]] && sed 's/^/figure: /' "$root/figures"
e2e_summary
