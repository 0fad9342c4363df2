#!/usr/bin/env bash
# Fault tests of a real cluster: three `garage server` processes on loopback in three zones,
# replication factor 3, driven by the AWS CLI. Keys and buckets made on one node are usable on
# the others; objects written through one node are read through the others; a node killed with
# SIGKILL in the middle of uploads loses no acknowledged object and, restarted, catches up
# through Merkle anti-entropy and block resync (equal table sizes and block files); a fourth
# node added in a fourth zone receives partitions and the other nodes offload their copies.
# e2e-timeout: 1500
# shellcheck source=test/e2e/lib/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib/e2e.sh"
[[ -x $GARAGE_BIN ]] || bazel build //server:garage >/dev/null
# shellcheck source=test/e2e/lib/cluster.sh
source "$GARAGE_ROOT/test/e2e/lib/cluster.sh"

export AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=garage
files=$root/files
mkdir -p "$files"

table_size() { # N TABLE
    metric "$1" table_size "table_name=\"$2\""
}

block_files() { # N: block files under node N's data_dir
    find "$root/n$1/data" -type f -name '[0-9a-f]*' ! -name '*.tmp' | wc -l
}

same_tables() { # A B: nodes A and B hold as many objects, versions, block refs; no Merkle todo
    local t a b
    for t in object version block_ref bucket_v2 key; do
        a=$(table_size "$1" $t) b=$(table_size "$2" $t)
        [[ -n $a && $a == "$b" ]] || return 1
    done
}

same_blocks() { # A B
    [[ $(block_files "$1") == $(block_files "$2") && $(block_files "$1") -gt 0 ]]
}

key_everywhere() {
    g 3 key info "$key_id" | grep -q fault && g 2 bucket info fault | grep -q "$key_id"
}

put_get_across() {
    local f
    head -c 100 /dev/urandom >"$files/inline"
    head -c 4096 /dev/urandom >"$files/small"
    head -c 300000 /dev/urandom >"$files/medium"
    head -c 5000000 /dev/urandom >"$files/large"
    for f in inline small medium large; do
        s3 1 s3 cp --quiet "$files/$f" "s3://fault/$f" || return 1
    done
    for n in 2 3; do
        for f in inline small medium large; do
            s3 $n s3 cp --quiet "s3://fault/$f" "$files/$f.from$n" && cmp "$files/$f" "$files/$f.from$n" || return 1
        done
    done
}

