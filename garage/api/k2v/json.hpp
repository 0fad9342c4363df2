#pragma once
/** @file
    The JSON bodies of K2V's batch and range endpoints: parsing the requests (with Garage's
    field names and defaults; unknown fields are ignored, fields of the wrong type are not)
    and writing the items of responses.
*/

#include <garage/model/k2v_item.hpp>
#include <garage/util/error.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace garage::api::k2v {

/// One entry of an InsertBatch body: `{pk, sk, ct: token|null, v: base64|null}`.
struct insert_batch_item {
    std::string pk;                ///< the partition key
    std::string sk;                ///< the sort key
    std::optional<std::string> ct; ///< the causality token, if any
    std::optional<std::string> v;  ///< the value in base64; nullopt: delete
};

/// One search of a ReadBatch body.
struct read_batch_query {
    std::string partition_key;          ///< `partitionKey` (required)
    std::optional<std::string> prefix;  ///< `prefix`
    std::optional<std::string> start;   ///< `start`
    std::optional<std::string> end;     ///< `end`
    std::optional<std::uint64_t> limit; ///< `limit`
    bool reverse = false;               ///< `reverse`
    bool single_item = false;           ///< `singleItem`
    bool conflicts_only = false;        ///< `conflictsOnly`
    bool tombstones = false;            ///< `tombstones`
};

/// One range of a DeleteBatch body.
struct delete_batch_query {
    std::string partition_key;         ///< `partitionKey` (required)
    std::optional<std::string> prefix; ///< `prefix`
    std::optional<std::string> start;  ///< `start`
    std::optional<std::string> end;    ///< `end`
    bool single_item = false;          ///< `singleItem`
};

/// The body of a PollRange request.
struct poll_range_query {
    std::optional<std::string> prefix;      ///< `prefix`
    std::optional<std::string> start;       ///< `start`
    std::optional<std::string> end;         ///< `end`
    std::optional<std::uint64_t> timeout;   ///< `timeout` in seconds
    std::optional<std::string> seen_marker; ///< `seenMarker`
};

/** Parses an InsertBatch body. @param body The JSON text.
    @return The entries; a bad-request failure ("Invalid JSON: …") if malformed. */
util::result<std::vector<insert_batch_item>> parse_insert_batch(std::string_view body);
/** Parses a ReadBatch body. @param body The JSON text. @return The searches, or a failure. */
util::result<std::vector<read_batch_query>> parse_read_batch(std::string_view body);
/** Parses a DeleteBatch body. @param body The JSON text. @return The ranges, or a failure. */
util::result<std::vector<delete_batch_query>> parse_delete_batch(std::string_view body);
/** Parses a PollRange body. @param body The JSON text. @return The query, or a failure. */
util::result<poll_range_query> parse_poll_range(std::string_view body);

/** The values of an item as a JSON array: base64 strings, `null` for deletions.
    @param item The item. @return The array. */
boost::json::array values_json(model::k2v_item const& item);

/** An item of a ReadBatch or PollRange response: `{sk, ct, v: [...]}`.
    @param item The item. @return The object. */
boost::json::object item_json(model::k2v_item const& item);

/** An optional string as JSON. @param s The string. @return A string or `null`. */
boost::json::value opt_json(std::optional<std::string> const& s);

} // namespace garage::api::k2v
