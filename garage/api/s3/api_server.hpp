#pragma once
/** @file
    The S3 API server: answers every S3 request of an HTTP exchange — routing, SigV4
    authentication, bucket resolution, permissions, and the bucket, object, listing and
    multipart handlers (GARAGE-REFERENCE §1). */

#include <garage/api/common/sigv4.hpp>
#include <garage/api/http/byte_budget.hpp>
#include <garage/api/http/server.hpp>
#include <garage/model/cluster.hpp>

#include <garage/storage/group_commit.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace garage::api::s3 {

/** The S3 front end's configuration (`[s3_api]`). */
struct s3_settings {
    std::string region;                 ///< `s3_region`: the only region credentials may name
    std::string root_domain;            ///< `root_domain` for virtual-hosted style (empty: path style only)
    std::uint64_t block_size = 1 << 20; ///< the size object data is cut into blocks at
    /// `block_ram_buffer_max`: the most bytes of blocks all uploads together buffer (0: no bound)
    std::uint64_t block_ram_buffer_max = 256u << 20;
};

/** Answers S3 requests over a data model and a block store.

    Every request gets an answer: a handler's error becomes the S3 XML error body (with the
    request id), endpoints Garage does not implement answer `501 NotImplemented`.

    @tparam Model  A @ref garage::model::basic_model.
    @tparam Blocks A block manager (`write_block`, `read_block`), the model's reference-count sink.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (handle() may run concurrently on several
    connections; the model serialises writes).

    @par Example
    @code
    using s3_server = api::s3::s3_api_server<model_type, blocks_type>;
    s3_server s3(*model, *blocks, {.region = "garage"}, pool.get_executor());
    auto handler = [&](api::http::exchange& ex) { return s3.handle(ex); };
    api::http::server srv(ioc.get_executor(), handler);
    @endcode */
template <class Model, class Blocks>
class s3_api_server {
public:
    /** Creates a server over `model` and `blocks`.
        @param model    The tables; must outlive the server.
        @param blocks   The block store; must outlive the server.
        @param settings Region, root domain, block size.
        @param blocking An executor for blocking work (LMDB writes, block files). */
    s3_api_server(Model& model, Blocks& blocks, s3_settings settings, boost::asio::any_io_executor blocking);

    /** Answers one request.
        @param ex The exchange; the response is complete when the coroutine returns.
        @return The coroutine (it never fails: errors are answered as S3 XML). */
    boost::asio::awaitable<void> handle(http::exchange& ex);

    /** Serves the model's tables across the cluster: quorum reads, local writes replicated
        to their write quorums before answering, blocks this node lacks read from the others.
        @param cluster The cluster view of the model (null: this node's tables alone); it must
                       outlive the server. */
    void set_cluster(garage::model::model_cluster<Model>* cluster) noexcept { cluster_ = cluster; }

private:
    garage::model::model_cluster<Model>* cluster_ = nullptr;
    Model& model_;
    Blocks& blocks_;
    s3_settings settings_;
    boost::asio::any_io_executor blocking_;
    sigv4::signing_key_cache key_cache_;
    http::byte_budget ram_budget_;
    std::unique_ptr<storage::group_committer<typename Model::storage_type>> committer_;
};

} // namespace garage::api::s3

#include <garage/api/s3/impl/api_server.hpp>