listing_across() {
    [[ $(s3 3 s3 ls s3://fault/ | wc -l) == 4 ]]
}

delete_across() {
    s3 2 s3 rm --quiet s3://fault/inline && ! s3 3 s3api head-object --bucket fault --key inline 2>/dev/null
}

multipart_across() {
    head -c 12000000 /dev/urandom >"$files/mpu"
    s3 2 s3 cp --quiet "$files/mpu" s3://fault/mpu && s3 3 s3 cp --quiet s3://fault/mpu "$files/mpu.back" &&
        cmp "$files/mpu" "$files/mpu.back"
}

# Uploads objects through node 1 while node 3 is killed; records each acknowledged key.
upload_through_kill() {
    local i
    : >"$root/acked"
    head -c 40000000 /dev/urandom >"$files/big"
    (s3 1 s3 cp --quiet "$files/big" s3://fault/big && echo big >>"$root/acked") &
    local big=$!
    for i in $(seq 1 60); do
        head -c $((RANDOM * 4 + 1)) /dev/urandom >"$files/o$i"
        if s3 1 s3 cp --quiet "$files/o$i" "s3://fault/o$i" 2>/dev/null; then
            echo "o$i" >>"$root/acked"
        fi
        if ((i == 10)); then
            kill_node 3
        fi
    done
    wait "$big"
    [[ $(wc -l <"$root/acked") -ge 55 ]]
}

acked_readable() { # N
    local k
    while read -r k; do
        s3 "$1" s3 cp --quiet "s3://fault/$k" "$files/$k.check" && cmp "$files/$k" "$files/$k.check" || {
            echo "acknowledged object $k unreadable or different through node $1"
            return 1
        }
    done <"$root/acked"
}

describe() { # A B: what same_tables and same_blocks compare
    local t
    for t in object version block_ref bucket_v2 key; do
        echo "$t: node $1 $(table_size "$1" $t), node $2 $(table_size "$2" $t)"
    done
    echo "block files: node $1 $(block_files "$1"), node $2 $(block_files "$2")"
    echo "node $2 resync queue $(metric "$2" block_resync_queue_length ''), errors $(metric "$2" block_resync_errored_blocks '')"
}

restart_catches_up() {
    start_node 3 && wait_for 90 same_tables 1 3 && wait_for 90 same_blocks 1 3 || {
        describe 1 3
        return 1
    }
}

writes_while_down() {
    local i
    kill_node 2
    for i in $(seq 1 100); do
        printf 'value %d\n' "$i" >"$files/w$i"
    done
    for i in $(seq 1 100); do
        s3 1 s3api put-object --bucket fault --key "w$i" --body "$files/w$i" >/dev/null || return 1
    done
    [[ $(table_size 1 object) -gt $(table_size 3 object)-1 ]]
}

converges_after_heal() {
    local start=$SECONDS
    start_node 2 || return 1
    wait_for 60 same_tables 1 2 || return 1
    echo "node 2 converged $((SECONDS - start)) s after it came back"
}

add_fourth_node() {
    before_v1=$(table_size 1 version)
    cluster_config 4 "$secret"
    start_node 4 || return 1
    id4=$(node_id 4)
    g 4 node connect "$id1" && wait_for 40 nodes_up 1 4 &&
        g 1 layout assign "${id4:0:8}" -z dc4 -c 1G && g 1 layout apply --version 2
}

partitions_moved() { # node 4 holds versions; node 1 offloaded its copies of the partitions it lost
    local v1 v4
    v1=$(table_size 1 version) v4=$(table_size 4 version)
    [[ -n $v1 && -n $v4 && $v4 -gt 0 && $v1 -lt $before_v1 ]]
}

old_version_retired() { # the layout history keeps only version 2 live
    g 1 layout history >"$root/history.txt" && ! grep -qi draining "$root/history.txt"
}

node4_serves() {
    acked_readable 4 && [[ $(block_files 4) -gt 0 ]]
}

for n in 1 2 3; do
    cluster_config $n "$secret"
done
check "three nodes in dc1/dc2/dc3, layout version 1 everywhere" setup_three_zones
check "a key and a bucket with its permissions made on node 1" key_and_bucket fault-key fault
check "the key and the bucket are known to nodes 2 and 3 when node 1 answered" key_everywhere
check "objects (100 B, 4 KiB, 300 kB, 5 MB) put through node 1 read back identical through nodes 2 and 3" put_get_across
check "node 3 lists the 4 objects" listing_across
check "an object deleted through node 2 is gone through node 3" delete_across
check "a 12 MB multipart upload through node 2 reads back through node 3" multipart_across
check "uploads through node 1 go on while node 3 is SIGKILLed (>= 55 of 60 acknowledged)" upload_through_kill
check "every acknowledged object reads back identical through node 2" acked_readable 2
check "node 3 restarted: equal table sizes and block files as node 1 within 90 s" restart_catches_up
check "every acknowledged object reads back identical through node 3" acked_readable 3
check "node 2 down (SIGKILL) during 100 writes through node 1" writes_while_down
check "node 2 restarted: its tables equal node 1's within 60 s (anti-entropy)" converges_after_heal
check "node 2 serves the writes it missed" bash -c "cmp <(aws --endpoint-url http://127.0.0.1:$(s3_port 2) s3 cp s3://fault/w100 -) '$files/w100'"
check "a fourth node in a fourth zone: layout version 2 applied (each zone now holds 3/4 of the partitions)" add_fourth_node
check "partitions moved: node 4 holds versions, node 1 offloaded its copies (within 90 s)" wait_for 90 partitions_moved
check "layout history: version 1 retired once every node synchronised (within 90 s)" wait_for 90 old_version_retired
check "node 4 serves every acknowledged object and received block files (within 60 s)" wait_for 60 node4_serves

e2e_summary
