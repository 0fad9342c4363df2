#pragma once
/** @file
    The RPC endpoints of a replicated table, one set per table: the table's own endpoint
    (reads and writes), the sync endpoint (Merkle anti-entropy) and the GC endpoint (two-phase
    tombstone collection), named after Garage's `garage_table/table.rs/Rpc:<table>`,
    `garage_table/sync.rs/Rpc:<table>` and `garage_table/gc.rs/Rpc:<table>`.

    Keys travel as storage keys (`partition hash ‖ sort key bytes`) and entries in their stored
    form (@ref garage::util::encode), so neither the key types nor the entry type need to know
    about the wire. A range-read filter travels encoded, when the schema's filter type can be
    saved by cereal.
*/

#include <garage/replication/concepts.hpp>
#include <garage/rpc/endpoint.hpp>
#include <garage/table/schema.hpp>
#include <garage/util/bytes32.hpp>

#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace garage::table {

namespace detail {

inline constexpr std::string_view table_rpc_prefix = "garage_table/table.rs/Rpc:";
inline constexpr std::string_view sync_rpc_prefix = "garage_table/sync.rs/Rpc:";
inline constexpr std::string_view gc_rpc_prefix = "garage_table/gc.rs/Rpc:";

/// `Prefix ‖ Schema::table_name`, built at compile time.
template <std::string_view const& Prefix, class Schema>
struct endpoint_path {
    static constexpr std::string_view name = Schema::table_name;
    static constexpr auto bytes = [] {
        std::array<char, Prefix.size() + name.size()> a{};
        for (std::size_t i = 0; i < Prefix.size(); ++i) {
            a[i] = Prefix[i];
        }
        for (std::size_t i = 0; i < name.size(); ++i) {
            a[Prefix.size() + i] = name[i];
        }
        return a;
    }();
    static constexpr std::string_view value{bytes.data(), bytes.size()};
};

} // namespace detail

/// @name Messages of the table endpoint (Garage's `TableRpc`)
/// @{

/** `ReadEntry`: the stored bytes of one entry. */
struct read_entry_request {
    std::string key; ///< the storage key (`partition hash ‖ sort key bytes`)
    /** cereal. @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(key);
    }
};

/** `ReadRange`: entries of one partition, from a sort key, filtered, at most `limit`. */
struct read_range_request {
    util::hash32 partition_hash;               ///< the partition (`partition_hash(pk)`)
    std::optional<std::string> start_sort_key; ///< the first sort key's bytes; absent: from the start
    std::optional<std::string> filter;         ///< the encoded filter; absent: no filter
    std::uint64_t limit = 0;                   ///< at most this many entries
    bool reverse = false;                      ///< descending sort-key order
    /** cereal. @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(partition_hash, start_sort_key, filter, limit, reverse);
    }
};

/** `Update`: entries (stored form) to merge into the receiver's copy. */
struct update_request {
    std::vector<std::string> entries; ///< the encoded entries
    /** cereal. @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(entries);
    }
};

/** The answer to `ReadEntry`. */
struct read_entry_response {
    std::optional<std::string> entry; ///< the stored bytes, or absent
    /** cereal. @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(entry);
    }
};

/** The answer to `ReadRange`. */
struct read_range_response {
    std::vector<std::string> entries; ///< the stored bytes of each entry, in the requested order
    /** cereal. @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(entries);
    }
};

/** The answer to `Update` (and to every push: sync items, GC phases): done. */
struct ok_response {
    /// cereal: nothing to save.
    template <class Archive>
    void serialize(Archive&)
    {
    }
};

/// A request of the table endpoint.
using table_request = std::variant<read_entry_request, read_range_request, update_request>;
/// A response of the table endpoint.
using table_response = std::variant<read_entry_response, read_range_response, ok_response>;
/// @}

/// @name Messages of the sync endpoint (Garage's `SyncRpc`)
/// @{

/** `RootCkHash`: is the receiver's root for this partition different from this hash? */
struct root_hash_request {
    replication::partition_id partition = 0; ///< the partition
    util::hash32 hash;                       ///< the sender's root hash
    /** cereal. @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(partition, hash);
    }
};

/** `GetNode`: one Merkle node by its key. */
struct get_node_request {
    std::string node_key; ///< the node's key (@ref garage::table::merkle_node_key)
    /** cereal. @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(node_key);
    }
};

/** `Items`: entries (stored form) the sender has and the receiver lacks or holds differently. */
struct push_items_request {
    std::vector<std::string> entries; ///< the encoded entries
    /** cereal. @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(entries);
    }
};

/** The answer to `RootCkHash`. */
struct root_hash_response {
    bool different = false; ///< the roots differ
    /** cereal. @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(different);
    }
};

/** The answer to `GetNode`. */
struct node_response {
    std::string node; ///< the node's stored form (@ref garage::table::merkle_node::encode)
    /** cereal. @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(node);
    }
};

/// A request of the sync endpoint.
using sync_request = std::variant<root_hash_request, get_node_request, push_items_request>;
/// A response of the sync endpoint.
using sync_response = std::variant<root_hash_response, node_response, ok_response>;
/// @}

/// @name Messages of the GC endpoint (Garage's `GcRpc`)
/// @{

/** `DeleteIfEqualHash`: delete each key whose stored bytes still hash to the given hash. */
struct delete_if_equal_hash_request {
    std::vector<std::pair<std::string, util::hash32>> items; ///< (storage key, value hash)
    /** cereal. @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(items);
    }
};

/// A request of the GC endpoint: phase 1 (`Update` of the tombstones) or phase 2.
using gc_request = std::variant<update_request, delete_if_equal_hash_request>;
/// @}

/** The table endpoint of `Schema`: `garage_table/table.rs/Rpc:<table_name>`.
    @tparam Schema Models @ref garage::table::table_schema. */
template <table_schema Schema>
struct table_endpoint {
    /// The path.
    static constexpr std::string_view path = detail::endpoint_path<detail::table_rpc_prefix, Schema>::value;
    using request_type = table_request;   ///< ReadEntry, ReadRange or Update
    using response_type = table_response; ///< the matching answer
};

/** The sync endpoint of `Schema`: `garage_table/sync.rs/Rpc:<table_name>`.
    @tparam Schema Models @ref garage::table::table_schema. */
template <table_schema Schema>
struct sync_endpoint {
    /// The path.
    static constexpr std::string_view path = detail::endpoint_path<detail::sync_rpc_prefix, Schema>::value;
    using request_type = sync_request;   ///< RootCkHash, GetNode or Items
    using response_type = sync_response; ///< the matching answer
};

/** The GC endpoint of `Schema`: `garage_table/gc.rs/Rpc:<table_name>`.
    @tparam Schema Models @ref garage::table::table_schema. */
template <table_schema Schema>
struct gc_endpoint {
    /// The path.
    static constexpr std::string_view path = detail::endpoint_path<detail::gc_rpc_prefix, Schema>::value;
    using request_type = gc_request;   ///< Update or DeleteIfEqualHash
    using response_type = ok_response; ///< done
};

/** Whether a filter type can travel in a `ReadRange` request (cereal can save and load it).
    Range reads with a filter need it; without, only unfiltered range reads are served. */
template <class F>
concept wire_filter = rpc::rpc_message<F>;

} // namespace garage::table
