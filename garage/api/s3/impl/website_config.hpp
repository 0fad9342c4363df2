#pragma once
// PutBucketWebsite, GetBucketWebsite, DeleteBucketWebsite (GARAGE-REFERENCE §1.16; redirects
// and routing rules are stored and rendered too).

#include <garage/api/s3/bucket_config.hpp>
#include <garage/api/s3/detail/common.hpp>
#include <garage/api/s3/impl/cors.hpp>

#include <optional>

namespace garage::api::s3::detail {

/// PutBucketWebsite: replaces the bucket's website configuration.
template <class Ctx>
net::awaitable<void> handle_put_bucket_website(Ctx& c)
{
    auto body = co_await read_small_body(c.ex, c.headers, c.auth);
    auto cfg = config_or_fail(parse_website_configuration(body));
    auto written =
        update_bucket_params(c, [&](model::bucket_params& p) { p.website_config.update(std::move(cfg)); });
    co_await replicate(c, std::move(written));
    co_await send(c.ex, 200, {}, {}, {});
}

/// GetBucketWebsite: the configuration, or 404 NoSuchWebsiteConfiguration.
template <class Ctx>
net::awaitable<void> handle_get_bucket_website(Ctx& c)
{
    auto const p = bucket_params_of(c);
    auto const& cfg = p.website_config.get();
    if (!cfg) {
        fail(s3_error{"NoSuchWebsiteConfiguration", 404,
                      "The specified bucket does not have a website "
                      "configuration"});
    }
    co_await send(c.ex, 200, render_website_configuration(*cfg));
}

/// DeleteBucketWebsite: 204, configured or not.
template <class Ctx>
net::awaitable<void> handle_delete_bucket_website(Ctx& c)
{
    auto written = update_bucket_params(c, [](model::bucket_params& p) {
        if (p.website_config.get()) {
            p.website_config.update(std::nullopt);
        }
    });
    co_await replicate(c, std::move(written));
    co_await send(c.ex, 204, {}, {}, {});
}

} // namespace garage::api::s3::detail
