#!/usr/bin/env bash
# Runs the shopping list for real on LMDB: two replicas edit offline and must converge.
set -euo pipefail
bin="$(dirname "$0")/shopping_list"
[ -x "$bin" ] || bin="examples/shopping_list/shopping_list"
dir="${TEST_TMPDIR:-$(mktemp -d)}/lists"
out="$("$bin" --db "$dir" demo)"
echo "$out"
grep -q "(converged)" <<<"$out"
! grep -q DIVERGED <<<"$out"
# After the final sync both replicas show eggs (Bob's), milk x2 (Alice's) and bread bought.
final="$(sed -n '/They meet again/,$p' <<<"$out")"
[ "$(grep -c '\] eggs x12' <<<"$final")" = 2 ]
[ "$(grep -c '\] milk x2' <<<"$final")" = 2 ]
[ "$(grep -c '\[x\] bread' <<<"$final")" = 2 ]
# The command-line verbs on one replica, and a sync with the demo's replica.
"$bin" --db "$dir/carol" add groceries apples --qty 6 >/dev/null
"$bin" --db "$dir/carol" buy groceries apples >/dev/null
"$bin" --db "$dir/carol" remove groceries apples >/dev/null
"$bin" --db "$dir/carol" show groceries | grep -q "(empty)"
"$bin" --db "$dir/carol" sync "$dir/alice" | grep -q "converged"
"$bin" --db "$dir/carol" show groceries --pending | grep -q "eggs x12"
if "$bin" --db "$dir/carol" buy groceries nothing 2>/dev/null; then exit 1; fi
echo "shopping list demo: ok"
