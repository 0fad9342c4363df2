// Test that header file is self-contained.
#include <garage/api/http/server.hpp>

#include <garage/util/hasher.hpp>

#include <test/support/temp_dir.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <future>
#include <thread>

#include <unistd.h>

namespace {
namespace net = boost::asio;
namespace http = boost::beast::http;
using namespace garage;
using tcp = net::ip::tcp;

struct fixture;
api::http::handler route(fixture* f);

/// A server on a loopback port, its io_context run by a thread, and what its handler saw.
struct fixture {
    net::io_context ioc;
    std::promise<void> stopped;
    std::string last_body_hash;
    std::atomic<int> body_errors{0};
    api::http::server srv;
    std::thread runner;

    explicit fixture(api::http::server_options o = {}) : srv(ioc.get_executor(), route(this), std::move(o)) {}
    void start(api::http::listen_address const& a = api::http::tcp_address{"127.0.0.1", 0})
    {
        REQUIRE(srv.listen(a).has_value());
        srv.start();
        runner = std::thread([this] { ioc.run(); });
    }
    ~fixture()
    {
        std::promise<void> done;
        net::post(ioc, [&] { srv.stop([&] { done.set_value(); }); });
        done.get_future().wait_for(std::chrono::seconds(5));
        ioc.stop();
        if (runner.joinable()) {
            runner.join();
        }
    }
    tcp::socket connect()
    {
        tcp::socket s(client_ctx);
        s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), srv.port()));
        return s;
    }
    net::io_context client_ctx;
};

/// The test handler: routes by path.
net::awaitable<void> handle(api::http::exchange& ex, fixture* f)
{
    auto const target = std::string(ex.request().target());
    if (target == "/hello") {
        api::http::string_response r{http::status::ok, 11};
        r.set(http::field::content_type, "text/plain");
        r.body() = "hello " + ex.request_id();
        co_await ex.respond(std::move(r));
    } else if (target == "/upload") {
        util::sha256_hasher h;
        std::uint64_t total = 0;
        char buf[10000];
        for (;;) {
            auto n = co_await ex.read_some(std::span<char>(buf, sizeof buf));
            if (!n) {
                ++f->body_errors;
                co_return;
            }
            if (*n == 0) {
                break;
            }
            h.update(std::string_view(buf, *n));
            total += *n;
        }
        f->last_body_hash = h.finalize().to_hex();
        api::http::string_response r{http::status::ok, 11};
        r.body() = std::to_string(total);
        co_await ex.respond(std::move(r));
    } else if (target.starts_with("/stream/")) {
        auto const n = std::stoul(target.substr(8));
        api::http::response_header h;
        h.result(http::status::ok);
        h.set(http::field::content_length, std::to_string(n));
        co_await ex.write_header(std::move(h));
        std::string chunk(4096, 'x');
        for (std::size_t sent = 0; sent < n; sent += chunk.size()) {
            auto const len = std::min(chunk.size(), n - sent);
            auto r = co_await ex.write_body(std::string_view(chunk).substr(0, len), sent + len == n);
            if (!r) {
                co_return;
            }
        }
    } else if (target == "/chunked") {
        api::http::response_header h;
        h.result(http::status::ok);
        h.set(http::field::transfer_encoding, "chunked");
        co_await ex.write_header(std::move(h));
        co_await ex.write_body("part one,", false);
        co_await ex.write_body("part two", true);
    } else if (target == "/silent") {
        co_return; // no response: the server answers 500
    } else if (target == "/throws") {
        throw std::runtime_error("handler bug");
    } else {
        api::http::string_response r{http::status::not_found, 11};
        r.body() = "no such page";
        co_await ex.respond(std::move(r));
    }
}

api::http::handler route(fixture* f)
{
    return [f](api::http::exchange& ex) -> net::awaitable<void> { return handle(ex, f); };
}

http::response<http::string_body> request(tcp::socket& s, http::verb method, std::string target,
                                          std::string body = {},
                                          std::vector<std::pair<std::string, std::string>> headers = {})
{
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    for (auto const& [k, v] : headers) {
        req.set(k, v);
    }
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(s, req);
    boost::beast::flat_buffer b;
    http::response_parser<http::string_body> p;
    p.body_limit(1ull << 30);
    p.skip(method == http::verb::head);
    http::read(s, b, p);
    return p.release();
}

