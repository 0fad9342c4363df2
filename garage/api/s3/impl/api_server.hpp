#pragma once
// The dispatcher of s3_api_server: routing, authentication, bucket resolution, permissions.

#include <garage/api/common/sigv4.hpp>
#include <garage/api/s3/api_server.hpp>
#include <garage/api/s3/detail/common.hpp>
#include <garage/api/s3/error.hpp>
#include <garage/api/s3/impl/bucket.hpp>
#include <garage/api/s3/impl/cors.hpp>
#include <garage/api/s3/impl/delete_object.hpp>
#include <garage/api/s3/impl/get_object.hpp>
#include <garage/api/s3/impl/lifecycle.hpp>
#include <garage/api/s3/impl/list.hpp>
#include <garage/api/s3/impl/multipart.hpp>
#include <garage/api/s3/impl/post_object.hpp>
#include <garage/api/s3/impl/put_object.hpp>
#include <garage/api/s3/impl/website_config.hpp>
#include <garage/api/s3/router.hpp>
#include <garage/model/helper.hpp>

#include <chrono>
#include <exception>
#include <optional>

namespace garage::api::s3 {

namespace detail {

/// The permission an endpoint needs on its bucket (§1.4).
enum class needed_perm { none, read, write, owner };

/// @return The permission `ep` needs.
inline needed_perm permission_for(endpoint ep) noexcept
{
    switch (ep) {
    case endpoint::list_buckets:
    case endpoint::create_bucket:
    case endpoint::options:
    case endpoint::not_implemented:
        return needed_perm::none;
    case endpoint::delete_bucket:
    case endpoint::get_bucket_website:
    case endpoint::put_bucket_website:
    case endpoint::delete_bucket_website:
    case endpoint::get_bucket_cors:
    case endpoint::put_bucket_cors:
    case endpoint::delete_bucket_cors:
        return needed_perm::owner;
    case endpoint::head_bucket:
    case endpoint::get_bucket_location:
    case endpoint::get_bucket_versioning:
    case endpoint::get_bucket_acl:
    case endpoint::get_bucket_lifecycle:
    case endpoint::list_objects:
    case endpoint::list_objects_v2:
    case endpoint::list_object_versions:
    case endpoint::list_multipart_uploads:
    case endpoint::get_object:
    case endpoint::head_object:
    case endpoint::list_parts:
        return needed_perm::read;
    default:
        return needed_perm::write;
    }
}

} // namespace detail

template <class Model, class Blocks>
s3_api_server<Model, Blocks>::s3_api_server(Model& model, Blocks& blocks, s3_settings settings,
                                            boost::asio::any_io_executor blocking)
    : model_(model), blocks_(blocks), settings_(std::move(settings)), blocking_(std::move(blocking)),
      ram_budget_(settings_.block_ram_buffer_max)
{
    if (blocking_) {
        committer_ = std::make_unique<storage::group_committer<typename Model::storage_type>>(
            model_.storage(), blocking_);
    }
}

template <class Model, class Blocks>
boost::asio::awaitable<void> s3_api_server<Model, Blocks>::handle(http::exchange& raw_ex)
{
    using namespace detail;
    cors_exchange cors_ex(raw_ex); // adds the bucket's CORS headers to every response
    http::exchange& ex = cors_ex;
    auto const& req = ex.request();
    std::string_view const target = req.target();
    std::string_view const path = target.substr(0, target.find('?'));

    std::vector<header_field> headers;
    for (auto const& f : req) {
        headers.push_back({f.name_string(), f.value()});
    }

    std::optional<s3_exception> error;
    try {
        std::string_view const method = req.method_string();
        auto const host = find_header(headers, "host").value_or("");
        auto routed = route_request(method, host, target, settings_.root_domain,
                                    find_header(headers, "x-amz-copy-source").has_value());
        if (!routed) {
            fail(s3_error::invalid_request("Bad request: " + routed.error().message));
        }
        context<Model, Blocks> c{model_,  blocks_, settings_, ex, std::move(*routed),
                                 headers, {},      {},        {}, blocking_};
        c.ram_budget = &ram_budget_;
        c.committer = committer_.get();
        c.cluster = cluster_;

        if (c.r.ep == endpoint::options) {
            co_await handle_options(c);
            co_return;
        }
        if (c.r.ep == endpoint::post_object) {
            // authenticated by its form (a signed policy), not by its headers
            auto on_bucket = [&](util::uuid const& id) {
                cors_ex.set_headers(cors_headers_for(model_, id, headers, method));
            };
            co_await handle_post_object(c, key_cache_, on_bucket);
            co_return;
        }

        // ---- authentication
        request_view view{method, path,
                          target.size() > path.size() ? target.substr(path.size() + 1) : std::string_view{},
                          headers};
        auto parsed = sigv4::parse_auth(view, {settings_.region, sigv4::service::s3});
        if (!parsed) {
            if (parsed.error().code == api::error::anonymous_access) {
                fail(s3_error::access_denied("Garage does not support anonymous access yet"));
            }
            fail(parsed.error());
        }
        auto key = value_or_fail(model::get_key(model_, parsed->access_key_id));
        if (!key) {
            fail(util::failure(api::error::invalid_access_key_id, "No such key: " + parsed->access_key_id));
        }
        c.auth = value_or_fail(
            sigv4::verify(*parsed, key->params()->secret_key, std::chrono::system_clock::now(), key_cache_));
        c.key = std::move(*key);
        for (auto const& o : parsed->header_overrides) {
            c.headers.push_back({o.key, o.value});
        }

        if (c.r.ep == endpoint::not_implemented) {
            fail(s3_error::not_implemented(c.r.unsupported));
        }
        if (c.r.ep == endpoint::list_buckets) {
            co_await handle_list_buckets(c);
            co_return;
        }
        if (c.r.ep == endpoint::create_bucket) {
            co_await handle_create_bucket(c);
            co_return;
        }

        // ---- bucket and permission
        auto id = value_or_fail(model::resolve_bucket(model_, c.r.bucket, &c.key));
        if (!id || !value_or_fail(model::get_bucket(model_, *id))) {
            fail(s3_error::no_such_bucket(c.r.bucket));
        }
        c.bucket_id = *id;
        cors_ex.set_headers(cors_headers_for(model_, *id, headers, method));
        auto const perm = c.key.bucket_permissions(*id);
        bool allowed = false;
        switch (permission_for(c.r.ep)) {
        case needed_perm::none:
            allowed = true;
            break;
        case needed_perm::read:
            allowed = perm.allow_read;
            break;
        case needed_perm::write:
            allowed = perm.allow_write;
            break;
        case needed_perm::owner:
            allowed = perm.allow_owner;
            break;
        }
        if (!allowed) {
            fail(s3_error::access_denied("Forbidden: Operation is not allowed for this key."));
        }

        switch (c.r.ep) {
        case endpoint::head_bucket:
            co_await send(ex, 200, {}, {}, {});
            break;
        case endpoint::delete_bucket:
            co_await handle_delete_bucket(c);
            break;
        case endpoint::get_bucket_location:
            co_await handle_get_bucket_location(c);
            break;
        case endpoint::get_bucket_versioning:
            co_await handle_get_bucket_versioning(c);
            break;
        case endpoint::get_bucket_acl:
            co_await handle_get_bucket_acl(c);
            break;
        case endpoint::put_object:
            co_await handle_put_object(c);
            break;
        case endpoint::get_object:
        case endpoint::head_object:
            co_await handle_get_object(c, c.r.ep == endpoint::head_object);
            break;
        case endpoint::delete_object:
            co_await handle_delete_object(c);
            break;
        case endpoint::delete_objects:
            co_await handle_delete_objects(c);
            break;
        case endpoint::copy_object:
            co_await handle_copy_object(c);
            break;
        case endpoint::list_objects:
        case endpoint::list_objects_v2:
            co_await handle_list_objects(c, c.r.ep == endpoint::list_objects_v2);
            break;
        case endpoint::list_object_versions:
            co_await handle_list_object_versions(c);
            break;
        case endpoint::create_multipart_upload:
            co_await handle_create_multipart_upload(c);
            break;
        case endpoint::upload_part:
            co_await handle_upload_part(c);
            break;
        case endpoint::upload_part_copy:
            co_await handle_upload_part_copy(c);
            break;
        case endpoint::complete_multipart_upload:
            co_await handle_complete_multipart_upload(c);
            break;
        case endpoint::abort_multipart_upload:
            co_await handle_abort_multipart_upload(c);
            break;
        case endpoint::list_parts:
            co_await handle_list_parts(c);
            break;
        case endpoint::list_multipart_uploads:
            co_await handle_list_multipart_uploads(c);
            break;
        case endpoint::put_bucket_cors:
            co_await handle_put_bucket_cors(c);
            break;
        case endpoint::get_bucket_cors:
            co_await handle_get_bucket_cors(c);
            break;
        case endpoint::delete_bucket_cors:
            co_await handle_delete_bucket_cors(c);
            break;
        case endpoint::put_bucket_website:
            co_await handle_put_bucket_website(c);
            break;
        case endpoint::get_bucket_website:
            co_await handle_get_bucket_website(c);
            break;
        case endpoint::delete_bucket_website:
            co_await handle_delete_bucket_website(c);
            break;
        case endpoint::put_bucket_lifecycle:
            co_await handle_put_bucket_lifecycle(c);
            break;
        case endpoint::get_bucket_lifecycle:
            co_await handle_get_bucket_lifecycle(c);
            break;
        case endpoint::delete_bucket_lifecycle:
            co_await handle_delete_bucket_lifecycle(c);
            break;
        default:
            fail(s3_error::not_implemented(name(c.r.ep)));
        }
    } catch (s3_exception& e) {
        error = std::move(e);
    } catch (std::exception const& e) {
        error = s3_exception{s3_error::internal(std::string("Internal error: ") + e.what())};
    }
    if (error && !ex.response_started()) {
        std::vector<std::pair<std::string, std::string>> extra;
        if (error->content_range) {
            extra.emplace_back("Content-Range", *error->content_range);
        }
        std::string body;
        if (req.method() != boost::beast::http::verb::head) {
            body = error_xml(error->err, path, settings_.region, ex.request_id());
        }
        co_await send(ex, error->err.status, std::move(body), extra);
    }
}

} // namespace garage::api::s3
