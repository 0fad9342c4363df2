#!/usr/bin/env python3
"""netproxy: a user-space TCP proxy that adds WAN latency and can partition, for tests and benchmarks.

The kernel's netem qdisc is not available on these machines (docs/PERFORMANCE.md), so latency
between cluster nodes on loopback is emulated here. Python 3 standard library only (asyncio).

    netproxy.py [options] LISTEN=TARGET [LISTEN=TARGET ...]

    LISTEN, TARGET   host:port ("[::1]:3901" for IPv6); LISTEN's port may be 0 (see --ready-file)

Each mapping accepts connections on LISTEN and opens one connection to TARGET per accepted one.

Latency. Every chunk of data read on one side is written to the other side `delay` after it was
read, in order: a one-way delay per direction that keeps throughput (data in flight is a queue,
not a stop-and-wait), so a round trip through the proxy costs delay-up + delay-down on top of
the real one. --delay-ms sets both directions; --up-delay-ms (client -> target) and
--down-delay-ms (target -> client) override one. Data in flight per direction and connection is
bounded by --max-inflight bytes (the reader waits beyond it), which caps throughput at
max-inflight / delay. A half-close (EOF) is forwarded after the same delay.

Partitions. The proxy is either "healed" (forwarding) or "partitioned". When it becomes
partitioned it closes every open connection, with an RST (SO_LINGER 0) so that both ends notice
at once, and until healed:
  --partition-mode blackhole (default)  accepts new connections and silently discards what they
                                        send, never connecting to the target (peers see timeouts,
                                        as behind a cut link); they are closed when healed
  --partition-mode refuse               stops listening: new connections are refused
The state is kept per mapping and driven by either of
  --control-file PATH   polled every --poll-ms (default 50): "partitioned" as its first word
                        partitions every mapping, "partitioned PORT..." only the mappings
                        listening on those ports (e.g. the proxy in front of one node);
                        anything else (or no file) heals them all; write it atomically
                        (to a temporary file, then mv), or a poll may see it half written
  signals               SIGUSR1 partitions every mapping, SIGUSR2 heals them all (overridden
                        by the control file, when one is given, at the file's next change)

Other options: --ready-file PATH (written once every mapping listens: one line per mapping,
"LISTEN_HOST:PORT TARGET", handy with port 0), --quiet, --log-connections.
SIGTERM/SIGINT stop the proxy.

Example, 50 ms each way in front of a node's RPC port (100 ms added RTT):
    netproxy.py --delay-ms 50 127.0.0.1:13901=127.0.0.1:3901
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import struct
import sys
import time

CHUNK = 256 * 1024  # bytes read at once
WRITE_BATCH = 1 << 20  # bytes written at once, at most, of the chunks that are due


def parse_hostport(text: str) -> tuple[str, int]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if not rest.startswith(":"):
            raise ValueError(f"bad address {text!r}: expected [ipv6]:port")
        port = rest[1:]
    else:
        host, sep, port = text.rpartition(":")
        if not sep or not host:
            raise ValueError(f"bad address {text!r}: expected host:port")
    p = int(port)
    if not 0 <= p < 65536:
        raise ValueError(f"bad port in {text!r}")
    return host, p


def fmt_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def abort_writer(w: asyncio.StreamWriter | None) -> None:
    """Closes a connection at once, with an RST rather than a FIN."""
    if w is None:
        return
    sock = w.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        w.transport.abort()
    except Exception:  # noqa: BLE001 (already closed)
        pass


class ByteBudget:
    """Bytes in flight in one direction: the reader waits while more than `limit` are queued."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.cond = asyncio.Condition()

    async def acquire(self, n: int) -> None:
        async with self.cond:
            # A chunk larger than the whole budget is let through alone.
            await self.cond.wait_for(lambda: self.used == 0 or self.used + n <= self.limit)
            self.used += n

    async def release(self, n: int) -> None:
        async with self.cond:
            self.used -= n
            self.cond.notify_all()


