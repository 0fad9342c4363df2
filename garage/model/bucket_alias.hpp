#pragma once
/** @file
    The `bucket_alias` table: the global namespace of bucket names.
*/

#include <garage/crdt/lww.hpp>
#include <garage/model/types.hpp>
#include <garage/table/schema.hpp>
#include <garage/util/bytes32.hpp>

#include <boost/describe/class.hpp>

#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace garage::model {

/** A global bucket name (Garage's `BucketAlias`): the bucket it points to, by last writer;
    `std::nullopt` means the alias was removed. Two different targets written in the same
    millisecond merge to `std::nullopt` (the `std::optional` rule of `crdt::merge`).

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
struct bucket_alias {
    std::string name;                           ///< the alias (the sort key)
    crdt::lww<std::optional<util::uuid>> state; ///< the bucket, or nullopt when removed

    /** An alias written at a given time.
        @param name      The alias.
        @param timestamp Milliseconds since the Unix epoch of the write.
        @param bucket_id The bucket, or nullopt to remove the alias.
        @return The alias entry. */
    static bucket_alias make(std::string name, std::uint64_t timestamp, std::optional<util::uuid> bucket_id)
    {
        return bucket_alias{std::move(name), crdt::lww<std::optional<util::uuid>>::raw(timestamp, bucket_id)};
    }

    /// @return Whether the alias points to no bucket.
    bool is_deleted() const noexcept { return !state.get().has_value(); }
    /// @return The bucket it points to, if any.
    std::optional<util::uuid> const& bucket_id() const noexcept { return state.get(); }

    /// @return The empty partition key: aliases live in one partition.
    table::empty_key const& partition_key() const noexcept { return no_key; }
    /// @return The alias.
    std::string const& sort_key() const noexcept { return name; }

    /// Equal when name and state are equal.
    friend bool operator==(bucket_alias const&, bucket_alias const&) = default;
};

/// @cond garage_describe
BOOST_DESCRIBE_STRUCT(bucket_alias, (), (name, state))
/// @endcond

/** The schema of the `bucket_alias` table (full copy; partition: empty; sort: name). */
struct bucket_alias_schema {
    /// Garage's table name.
    static constexpr std::string_view table_name = "bucket_alias";
    using partition_key_type = table::empty_key; ///< one partition
    using sort_key_type = std::string;           ///< the alias
    using entry_type = bucket_alias;             ///< the entry
    using filter_type = deleted_filter;          ///< by deletion state

    /** @param e An entry. @param f A filter. @return Whether `e` passes `f`. */
    static bool matches_filter(bucket_alias const& e, deleted_filter f) noexcept
    {
        return matches(f, e.is_deleted());
    }
};

/** Whether a name may be a bucket alias (reference §1.14, S3's naming rules): 3 to 63
    characters among lower-case letters, digits, dots and dashes; not starting or ending with a
    dot or a dash; not an IPv4 address; not ending with "-s3alias"; and no label starting with
    "xn" and two dashes (punycode) unless allowed.
    @param name           The candidate name.
    @param allow_punycode Whether punycode labels are allowed (`allow_punycode` in garage.toml).
    @return Whether the name is valid. */
bool is_valid_bucket_name(std::string_view name, bool allow_punycode = false) noexcept;

} // namespace garage::model