TEST_CASE("http server answers requests on a kept-alive connection", "[api][http]")
{
    fixture f;
    f.start();
    auto s = f.connect();
    auto r1 = request(s, http::verb::get, "/hello");
    CHECK(r1.result() == http::status::ok);
    CHECK(r1.body().starts_with("hello "));
    CHECK(r1[http::field::server] == "garage");
    auto r2 = request(s, http::verb::get, "/nothing");
    CHECK(r2.result() == http::status::not_found);
    CHECK(r2.body() == "no such page");
    auto r3 = request(s, http::verb::get, "/hello");
    CHECK(r3.body() != r1.body()); // a new request id
    CHECK(f.srv.connections() == 1);
}

TEST_CASE("http server streams request and response bodies", "[api][http]")
{
    fixture f;
    f.start();
    auto s = f.connect();
    std::string body(5 * 1024 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) {
        body[i] = static_cast<char>(i * 7 + i / 1000);
    }
    auto r = request(s, http::verb::put, "/upload", body);
    CHECK(r.result() == http::status::ok);
    CHECK(r.body() == std::to_string(body.size()));
    CHECK(f.last_body_hash == util::sha256sum(body).to_hex());

    auto big = request(s, http::verb::get, "/stream/1000000");
    CHECK(big.body().size() == 1000000);
    CHECK(big.body() == std::string(1000000, 'x'));
    auto chunked = request(s, http::verb::get, "/chunked");
    CHECK(chunked.body() == "part one,part two");
    CHECK(chunked[http::field::transfer_encoding] == "chunked");

    // HEAD: the same headers, no body, and the connection stays usable.
    auto head = request(s, http::verb::head, "/stream/12345");
    CHECK(head[http::field::content_length] == "12345");
    CHECK(request(s, http::verb::get, "/hello").result() == http::status::ok);
}

TEST_CASE("http server sends 100-continue before reading the body", "[api][http]")
{
    fixture f;
    f.start();
    auto s = f.connect();
    std::string head = "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    net::write(s, net::buffer(head));
    std::string interim(25, '\0');
    net::read(s, net::buffer(interim));
    CHECK(interim == "HTTP/1.1 100 Continue\r\n\r\n");
    net::write(s, net::buffer(std::string("hello")));
    boost::beast::flat_buffer b;
    http::response<http::string_body> r;
    http::read(s, b, r);
    CHECK(r.body() == "5");
}

TEST_CASE("an answer given before 100-continue closes the connection instead of reading the body",
          "[api][http]")
{
    fixture f;
    f.start();
    {
        // /hello answers without reading the body: the client never got `100 Continue`, so it
        // may or may not send the body; the next bytes cannot be trusted to be a request.
        auto s = f.connect();
        std::string head =
            "PUT /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
        net::write(s, net::buffer(head));
        boost::beast::flat_buffer b;
        http::response<http::string_body> r;
        http::read(s, b, r);
        CHECK(r.result() == http::status::ok); // a final answer, not 100 Continue
        CHECK_FALSE(r.keep_alive());
        // The client's next request is not eaten as a body: the server closes instead.
        boost::system::error_code ec;
        net::write(s, net::buffer(std::string("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")), ec);
        http::response<http::string_body> r2;
        http::read(s, b, r2, ec);
        CHECK(ec);
    }
    // Without Expect, a small unread body is skipped and the connection is kept.
    auto s = f.connect();
    net::write(s,
               net::buffer(std::string("PUT /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")));
    boost::beast::flat_buffer b;
    http::response<http::string_body> r;
    http::read(s, b, r);
    CHECK(r.keep_alive());
    CHECK(request(s, http::verb::get, "/hello").result() == http::status::ok);
}

