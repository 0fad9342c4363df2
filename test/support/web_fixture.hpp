#pragma once

/**
 * @file
 * An in-process website endpoint for tests: the S3 fixture (to create buckets, upload objects and
 * set website configurations through the S3 API) plus a web endpoint over the same model, on its
 * own loopback port and thread, and a plain HTTP client for it.
 */

#include <garage/web/web_server.hpp>

#include <test/support/s3_fixture.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

namespace garage::test::web {

/** The web endpoint under test. */
using web_type = garage::web::web_server<s3::model_type, s3::blocks_type>;

/** The `root_domain` of the test endpoint. */
inline constexpr std::string_view root_domain = ".web.garage";

/**
 * An S3 server and a web endpoint over the same model, each on a loopback port.
 *
 * @par Thread Safety
 * Each server runs on its own thread; the member functions are called from the test's thread only.
 */
struct fixture {
    s3::fixture s3;
    boost::asio::io_context ioc;
    web_type web{*s3.model, *s3.blocks, {std::string(root_domain), "garage"}, s3.pool.get_executor()};
    api::http::server srv{ioc.get_executor(), [this](api::http::exchange& ex) { return web.handle(ex); },
                          api::http::server_options{.drain_timeout = std::chrono::milliseconds(200)}};
    std::thread runner;

    fixture()
    {
        REQUIRE(srv.listen(api::http::tcp_address{"127.0.0.1", 0}));
        srv.start();
        runner = std::thread([this] { ioc.run(); });
    }
    ~fixture()
    {
        srv.stop();
        runner.join();
    }
    fixture(fixture const&) = delete;
    fixture& operator=(fixture const&) = delete;

    /**
     * Sends one unauthenticated request to the web endpoint on a new connection.
     * @param method the method
     * @param target the request target, sent as is
     * @param host   the `Host` header; none if nullopt
     * @param hs     more headers
     * @return the response read back.
     */
    s3::response request(std::string const& method, std::string const& target,
                         std::optional<std::string> host, s3::header_list hs = {})
    {
        namespace bh = boost::beast::http;
        boost::asio::io_context ctx;
        boost::asio::ip::tcp::socket sock(ctx);
        sock.connect({boost::asio::ip::make_address("127.0.0.1"), srv.port()});
        bh::request<bh::string_body> req{bh::string_to_verb(method), target, 11};
        if (host) {
            req.set(bh::field::host, *host);
        }
        for (auto const& [n, v] : hs) {
            req.set(n, v);
        }
        req.prepare_payload();
        bh::write(sock, req);
        boost::beast::flat_buffer buf;
        bh::response_parser<bh::string_body> parser;
        parser.body_limit(64ull << 20);
        if (method == "HEAD") {
            parser.skip(true);
        }
        bh::read(sock, buf, parser);
        s3::response r;
        r.status = parser.get().result_int();
        for (auto const& f : parser.get()) {
            std::string name(f.name_string());
            for (auto& ch : name) {
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            }
            r.headers[name] = std::string(f.value());
        }
        r.body = parser.get().body();
        return r;
    }

    /** A `GET` to `host`. @return the response. */
    s3::response get(std::string const& target, std::string const& host = "site.web.garage",
                     s3::header_list hs = {})
    {
        return request("GET", target, host, std::move(hs));
    }

    /** Creates bucket `name` through the S3 API (which gives it a global alias). */
    void create_bucket(std::string const& name) { REQUIRE(s3.send("PUT", "/" + name).status == 200); }

    /** Uploads an object through the S3 API, with more headers `hs`. */
    void put(std::string const& bucket, std::string const& key, std::string body, s3::header_list hs = {})
    {
        auto r = s3.send("PUT", "/" + bucket + "/" + key, std::move(body), std::move(hs));
        INFO(r.body);
        REQUIRE(r.status == 200);
    }

    /** Sets the website configuration of `bucket` (a `WebsiteConfiguration` body). */
    void set_website(std::string const& bucket, std::string const& xml)
    {
        auto r = s3.send("PUT", "/" + bucket + "?website", xml);
        INFO(r.body);
        REQUIRE(r.status == 200);
    }

    /** Sets the CORS configuration of `bucket` (a `CORSConfiguration` body). */
    void set_cors(std::string const& bucket, std::string const& xml)
    {
        auto r = s3.send("PUT", "/" + bucket + "?cors", xml);
        INFO(r.body);
        REQUIRE(r.status == 200);
    }
};

} // namespace garage::test::web
