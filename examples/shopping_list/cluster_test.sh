#!/usr/bin/env bash
# The shopping list on three real storage nodes (replication factor 3, quorums of 2):
#   1. writes through a client connected to all three land on every node;
#   2. with one node killed (SIGKILL), writes and reads still reach a quorum of two;
#   3. the node, restarted, catches up by Merkle anti-entropy, without any client read;
#   4. stopped cleanly, the three databases hold the same list and the same Merkle root.
set -euo pipefail

bin="$(dirname "$0")/shopping_list_node"
[ -x "$bin" ] || bin="examples/shopping_list/shopping_list_node"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/sl-cluster.XXXXXX")"
secret="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"

declare -a pids=(0 0 0) ports ids
cleanup() {
    for p in "${pids[@]}"; do
        [ "$p" != 0 ] && kill -9 "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for n in 0 1 2; do
        echo "--- node $n log (last lines)" >&2
        tail -n 20 "$work/node$n.log" >&2 || true
    done
    exit 1
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

for n in 0 1 2; do
    ids[$n]="$("$bin" init --dir "$work/node$n")"
    ports[$n]="$(free_port)"
done
addr() { echo "${ids[$1]}@127.0.0.1:${ports[$1]}"; }

start() { # node
    local n=$1 args=()
    for m in 0 1 2; do
        [ "$m" = "$n" ] || args+=(--peer "$(addr "$m")")
    done
    "$bin" serve --dir "$work/node$n" --listen "127.0.0.1:${ports[$n]}" --secret "$secret" "${args[@]}" \
        >>"$work/node$n.log" 2>&1 &
    pids[$n]=$!
}

# A client command against every node (those down are reported on stderr and skipped).
all=(--secret "$secret" --peer "$(addr 0)" --peer "$(addr 1)" --peer "$(addr 2)")
client() { "$bin" "$1" --dir "$work/client" "${all[@]}" "${@:2}"; }
# What node n alone holds (read quorum 1, connected to that node only).
only() { "$bin" show --dir "$work/client" "${all[@]}" --from "${ids[$1]}" groceries 2>/dev/null; }

# Polls `cmd` (a string for eval) until it succeeds, for at most $2 seconds.
eventually() {
    local deadline=$((SECONDS + $2))
    until eval "$1" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

for n in 0 1 2; do start $n; done
for n in 0 1 2; do
    eventually "grep -q 'serving on' '$work/node$n.log'" 10 || fail "node $n did not start"
done
# The client reaches every node, and a quorum read of the empty list works.
all_up() { local out; out="$(client show groceries 2>&1)" && grep -q '(empty)' <<<"$out" && ! grep -q unreachable <<<"$out"; }
eventually all_up 15 || fail "no quorum read on a fresh cluster: $(client show groceries 2>&1)"

echo "== 1. quorum writes reach all three nodes"
client add groceries milk --qty 2 >/dev/null || fail "add milk"
client add groceries bread >/dev/null || fail "add bread"
client buy groceries bread >/dev/null || fail "buy bread"
out="$(client show groceries)" || fail "show"
echo "$out"
grep -q '\[ \] milk x2' <<<"$out" || fail "milk x2 missing"
grep -q '\[x\] bread x1' <<<"$out" || fail "bread not bought"
# The filter travels to the storage nodes: `--pending` leaves out what was bought.
pending="$(client show groceries --pending)" || fail "show --pending"
grep -q 'milk x2' <<<"$pending" || fail "--pending lost milk"
! grep -q bread <<<"$pending" || fail "--pending shows the bought bread"
# A write waits for 2 acknowledgements; the third arrives just after: poll each node's copy.
for n in 0 1 2; do
    eventually "only $n | grep -q '\[x\] bread x1'" 10 || fail "node $n lacks the bought bread"
    only $n | grep -q '\[ \] milk x2' || fail "node $n lacks milk x2"
done
# A client that reaches no node fails, and so does buying what is not on the list.
if "$bin" show --dir "$work/client" --secret "$secret" --peer "${ids[0]}@127.0.0.1:1" \
    --member "${ids[1]}" --member "${ids[2]}" groceries 2>/dev/null; then
    fail "a read with no node reachable succeeded"
fi
if client buy groceries caviar 2>/dev/null; then fail "bought an item that is not on the list"; fi
# A wrong secret is refused by the nodes.
other_secret="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
if "$bin" show --dir "$work/client" --secret "$other_secret" --peer "$(addr 0)" --peer "$(addr 1)" \
    --peer "$(addr 2)" groceries 2>/dev/null; then
    fail "a client with the wrong secret read the list"
fi

echo "== 2. node 2 killed: quorum of two"
kill -9 "${pids[2]}"
wait "${pids[2]}" 2>/dev/null || true
pids[2]=0
client add groceries eggs --qty 12 2>"$work/add.err" >/dev/null || fail "write with 2 of 3 nodes: $(cat "$work/add.err")"
grep -q unreachable "$work/add.err" || fail "node 2 was not reported down"
client add groceries milk --qty 3 >/dev/null 2>&1 || fail "update with 2 of 3 nodes"
out="$(client show groceries 2>/dev/null)" || fail "read with 2 of 3 nodes"
echo "$out"
grep -q '\[ \] eggs x12' <<<"$out" || fail "eggs missing"
grep -q '\[ \] milk x3' <<<"$out" || fail "milk not updated to 3"
for n in 0 1; do
    only $n | grep -q 'eggs x12' || fail "node $n lacks eggs"
done
# With a second node down there is no quorum: the write fails.
kill -STOP "${pids[1]}"
if timeout 30 "$bin" add --dir "$work/client" "${all[@]}" groceries caviar >/dev/null 2>&1; then
    kill -CONT "${pids[1]}"
    fail "a write succeeded with 1 of 3 nodes"
fi
kill -CONT "${pids[1]}"

echo "== 3. node 2 restarted: anti-entropy brings it up to date"
start 2
eventually "only 2 | grep -q 'eggs x12'" 30 || fail "node 2 did not receive eggs"
eventually "only 2 | grep -q 'milk x3'" 10 || fail "node 2 did not receive milk x3"
only 2

echo "== 4. stopped, the three databases agree"
for n in 0 1 2; do kill -TERM "${pids[$n]}"; done
for n in 0 1 2; do
    wait "${pids[$n]}" || fail "node $n did not stop cleanly"
    pids[$n]=0
done
for n in 0 1 2; do
    "$bin" dump-local --dir "$work/node$n" groceries >"$work/dump$n" || fail "dump node $n"
done
cat "$work/dump0"
grep -q 'eggs x12' "$work/dump0" || fail "node 0's database lacks eggs"
grep -q 'merkle root of partition' "$work/dump0" || fail "no Merkle root printed"
cmp "$work/dump0" "$work/dump1" || fail "nodes 0 and 1 differ"
cmp "$work/dump0" "$work/dump2" || fail "nodes 0 and 2 differ"
echo "shopping list cluster: ok"
