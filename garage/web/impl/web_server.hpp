#pragma once
// The web endpoint's request handling (GARAGE-REFERENCE §2), on the S3 GET handler.

#include <garage/api/common/sigv4.hpp>
#include <garage/api/s3/cors.hpp>
#include <garage/api/s3/detail/common.hpp>
#include <garage/api/s3/impl/cors.hpp>
#include <garage/api/s3/impl/get_object.hpp>
#include <garage/model/helper.hpp>
#include <garage/web/detail/web_exchange.hpp>
#include <garage/web/web_server.hpp>
#include <garage/web/website.hpp>

#include <boost/beast/http/verb.hpp>

#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace garage::web {

namespace detail {

/// Answers a redirect (no body).
inline net::awaitable<void> send_redirect(api::http::exchange& ex, redirect const& r)
{
    api::s3::detail::header_pairs const location{{"Location", r.location}};
    co_await api::s3::detail::send(ex, r.status, {}, location, {});
}

/// Whether `key` names a complete object (not a delete marker) in the bucket.
template <class Model>
boost::asio::awaitable<bool> object_exists(Model& m, garage::model::model_cluster<Model>* cluster,
                                           util::uuid bucket_id, std::string key)
{
    util::result<std::optional<model::object>> obj = std::nullopt;
    if (cluster != nullptr) {
        obj = co_await cluster->replicated(m.object_table()).get(bucket_id, key);
    } else {
        obj = m.object_table().get(bucket_id, key);
    }
    if (!obj || !*obj) {
        co_return false;
    }
    auto const* v = (*obj)->last_complete();
    co_return v != nullptr && v->is_data();
}

} // namespace detail

template <class Model, class Blocks>
web_server<Model, Blocks>::web_server(Model& model, Blocks& blocks, web_settings settings,
                                      boost::asio::any_io_executor blocking)
    : model_(model), blocks_(blocks), settings_(std::move(settings)), blocking_(std::move(blocking))
{
    s3_settings_.region = settings_.region;
}

