#pragma once
/** @file
    Private helpers of the K2V handlers: the request context, the error exception, Accept
    negotiation, and range reads with Garage's prefix/start/end/limit rules. */

#include <garage/api/common/request_view.hpp>
#include <garage/api/common/sigv4.hpp>
#include <garage/api/http/server.hpp>
#include <garage/api/k2v/error.hpp>
#include <garage/api/k2v/detail/write_combiner.hpp>
#include <garage/api/k2v/router.hpp>
#include <garage/model/key.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/util/bytes32.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace garage::api::k2v::detail {

/// A K2V error raised inside a handler; the dispatcher answers it.
struct k2v_exception {
    k2v_error err; ///< the error
};

/// Throws `e`.
[[noreturn]] inline void fail(k2v_error e)
{
    throw k2v_exception{std::move(e)};
}

/// The value of `r`, or throws its error (as a K2V error).
template <class T>
T value_or_fail(util::result<T> r)
{
    if (!r) {
        fail(to_k2v_error(r.error()));
    }
    return std::move(*r);
}

/// The value of `r`, or throws its error as a bad request (400 `InvalidRequest`, as Garage
/// answers malformed bodies).
template <class T>
T value_or_bad_request(util::result<T> r)
{
    if (!r) {
        fail(k2v_error::bad_request(r.error().message));
    }
    return std::move(*r);
}

/// Throws the error of `r`, if any.
inline void check(util::result<void> const& r)
{
    if (!r) {
        fail(to_k2v_error(r.error()));
    }
}

/// Everything a handler needs about its request.
template <class Model, class K2v>
struct context {
    Model& model;                            ///< keys and buckets
    K2v& k2v;                                ///< the K2V tables
    struct k2v_settings const& settings;     ///< limits
    http::exchange& ex;                      ///< the exchange
    route r;                                 ///< the routed endpoint
    std::vector<header_field> headers;       ///< views of the request headers
    sigv4::verified_auth auth;               ///< who signed, how the body is sent
    util::uuid bucket_id{};                  ///< the resolved bucket
    boost::asio::any_io_executor blocking{}; ///< for LMDB writes
    write_combiner<K2v>& writes;             ///< applies writes in shared transactions

    /// A request header (case-insensitive), if present.
    std::optional<std::string_view> header(std::string_view name) const { return find_header(headers, name); }
};

/// How ReadItem and PollItem answer (from `Accept`).
enum class return_format { json, binary, either };

/** The format asked for by an `Accept` header (media-type parameters are ignored).
    @param accept The header, if any. @return The format; throws 406 if it names neither. */
inline return_format parse_accept(std::optional<std::string_view> accept)
{
    if (!accept) {
        return return_format::json;
    }
    bool json = false;
    bool binary = false;
    std::string_view rest = *accept;
    while (!rest.empty()) {
        auto const comma = rest.find(',');
        std::string_view part = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        part = part.substr(0, part.find(';'));
        while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) {
            part.remove_prefix(1);
        }
        while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) {
            part.remove_suffix(1);
        }
        json = json || part == "application/json" || part == "*/*";
        binary = binary || part == "application/octet-stream" || part == "*/*";
    }
    if (json && binary) {
        return return_format::either;
    }
    if (json) {
        return return_format::json;
    }
    if (binary) {
        return return_format::binary;
    }
    fail(k2v_error::not_acceptable("Invalid Accept: header value, must contain either application/json or "
                                   "application/octet-stream (or both)"));
}

/** The smallest string above every string that starts with `prefix`.
    @param prefix The prefix. @return It, or nullopt when `prefix` is all 0xff bytes. */
inline std::optional<std::string> key_after_prefix(std::string prefix)
{
    while (!prefix.empty()) {
        auto& c = prefix.back();
        if (static_cast<unsigned char>(c) != 0xff) {
            c = static_cast<char>(static_cast<unsigned char>(c) + 1);
            return prefix;
        }
        prefix.pop_back();
    }
    return std::nullopt;
}

/// The result of a range read: the entries, whether more follow, and where to continue.
template <class E>
struct range_result {
    std::vector<E> entries;                ///< the entries read
    bool more = false;                     ///< whether the limit stopped the read
    std::optional<std::string> next_start; ///< the first key not returned (when `more`)
};

/** Reads a range of a table whose sort key is a string, with the K2V rules: `prefix`
    restricts, `start` is the first key (it must start with `prefix`), `end` is excluded,
    `limit` caps the count, `reverse` walks down from `start` (or from the end of the prefix).
    @return The entries; throws a bad request for a `start` outside `prefix`. */
template <class Table, class Pk, class Filter>
range_result<typename Table::entry_type>
read_range(Table const& table, Pk const& pk, std::optional<std::string> const& prefix,
           std::optional<std::string> const& start, std::optional<std::string> const& end,
           std::optional<std::uint64_t> limit, std::optional<Filter> const& filter, bool reverse)
{
    std::optional<std::string> from;
    bool skip_from = false;
    if (start) {
        if (prefix && !start->starts_with(*prefix)) {
            fail(k2v_error::bad_request("Start key '" + *start + "' does not start with prefix '" + *prefix +
                                        "'"));
        }
        from = start;
    } else if (prefix) {
        if (reverse) {
            from = key_after_prefix(*prefix);
            if (!from) {
                fail(k2v_error::internal("Sorry, can't list this prefix in reverse order"));
            }
            skip_from = true;
        } else {
            from = prefix;
        }
    }
    auto const dir = reverse ? storage::direction::reverse : storage::direction::forward;
    range_result<typename Table::entry_type> out;
    constexpr std::size_t page = 1000;
    while (true) {
        auto got = value_or_fail(table.get_range(pk, from, filter, page, dir));
        std::size_t const n = got.size();
        for (auto& e : got) {
            std::string const& sk = e.sort_key();
            if (skip_from && from && sk == *from) {
                continue;
            }
            if (prefix && !sk.starts_with(*prefix)) {
                return out;
            }
            if (end && (reverse ? sk <= *end : sk >= *end)) {
                return out;
            }
            if (limit && out.entries.size() >= *limit) {
                out.more = true;
                out.next_start = sk;
                return out;
            }
            out.entries.push_back(std::move(e));
        }
        if (n < page || out.entries.empty()) {
            return out;
        }
        from = out.entries.back().sort_key();
        skip_from = true;
    }
}

} // namespace garage::api::k2v::detail
