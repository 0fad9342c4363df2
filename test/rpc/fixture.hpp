#pragma once
// In-process RPC nodes on loopback, all on one io_context run by the test thread, and a raw
// peer that speaks the link protocol by hand (to misbehave).

#include <garage/rpc/detail/frame.hpp>
#include <garage/rpc/detail/link.hpp>
#include <garage/rpc/network.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace garage::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;

/// A 32-byte secret made of one repeated character.
inline std::string test_secret(char c = 's')
{
    return std::string(32, c);
}

/// Several rpc::network objects sharing one io_context.
class rpc_cluster {
public:
    net::io_context io;

    /// A new node with a fresh key, listening on 127.0.0.1 (any port).
    rpc::network& add(std::string secret = test_secret(), rpc::network_options opts = {})
    {
        auto key = rpc::node_key::generate();
        REQUIRE(key);
        nodes_.push_back(std::make_unique<rpc::network>(io.get_executor(), *key, std::move(secret), opts));
        auto ep = nodes_.back()->listen(tcp::endpoint(net::ip::address_v4::loopback(), 0));
        REQUIRE(ep);
        endpoints_.push_back(*ep);
        return *nodes_.back();
    }

    /// Where node `n` listens.
    tcp::endpoint endpoint_of(rpc::network const& n) const
    {
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (nodes_[i].get() == &n) {
                return endpoints_[i];
            }
        }
        FAIL("unknown node");
        return {};
    }

    /** Runs `body()` to completion, then stops every node and drains the io_context.
        `body` must outlive the call (it is a named lambda in the test). */
    template <class Body>
    void run(Body& body, std::chrono::seconds limit = std::chrono::seconds(60), int threads = 1)
    {
        std::exception_ptr failure;
        std::atomic<bool> done = false;
        net::co_spawn(io, body(), [&](std::exception_ptr e) {
            failure = e;
            done = true;
            for (auto& n : nodes_) {
                n->stop();
            }
        });
        std::vector<std::thread> extra;
        for (int i = 1; i < threads; ++i) {
            extra.emplace_back([&] { io.run_for(limit); });
        }
        io.run_for(limit);
        for (auto& t : extra) {
            t.join();
        }
        if (!done) {
            for (auto& n : nodes_) {
                n->stop();
            }
            io.run_for(std::chrono::seconds(5));
        }
        REQUIRE(done);
        if (failure) {
            std::rethrow_exception(failure);
        }
    }

private:
    std::vector<std::unique_ptr<rpc::network>> nodes_;
    std::vector<tcp::endpoint> endpoints_;
};

/// Waits until `pred()` holds, checking every millisecond; false after `limit`.
inline net::awaitable<bool> eventually(std::function<bool()> pred,
                                       std::chrono::milliseconds limit = std::chrono::milliseconds(5000))
{
    auto const deadline = std::chrono::steady_clock::now() + limit;
    net::steady_timer t(co_await net::this_coro::executor);
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) {
            co_return false;
        }
        t.expires_after(std::chrono::milliseconds(1));
        co_await t.async_wait(net::as_tuple(net::use_awaitable));
    }
    co_return true;
}

/// A peer driven by hand: TLS with its own key, then whatever the test writes.
struct raw_peer {
    rpc::node_key key;
    std::shared_ptr<net::ssl::context> tls;
    std::unique_ptr<rpc::detail::tls_stream> stream;

    explicit raw_peer(net::any_io_executor ex)
        : key(*rpc::node_key::generate()), tls(*rpc::detail::make_tls_context(key)),
          stream(std::make_unique<rpc::detail::tls_stream>(tcp::socket(ex), *tls))
    {
    }

    /// TCP connect, then the full handshake with `secret`.
    net::awaitable<util::result<util::node_id>> connect(tcp::endpoint ep, std::string secret)
    {
        auto [ec] = co_await stream->lowest_layer().async_connect(ep, net::as_tuple(net::use_awaitable));
        if (ec) {
            co_return util::failure(ec);
        }
        co_return co_await rpc::detail::authenticate(*stream, rpc::detail::link_role::client, key.id(),
                                                     secret, std::nullopt);
    }

    /// One frame header and payload, as raw bytes.
    static std::string frame(std::uint32_t id, rpc::detail::frame_kind kind, std::uint8_t flags,
                             std::uint32_t length, std::string_view payload)
    {
        std::string out(rpc::detail::frame_header_size, '\0');
        rpc::detail::encode_frame_header({id, kind, flags, 0x40, length},
                                         reinterpret_cast<unsigned char*>(out.data()));
        out.append(payload);
        return out;
    }

    /// A complete request frame for `path` with an empty message.
    static std::string request(std::uint32_t id, std::string_view path)
    {
        std::string payload;
        payload.push_back(static_cast<char>(path.size()));
        payload.append(path);
        rpc::detail::put_u32(payload, 0);
        rpc::detail::put_u32(payload, 0);
        return frame(id, rpc::detail::frame_kind::request, rpc::detail::frame_final,
                     static_cast<std::uint32_t>(payload.size()), payload);
    }

    net::awaitable<util::error_code> write(std::string bytes)
    {
        auto [ec, n] =
            co_await net::async_write(*stream, net::buffer(bytes), net::as_tuple(net::use_awaitable));
        co_return ec;
    }

    /// Reads until the peer closes (or `limit` bytes); returns what was read.
    net::awaitable<std::string> read_until_closed(std::size_t limit = 1 << 20)
    {
        std::string out;
        char buf[4096];
        for (;;) {
            auto [ec, n] =
                co_await stream->async_read_some(net::buffer(buf), net::as_tuple(net::use_awaitable));
            out.append(buf, n);
            if (ec || out.size() >= limit) {
                co_return out;
            }
        }
    }
};

} // namespace garage::test