class Proxy:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.up_delay = (args.up_delay_ms if args.up_delay_ms is not None else args.delay_ms) / 1000.0
        self.down_delay = (args.down_delay_ms if args.down_delay_ms is not None else args.delay_ms) / 1000.0
        self.partitioned: set[int] = set()  # indices of the partitioned mappings
        self.mappings: list[tuple[tuple[str, int], tuple[str, int]]] = []
        for m in args.mappings:
            listen, eq, target = m.partition("=")
            if not eq:
                raise ValueError(f"bad mapping {m!r}: expected LISTEN=TARGET")
            self.mappings.append((parse_hostport(listen), parse_hostport(target)))
        self.servers: list[asyncio.base_events.Server | None] = [None] * len(self.mappings)
        self.bound: list[tuple[str, int]] = []
        self.conns: dict[asyncio.Task, int] = {}  # forwarding connections -> mapping index
        self.holes: dict[asyncio.Task, int] = {}  # blackholed connections -> mapping index
        self.stop = asyncio.Event()
        self.control_text: str | None = None  # the control file's last content (None: no file)
        self.control_read = False

    def log(self, msg: str) -> None:
        if not self.args.quiet:
            print(f"netproxy: {msg}", file=sys.stderr, flush=True)

    # ---- listening

    async def listen(self, i: int) -> None:
        (lh, lp), _ = self.mappings[i]
        if self.bound and i < len(self.bound):
            lp = self.bound[i][1]  # re-listen on the port first bound (port 0 resolved)

        async def on_conn(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int = i) -> None:
            await self.handle(i, r, w)

        srv = await asyncio.start_server(on_conn, lh, lp, reuse_address=True, backlog=512)
        self.servers[i] = srv
        port = srv.sockets[0].getsockname()[1]
        if i >= len(self.bound):
            self.bound.append((lh, port))

    async def close_listeners(self, which: set[int] | None = None) -> None:
        for i, srv in enumerate(self.servers):
            if srv is not None and (which is None or i in which):
                srv.close()
                await srv.wait_closed()
                self.servers[i] = None

    # ---- partition control

    def all_mappings(self) -> set[int]:
        return set(range(len(self.mappings)))

    async def set_partitioned(self, want: set[int]) -> None:
        cut, heal = want - self.partitioned, self.partitioned - want
        self.partitioned = set(want)
        if cut:
            doomed = [t for t, i in self.conns.items() if i in cut]
            self.log(f"partitioned {self.names(cut)} ({self.args.partition_mode}): "
                     f"closing {len(doomed)} connection(s)")
            for t in doomed:
                t.cancel()
            if self.args.partition_mode == "refuse":
                await self.close_listeners(cut)
        if heal:
            doomed = [t for t, i in self.holes.items() if i in heal]
            self.log(f"healed {self.names(heal)}: closing {len(doomed)} blackholed connection(s)")
            for t in doomed:
                t.cancel()
            for i in sorted(heal):
                if self.servers[i] is None:
                    await self.listen(i)

    def names(self, which: set[int]) -> str:
        return ", ".join(fmt_hostport(*self.bound[i]) for i in sorted(which))

    def read_control_file(self) -> set[int] | None:
        """The mappings the control file partitions, or None when it has not changed."""
        path = self.args.control_file
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            text = None
        if text == self.control_text and self.control_read:
            return None
        self.control_text, self.control_read = text, True
        words = (text or "").split()
        if not words or words[0].lower() != "partitioned":
            return set()
        if len(words) == 1:
            return self.all_mappings()
        want = set()
        for w in words[1:]:
            port = w.rpartition(":")[2]
            hits = {i for i, (_, p) in enumerate(self.bound) if port.isdigit() and p == int(port)}
            if not hits:
                self.log(f"control file: no mapping listens on {w!r}; ignored")
            want |= hits
        return want

    async def poll_control(self) -> None:
        while not self.stop.is_set():
            want = self.read_control_file()
            if want is not None:
                await self.set_partitioned(want)
            try:
                await asyncio.wait_for(self.stop.wait(), self.args.poll_ms / 1000.0)
            except asyncio.TimeoutError:
                pass

    # ---- connections

    async def handle(self, i: int, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        peer = w.get_extra_info("peername")
        if i in self.partitioned:
            self.holes[task] = i
            try:
                while await r.read(CHUNK):
                    pass  # discarded
            except (asyncio.CancelledError, ConnectionError, OSError):
                pass
            finally:
                self.holes.pop(task, None)
                abort_writer(w)
            return
        self.conns[task] = i
        tw = None
        try:
            th, tp = self.mappings[i][1]
            try:
                tr, tw = await asyncio.open_connection(th, tp)
            except OSError as e:
                self.log(f"connect to {fmt_hostport(th, tp)} failed: {e}")
                abort_writer(w)
                return
            for s in (w, tw):
                sock = s.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.args.log_connections:
                self.log(f"{peer} -> {fmt_hostport(th, tp)} open")
            pipes = [asyncio.ensure_future(self.pipe(r, tw, self.up_delay)),
                     asyncio.ensure_future(self.pipe(tr, w, self.down_delay))]
            try:
                done, _ = await asyncio.wait(pipes, return_when=asyncio.FIRST_EXCEPTION)
                for t in done:
                    t.result()  # re-raises a pipe's error
            finally:
                for t in pipes:
                    t.cancel()
            w.close()
            tw.close()
        except (asyncio.CancelledError, ConnectionError, OSError):
            abort_writer(w)
            abort_writer(tw)
        finally:
            self.conns.pop(task, None)
            if self.args.log_connections:
                self.log(f"{peer} closed")

    async def pipe(self, r: asyncio.StreamReader, w: asyncio.StreamWriter, delay: float) -> None:
        """Copies r to w, each chunk written `delay` seconds after it was read, in order.

        Reading and writing are two tasks joined by a queue, even without delay (a single
        read-write-drain loop was several times slower on loopback), and the writer writes all
        the chunks that are due at once."""
        queue: asyncio.Queue = asyncio.Queue()
        budget = ByteBudget(self.args.max_inflight)
        loop = asyncio.get_running_loop()

        async def reader() -> None:
            while True:
                data = await r.read(CHUNK)
                if data:
                    await budget.acquire(len(data))
                # Stamp after the budget wait: a chunk is "received" when the proxy takes it.
                queue.put_nowait((loop.time() + delay, data))
                if not data:
                    return

        async def writer() -> None:
            pending = None  # an item taken from the queue but not due yet
            while True:
                due, data = pending or await queue.get()
                pending = None
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                # Write every chunk that is due in one go (up to WRITE_BATCH bytes), then drain.
                batch, n, eof = [], 0, False
                while True:
                    if not data:
                        eof = True
                        break
                    batch.append(data)
                    n += len(data)
                    if n >= WRITE_BATCH or queue.empty():
                        break
                    nxt = queue.get_nowait()
                    if nxt[0] > loop.time():
                        pending = nxt
                        break
                    due, data = nxt
                if batch:
                    w.writelines(batch)
                    await w.drain()
                    await budget.release(n)
                if eof:
                    if w.can_write_eof():
                        w.write_eof()
                    return

        rt = asyncio.ensure_future(reader())
        wt = asyncio.ensure_future(writer())
        try:
            await asyncio.gather(rt, wt)
        finally:
            rt.cancel()
            wt.cancel()

    # ---- main

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        loop.add_signal_handler(signal.SIGUSR1,
                                lambda: asyncio.ensure_future(self.set_partitioned(self.all_mappings())))
        loop.add_signal_handler(signal.SIGUSR2, lambda: asyncio.ensure_future(self.set_partitioned(set())))
        for i in range(len(self.mappings)):
            await self.listen(i)
        lines = []
        for (lh, lp), (_, (th, tp)) in zip(self.bound, self.mappings):
            lines.append(f"{fmt_hostport(lh, lp)} {fmt_hostport(th, tp)}")
            self.log(f"{fmt_hostport(lh, lp)} -> {fmt_hostport(th, tp)}, delay up "
                     f"{self.up_delay * 1000:g} ms, down {self.down_delay * 1000:g} ms")
        poller = None
        if self.args.control_file:
            want = self.read_control_file()
            if want:
                await self.set_partitioned(want)
            poller = asyncio.ensure_future(self.poll_control())
        if self.args.ready_file:
            tmp = self.args.ready_file + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            os.replace(tmp, self.args.ready_file)
        await self.stop.wait()
        if poller:
            poller.cancel()
        await self.close_listeners()
        for t in list(self.conns) + list(self.holes):
            t.cancel()
        await asyncio.sleep(0)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        description="TCP proxy with a one-way delay per direction and a partition switch.",
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mappings", nargs="+", metavar="LISTEN=TARGET")
    p.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay, both directions")
    p.add_argument("--up-delay-ms", type=float, help="delay client -> target (overrides --delay-ms)")
    p.add_argument("--down-delay-ms", type=float, help="delay target -> client (overrides --delay-ms)")
    p.add_argument("--max-inflight", type=int, default=64 << 20,
                   help="bytes in flight per direction and connection (default 64 MiB)")
    p.add_argument("--control-file", help='"partitioned [PORT...]" partitions (all, or those listen ports)')
    p.add_argument("--poll-ms", type=float, default=50.0, help="control file poll interval")
    p.add_argument("--partition-mode", choices=["blackhole", "refuse"], default="blackhole")
    p.add_argument("--ready-file", help="written once listening: 'LISTEN TARGET' per mapping")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--log-connections", action="store_true")
    args = p.parse_args(argv)
    for d in (args.delay_ms, args.up_delay_ms, args.down_delay_ms):
        if d is not None and d < 0:
            p.error("delays must be >= 0")
    try:
        proxy = Proxy(args)
    except ValueError as e:
        p.error(str(e))
    try:
        asyncio.run(proxy.run())
    except OSError as e:
        print(f"netproxy: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
