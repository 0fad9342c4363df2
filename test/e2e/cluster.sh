#!/usr/bin/env bash
# End-to-end: a cluster of three real `garage server` processes on loopback (replication factor
# 3, one rpc_secret): `garage node connect`, `garage status`, `garage layout assign/apply/show`
# and its propagation, a stale apply refused, a node with a wrong rpc_secret kept out, and
# /v1/health degraded once a node is killed.
# shellcheck source=test/e2e/lib/e2e.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/e2e.sh"

[[ -x $GARAGE_BIN ]] || bazel build //server:garage >/dev/null
# shellcheck source=test/e2e/lib/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/cluster.sh"

status_nodes_up() { # N COUNT: node N's /v1/status lists COUNT nodes up
    admin "$1" /v1/status | python3 -c "
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if sum(1 for n in s['nodes'] if n['isUp']) == $2 else 1)"
}

layout_v1_three_roles() { # N
    garage_cli "$root/n$1" layout show >"$root/show$1.txt" &&
        grep -q '^Current cluster layout version: 1$' "$root/show$1.txt" &&
        grep -q 'dc1' "$root/show$1.txt" && grep -q 'dc2' "$root/show$1.txt" && grep -q 'dc3' "$root/show$1.txt"
}

health_is() { # N STATUS
    [[ $(admin "$1" /v1/health | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])') == "$2" ]]
}

start_three() {
    start_node 1 && start_node 2 && start_node 3 && grep -q 'RPC listening on 127.0.0.1:' "$root/n1/server.log"
}

connect_two() {
    g 2 node connect "$id1" && g 3 node connect "$id1"
}

status_lists_three() {
    g 1 status >"$root/status.txt" && cat "$root/status.txt" &&
        grep -q '^==== HEALTHY NODES ====' "$root/status.txt" &&
        grep -q "^${id1:0:16} " "$root/status.txt" && grep -q "^${id2:0:16} " "$root/status.txt" &&
        grep -q "^${id3:0:16} " "$root/status.txt"
}

assign_apply() {
    g 1 layout assign "${id1:0:8}" -z dc1 -c 1G -t a && g 1 layout assign "${id2:0:8}" -z dc2 -c 2G &&
        g 1 layout assign "${id3:0:8}" -z dc3 -c 3G && g 1 layout show | grep -q 'STAGED ROLE CHANGES' &&
        g 1 layout apply --version 1
}

stale_apply_refused() {
    ! g 1 layout apply --version 1 2>"$root/stale.txt" && cat "$root/stale.txt" &&
        grep -q 'Invalid new layout version 1 (expected 2)' "$root/stale.txt"
}

remove_revert() {
    g 1 layout remove "${id3:0:8}" && g 1 layout show | grep -q REMOVED && g 1 layout revert --yes &&
        g 1 layout show | grep -q 'No staged role changes'
}

config_redundancy() {
    g 1 layout config -r 2 && g 1 layout show | tee "$root/show_cfg.txt" &&
        grep -q '^==== STAGED PARAMETERS ====' "$root/show_cfg.txt" && grep -q '^Zone redundancy: 2$' "$root/show_cfg.txt" &&
        ! g 1 layout config -r 0 && g 1 layout revert --yes && ! g 1 layout show | grep -q 'STAGED PARAMETERS'
}

metrics_degraded() {
    curl -fsS "http://127.0.0.1:$(garage_admin_port "$root/n1")/metrics" >"$root/metrics.txt" &&
        grep -qx 'cluster_healthy 0' "$root/metrics.txt" && grep -qx 'cluster_available 1' "$root/metrics.txt" &&
        grep -qx 'cluster_storage_nodes 3' "$root/metrics.txt" && grep -qx 'cluster_storage_nodes_ok 2' "$root/metrics.txt"
}

healthy_three() {
    health_is 1 healthy && admin 1 /v1/health | grep -q '"storageNodes":3'
}

wrong_secret_absent() {
    sleep 1
    ! admin 1 /v1/status | grep -q "${id4%%@*}" && ! g 1 status | grep -q "^${id4:0:16}"
}

node3_failed() {
    g 1 status | tee "$root/status2.txt" && sed -n '/FAILED NODES/,$p' "$root/status2.txt" | grep -q "^${id3:0:16}"
}

history_stable() {
    g 1 layout history | tee "$root/history1.txt" && grep -q '^#1  *current  *3  *0$' "$root/history1.txt" &&
        grep -q 'stable state with a single live layout version' "$root/history1.txt"
}

history_draining() { # after version 2 is applied while node 3 is dead
    g 1 layout history | tee "$root/history2.txt" && grep -q '^#2  *current' "$root/history2.txt" &&
        grep -q '^#1  *draining' "$root/history2.txt" && grep -q '^==== UPDATE TRACKERS ====' "$root/history2.txt" &&
        grep -q "^${id3:0:16}  *#1  *#1  *#1$" "$root/history2.txt"
}

skip_dead_node3() {
    g 1 layout skip-dead-nodes --version 2 | tee "$root/skip.txt" &&
        grep -q "Increased the ACK tracker for node ${id3:0:16}" "$root/skip.txt" && grep -q '^Success.$' "$root/skip.txt" &&
        g 1 layout history | grep -q "^${id3:0:16}  *#2  *#1  *#1$"
}

repairs_done() { # every repair worker launched on node 1 has finished
    admin 1 /v1/worker | python3 -c "
import json, sys
names = {'version repair worker', 'multipart_upload repair worker', 'block_ref repair worker',
         'Block refcount repair worker', 'Bucket alias repair worker', 'Block rebalance worker'}
ws = [w for w in json.load(sys.stdin) if w['name'] in names]
sys.exit(0 if {w['name'] for w in ws} == names and all(w['state'] == 'done' for w in ws) else 1)"
}

blocks_and_repair() {
    g 1 block list-errors | grep -q '^Hash  *RC  *Errors' && ! g 1 repair blocks 2>/dev/null &&
        g 1 repair --yes blocks | grep -q 'Block repair launched' &&
        g 1 repair --yes scrub set-tranquility 3 | grep -q 'Scrub command sent' &&
        g 1 repair --yes tables | grep -q 'Full sync of every table launched' &&
        g 1 repair --yes versions | grep -q 'Repair of versions launched (worker ' &&
        g 1 repair --yes mpu | grep -q 'Repair of mpu launched (worker ' &&
        g 1 repair --yes block-refs | grep -q 'Repair of block-refs launched (worker ' &&
        g 1 repair --yes block-rc | grep -q 'Repair of block-rc launched (worker ' &&
        g 1 repair --yes aliases | grep -q 'Repair of aliases launched (worker ' &&
        g 1 repair --yes rebalance | grep -q 'Block rebalance launched (worker ' &&
        wait_for 30 repairs_done &&
        ! g 1 block purge "$(printf '%064d' 0)" 2>/dev/null
}

sigterm_stops() { # N
    local pid
    pid=$(cat "$root/n$1/server.pid")
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

for n in 1 2 3; do
    cluster_config $n "$secret"
done
cluster_config 4 "$(openssl rand -hex 32)"

check "three nodes start (RPC listening on their own ports)" start_three
id1=$(node_id 1) id2=$(node_id 2) id3=$(node_id 3)
check "garage node connect: node 2 and node 3 to node 1" connect_two
check "node 1's status lists 3 nodes up" wait_for 40 status_nodes_up 1 3
check "garage status on node 1 prints the three nodes in HEALTHY NODES" status_lists_three
check "layout assign (id prefixes) dc1/dc2/dc3 and apply --version 1" assign_apply
for n in 1 2 3; do
    check "node $n's layout show: version 1 with the three roles" wait_for 20 layout_v1_three_roles $n
done
check "a stale apply --version 1 is refused (400, Garage's message)" stale_apply_refused
check "layout assign with an unknown node prefix fails" bash -c "! '$GARAGE_BIN' -c '$root/n1/garage.toml' layout assign ffffzzzz -z dc1 -c 1G"
check "layout remove + revert --yes drops the staged change" remove_revert
check "layout config -r 2 is staged and shown, -r 0 refused, revert drops it" config_redundancy
check "/v1/health on node 1: healthy with 3 storage nodes" wait_for 20 healthy_three

check "a node with a wrong rpc_secret starts" start_node 4
id4=$(node_id 4)
check "garage node connect from the wrong-secret node fails" bash -c "! '$GARAGE_BIN' -c '$root/n4/garage.toml' node connect '$id1'"
check "node 1 connecting to the wrong-secret node fails" bash -c "! '$GARAGE_BIN' -c '$root/n1/garage.toml' node connect '$id4'"
check "the wrong-secret node never appears in node 1's status" wrong_secret_absent

pid3=$(cat "$root/n3/server.pid")
kill -9 "$pid3"
wait "$pid3" 2>/dev/null
check "node 3 killed: node 1's /v1/health becomes degraded" wait_for 45 health_is 1 degraded
check "garage status on node 1 lists node 3 among FAILED NODES" node3_failed
check "/metrics on node 1: cluster_healthy 0, cluster_available 1, storage nodes ok 2/3" wait_for 20 metrics_degraded
check "layout history on node 1: version 1 current, stable" history_stable
check "layout assign + apply --version 2 while node 3 is dead" bash -c "'$GARAGE_BIN' -c '$root/n1/garage.toml' layout assign '${id1:0:8}' -c 4G && '$GARAGE_BIN' -c '$root/n1/garage.toml' layout apply --version 2"
check "layout history: #2 current, #1 draining, node 3's trackers at #1" history_draining
check "layout skip-dead-nodes --version 2 raises node 3's ack tracker" skip_dead_node3
check "block list-errors, repair --yes blocks|scrub|tables|versions|mpu|block-refs|block-rc|aliases|rebalance; repair without --yes and purge without --yes refused" blocks_and_repair
check "SIGTERM stops node 2 promptly" sigterm_stops 2

e2e_summary
