#!/usr/bin/env bash
# Self-test of test/netproxy/netproxy.py in front of a Python echo server on loopback:
#   - a round trip through the proxy takes at least up + down delay (and not much more);
#   - asymmetric delays add up the same way;
#   - data in flight is pipelined (20 back-to-back messages cost about one round trip, not 20)
#     and arrives in order, intact (1 MiB echoed; 32 MiB within seconds, not a stop-and-wait);
#   - partitioned through the control file: the open connection is closed, a new one is
#     blackholed (connects, but nothing comes back), and healing restores traffic;
#   - "partitioned PORT": only the mapping listening on PORT is cut, the other one forwards;
#   - partitioned by SIGUSR1 in refuse mode: new connections are refused; SIGUSR2 heals.
# Runs under `bazel test //test/netproxy:netproxy_test` or directly with bash.
# Prints one line per check and a last line "N passed, N failed".
# shellcheck disable=SC2154 # start_proxy sets ${name}_port and ${name}_pid with printf -v
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
proxy=$here/netproxy.py
if [[ -n ${TEST_SRCDIR:-} && -f $TEST_SRCDIR/${TEST_WORKSPACE:-}/test/netproxy/netproxy.py ]]; then
    proxy=$TEST_SRCDIR/$TEST_WORKSPACE/test/netproxy/netproxy.py
fi
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/netproxy_test.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

passed=0 failed=0
check() { # NAME COMMAND...
    local name=$1
    shift
    if "$@" >"$work/check.log" 2>&1; then
        passed=$((passed + 1))
        echo "ok   $name"
        sed 's/^/     /' "$work/check.log" | tail -3
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        sed 's/^/     /' "$work/check.log" | tail -20
    fi
}

# wait_file PATH: waits up to 10 s for PATH to exist.
wait_file() {
    for _ in $(seq 1 100); do
        [[ -s $1 ]] && return 0
        sleep 0.1
    done
    echo "timed out waiting for $1" >&2
    return 1
}

# ---- the echo server (port 0; its port written to $work/echo.port)
python3 - "$work/echo.port" <<'PY' &
import asyncio, os, sys
async def echo(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    except ConnectionError:
        pass
    w.close()
async def main():
    srv = await asyncio.start_server(echo, "127.0.0.1", 0)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.sockets[0].getsockname()[1]))
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    await srv.serve_forever()
asyncio.run(main())
PY
pids+=($!)
wait_file "$work/echo.port" || exit 1
echo_port=$(cat "$work/echo.port")

# start_proxy NAME ARGS...: starts the proxy on a free port; sets ${NAME}_port and ${NAME}_pid.
start_proxy() {
    local name=$1
    shift
    python3 "$proxy" --ready-file "$work/$name.ready" "$@" "127.0.0.1:0=127.0.0.1:$echo_port" \
        2>"$work/$name.log" &
    pids+=($!)
    printf -v "${name}_pid" %s "$!"
    wait_file "$work/$name.ready" || {
        cat "$work/$name.log" >&2
        return 1
    }
    printf -v "${name}_port" %s "$(sed -n '1s/^127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/$name.ready")"
}

