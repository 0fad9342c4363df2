#pragma once
/** @file
    The `key` table: S3 access keys, their secrets and permissions.
*/

#include <garage/crdt/deletable.hpp>
#include <garage/crdt/lww.hpp>
#include <garage/crdt/lww_map.hpp>
#include <garage/crdt/map.hpp>
#include <garage/model/permission.hpp>
#include <garage/model/types.hpp>
#include <garage/table/schema.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <boost/describe/class.hpp>

#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/variant.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace garage::model {

/** A new random access key id: `GK` followed by 24 lower-case hexadecimal digits (12 random
    bytes, OpenSSL `RAND_bytes`). @return The id. */
std::string generate_key_id();

/** A new random secret key: 64 lower-case hexadecimal digits (32 random bytes).
    @return The secret. */
std::string generate_secret_key();

/** Whether a string is a well-formed access key id: 26 characters, `GK` then 24 hexadecimal
    digits (either case, as Garage's import accepts).
    @param id The candidate. @return Whether it is valid. */
bool is_valid_key_id(std::string_view id) noexcept;

/** Whether a string is a well-formed secret key: 64 hexadecimal digits (either case).
    @param secret The candidate. @return Whether it is valid. */
bool is_valid_secret_key(std::string_view secret) noexcept;

/** The state of an access key that is not deleted (Garage's `KeyParams`). Merged member by
    member through its description; the secret never changes once the key exists. */
struct access_key_params {
    std::string secret_key;                                    ///< the secret (immutable)
    crdt::lww<std::string> name;                               ///< a human-readable name
    crdt::lww<bool> allow_create_bucket;                       ///< may create buckets
    crdt::map<util::uuid, bucket_key_perm> authorized_buckets; ///< permissions by bucket id
    /// The key's own bucket names: alias to bucket, or nullopt once removed.
    crdt::lww_map<std::string, std::optional<util::uuid>> local_aliases;

    /// Equal when every member is equal.
    friend bool operator==(access_key_params const&, access_key_params const&) = default;
};

/// @cond garage_describe
BOOST_DESCRIBE_STRUCT(access_key_params, (),
                      (secret_key, name, allow_create_bucket, authorized_buckets, local_aliases))
/// @endcond

/** An S3 access key (Garage's `Key`): its id and its state, present or deleted for ever.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
struct access_key {
    std::string key_id;                       ///< `GK...` (the sort key)
    crdt::deletable<access_key_params> state; ///< its parameters, or deleted

    /** A new key with a random id and secret.
        @param name Its name.
        @return The key. */
    static access_key create(std::string name);

    /** A key with a given id and secret (Garage's `key import`).
        @param key_id     The id; see @ref garage::model::is_valid_key_id.
        @param secret_key The secret; see @ref garage::model::is_valid_secret_key.
        @param name       Its name.
        @return The key; `error::invalid_key_id` or `error::invalid_secret_key`. */
    static util::result<access_key> import(std::string_view key_id, std::string_view secret_key,
                                           std::string name);

    /** The deletion of a key, to merge into it.
        @param key_id Its id.
        @return The deleted key. */
    static access_key deleted(std::string key_id);

    /// @return Whether the key is deleted.
    bool is_deleted() const noexcept { return state.is_deleted(); }
    /// @return Its parameters, or null if deleted.
    access_key_params const* params() const noexcept { return state.get(); }
    /// @return Its parameters, or null if deleted; changes merge like any update.
    access_key_params* params_mut() noexcept { return state.get_mut(); }

    /** @param bucket_id A bucket.
        @return The key's permissions on it (none if deleted or not authorized). */
    bucket_key_perm bucket_permissions(util::uuid const& bucket_id) const noexcept;
    /** @param bucket_id A bucket. @return Whether the key may read it. */
    bool allow_read(util::uuid const& bucket_id) const noexcept
    {
        return bucket_permissions(bucket_id).allow_read;
    }
    /** @param bucket_id A bucket. @return Whether the key may write it. */
    bool allow_write(util::uuid const& bucket_id) const noexcept
    {
        return bucket_permissions(bucket_id).allow_write;
    }
    /** @param bucket_id A bucket. @return Whether the key owns it. */
    bool allow_owner(util::uuid const& bucket_id) const noexcept
    {
        return bucket_permissions(bucket_id).allow_owner;
    }

    /// @return The empty partition key: keys live in one partition.
    table::empty_key const& partition_key() const noexcept { return no_key; }
    /// @return The key id.
    std::string const& sort_key() const noexcept { return key_id; }

    /// Equal when id and state are equal.
    friend bool operator==(access_key const&, access_key const&) = default;
};

/// @cond garage_describe
BOOST_DESCRIBE_STRUCT(access_key, (), (key_id, state))
/// @endcond

/** Keys that are not deleted and whose id starts with, or whose name equals, a pattern
    (case-insensitive; Garage's `MatchesAndNotDeleted`, used by `garage key info <pattern>`). */
struct key_match {
    std::string pattern; ///< a prefix of the id, or the whole name

    /** cereal: the filter travels in range reads across the cluster.
        @param ar The archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(pattern);
    }
};

/// The filter of the key table: by deletion state, or by pattern.
using key_filter = std::variant<deleted_filter, key_match>;

/** The schema of the `key` table (full copy; partition: empty; sort: key id). */
struct access_key_schema {
    /// Garage's table name.
    static constexpr std::string_view table_name = "key";
    using partition_key_type = table::empty_key; ///< one partition
    using sort_key_type = std::string;           ///< the key id
    using entry_type = access_key;               ///< the entry
    using filter_type = key_filter;              ///< by deletion state or pattern

    /** @param e An entry. @param f A filter. @return Whether `e` passes `f`. */
    static bool matches_filter(access_key const& e, key_filter const& f);
};

} // namespace garage::model
