#pragma once
/** @file
    The K2V router: from method, path and query to an endpoint with its arguments (Garage's
    `src/api/k2v/router.rs`). Path style only: `/<bucket>[/<partition key>]`.
*/

#include <garage/util/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace garage::api::k2v {

/// Every K2V endpoint.
enum class endpoint {
    options,      ///< `OPTIONS` (CORS preflight)
    read_item,    ///< `GET /b/pk?sort_key=`
    poll_item,    ///< `GET /b/pk?sort_key=&causality_token=[&timeout=]`
    insert_item,  ///< `PUT /b/pk?sort_key=`
    delete_item,  ///< `DELETE /b/pk?sort_key=`
    read_index,   ///< `GET /b[?prefix&start&end&limit&reverse]`
    insert_batch, ///< `POST /b`
    read_batch,   ///< `POST /b?search`, `SEARCH /b`
    delete_batch, ///< `POST /b?delete`
    poll_range,   ///< `POST|SEARCH /b/pk?poll_range`
};

/** The endpoint's name (for logs). @param e The endpoint. @return E.g. `"ReadItem"`. */
std::string_view name(endpoint e) noexcept;

/** Whether the endpoint only reads (needs the read permission; the others need write).
    @param e The endpoint. @return True for ReadItem, PollItem, ReadIndex, ReadBatch. */
bool is_read(endpoint e) noexcept;

/// A routed request.
struct route {
    endpoint ep = endpoint::read_index;         ///< the endpoint
    std::string bucket;                         ///< the bucket name
    std::string partition_key;                  ///< percent-decoded; empty for bucket endpoints
    std::string sort_key;                       ///< `sort_key` (item endpoints)
    std::optional<std::string> causality_token; ///< `causality_token` (PollItem)
    std::optional<std::uint64_t> timeout;       ///< `timeout` in seconds (PollItem)
    std::optional<std::string> prefix;          ///< `prefix` (ReadIndex)
    std::optional<std::string> start;           ///< `start` (ReadIndex)
    std::optional<std::string> end;             ///< `end` (ReadIndex)
    std::optional<std::uint64_t> limit;         ///< `limit` (ReadIndex)
    bool reverse = false;                       ///< `reverse` (ReadIndex)
};

/** Routes a request.
    @param method The HTTP method. @param target The request target (path and query).
    @return The route; a failure (`util::error::invalid_argument`, a bad request) for a missing
            bucket, an unknown method or keyword, a missing argument, a parameter that does not
            parse, or a partition key that is not UTF-8. */
util::result<route> route_request(std::string_view method, std::string_view target);

} // namespace garage::api::k2v
