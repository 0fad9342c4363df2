#pragma once
/** @file
    `bucket_key_perm`: the permissions an access key has on a bucket.
*/

#include <cereal/cereal.hpp>

#include <compare>
#include <cstdint>

namespace garage::model {

/** The permissions of one access key on one bucket (Garage's `BucketKeyPerm`), stored twice:
    in the bucket (`authorized_keys`) and in the key (`authorized_buckets`).

    A CRDT: the later `timestamp` wins; two different permission sets with the same timestamp
    merge to their intersection (the most restrictive set), so a concurrent revocation is never
    lost to a concurrent grant of the same millisecond.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
struct bucket_key_perm {
    std::uint64_t timestamp = 0; ///< milliseconds since the Unix epoch of the grant
    bool allow_read = false;     ///< the key may read objects
    bool allow_write = false;    ///< the key may write and delete objects
    bool allow_owner = false;    ///< the key may configure (website, CORS, ...) and delete the bucket

    /// @return No permission, timestamp 0.
    static constexpr bucket_key_perm none() noexcept { return {}; }
    /// @return Every permission, timestamp 0.
    static constexpr bucket_key_perm all() noexcept { return {0, true, true, true}; }

    /// @return Whether any permission is granted.
    constexpr bool is_any() const noexcept { return allow_read || allow_write || allow_owner; }

    /** Merges another permission set: the later timestamp wins; at equal timestamps each
        permission is kept only if both grant it.
        @param other The permission set to merge in. */
    constexpr void merge(bucket_key_perm const& other) noexcept
    {
        if (other.timestamp > timestamp) {
            *this = other;
        } else if (other.timestamp == timestamp) {
            allow_read = allow_read && other.allow_read;
            allow_write = allow_write && other.allow_write;
            allow_owner = allow_owner && other.allow_owner;
        }
    }

    /// Ordered field by field (timestamp first).
    friend constexpr auto operator<=>(bucket_key_perm const&, bucket_key_perm const&) = default;
    /// Equal when every field is equal.
    friend constexpr bool operator==(bucket_key_perm const&, bucket_key_perm const&) = default;

    /** cereal: timestamp, then the three permissions.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("timestamp", timestamp), cereal::make_nvp("allow_read", allow_read),
           cereal::make_nvp("allow_write", allow_write), cereal::make_nvp("allow_owner", allow_owner));
    }
};

} // namespace garage::model
