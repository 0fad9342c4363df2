#pragma once
// CORS: PutBucketCors, GetBucketCors, DeleteBucketCors, the OPTIONS preflight, and the
// Access-Control-* headers added to responses (GARAGE-REFERENCE §1.15).

#include <garage/api/s3/bucket_config.hpp>
#include <garage/api/s3/cors.hpp>
#include <garage/api/s3/detail/common.hpp>
#include <garage/model/helper.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace garage::api::s3::detail {

/** Reads the bucket of the request, lets `f` change its parameters, and writes it back
    (the configurations are last-writer-wins registers, so a concurrent update of another
    member merges). Fails with NoSuchBucket if the bucket went away.
    @return What was written, for @ref replicate. */
template <class Ctx, class F>
[[nodiscard]] util::write_capture update_bucket_params(Ctx& c, F f)
{
    auto b = value_or_fail(model::get_bucket(c.model, c.bucket_id));
    if (!b) {
        fail(s3_error::no_such_bucket(c.r.bucket));
    }
    f(*b->params_mut());
    util::write_capture cap;
    util::write_capture_scope scope(cap);
    check(c.model.bucket_table().insert(*b));
    return cap;
}

/// The parameters of the request's bucket (it exists: the dispatcher checked).
template <class Ctx>
model::bucket_params bucket_params_of(Ctx& c)
{
    auto b = value_or_fail(model::get_bucket(c.model, c.bucket_id));
    if (!b) {
        fail(s3_error::no_such_bucket(c.r.bucket));
    }
    return *b->params();
}

/// Unwraps a parsed configuration or fails with its S3 error.
template <class T>
T config_or_fail(config_result<T> r)
{
    if (!r) {
        fail(r.error());
    }
    return std::move(*r);
}

/// PutBucketCors: replaces the bucket's CORS rules.
template <class Ctx>
net::awaitable<void> handle_put_bucket_cors(Ctx& c)
{
    auto body = co_await read_small_body(c.ex, c.headers, c.auth);
    auto rules = config_or_fail(parse_cors_configuration(body));
    auto written =
        update_bucket_params(c, [&](model::bucket_params& p) { p.cors_config.update(std::move(rules)); });
    co_await replicate(c, std::move(written));
    co_await send(c.ex, 200, {}, {}, {});
}

/// GetBucketCors: the rules, or 404 NoSuchCORSConfiguration.
template <class Ctx>
net::awaitable<void> handle_get_bucket_cors(Ctx& c)
{
    auto const p = bucket_params_of(c);
    auto const& cfg = p.cors_config.get();
    if (!cfg) {
        fail(s3_error{"NoSuchCORSConfiguration", 404, "The CORS configuration does not exist"});
    }
    co_await send(c.ex, 200, render_cors_configuration(*cfg));
}

/// DeleteBucketCors: 204, configured or not.
template <class Ctx>
net::awaitable<void> handle_delete_bucket_cors(Ctx& c)
{
    auto written = update_bucket_params(c, [](model::bucket_params& p) {
        if (p.cors_config.get()) {
            p.cors_config.update(std::nullopt);
        }
    });
    co_await replicate(c, std::move(written));
    co_await send(c.ex, 204, {}, {}, {});
}

/** The `Access-Control-*` headers for a request to a bucket: empty unless the request has an
    `Origin` header and one of the bucket's rules matches its origin, method and
    `Access-Control-Request-Headers`. */
template <class Model>
cors_header_list cors_headers_for(Model& model, util::uuid const& bucket_id,
                                  std::span<header_field const> headers, std::string_view method)
{
    auto const origin = find_header(headers, "origin");
    if (!origin) {
        return {};
    }
    auto b = model::get_bucket(model, bucket_id);
    if (!b || !*b) {
        return {};
    }
    auto const& rules = (*b)->params()->cors_config.get();
    if (!rules) {
        return {};
    }
    cors_request req{*origin, method, {}};
    if (auto h = find_header(headers, "access-control-request-headers")) {
        req.headers = split_header_list(*h);
    }
    auto const* rule = find_cors_rule(*rules, req);
    if (rule == nullptr) {
        return {};
    }
    return cors_response_headers(*rule, req, false);
}

