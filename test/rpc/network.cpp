// Test that header file is self-contained.
#include <garage/rpc/network.hpp>

#include <test/rpc/fixture.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <catch2/catch.hpp>

#include <random>

namespace {

namespace rpc = garage::rpc;
namespace util = garage::util;
namespace net = boost::asio;
using garage::test::eventually;
using garage::test::raw_peer;
using garage::test::rpc_cluster;
using garage::test::test_secret;
using tcp = net::ip::tcp;
using awaitable_result = net::awaitable<util::result<rpc::raw_message>>;

rpc::raw_message text(std::string s)
{
    rpc::raw_message m;
    m.message = std::move(s);
    return m;
}

/// An echo endpoint that counts its calls.
void serve_echo(rpc::network& n, int& calls)
{
    n.add_handler("test/echo", [&calls](util::node_id, rpc::raw_message m) -> awaitable_result {
        ++calls;
        co_return m;
    });
}

TEST_CASE("two nodes with the same secret connect, and either side calls the other on the one link",
          "[rpc][network]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    int a_calls = 0;
    int b_calls = 0;
    serve_echo(a, a_calls);
    serve_echo(b, b_calls);
    std::vector<rpc::link_event> b_events;
    b.on_link_event([&](rpc::link_event const& e) { b_events.push_back(e); });

    auto body = [&]() -> net::awaitable<void> {
        auto peer = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(peer);
        CHECK(*peer == b.id());
        CHECK(a.is_connected(b.id()));
        auto const ok1 = co_await eventually([&] { return b.is_connected(a.id()); });
        REQUIRE(ok1);

        auto r = co_await a.call(b.id(), "test/echo", text("from a"));
        REQUIRE(r);
        CHECK(r->message == "from a");
        // b answers back on the link a opened: b never connected to a's listener.
        auto back = co_await b.call(a.id(), "test/echo", text("from b"));
        REQUIRE(back);
        CHECK(back->message == "from b");
        CHECK(a_calls == 1);
        CHECK(b_calls == 1);
        CHECK(a.connected_peers() == std::vector<util::node_id>{b.id()});
        CHECK(b.stats().links_accepted == 1);
        CHECK(a.stats().links_accepted == 0);
        REQUIRE(b_events.size() == 1);
        CHECK(b_events[0].up);
        CHECK(b_events[0].peer == a.id());
        CHECK_FALSE(b_events[0].outgoing);

        // Connecting again to a connected node reuses the link.
        auto again = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(again);
        CHECK(b.stats().links_accepted == 1);
    };
    c.run(body);
}

TEST_CASE("a node with another rpc_secret is refused in both directions and no handler runs",
          "[rpc][network]")
{
    rpc_cluster c;
    auto& a = c.add(test_secret('a'));
    auto& b = c.add(test_secret('b'));
    int a_calls = 0;
    int b_calls = 0;
    serve_echo(a, a_calls);
    serve_echo(b, b_calls);

    auto body = [&]() -> net::awaitable<void> {
        auto ab = co_await a.connect(c.endpoint_of(b));
        REQUIRE_FALSE(ab);
        CHECK(ab.error().code == rpc::error::auth_failed);
        auto ba = co_await b.connect(c.endpoint_of(a), a.id());
        REQUIRE_FALSE(ba);
        CHECK(ba.error().code == rpc::error::auth_failed);
        auto const ok2 =
            co_await eventually([&] { return a.stats().links_refused == 1 && b.stats().links_refused == 1; });
        REQUIRE(ok2);
        CHECK(a.connected_peers().empty());
        CHECK(b.connected_peers().empty());
        auto r = co_await a.call(b.id(), "test/echo", text("x"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == rpc::error::not_connected);
        CHECK(a_calls == 0);
        CHECK(b_calls == 0);
        CHECK(a.stats().requests_handled == 0);
        CHECK(b.stats().requests_handled == 0);
    };
    c.run(body);
}

TEST_CASE("a peer that ignores the refusal and sends a request anyway never reaches a handler",
          "[rpc][network]")
{
    rpc_cluster c;
    auto& b = c.add(test_secret('b'));
    int calls = 0;
    serve_echo(b, calls);

    auto body = [&]() -> net::awaitable<void> {
        raw_peer p(c.io.get_executor());
        auto [ec] = co_await p.stream->lowest_layer().async_connect(c.endpoint_of(b),
                                                                    net::as_tuple(net::use_awaitable));
        REQUIRE_FALSE(ec);
        auto [hs] = co_await p.stream->async_handshake(net::ssl::stream_base::client,
                                                       net::as_tuple(net::use_awaitable));
        REQUIRE_FALSE(hs);
        // A proof of the right shape but computed with the wrong secret, then a request.
        auto proof = rpc::detail::link_proof(*p.stream, rpc::detail::link_role::client, test_secret('x'),
                                             p.key.id(), b.id());
        REQUIRE(proof);
        co_await p.write(*proof + raw_peer::request(1, "test/echo"));
        auto got = co_await p.read_until_closed();
        // The node sent its own proof (40 bytes) and closed: no response frame.
        CHECK(got.size() <= rpc::detail::link_proof_size);
        auto const ok3 = co_await eventually([&] { return b.stats().links_refused == 1; });
        REQUIRE(ok3);
        CHECK(calls == 0);
        CHECK(b.stats().requests_handled == 0);
        CHECK(b.connected_peers().empty());
    };
    c.run(body);
}

TEST_CASE("connecting with an expected node id refuses another node", "[rpc][network]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    auto& other = c.add();

    auto body = [&]() -> net::awaitable<void> {
        auto r = co_await a.connect(c.endpoint_of(b), other.id());
        REQUIRE_FALSE(r);
        CHECK(r.error().code == rpc::error::wrong_peer);
        CHECK_FALSE(a.is_connected(b.id()));
        CHECK_FALSE(a.is_connected(other.id()));
    };
    c.run(body);
}

TEST_CASE("a stranger speaking garbage, or nothing, is dropped and the node keeps serving others",
          "[rpc][network]")
{
    rpc_cluster c;
    rpc::network_options opts;
    opts.handshake_timeout = std::chrono::milliseconds(200);
    auto& b = c.add(test_secret(), opts);
    auto& a = c.add();
    int calls = 0;
    serve_echo(b, calls);

    auto body = [&]() -> net::awaitable<void> {
        tcp::socket garbage(c.io);
        co_await garbage.async_connect(c.endpoint_of(b), net::use_awaitable);
        std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        junk.append(4096, '\xff');
        co_await net::async_write(garbage, net::buffer(junk), net::as_tuple(net::use_awaitable));

        tcp::socket silent(c.io);
        co_await silent.async_connect(c.endpoint_of(b), net::use_awaitable);

        char buf[512];
        for (auto* s : {&garbage, &silent}) {
            for (;;) { // drain whatever the TLS layer answers, until the node closes
                auto [ec, n] =
                    co_await s->async_read_some(net::buffer(buf), net::as_tuple(net::use_awaitable));
                if (ec) {
                    break;
                }
            }
        }
        auto const ok4 = co_await eventually([&] { return b.stats().links_refused == 2; });
        REQUIRE(ok4);

        auto const ok5 = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(ok5);
        auto r = co_await a.call(b.id(), "test/echo", text("still here"));
        REQUIRE(r);
        CHECK(r->message == "still here");
        CHECK(calls == 1);
    };
    c.run(body);
}

TEST_CASE("a truncated frame closes the link and the node keeps serving others", "[rpc][network]")
{
    rpc_cluster c;
    auto& b = c.add();
    auto& a = c.add();
    int calls = 0;
    serve_echo(b, calls);

    auto body = [&]() -> net::awaitable<void> {
        for (int variant = 0; variant < 2; ++variant) {
            raw_peer p(c.io.get_executor());
            auto id = co_await p.connect(c.endpoint_of(b), test_secret());
            REQUIRE(id);
            auto const ok6 = co_await eventually([&] { return b.is_connected(p.key.id()); });
            REQUIRE(ok6);
            auto whole = raw_peer::request(1, "test/echo");
            // half a header, or a header announcing more bytes than follow
            auto part = variant == 0 ? whole.substr(0, 5) : whole.substr(0, whole.size() - 3);
            co_await p.write(part);
            util::error_code ignored;
            p.stream->lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
            auto const ok7 = co_await eventually([&] { return !b.is_connected(p.key.id()); });
            REQUIRE(ok7);
        }
        CHECK(calls == 0);
        auto const ok8 = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(ok8);
        auto r = co_await a.call(b.id(), "test/echo", text("ok"));
        REQUIRE(r);
        CHECK(calls == 1);
    };
    c.run(body);
}

TEST_CASE("an oversized frame closes the link with a clear error", "[rpc][network]")
{
    rpc_cluster c;
    auto& b = c.add();
    auto& a = c.add();
    int calls = 0;
    serve_echo(b, calls);

    auto body = [&]() -> net::awaitable<void> {
        raw_peer p(c.io.get_executor());
        auto const ok9 = co_await p.connect(c.endpoint_of(b), test_secret());
        REQUIRE(ok9);
        co_await p.write(raw_peer::frame(7, rpc::detail::frame_kind::request, 0, 1u << 30, "abc"));
        auto got = co_await p.read_until_closed();
        REQUIRE(got.size() >= rpc::detail::frame_header_size);
        auto h = rpc::detail::decode_frame_header(reinterpret_cast<unsigned char const*>(got.data()));
        REQUIRE(h);
        CHECK(h->kind == rpc::detail::frame_kind::goaway);
        REQUIRE(got.size() == rpc::detail::frame_header_size + h->length);
        auto const reason = got.substr(rpc::detail::frame_header_size + 4);
        CHECK(reason.find("frame of 1073741824 bytes exceeds the limit of 65536") != std::string::npos);
        CHECK(b.stats().links_closed_on_error == 1);
        CHECK(calls == 0);

        auto const ok10 = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(ok10);
        auto const ok11 = co_await a.call(b.id(), "test/echo", text("ok"));
        CHECK(ok11);
    };
    c.run(body);
}

TEST_CASE("a message larger than max_message_size closes the link; the caller gets an error",
          "[rpc][network]")
{
    rpc_cluster c;
    rpc::network_options opts;
    opts.max_message_size = 1 << 20;
    auto& b = c.add(test_secret(), opts);
    auto& a = c.add();
    int calls = 0;
    serve_echo(b, calls);

    auto body = [&]() -> net::awaitable<void> {
        auto const ok12 = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(ok12);
        auto big = text("m");
        big.body.assign(2 << 20, 'x');
        auto r = co_await a.call(b.id(), "test/echo", std::move(big));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == rpc::error::connection_closed);
        CHECK(r.error().message.find("exceeds the limit") != std::string::npos);
        CHECK(calls == 0);
    };
    c.run(body);
}

TEST_CASE("many concurrent requests share one connection", "[rpc][network]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    constexpr int n = 40;
    int arrived = 0;
    net::steady_timer gate(c.io, net::steady_timer::time_point::max());
    // Every handler waits until all n requests are in: this only finishes if they run concurrently.
    b.add_handler("test/gate", [&](util::node_id, rpc::raw_message m) -> awaitable_result {
        if (++arrived == n) {
            gate.cancel();
        } else {
            co_await gate.async_wait(net::as_tuple(net::use_awaitable));
        }
        m.message += "!";
        co_return m;
    });

    auto body = [&]() -> net::awaitable<void> {
        auto const ok13 = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(ok13);
        std::vector<std::optional<util::result<rpc::raw_message>>> results(n);
        for (int i = 0; i < n; ++i) {
            net::co_spawn(
                c.io,
                [](rpc::network& a, util::node_id peer, int i) -> awaitable_result {
                    rpc::call_options o;
                    o.timeout = std::chrono::milliseconds(10'000);
                    co_return co_await a.call(peer, "test/gate", text("r" + std::to_string(i)), o);
                }(a, b.id(), i),
                [&results, i](std::exception_ptr, util::result<rpc::raw_message> r) {
                    results[i] = std::move(r);
                });
        }
        auto const all_done = [&] {
            return std::all_of(results.begin(), results.end(), [](auto const& r) { return r.has_value(); });
        };
        auto const ok14 = co_await eventually(all_done, std::chrono::milliseconds(15'000));
        REQUIRE(ok14);
        for (int i = 0; i < n; ++i) {
            REQUIRE(*results[i]);
            CHECK((*results[i])->message == "r" + std::to_string(i) + "!");
        }
        CHECK(arrived == n);
        CHECK(b.stats().links_accepted == 1);
        CHECK(a.connected_peers().size() == 1);
    };
    c.run(body);
}

TEST_CASE("small frames waiting together go out in one write; bodies of every size stay intact",
          "[rpc][network]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    b.add_handler("test/echo", [](util::node_id, rpc::raw_message m) -> awaitable_result {
        m.message += "!";
        co_return m;
    });
    // Sizes around the coalescing bounds (8 KiB frames, 16 KiB per write) and the 64 KiB frame.
    std::vector<std::size_t> const sizes{0,
                                         1,
                                         100,
                                         4096,
                                         8 * 1024 - 40,
                                         8 * 1024,
                                         8 * 1024 + 1,
                                         16 * 1024,
                                         64 * 1024 - 20,
                                         64 * 1024 + 5,
                                         300 * 1024};
    constexpr int rounds = 6;
    auto body = [&]() -> net::awaitable<void> {
        auto const ok = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(ok);
        auto const before = a.stats();
        std::size_t const n = sizes.size() * rounds;
        std::vector<std::optional<util::result<rpc::raw_message>>> results(n);
        std::vector<std::string> bodies(n);
        for (std::size_t i = 0; i < n; ++i) {
            std::mt19937_64 rng(i);
            bodies[i].resize(sizes[i % sizes.size()]);
            for (auto& ch : bodies[i]) {
                ch = static_cast<char>(rng());
            }
            rpc::raw_message m = text("m" + std::to_string(i));
            m.body = bodies[i];
            net::co_spawn(
                c.io,
                [](rpc::network& a, util::node_id peer, rpc::raw_message m) -> awaitable_result {
                    rpc::call_options o;
                    o.timeout = std::chrono::milliseconds(10'000);
                    co_return co_await a.call(peer, "test/echo", std::move(m), o);
                }(a, b.id(), std::move(m)),
                [&results, i](std::exception_ptr, util::result<rpc::raw_message> r) {
                    results[i] = std::move(r);
                });
        }
        auto const all_done = [&] {
            return std::all_of(results.begin(), results.end(), [](auto const& r) { return r.has_value(); });
        };
        auto const done = co_await eventually(all_done, std::chrono::milliseconds(15'000));
        REQUIRE(done);
        for (std::size_t i = 0; i < n; ++i) {
            INFO("request " << i << ", body of " << bodies[i].size() << " bytes");
            REQUIRE(*results[i]);
            CHECK((*results[i])->message == "m" + std::to_string(i) + "!");
            CHECK((*results[i])->body == bodies[i]);
        }
        // The requests were all queued before the writer ran: the small ones shared writes.
        auto const after = a.stats();
        auto const frames = after.frames_sent - before.frames_sent;
        auto const writes = after.writes - before.writes;
        CHECK(frames >= n);
        CHECK(writes < frames);
    };
    c.run(body);
}

TEST_CASE("a high-priority ping overtakes a large background body", "[rpc][network]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    std::vector<std::string> handled;
    b.add_handler("test/ping", [&](util::node_id, rpc::raw_message m) -> awaitable_result {
        handled.push_back("ping");
        co_return m;
    });
    b.add_handler("test/sink", [&](util::node_id, rpc::raw_message m) -> awaitable_result {
        handled.push_back("sink");
        rpc::raw_message r;
        r.message = std::to_string(m.body.size());
        co_return r;
    });
    std::vector<std::string> completed;

    auto body = [&]() -> net::awaitable<void> {
        auto const ok15 = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(ok15);
        auto big = text("big");
        big.body.assign(32 << 20, 'b');
        net::co_spawn(
            c.io,
            [](rpc::network& a, util::node_id peer, rpc::raw_message m) -> awaitable_result {
                co_return co_await a.call(peer, "test/sink", std::move(m), {rpc::priority::background, {}});
            }(a, b.id(), std::move(big)),
            [&](std::exception_ptr, util::result<rpc::raw_message> r) {
                CHECK(r);
                CHECK((r ? r->message : "") == std::to_string(32 << 20));
                completed.push_back("sink");
            });
        // Let the writer start on the big body.
        for (int i = 0; i < 20; ++i) {
            co_await net::post(c.io, net::use_awaitable);
        }
        auto ping = co_await a.call(b.id(), "test/ping", text("p"), {rpc::priority::high, {}});
        REQUIRE(ping);
        completed.push_back("ping");
        REQUIRE(
            co_await eventually([&] { return completed.size() == 2; }, std::chrono::milliseconds(30'000)));
        CHECK(handled == std::vector<std::string>{"ping", "sink"});
        CHECK(completed == std::vector<std::string>{"ping", "sink"});
    };
    c.run(body);
}

TEST_CASE("a timed-out or cancelled call cancels the remote handler", "[rpc][network]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    int started = 0;
    int cancelled = 0;
    b.add_handler("test/hang", [&](util::node_id, rpc::raw_message m) -> awaitable_result {
        ++started;
        net::steady_timer t(co_await net::this_coro::executor, std::chrono::seconds(60));
        auto [ec] = co_await t.async_wait(net::as_tuple(net::use_awaitable));
        if (ec == net::error::operation_aborted) {
            ++cancelled;
        }
        co_return m;
    });
    int echoes = 0;
    serve_echo(b, echoes);

    auto body = [&]() -> net::awaitable<void> {
        auto const ok16 = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(ok16);

        rpc::call_options o;
        o.timeout = std::chrono::milliseconds(100);
        auto r = co_await a.call(b.id(), "test/hang", text("t"), o);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == rpc::error::timeout);
        auto const ok17 = co_await eventually([&] { return cancelled == 1; });
        REQUIRE(ok17);

        net::cancellation_signal sig;
        std::optional<util::result<rpc::raw_message>> res;
        net::co_spawn(
            c.io,
            [](rpc::network& a, util::node_id peer) -> awaitable_result {
                co_return co_await a.call(peer, "test/hang", text("c"));
            }(a, b.id()),
            net::bind_cancellation_slot(
                sig.slot(),
                [&](std::exception_ptr, util::result<rpc::raw_message> r) { res = std::move(r); }));
        auto const ok18 = co_await eventually([&] { return started == 2; });
        REQUIRE(ok18);
        sig.emit(net::cancellation_type::terminal);
        auto const ok19 = co_await eventually([&] { return res.has_value(); });
        REQUIRE(ok19);
        REQUIRE_FALSE(*res);
        CHECK(res->error().code == rpc::error::cancelled);
        auto const ok20 = co_await eventually([&] { return cancelled == 2; });
        REQUIRE(ok20);

        // The link is still up.
        auto const ok21 = co_await a.call(b.id(), "test/echo", text("after"));
        CHECK(ok21);
        CHECK(echoes == 1);
    };
    c.run(body);
}

TEST_CASE("an 8 MiB body round-trips intact in both directions", "[rpc][network]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    b.add_handler("test/reverse", [](util::node_id, rpc::raw_message m) -> awaitable_result {
        std::reverse(m.body.begin(), m.body.end());
        co_return m;
    });

    auto body = [&]() -> net::awaitable<void> {
        auto const ok22 = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(ok22);
        std::mt19937_64 rng(42);
        auto req = text("header");
        req.version = 3;
        req.body.resize(8 << 20);
        for (auto& ch : req.body) {
            ch = static_cast<char>(rng());
        }
        auto expected = req.body;
        std::reverse(expected.begin(), expected.end());
        auto r = co_await a.call(b.id(), "test/reverse", req);
        REQUIRE(r);
        CHECK(r->message == "header");
        CHECK(r->version == 3);
        CHECK(r->body.size() == expected.size());
        CHECK(r->body == expected);
    };
    c.run(body);
}

TEST_CASE("an unknown path gets an error response, the link stays up, and self-calls run locally",
          "[rpc][network]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    int a_calls = 0;
    int b_calls = 0;
    serve_echo(a, a_calls);
    serve_echo(b, b_calls);
    b.add_handler("test/fail", [](util::node_id, rpc::raw_message) -> awaitable_result {
        co_return util::failure(util::error::config_missing_key, "no such key: k");
    });
    b.add_handler("test/throw", [](util::node_id, rpc::raw_message) -> awaitable_result {
        throw std::runtime_error("boom");
        co_return rpc::raw_message{};
    });

    auto body = [&]() -> net::awaitable<void> {
        auto const ok23 = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(ok23);
        auto r = co_await a.call(b.id(), "test/nothing", text("x"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == rpc::error::no_such_endpoint);
        CHECK(r.error().message.find("test/nothing") != std::string::npos);

        auto f = co_await a.call(b.id(), "test/fail", text("x"));
        REQUIRE_FALSE(f);
        CHECK(f.error().code == util::error::config_missing_key); // the remote code, category and all
        CHECK(f.error().message == "no such key: k");

        auto t = co_await a.call(b.id(), "test/throw", text("x"));
        REQUIRE_FALSE(t);
        CHECK(t.error().code == rpc::error::handler_failed);
        CHECK(t.error().message == "boom");

        CHECK(a.is_connected(b.id()));
        auto const ok24 = co_await a.call(b.id(), "test/echo", text("x"));
        CHECK(ok24);
        CHECK(b_calls == 1);

        auto self = co_await a.call(a.id(), "test/echo", text("me"));
        REQUIRE(self);
        CHECK(self->message == "me");
        CHECK(a_calls == 1);

        b.remove_handler("test/echo");
        auto gone = co_await a.call(b.id(), "test/echo", text("x"));
        REQUIRE_FALSE(gone);
        CHECK(gone.error().code == rpc::error::no_such_endpoint);
    };
    c.run(body);
}

TEST_CASE("closing a link fails the calls pending on it", "[rpc][network]")
{
    rpc_cluster c;
    auto& a = c.add();
    auto& b = c.add();
    int started = 0;
    b.add_handler("test/hang", [&](util::node_id, rpc::raw_message m) -> awaitable_result {
        ++started;
        net::steady_timer t(co_await net::this_coro::executor, std::chrono::seconds(60));
        co_await t.async_wait(net::as_tuple(net::use_awaitable));
        co_return m;
    });
    std::vector<rpc::link_event> a_events;
    a.on_link_event([&](rpc::link_event const& e) { a_events.push_back(e); });

    auto body = [&]() -> net::awaitable<void> {
        auto const ok25 = co_await a.connect(c.endpoint_of(b), b.id());
        REQUIRE(ok25);
        std::optional<util::result<rpc::raw_message>> res;
        net::co_spawn(
            c.io,
            [](rpc::network& a, util::node_id peer) -> awaitable_result {
                co_return co_await a.call(peer, "test/hang", text("c"));
            }(a, b.id()),
            [&](std::exception_ptr, util::result<rpc::raw_message> r) { res = std::move(r); });
        auto const ok26 = co_await eventually([&] { return started == 1; });
        REQUIRE(ok26);
        b.disconnect(a.id());
        auto const ok27 = co_await eventually([&] { return res.has_value(); });
        REQUIRE(ok27);
        REQUIRE_FALSE(*res);
        CHECK(res->error().code == rpc::error::connection_closed);
        CHECK(res->error().message.find("disconnected") != std::string::npos);
        CHECK_FALSE(a.is_connected(b.id()));
        REQUIRE(a_events.size() == 2);
        CHECK(a_events[0].up);
        CHECK_FALSE(a_events[1].up);
        CHECK(a_events[1].outgoing);
    };
    c.run(body);
}

} // namespace

namespace {

TEST_CASE("a full mesh of three nodes on two threads answers hundreds of mixed calls correctly",
          "[rpc][network]")
{
    rpc_cluster c;
    std::vector<rpc::network*> nodes{&c.add(), &c.add(), &c.add()};
    for (auto* n : nodes) {
        n->add_handler("test/xor", [](util::node_id, rpc::raw_message m) -> awaitable_result {
            for (auto& ch : m.body) {
                ch = static_cast<char>(ch ^ 0x5a);
            }
            co_return m;
        });
    }
    constexpr int per_pair = 40;
    struct slot {
        std::string sent;
        std::optional<util::result<rpc::raw_message>> got;
    };
    std::vector<slot> slots(3 * 2 * per_pair);
    std::atomic<int> finished = 0;

    auto body = [&]() -> net::awaitable<void> {
        for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 3; ++j) {
                if (i != j && !nodes[i]->is_connected(nodes[j]->id())) {
                    auto const up = co_await nodes[i]->connect(c.endpoint_of(*nodes[j]), nodes[j]->id());
                    REQUIRE(up);
                }
            }
        }
        std::mt19937 rng(7);
        int k = 0;
        for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 3; ++j) {
                if (i == j) {
                    continue;
                }
                for (int n = 0; n < per_pair; ++n, ++k) {
                    auto m = text(std::to_string(k));
                    m.body.resize(rng() % (200 * 1024));
                    for (auto& ch : m.body) {
                        ch = static_cast<char>(rng());
                    }
                    slots[k].sent = m.body;
                    rpc::priority const prios[] = {rpc::priority::high, rpc::priority::normal,
                                                   rpc::priority::background};
                    rpc::call_options const o{prios[rng() % 3], std::chrono::milliseconds(30'000)};
                    net::co_spawn(
                        c.io,
                        [](rpc::network& from, util::node_id to, rpc::raw_message m,
                           rpc::call_options o) -> awaitable_result {
                            co_return co_await from.call(to, "test/xor", std::move(m), o);
                        }(*nodes[i], nodes[j]->id(), std::move(m), o),
                        [&slots, &finished, k](std::exception_ptr, util::result<rpc::raw_message> r) {
                            slots[k].got = std::move(r);
                            finished.fetch_add(1);
                        });
                }
            }
        }
        auto const all =
            co_await eventually([&] { return finished.load() == static_cast<int>(slots.size()); },
                                std::chrono::milliseconds(50'000));
        REQUIRE(all);
        for (std::size_t s = 0; s < slots.size(); ++s) {
            REQUIRE(slots[s].got.has_value());
            REQUIRE(*slots[s].got);
            auto const& r = **slots[s].got;
            CHECK(r.message == std::to_string(s));
            std::string expected = slots[s].sent;
            for (auto& ch : expected) {
                ch = static_cast<char>(ch ^ 0x5a);
            }
            CHECK(r.body == expected);
        }
    };
    c.run(body, std::chrono::seconds(60), 2);
}

} // namespace

namespace {

TEST_CASE("a peer opening more requests than allowed on one link is cut off", "[rpc][network]")
{
    rpc_cluster c;
    rpc::network_options opts;
    opts.max_incoming_requests = 2;
    auto& b = c.add(test_secret(), opts);
    int calls = 0;
    serve_echo(b, calls);

    auto body = [&]() -> net::awaitable<void> {
        raw_peer p(c.io.get_executor());
        auto const up = co_await p.connect(c.endpoint_of(b), test_secret());
        REQUIRE(up);
        std::string frames;
        for (std::uint32_t id = 1; id <= 3; ++id) { // three unfinished requests
            frames += raw_peer::frame(id, rpc::detail::frame_kind::request, 0, 4, "abcd");
        }
        auto const ec = co_await p.write(frames);
        REQUIRE_FALSE(ec);
        auto const got = co_await p.read_until_closed();
        REQUIRE(got.size() > rpc::detail::frame_header_size + 4);
        CHECK(got.find("more than 2 requests in progress") != std::string::npos);
        CHECK(calls == 0);
        CHECK(b.stats().links_closed_on_error == 1);
    };
    c.run(body);
}

} // namespace
