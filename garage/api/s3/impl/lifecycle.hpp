#pragma once
// PutBucketLifecycleConfiguration, GetBucketLifecycleConfiguration, DeleteBucketLifecycle
// (GARAGE-REFERENCE §1.17). The rules are applied by garage/model/lifecycle_worker.hpp.

#include <garage/api/s3/bucket_config.hpp>
#include <garage/api/s3/detail/common.hpp>
#include <garage/api/s3/impl/cors.hpp>

#include <optional>

namespace garage::api::s3::detail {

/// PutBucketLifecycleConfiguration: replaces the bucket's lifecycle rules.
template <class Ctx>
net::awaitable<void> handle_put_bucket_lifecycle(Ctx& c)
{
    // Content-MD5, when sent, is verified by the body reader (a mismatch is BadDigest).
    auto body = co_await read_small_body(c.ex, c.headers, c.auth);
    auto rules = config_or_fail(parse_lifecycle_configuration(body));
    auto written = update_bucket_params(
        c, [&](model::bucket_params& p) { p.lifecycle_config.update(std::move(rules)); });
    co_await replicate(c, std::move(written));
    co_await send(c.ex, 200, {}, {}, {});
}

/// GetBucketLifecycleConfiguration: the rules, or 404 NoSuchLifecycleConfiguration.
template <class Ctx>
net::awaitable<void> handle_get_bucket_lifecycle(Ctx& c)
{
    auto const p = bucket_params_of(c);
    auto const& rules = p.lifecycle_config.get();
    if (!rules) {
        fail(s3_error{"NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist"});
    }
    co_await send(c.ex, 200, render_lifecycle_configuration(*rules));
}

/// DeleteBucketLifecycle: 204, configured or not.
template <class Ctx>
net::awaitable<void> handle_delete_bucket_lifecycle(Ctx& c)
{
    auto written = update_bucket_params(c, [](model::bucket_params& p) {
        if (p.lifecycle_config.get()) {
            p.lifecycle_config.update(std::nullopt);
        }
    });
    co_await replicate(c, std::move(written));
    co_await send(c.ex, 204, {}, {}, {});
}

} // namespace garage::api::s3::detail
