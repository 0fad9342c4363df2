# Helpers to run a single Garage node from a directory (sourced by scripts/run and the e2e tests).
#
#   garage_write_config DIR S3_PORT ADMIN_PORT [WEB_PORT]   writes DIR/garage.toml with fresh secrets
#   garage_start DIR                                     starts `garage server --single-node` in the background
#                                                        (GARAGE_SERVER_ARGS, if set, replaces `--single-node`;
#                                                        GARAGE_LAUNCH, if set, is a command prefix, e.g.
#                                                        `ip netns exec NS`, that must exec the server)
#   garage_admin_addr DIR                                host:port of the node's admin API
#   garage_wait_healthy DIR                              waits for the admin API's /health
#   garage_cli DIR ARGS...                               runs `garage -c DIR/garage.toml ARGS...`
#   garage_stop DIR                                      stops the node (SIGTERM, then SIGKILL)
# GARAGE_BIN names the `garage` binary (default: the Bazel output).

: "${GARAGE_BIN:=$GARAGE_ROOT/bazel-bin/server/garage}"

garage_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

garage_write_config() {
    local dir=$1 s3_port=$2 admin_port=$3 web_port=${4:-0}
    mkdir -p "$dir/meta" "$dir/data"
    umask 077
    cat >"$dir/garage.toml" <<TOML
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "lmdb"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:0"
rpc_secret = "$(openssl rand -hex 32)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin_port"
admin_token = "$(openssl rand -base64 32)"
TOML
    if [[ $web_port != 0 ]]; then
        cat >>"$dir/garage.toml" <<TOML

[s3_web]
bind_addr = "127.0.0.1:$web_port"
root_domain = ".web.garage.localhost"
TOML
    fi
}

garage_start() {
    local dir=$1
    # --single-node by default (a node alone is its own layout); GARAGE_SERVER_ARGS overrides.
    # shellcheck disable=SC2086
    ${GARAGE_LAUNCH:-} "$GARAGE_BIN" -c "$dir/garage.toml" server ${GARAGE_SERVER_ARGS---single-node} \
        >"$dir/server.log" 2>&1 &
    echo $! >"$dir/server.pid"
}

garage_admin_addr() {
    sed -n '/^\[admin\]/,/^\[/s/^api_bind_addr = "\([^"]*:[0-9]*\)"/\1/p' "$1/garage.toml"
}

garage_admin_port() {
    local addr
    addr=$(garage_admin_addr "$1")
    echo "${addr##*:}"
}

garage_wait_healthy() {
    local dir=$1 addr
    addr=$(garage_admin_addr "$dir")
    for _ in $(seq 1 100); do
        if curl -fsS "http://$addr/health" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
            echo "garage server exited; its log:" >&2
            cat "$dir/server.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "garage server did not become healthy in 10 s; its log:" >&2
    cat "$dir/server.log" >&2
    return 1
}

garage_cli() {
    local dir=$1
    shift
    "$GARAGE_BIN" -c "$dir/garage.toml" "$@"
}

garage_stop() {
    local dir=$1 pid
    pid=$(cat "$dir/server.pid" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}