/** OPTIONS (CORS preflight, no authentication): a bucket found by its global alias answers
    200 with the matching rule's headers, or 403 when no rule matches; 400 without `Origin`
    or `Access-Control-Request-Method`. Without a bucket, or for an unknown one, any origin is
    allowed (as Garage does). */
template <class Ctx>
net::awaitable<void> handle_options(Ctx& c)
{
    if (c.r.bucket.empty()) {
        header_pairs const any{{"Access-Control-Allow-Origin", "*"}, {"Access-Control-Allow-Methods", "GET"}};
        co_await send(c.ex, 200, {}, any, {});
        co_return;
    }
    auto id = value_or_fail(model::resolve_global_alias(c.model, c.r.bucket));
    std::optional<model::bucket> b;
    if (id) {
        b = value_or_fail(model::get_bucket(c.model, *id));
    }
    if (!b) {
        header_pairs const any{{"Access-Control-Allow-Origin", "*"}, {"Access-Control-Allow-Methods", "*"}};
        co_await send(c.ex, 200, {}, any, {});
        co_return;
    }
    auto const origin = c.header("origin");
    auto const method = c.header("access-control-request-method");
    if (!origin || !method) {
        fail(s3_error{"BadRequest", 400,
                      "Insufficient information. Origin and Access-Control-Request-Method request headers "
                      "needed."});
    }
    cors_request req{*origin, *method, {}};
    if (auto h = c.header("access-control-request-headers")) {
        req.headers = split_header_list(*h);
    }
    auto const& rules = b->params()->cors_config.get();
    auto const* rule = rules ? find_cors_rule(*rules, req) : nullptr;
    if (rule == nullptr) {
        fail(s3_error::access_denied(
            "CORSResponse: This CORS request is not allowed. This is usually because "
            "the evaluation of Origin, request method / Access-Control-Request-Method "
            "or Access-Control-Request-Headers are not whitelisted by the resource's "
            "CORS spec."));
    }
    auto const headers = cors_response_headers(*rule, req, true);
    co_await send(c.ex, 200, {}, headers, {});
}

/** An exchange that forwards to another and adds headers to whatever response the handler
    sends: `x-amz-request-id` (the id the error bodies also carry) always, and the CORS
    headers, which are set once the bucket is known. */
class cors_exchange final : public http::exchange {
public:
    /// Wraps `inner`, which must outlive this object.
    explicit cors_exchange(http::exchange& inner) : inner_(inner) {}

    /// The headers to add to the response (replacing any set before).
    void set_headers(cors_header_list h) { headers_ = std::move(h); }

    http::request_header const& request() const noexcept override { return inner_.request(); }
    std::string const& request_id() const noexcept override { return inner_.request_id(); }
    std::string const& remote() const noexcept override { return inner_.remote(); }
    net::awaitable<util::result<std::size_t>> read_some(std::span<char> buf) override
    {
        return inner_.read_some(buf);
    }
    net::awaitable<util::result<void>> respond(http::string_response response) override
    {
        for (auto const& [k, v] : headers_) {
            response.set(k, v);
        }
        response.set("x-amz-request-id", inner_.request_id());
        return inner_.respond(std::move(response));
    }
    net::awaitable<util::result<void>> write_header(http::response_header header) override
    {
        for (auto const& [k, v] : headers_) {
            header.set(k, v);
        }
        header.set("x-amz-request-id", inner_.request_id());
        return inner_.write_header(std::move(header));
    }
    net::awaitable<util::result<void>> write_body(std::string_view data, bool last) override
    {
        return inner_.write_body(data, last);
    }
    bool response_started() const noexcept override { return inner_.response_started(); }
    std::uint64_t body_bytes_sent() const noexcept override { return inner_.body_bytes_sent(); }

private:
    http::exchange& inner_;
    cors_header_list headers_;
};

} // namespace garage::api::s3::detail
