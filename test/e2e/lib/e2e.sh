# Shared by the end-to-end tests test/e2e/*.sh (sourced, never run; it lives in lib/ because
# scripts/test runs every test/e2e/*.sh). Sourcing it changes to the repository root and sources
# scripts/node.sh. A test then calls:
#
#   e2e_start_node                     builds the `garage` binary if missing, starts one node in a
#                                      fresh directory $dir (removed, with the node stopped, at exit);
#                                      sets $s3_port and $admin_port
#   e2e_create_key NAME [--create-bucket]
#                                      creates a key (sets $key_id and $secret), optionally allowed
#                                      to create buckets
#   e2e_create_buckets BUCKET...       creates buckets, read/write/owner for $key_id
#   e2e_export_aws                     exports the AWS CLI / SDK credentials of $key_id
#   check NAME COMMAND...              runs a check: prints "ok   NAME" or "FAIL NAME" and the end
#                                      of its output; counts $passed and $failed
#   e2e_server_alive                   fails, printing the end of the server log, if the node died
#   e2e_summary                        counts a dead server as a failure, prints "N passed, N failed"
#                                      and fails if anything failed (call it last: its status is the
#                                      script's exit status)
# shellcheck shell=bash disable=SC2034 # the variables set here are the tests' to use

cd "$(dirname "${BASH_SOURCE[0]}")/../../.." || exit
GARAGE_ROOT=$PWD
# shellcheck source=scripts/node.sh
source scripts/node.sh

passed=0 failed=0

e2e_start_node() {
    [[ -x $GARAGE_BIN ]] || bazel build //server:garage >/dev/null
    dir=$(mktemp -d)
    trap 'garage_stop "$dir"; rm -rf "$dir"' EXIT
    s3_port=$(garage_free_port)
    admin_port=$(garage_free_port)
    garage_write_config "$dir" "$s3_port" "$admin_port"
    garage_start "$dir"
    garage_wait_healthy "$dir"
}

e2e_create_key() { # name [--create-bucket]
    local key_out
    key_out=$(garage_cli "$dir" key create "$1")
    key_id=$(sed -n 's/^Key ID: //p' <<<"$key_out")
    secret=$(sed -n 's/^Secret key: //p' <<<"$key_out")
    if [[ ${2:-} == --create-bucket ]]; then
        garage_cli "$dir" key allow --create-bucket "$key_id" >/dev/null
    fi
}

e2e_create_buckets() { # bucket...
    local b
    for b in "$@"; do
        garage_cli "$dir" bucket create "$b" >/dev/null
        garage_cli "$dir" bucket allow --read --write --owner "$b" --key "$key_id" >/dev/null
    done
}

e2e_export_aws() {
    export AWS_ACCESS_KEY_ID=$key_id AWS_SECRET_ACCESS_KEY=$secret AWS_DEFAULT_REGION=garage
    export AWS_EC2_METADATA_DISABLED=true
}

check() { # name, command...
    local name=$1
    shift
    if "$@" >"$dir/check.log" 2>&1; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        sed 's/^/     /' "$dir/check.log" | tail -20
    fi
}

e2e_server_alive() {
    kill -0 "$(cat "$dir/server.pid")" 2>/dev/null && return 0
    echo "the server died; the end of its log:"
    tail -n 30 "$dir/server.log"
    return 1
}

e2e_summary() {
    e2e_server_alive || failed=$((failed + 1))
    echo "$passed passed, $failed failed"
    [[ $failed == 0 ]]
}