template <class Model, class Blocks>
boost::asio::awaitable<void> web_server<Model, Blocks>::handle(api::http::exchange& raw_ex)
{
    namespace s3d = api::s3::detail;
    namespace bh = boost::beast::http;
    using api::s3::s3_error;

    s3d::cors_exchange cors_ex(raw_ex); // the bucket's CORS headers on every answer
    api::http::exchange& ex = cors_ex;
    auto const& req = ex.request();
    std::string_view const target = req.target();
    std::string_view const path = target.substr(0, target.find('?'));
    bool const head = req.method() == bh::verb::head;
    bool const get = req.method() == bh::verb::get;

    std::vector<api::header_field> headers;
    for (auto const& f : req) {
        headers.push_back({f.name_string(), f.value()});
    }
    auto const forwarded = api::find_header(headers, "x-forwarded-proto");
    request_origin from{api::find_header(headers, "host").value_or(""),
                        forwarded == std::optional<std::string_view>("https") ? "https" : "http"};

    std::optional<s3d::s3_exception> error;
    std::optional<model::website_config> cfg;
    std::optional<path_key> keys;
    std::string bucket_name;
    util::uuid bucket_id{};
    try {
        auto const host = api::find_header(headers, "host");
        if (!host) {
            s3d::fail(s3_error::invalid_request("Bad request: Host header required"));
        }
        auto name = host_to_bucket(*host, settings_.root_domain);
        if (!name) {
            s3d::fail(name.error());
        }
        bucket_name = std::move(*name);
        auto const id = s3d::value_or_fail(model::resolve_global_alias(model_, bucket_name));
        std::optional<model::bucket> b;
        if (id) {
            b = s3d::value_or_fail(model::get_bucket(model_, *id));
        }
        if (!b) {
            s3d::fail(s3_error::no_such_bucket(bucket_name));
        }
        auto const& params = *b->params();
        if (!params.website_config.get()) {
            s3d::fail(s3_error{"NoSuchWebsiteConfiguration", 404,
                               "Bucket " + bucket_name + " is not configured as a website"});
        }
        cfg = *params.website_config.get();
        bucket_id = *id;
        auto const& rules = params.cors_config.get();

        if (req.method() == bh::verb::options) {
            auto const origin = api::find_header(headers, "origin");
            auto const method = api::find_header(headers, "access-control-request-method");
            if (!origin || !method) {
                s3d::fail(s3_error{"BadRequest", 400,
                                   "Insufficient information. Origin and Access-Control-Request-Method "
                                   "request headers needed."});
            }
            api::s3::cors_request creq{*origin, *method, {}};
            if (auto h = api::find_header(headers, "access-control-request-headers")) {
                creq.headers = api::s3::split_header_list(*h);
            }
            auto const* rule = rules ? api::s3::find_cors_rule(*rules, creq) : nullptr;
            if (rule == nullptr) {
                s3d::fail(s3_error::access_denied("This CORS request is not allowed."));
            }
            auto const cors = api::s3::cors_response_headers(*rule, creq, true);
            co_await s3d::send(ex, 200, {}, cors, {});
            co_return;
        }
        if (!get && !head) {
            s3d::fail(s3_error::invalid_request("Bad request: HTTP method not supported"));
        }
        if (auto const origin = api::find_header(headers, "origin"); origin && rules) {
            api::s3::cors_request creq{*origin, req.method_string(), {}};
            if (auto const* rule = api::s3::find_cors_rule(*rules, creq)) {
                cors_ex.set_headers(api::s3::cors_response_headers(*rule, creq, false));
            }
        }

        if (auto r = redirect_all(*cfg, target, from)) {
            co_await detail::send_redirect(ex, *r);
            co_return;
        }
        auto pk = path_to_key(path, cfg->index_document);
        if (!pk) {
            s3d::fail(pk.error());
        }
        keys = std::move(*pk);
        if (auto r = match_routing_rules(*cfg, keys->request_key, std::nullopt, from)) {
            co_await detail::send_redirect(ex, *r);
            co_return;
        }

        detail::web_exchange wex(ex);
        api::s3::route r;
        r.ep = head ? api::s3::endpoint::head_object : api::s3::endpoint::get_object;
        r.bucket = bucket_name;
        r.key = keys->key;
        s3d::context<Model, Blocks> c{model_,  blocks_, s3_settings_, wex,       std::move(r),
                                      headers, {},      {},           bucket_id, blocking_};
        c.cluster = cluster_;
        co_await s3d::handle_get_object(c, head);
        co_return;
    } catch (s3d::s3_exception& e) {
        error = std::move(e);
    } catch (std::exception const& e) {
        error = s3d::s3_exception{s3_error::internal(std::string("Internal error: ") + e.what())};
    }
    if (!error || ex.response_started()) {
        co_return;
    }
    auto const status = error->err.status;

    // `/name` missing but `/name/<index>` present: the implicit directory redirect.
    bool is_dir = false;
    if (status == 404 && keys && !keys->request_key.empty() && keys->request_key == keys->key) {
        // named, not a temporary in the co_await expression (GCC 12 destroys those twice)
        std::string const index_key = keys->key + "/" + cfg->index_document;
        is_dir = co_await detail::object_exists(model_, cluster_, bucket_id, index_key);
    }
    if (is_dir) {
        redirect const to_dir{302, "/" + api::sigv4::uri_encode(keys->request_key, false) + "/"};
        co_await detail::send_redirect(ex, to_dir);
        co_return;
    }
    bool const client_error = status >= 400 && status < 500;
    if (client_error && cfg && keys) {
        if (auto r = match_routing_rules(*cfg, keys->request_key, status, from)) {
            co_await detail::send_redirect(ex, *r);
            co_return;
        }
    }
    if (client_error && get && cfg && cfg->error_document) {
        std::vector<std::pair<std::string, std::string>> extra;
        std::string_view msg = error->err.message;
        while (!msg.empty()) {
            auto const nl = msg.find('\n');
            extra.emplace_back("X-Garage-Error", std::string(msg.substr(0, nl)));
            msg = nl == std::string_view::npos ? std::string_view{} : msg.substr(nl + 1);
        }
        detail::web_exchange wex(ex, status, std::move(extra));
        api::s3::route r;
        r.ep = api::s3::endpoint::get_object;
        r.bucket = bucket_name;
        r.key = *cfg->error_document;
        s3d::context<Model, Blocks> c{model_, blocks_, s3_settings_, wex,       std::move(r),
                                      {},     {},      {},           bucket_id, blocking_};
        c.cluster = cluster_;
        bool served = false;
        try {
            co_await s3d::handle_get_object(c, false);
            served = true;
        } catch (s3d::s3_exception const&) {
        } catch (std::exception const&) {
        }
        if (served || ex.response_started()) {
            co_return;
        }
    }
    std::vector<std::pair<std::string, std::string>> extra;
    if (error->content_range) {
        extra.emplace_back("Content-Range", *error->content_range);
    }
    std::string page = head ? std::string() : error_page(error->err);
    co_await s3d::send(ex, status, std::move(page), extra, "text/html; charset=utf-8");
}

} // namespace garage::web
