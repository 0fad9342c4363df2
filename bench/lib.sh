# Shared by the side-by-side benchmarks bench/*.sh (sourced after scripts/lib.sh and
# scripts/node.sh, which give `step` and `die`).
# shellcheck shell=bash

# bench_prepare NAME: builds //server:garage and //bench:s3_load with -c opt (unless SKIP_BUILD=1),
# checks $GARAGE_BIN and $LOAD_BIN, sets $fs_type and refuses a $BENCH_DIR on tmpfs (block files would not touch a
# disk) and sets $work to a fresh directory $BENCH_DIR/NAME.XXXXXX.
bench_prepare() {
    if [[ ${SKIP_BUILD:-0} != 1 ]]; then
        step "building //server:garage and //bench:s3_load (-c opt)"
        (cd "$GARAGE_ROOT" && bazel build -c opt //server:garage //bench:s3_load)
    fi
    [[ -x $GARAGE_BIN ]] || die "no garage binary at $GARAGE_BIN"
    [[ -x $LOAD_BIN ]] || die "no s3_load binary at $LOAD_BIN"

    fs_type=$(stat -f -c %T "$BENCH_DIR")
    [[ $fs_type != tmpfs ]] || die "$BENCH_DIR is on tmpfs: set BENCH_DIR to a directory on a real disk"
    work=$(mktemp -d "$BENCH_DIR/$1.XXXXXX")
}
