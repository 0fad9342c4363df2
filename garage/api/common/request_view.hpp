#pragma once
/** @file
    A borrowed, HTTP-library-independent view of a request's head: what request
    authentication and body decoding need to know, and nothing that ties them to Beast.

    The HTTP adapter fills a @ref garage::api::request_view from its own request type; the
    functions of this layer (SigV4, checksum headers) read it and never keep it.
*/

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace garage::api {

/// One request header: its name (any case; compared case-insensitively) and raw value.
struct header_field {
    std::string_view name;  ///< the field name, e.g. `x-amz-date`
    std::string_view value; ///< the field value as received
};

/** The head of an HTTP request, borrowed from the caller.

    Every view must outlive the functions it is passed to (none keeps it).

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (read only).
*/
struct request_view {
    std::string_view method;               ///< `GET`, `PUT`, ... (case as received)
    std::string_view raw_path;             ///< the request target's path, still percent-encoded
    std::string_view raw_query;            ///< the query string after `?`, still encoded; may be empty
    std::span<header_field const> headers; ///< every header field, repeated names included
};

/** ASCII case-insensitive equality (HTTP field names, algorithm names); bytes outside
    `A-Z`/`a-z` must match exactly.
    @param a One string.
    @param b The other.
    @return True when both have the same length and are equal ignoring ASCII case. */
bool iequals(std::string_view a, std::string_view b) noexcept;

/** ASCII case-insensitive prefix test.
    @param s      The string.
    @param prefix The prefix looked for.
    @return True when `s` starts with `prefix`, ignoring ASCII case. */
bool istarts_with(std::string_view s, std::string_view prefix) noexcept;

/** Looks up a header.
    @param headers The request's header fields.
    @param name    The field name, compared case-insensitively.
    @return The value of the first field named `name`, or `nullopt` if there is none. */
std::optional<std::string_view> find_header(std::span<header_field const> headers,
                                            std::string_view name) noexcept;

/** Counts the fields of one name (to reject headers that must not be repeated).
    @param headers The request's header fields.
    @param name    The field name, compared case-insensitively.
    @return How many fields are named `name`. */
std::size_t count_header(std::span<header_field const> headers, std::string_view name) noexcept;

/// One decoded query parameter.
struct query_param {
    std::string key;   ///< the decoded name, case preserved
    std::string value; ///< the decoded value; empty when the parameter has no `=`

    /// Same key and same value (memberwise).
    friend bool operator==(query_param const&, query_param const&) = default;
};

/** Decodes `%%XX` escapes in `text`.

    A `%` not followed by two hexadecimal digits is kept literally (as browsers and
    `application/x-www-form-urlencoded` parsers do), so decoding never fails.
    @param text          The encoded text.
    @param plus_as_space When true, `+` decodes to a space (query strings, as Garage and S3).
    @return The decoded bytes (not checked to be UTF-8).
*/
std::string percent_decode(std::string_view text, bool plus_as_space);

/** Splits and decodes a query string (`a=1&b&c=%20`) into its parameters, in order.

    Empty segments (`a=1&&b`) are skipped; `+` decodes to a space. Repeated names are kept:
    rejecting them is the router's business.
    @param raw_query The query string after `?`, still encoded (may be empty).
    @return The decoded parameters, in their order in the query.
*/
std::vector<query_param> parse_query(std::string_view raw_query);

} // namespace garage::api
