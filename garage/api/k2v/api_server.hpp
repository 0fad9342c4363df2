#pragma once
/** @file
    The K2V API server: answers every K2V request of an HTTP exchange — routing, SigV4
    authentication (service `k2v`), bucket resolution, permissions, and the item, index,
    batch and poll handlers (reference §4, Garage's `doc/drafts/k2v-spec.md`).
*/

#include <garage/api/common/sigv4.hpp>
#include <garage/api/http/server.hpp>
#include <garage/api/k2v/detail/write_combiner.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <string>

namespace garage::api::k2v {

/** The K2V front end's configuration. */
struct k2v_settings {
    std::string region;                       ///< `[s3_api] s3_region`: the region credentials name
    std::size_t max_body_bytes = 32ull << 20; ///< largest request body (an item's value, a batch)
    std::size_t max_batch_items = 1000;       ///< most entries, searches or ranges in one batch
};

/** Answers K2V requests over the main model (keys, buckets, permissions) and its K2V tables.

    Every request gets an answer: a failure becomes Garage's K2V JSON error body
    (`{"code","message","path","region"}`). PollItem and PollRange wait as suspended
    coroutines on the K2V subscriptions: a waiting poll holds no thread, and is woken by the
    write that makes it return (or by its timeout, 304). Writes run on the `blocking`
    executor (LMDB write transactions).

    @tparam Model A @ref garage::model::basic_model (keys, buckets).
    @tparam K2v   A @ref garage::model::basic_k2v on the same storage.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (handle() runs concurrently on several
    connections).

    @par Example
    @code
    api::k2v::k2v_api_server<model_type, k2v_type> k2v(*model, *k2v_tables, {.region = "garage"},
                                                       pool.get_executor());
    api::http::server srv(ioc.get_executor(), [&](api::http::exchange& ex) { return k2v.handle(ex); });
    @endcode */
template <class Model, class K2v>
class k2v_api_server {
public:
    /** @param model The main model (must outlive the server).
        @param k2v The K2V tables (must outlive the server).
        @param settings Region and limits.
        @param blocking An executor for blocking work (LMDB writes); empty: inline. */
    k2v_api_server(Model& model, K2v& k2v, k2v_settings settings, boost::asio::any_io_executor blocking)
        : model_(model), k2v_(k2v), settings_(std::move(settings)), blocking_(blocking),
          writes_(k2v, blocking)
    {
    }

    /** Answers one request.
        @param ex The exchange; the response is complete when the coroutine returns.
        @return The coroutine (it never fails: errors are answered as K2V JSON errors). */
    boost::asio::awaitable<void> handle(http::exchange& ex);

    /// @return The settings.
    k2v_settings const& settings() const noexcept { return settings_; }

private:
    Model& model_;
    K2v& k2v_;
    k2v_settings settings_;
    boost::asio::any_io_executor blocking_;
    sigv4::signing_key_cache key_cache_;
    detail::write_combiner<K2v> writes_;
};

} // namespace garage::api::k2v

#include <garage/api/k2v/impl/api_server.hpp>