# client PORT ACTION [ARGS]: the measuring client (Python), see the actions below.
client() {
    python3 - "$@" <<'PY'
import socket, sys, time

port, action = int(sys.argv[1]), sys.argv[2]
arg = [float(a) if a.replace(".", "", 1).isdigit() else a for a in sys.argv[3:]]

def connect(timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def recv_exactly(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(min(65536, n - len(buf)))
        if not b:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += b
    return bytes(buf)

def rtt(s, msg=b"ping"):
    t0 = time.monotonic()
    s.sendall(msg)
    got = recv_exactly(s, len(msg))
    assert got == msg, (got, msg)
    return time.monotonic() - t0

if action == "rtt":  # MIN_MS MAX_MS: three round trips, each within [MIN, MAX]
    lo, hi = arg
    s = connect()
    for i in range(3):
        ms = rtt(s) * 1000
        print(f"round trip {i}: {ms:.1f} ms (expected {lo:g}..{hi:g})")
        assert lo <= ms <= hi, ms
elif action == "pipelined":  # DELAY_RTT_MS: 20 messages sent at once come back within ~1 RTT
    (one,) = arg
    s = connect()
    msgs = [b"message-%02d;" % i for i in range(20)]
    t0 = time.monotonic()
    for m in msgs:
        s.sendall(m)
        time.sleep(0.005)
    got = recv_exactly(s, sum(map(len, msgs)))
    ms = (time.monotonic() - t0) * 1000
    print(f"20 pipelined messages: {ms:.1f} ms (one round trip {one:g} ms)")
    assert got == b"".join(msgs), "order or content changed"
    assert ms < one * 3, ms
elif action == "bulk":  # MIB [MAX_S]: MIB MiB echoed intact, in order (within MAX_S seconds)
    import os, threading
    mib = int(arg[0])
    data = os.urandom(mib << 20)
    s = connect(timeout=30)
    t0 = time.monotonic()
    t = threading.Thread(target=s.sendall, args=(data,))
    t.start()
    got = recv_exactly(s, len(data))
    t.join()
    secs = time.monotonic() - t0
    assert got == data, f"{mib} MiB came back different"
    print(f"{mib} MiB echoed intact in {secs:.2f} s")
    if len(arg) > 1:
        assert secs <= arg[1], f"slower than {arg[1]} s"
elif action == "closed_on_partition":  # CONTROL_FILE: an open connection is cut by the partition
    ctl = sys.argv[3]
    s = connect()
    rtt(s)
    with open(ctl, "w") as f:
        f.write("partitioned\n")
    s.settimeout(3)
    t0 = time.monotonic()
    try:
        b = s.recv(1)
        assert b == b"", b
        print("EOF")
    except ConnectionResetError:
        print("connection reset")
    print(f"closed {1000 * (time.monotonic() - t0):.0f} ms after the partition")
elif action == "blackholed":  # WAIT_S: a new connection gets nothing back within WAIT_S
    (wait,) = arg
    s = connect()
    s.sendall(b"ping")
    s.settimeout(wait)
    try:
        b = s.recv(4)
    except socket.timeout:
        print(f"nothing came back within {wait:g} s")
        sys.exit(0)
    except ConnectionError as e:
        print(f"unexpected: {e}")
        sys.exit(1)
    print(f"unexpected answer {b!r}")
    sys.exit(1)
elif action == "refused":
    try:
        connect(timeout=2)
    except ConnectionRefusedError:
        print("connection refused")
        sys.exit(0)
    print("unexpected: connected")
    sys.exit(1)
elif action == "works":  # retries for up to 5 s: a round trip succeeds
    deadline = time.monotonic() + 5
    while True:
        try:
            s = connect(timeout=2)
            s.settimeout(2)
            print(f"round trip {1000 * rtt(s):.1f} ms")
            break
        except (OSError, EOFError) as e:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
else:
    sys.exit(f"unknown action {action}")
PY
}

# ---- no delay: a baseline
start_proxy plain || exit 1
check "no delay: a round trip through the proxy is under 50 ms" client "$plain_port" rtt 0 50
check "no delay: 1 MiB is echoed intact" client "$plain_port" bulk 1

# ---- 100 ms each way
start_proxy slow --delay-ms 100 || exit 1
check "--delay-ms 100: each round trip takes 200 ms or more (and under 700)" client "$slow_port" rtt 200 700
check "--delay-ms 100: 20 pipelined messages come back in order within ~1 round trip" \
    client "$slow_port" pipelined 200
check "--delay-ms 100: 1 MiB is echoed intact" client "$slow_port" bulk 1
# Stop-and-wait per 256 KiB chunk would take 128 x 0.2 s = 25 s; pipelined, 0.2 s plus the copy.
check "--delay-ms 100: 32 MiB are echoed intact within 6 s (data in flight is pipelined)" \
    client "$slow_port" bulk 32 6

# ---- asymmetric
start_proxy asym --up-delay-ms 30 --down-delay-ms 120 || exit 1
check "--up-delay-ms 30 --down-delay-ms 120: a round trip takes 150 ms or more" client "$asym_port" rtt 150 650

# ---- partition through the control file (blackhole mode)
ctl=$work/control
start_proxy part --delay-ms 10 --control-file "$ctl" || exit 1
check "healed: traffic flows" client "$part_port" works
check "partitioned (control file): the open connection is closed" client "$part_port" closed_on_partition "$ctl"
check "partitioned (blackhole): a new connection gets nothing back for 1.5 s" client "$part_port" blackholed 1.5
echo healed >"$ctl"
check "healed (control file): traffic flows again" client "$part_port" works
echo partitioned >"$ctl"
sleep 0.3
check "partitioned again (control file)" client "$part_port" blackholed 1
rm -f "$ctl"
check "control file removed: healed" client "$part_port" works

# ---- one mapping of two partitioned ("partitioned PORT"), the other still forwarding
ctl2=$work/control2
python3 "$proxy" --ready-file "$work/two.ready" --control-file "$ctl2" \
    "127.0.0.1:0=127.0.0.1:$echo_port" "127.0.0.1:0=127.0.0.1:$echo_port" 2>"$work/two.log" &
pids+=($!)
two_pid=$!
wait_file "$work/two.ready" || exit 1
two_a=$(sed -n '1s/^127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/two.ready")
two_b=$(sed -n '2s/^127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/two.ready")
check "two mappings: both forward" bash -c "$(declare -f client); client $two_a works && client $two_b works"
echo "partitioned $two_a" >"$ctl2"
sleep 0.3
check "partitioned $two_a only: that mapping is blackholed" client "$two_a" blackholed 1
check "partitioned $two_a only: the other mapping still forwards" client "$two_b" works
echo "partitioned 127.0.0.1:$two_b" >"$ctl2"
sleep 0.3
check "partitioned 127.0.0.1:$two_b instead: the first heals" client "$two_a" works
check "partitioned 127.0.0.1:$two_b instead: the second is blackholed" client "$two_b" blackholed 1
: >"$ctl2"
check "control file emptied: both forward" bash -c "$(declare -f client); client $two_a works && client $two_b works"

# ---- partition by signal (refuse mode)
start_proxy sig --partition-mode refuse || exit 1
check "refuse mode, healed: traffic flows" client "$sig_port" works
kill -USR1 "$sig_pid"
sleep 0.3
check "SIGUSR1 (refuse mode): new connections are refused" client "$sig_port" refused
kill -USR2 "$sig_pid"
check "SIGUSR2: healed, traffic flows on the same port" client "$sig_port" works

check "the proxies are still running" kill -0 "$plain_pid" "$slow_pid" "$asym_pid" "$part_pid" "$two_pid" "$sig_pid"

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