TEST_CASE("http server refuses oversized headers and malformed requests, and keeps serving", "[api][http]")
{
    api::http::server_options o;
    o.header_limit = 1024;
    fixture f(o);
    f.start();
    {
        auto s = f.connect();
        auto r = request(s, http::verb::get, "/hello", {}, {{"x-padding", std::string(4000, 'a')}});
        CHECK(r.result() == http::status::request_header_fields_too_large);
    }
    {
        auto s = f.connect();
        net::write(s, net::buffer(std::string("THIS IS NOT HTTP\r\n\r\n")));
        boost::beast::flat_buffer b;
        http::response<http::string_body> r;
        http::read(s, b, r);
        CHECK(r.result() == http::status::bad_request);
    }
    auto s = f.connect();
    CHECK(request(s, http::verb::get, "/hello").result() == http::status::ok);
}

TEST_CASE("a client that disconnects mid-upload fails the body read, and the server goes on", "[api][http]")
{
    fixture f;
    f.start();
    {
        auto s = f.connect();
        std::string head = "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
        net::write(s, net::buffer(head + std::string(5000, 'a')));
        s.close();
    }
    for (int i = 0; i < 200 && f.body_errors == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(f.body_errors == 1);
    auto s = f.connect();
    CHECK(request(s, http::verb::put, "/upload", "abc").body() == "3");
}

TEST_CASE("a handler that does not answer gets a 500, one that throws too", "[api][http]")
{
    fixture f;
    f.start();
    {
        auto s = f.connect();
        CHECK(request(s, http::verb::get, "/silent").result() == http::status::internal_server_error);
    }
    auto s = f.connect();
    CHECK(request(s, http::verb::get, "/throws").result() == http::status::internal_server_error);
}

TEST_CASE("http server listens on a Unix socket", "[api][http]")
{
    // Bazel's test directories are too deep for a socket path (108 bytes at most).
    auto const path =
        std::filesystem::path("/tmp") / ("garage-http-test-" + std::to_string(::getpid()) + ".sock");
    fixture f;
    CHECK_FALSE(f.srv.listen(std::filesystem::path("/tmp/" + std::string(200, 'x'))).has_value());
    f.start(path);
    net::local::stream_protocol::socket s(f.client_ctx);
    s.connect(net::local::stream_protocol::endpoint(path.string()));
    http::request<http::string_body> req{http::verb::get, "/hello", 11};
    req.set(http::field::host, "localhost");
    http::write(s, req);
    boost::beast::flat_buffer b;
    http::response<http::string_body> r;
    http::read(s, b, r);
    CHECK(r.result() == http::status::ok);
    std::filesystem::remove(path);
}

TEST_CASE("a server that fails to bind says where", "[api][http]")
{
    fixture f;
    REQUIRE(f.srv.listen(api::http::tcp_address{"127.0.0.1", 0}).has_value());
    net::io_context other;
    api::http::server second(other.get_executor(), route(&f));
    auto r = second.listen(api::http::tcp_address{"127.0.0.1", f.srv.port()});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == api::http::error::listen_failed);
    CHECK(r.error().message.find("127.0.0.1:" + std::to_string(f.srv.port())) != std::string::npos);
    CHECK_FALSE(f.srv.listen(api::http::tcp_address{"not an ip", 80}).has_value());
    f.srv.start();
    f.runner = std::thread([&f] { f.ioc.run(); });
}

TEST_CASE("stopping the server closes idle connections and lets requests in flight finish", "[api][http]")
{
    fixture f;
    f.start();
    auto idle = f.connect();
    CHECK(request(idle, http::verb::get, "/hello").result() == http::status::ok);
    auto busy = f.connect();
    std::string head = "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc";
    net::write(busy, net::buffer(head));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::promise<void> done;
    net::post(f.ioc, [&] { f.srv.stop([&] { done.set_value(); }); });
    // The idle connection is closed by the server.
    char c;
    boost::system::error_code ec;
    idle.read_some(net::buffer(&c, 1), ec);
    CHECK(ec);
    // The request in flight completes, then its connection closes.
    net::write(busy, net::buffer(std::string("def")));
    boost::beast::flat_buffer b;
    http::response<http::string_body> r;
    http::read(busy, b, r);
    CHECK(r.body() == "6");
    CHECK_FALSE(r.keep_alive());
    CHECK(done.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    CHECK(f.srv.connections() == 0);
}
} // namespace
