// Test that header file is self-contained.
#include <garage/api/http/request_log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>

#include <sstream>
#include <stdexcept>

namespace {

namespace net = boost::asio;
namespace beast_http = boost::beast::http;
using namespace garage;

/// An exchange without a network: a fixed request and body, the response kept in memory.
class fake_exchange final : public api::http::exchange {
public:
    fake_exchange(api::http::request_header req, std::string body)
        : req_(std::move(req)), body_(std::move(body))
    {
    }

    api::http::request_header const& request() const noexcept override { return req_; }
    std::string const& request_id() const noexcept override { return id_; }
    std::string const& remote() const noexcept override { return remote_; }
    net::awaitable<util::result<std::size_t>> read_some(std::span<char> buf) override
    {
        auto const n = std::min(buf.size(), body_.size() - pos_);
        std::copy_n(body_.data() + pos_, n, buf.data());
        pos_ += n;
        co_return n;
    }
    net::awaitable<util::result<void>> respond(api::http::string_response r) override
    {
        started_ = true;
        status_ = r.result_int();
        sent_ += r.body().size();
        co_return util::result<void>();
    }
    net::awaitable<util::result<void>> write_header(api::http::response_header h) override
    {
        started_ = true;
        status_ = h.result_int();
        co_return util::result<void>();
    }
    net::awaitable<util::result<void>> write_body(std::string_view data, bool) override
    {
        sent_ += data.size();
        co_return util::result<void>();
    }
    bool response_started() const noexcept override { return started_; }
    std::uint64_t body_bytes_sent() const noexcept override { return sent_; }

    unsigned status_ = 0;

private:
    api::http::request_header req_;
    std::string body_;
    std::size_t pos_ = 0;
    std::string id_ = "00c0ffee00000001";
    std::string remote_ = "127.0.0.1:40000";
    bool started_ = false;
    std::uint64_t sent_ = 0;
};

/// A logger writing into a string stream.
struct captured_log {
    std::ostringstream out;
    std::shared_ptr<spdlog::logger> logger;
    captured_log()
    {
        logger =
            std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
        logger->set_pattern("%l %v");
        logger->set_level(spdlog::level::info);
    }
};

/// Runs `h` on `ex` to completion; rethrows what it throws.
void run(api::http::handler const& h, api::http::exchange& ex)
{
    net::io_context ioc;
    auto f = net::co_spawn(ioc, h(ex), net::use_future);
    ioc.run();
    f.get();
}

api::http::request_header presigned_put()
{
    api::http::request_header req;
    req.method(beast_http::verb::put);
    req.target("/bucket/key.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
               "&X-Amz-Credential=GK31c2f218a2e44f485b94239e%2F20250101%2Fgarage%2Fs3%2Faws4_request"
               "&X-Amz-Date=20250101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
               "&X-Amz-Signature=d41d8cd98f00b204e9800998ecf8427ed41d8cd98f00b204e9800998ecf8427e"
               "&x-amz-server-side-encryption-customer-key=U0VDUkVUS0VZU0VDUkVUS0VZU0VDUkVUS0VZ"
               "&x-id=PutObject");
    req.set(beast_http::field::authorization,
            "AWS4-HMAC-SHA256 Credential=GKAUTHHEADERKEYID/20250101/garage/s3/aws4_request, "
            "SignedHeaders=host, Signature=AUTHHEADERSIGNATURE0123456789");
    req.set("x-amz-server-side-encryption-customer-key", "SSECHEADERKEYSSECHEADERKEY");
    req.set("x-amz-security-token", "SESSIONTOKENVALUE");
    return req;
}

net::awaitable<void> read_and_answer(api::http::exchange& ex)
{
    auto body = co_await ex.read_all(1024);
    api::http::string_response r{beast_http::status::ok, 11};
    r.body() = "ok:" + *body;
    co_await ex.respond(std::move(r));
}

TEST_CASE("the request log line has method, path, status, bytes, duration and request id",
          "[api][http][request_log]")
{
    captured_log log;
    api::http::request_record seen;
    int calls = 0;
    auto h = api::http::with_request_log(
        read_and_answer, {"s3", log.logger, [&](auto const&, api::http::request_record const& r) {
                              seen = r;
                              ++calls;
                          }});
    fake_exchange ex(presigned_put(), "hello world");
    run(h, ex);
    auto const line = log.out.str();
    INFO(line);
    CHECK(ex.status_ == 200);
    CHECK(calls == 1);
    CHECK(line.starts_with("info api=s3 method=PUT path=\"/bucket/key.txt?"));
    CHECK(line.find(" status=200 bytes_in=11 bytes_out=14 duration_ms=") != std::string::npos);
    CHECK(line.find(" request_id=00c0ffee00000001 remote=127.0.0.1:40000") != std::string::npos);
    CHECK(line.find("X-Amz-Date=20250101T000000Z") != std::string::npos); // harmless parameters stay
    CHECK(line.find("x-id=PutObject") != std::string::npos);
    CHECK(std::count(line.begin(), line.end(), '\n') == 1);
    CHECK(seen.status == 200);
    CHECK(seen.bytes_in == 11);
    CHECK(seen.bytes_out == 14);
    CHECK(seen.method == "PUT");
    CHECK(seen.api == "s3");
}

TEST_CASE("the request log line contains no secret", "[api][http][request_log]")
{
    captured_log log;
    auto h = api::http::with_request_log(read_and_answer, {"s3", log.logger, {}});
    fake_exchange ex(presigned_put(), "body");
    run(h, ex);
    auto const line = log.out.str();
    INFO(line);
    REQUIRE(!line.empty());
    for (auto const* secret : {"d41d8cd98f00b204e9800998ecf8427e", "GK31c2f218a2e44f485b94239e",
                               "U0VDUkVUS0VZ", "AUTHHEADERSIGNATURE", "GKAUTHHEADERKEYID", "SSECHEADERKEY",
                               "SESSIONTOKENVALUE", "Authorization", "authorization"}) {
        CHECK(line.find(secret) == std::string::npos);
    }
    CHECK(line.find("X-Amz-Signature=REDACTED") != std::string::npos);
    CHECK(line.find("X-Amz-Credential=REDACTED") != std::string::npos);
    CHECK(line.find("x-amz-server-side-encryption-customer-key=REDACTED") != std::string::npos);
}

TEST_CASE("redact_target hides secret query values however they are spelled", "[api][http][request_log]")
{
    using api::http::redact_target;
    CHECK(redact_target("/b/k") == "/b/k");
    CHECK(redact_target("/b/k?uploads") == "/b/k?uploads");
    CHECK(redact_target("/b?list-type=2&prefix=a") == "/b?list-type=2&prefix=a");
    CHECK(redact_target("/b/k?x-amz-signature=abc") == "/b/k?x-amz-signature=REDACTED");
    CHECK(redact_target("/b/k?X%2DAmz%2DSignature=abc&a=1") == "/b/k?X%2DAmz%2DSignature=REDACTED&a=1");
    CHECK(redact_target("/b/k?AWSAccessKeyId=AK&Signature=sig&Expires=1") ==
          "/b/k?AWSAccessKeyId=REDACTED&Signature=REDACTED&Expires=1");
    CHECK(redact_target("/b/k?X-Amz-Security-Token=t") == "/b/k?X-Amz-Security-Token=REDACTED");
    CHECK(redact_target("/b/k?x-amz-copy-source-server-side-encryption-customer-key=k") ==
          "/b/k?x-amz-copy-source-server-side-encryption-customer-key=REDACTED");
    CHECK(redact_target("/metrics?token=secret") == "/metrics?token=REDACTED");
}

TEST_CASE("a request line cannot be forged through the path", "[api][http][request_log]")
{
    api::http::request_record r;
    r.api = "s3";
    r.method = "GET";
    r.target = "/a\nfake=\"line\\";
    r.status = 404;
    auto const line = api::http::format_request_line(r);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find("path=\"/a\\x0afake=\\\"line\\\\\"") != std::string::npos);
}

