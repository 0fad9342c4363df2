#pragma once
/** @file
    The static-website endpoint (`[s3_web]`, GARAGE-REFERENCE §2): unauthenticated GET, HEAD
    and OPTIONS on buckets that have a website configuration, found by the `Host` header. */

#include <garage/api/http/server.hpp>
#include <garage/api/s3/api_server.hpp>
#include <garage/model/cluster.hpp>
#include <garage/web/website.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <string>

namespace garage::web {

/** The web endpoint's configuration (`[s3_web]`). */
struct web_settings {
    std::string root_domain;       ///< `root_domain`: hosts under it name the bucket before it
    std::string region = "garage"; ///< `[s3_api] s3_region` (the S3 machinery reports it in errors)
};

/** Serves buckets as static websites.

    For each request: the `Host` header names a bucket through its **global** alias (directly,
    or as `<bucket><root_domain>`); a bucket without a website configuration is `404`. Then, in
    order: `OPTIONS` is a CORS preflight against the bucket's CORS rules; a method other than
    `GET`/`HEAD` is `400`; `RedirectAllRequestsTo` redirects everything; the path maps to a key
    (index documents, traversal attempts refused: see @ref garage::web::path_to_key); a routing rule without
   an error-code condition may redirect; the object is served by the S3 GET machinery (ranges, conditional
   requests, SSE-C if the client sends the key), or answered `301` to its `x-amz-website-redirect-location`.
   On a missing key `name` whose `name/<index>` exists the answer is `302` to `/name/`. On another 4xx error,
   a routing rule with that error code may redirect; otherwise a `GET` gets the error document (if configured)
   with the original status and an `X-Garage-Error` header, or the plain HTML error page. Matching CORS rules
    add their headers to every answer.

    @tparam Model  A @ref garage::model::basic_model.
    @tparam Blocks The block manager of the model.

    @par Thread Safety
    Shared objects: safe (`handle` may run concurrently on several connections).

    @par Example
    @code
    web::web_server<model_type, blocks_type> web(*model, *blocks, {.root_domain = ".web.garage"},
                                                 pool.get_executor());
    api::http::server srv(ioc.get_executor(), [&](api::http::exchange& x) { return web.handle(x); });
    @endcode */
template <class Model, class Blocks>
class web_server {
public:
    /** Creates an endpoint over `model` and `blocks`.
        @param model    The tables; must outlive the server.
        @param blocks   The block store; must outlive the server.
        @param settings The root domain and region.
        @param blocking An executor for block reads. */
    web_server(Model& model, Blocks& blocks, web_settings settings, boost::asio::any_io_executor blocking);

    /** Answers one request.
        @param ex The exchange; the response is complete when the coroutine returns.
        @return The coroutine (it never fails: errors are answered as HTML pages). */
    boost::asio::awaitable<void> handle(api::http::exchange& ex);

    /** Reads objects across the cluster (quorum reads, blocks from other nodes).
        @param cluster The cluster view of the model (null: this node's tables alone); it must
                       outlive the server. */
    void set_cluster(garage::model::model_cluster<Model>* cluster) noexcept { cluster_ = cluster; }

private:
    garage::model::model_cluster<Model>* cluster_ = nullptr;
    Model& model_;
    Blocks& blocks_;
    web_settings settings_;
    api::s3::s3_settings s3_settings_;
    boost::asio::any_io_executor blocking_;
};

} // namespace garage::web

#include <garage/web/impl/web_server.hpp>
