#pragma once
// An exchange that turns the S3 GET handler's answers into the web endpoint's: an object with
// `x-amz-website-redirect-location` becomes a 301, and the error document keeps the status of
// the error it stands for.

#include <garage/api/http/server.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace garage::web::detail {

namespace net = boost::asio;

/** Forwards to another exchange and rewrites the response header the S3 GET handler sends. */
class web_exchange final : public api::http::exchange {
public:
    /** Wraps `inner`, which must outlive this object.
        @param inner  The exchange to answer on.
        @param status For the error document: the status that replaces `200` (nullopt: keep).
        @param extra  Headers added to a response so rewritten. */
    explicit web_exchange(api::http::exchange& inner, std::optional<unsigned> status = std::nullopt,
                          std::vector<std::pair<std::string, std::string>> extra = {})
        : inner_(inner), status_(status), extra_(std::move(extra))
    {
    }

    api::http::request_header const& request() const noexcept override { return inner_.request(); }
    std::string const& request_id() const noexcept override { return inner_.request_id(); }
    std::string const& remote() const noexcept override { return inner_.remote(); }
    net::awaitable<util::result<std::size_t>> read_some(std::span<char> buf) override
    {
        return inner_.read_some(buf);
    }
    net::awaitable<util::result<void>> respond(api::http::string_response response) override
    {
        return inner_.respond(std::move(response));
    }
    net::awaitable<util::result<void>> write_header(api::http::response_header header) override
    {
        namespace bh = boost::beast::http;
        auto const code = header.result_int();
        if (code == 200 || code == 206) {
            if (auto it = header.find("x-amz-website-redirect-location"); it != header.end()) {
                // the object stands for a redirect: answer it, and drop the object's body
                api::http::string_response r{bh::status::moved_permanently, 11};
                r.set(bh::field::location, it->value());
                r.prepare_payload();
                swallow_ = true;
                auto sent = inner_.respond(std::move(r));
                co_return co_await std::move(sent);
            }
        }
        if (status_ && code == 200) {
            header.result(static_cast<bh::status>(*status_));
            for (auto const& [k, v] : extra_) {
                header.insert(k, v);
            }
        }
        auto sent = inner_.write_header(std::move(header));
        co_return co_await std::move(sent);
    }
    net::awaitable<util::result<void>> write_body(std::string_view data, bool last) override
    {
        if (swallow_) {
            co_return util::result<void>{};
        }
        auto sent = inner_.write_body(data, last);
        co_return co_await std::move(sent);
    }
    bool response_started() const noexcept override { return inner_.response_started(); }
    std::uint64_t body_bytes_sent() const noexcept override { return inner_.body_bytes_sent(); }

private:
    api::http::exchange& inner_;
    std::optional<unsigned> status_;
    std::vector<std::pair<std::string, std::string>> extra_;
    bool swallow_ = false;
};

} // namespace garage::web::detail