TEST_CASE("a handler that sends nothing, or throws, is logged as 500 and the exception goes on",
          "[api][http][request_log]")
{
    captured_log log;
    std::vector<unsigned> statuses;
    auto observer = [&](auto const&, api::http::request_record const& r) { statuses.push_back(r.status); };
    auto silent = api::http::with_request_log([](api::http::exchange&) -> net::awaitable<void> { co_return; },
                                              {"admin", log.logger, observer});
    auto throwing = api::http::with_request_log(
        [](api::http::exchange&) -> net::awaitable<void> {
            throw std::runtime_error("boom");
            co_return;
        },
        {"admin", log.logger, observer});
    api::http::request_header req;
    req.method(beast_http::verb::get);
    req.target("/v1/health");
    fake_exchange a(req, "");
    run(silent, a);
    fake_exchange b(req, "");
    CHECK_THROWS_WITH(run(throwing, b), "boom");
    CHECK(statuses == std::vector<unsigned>{500, 500});
    auto const text = log.out.str();
    CHECK(text.find("warning api=admin method=GET path=\"/v1/health\" status=500") != std::string::npos);
}

TEST_CASE("a logger above info level logs nothing but the observer still runs", "[api][http][request_log]")
{
    captured_log log;
    log.logger->set_level(spdlog::level::warn);
    int calls = 0;
    auto h = api::http::with_request_log(read_and_answer,
                                         {"s3", log.logger, [&](auto const&, auto const&) { ++calls; }});
    fake_exchange ex(presigned_put(), "x");
    run(h, ex);
    CHECK(log.out.str().empty());
    CHECK(calls == 1);
}

} // namespace
