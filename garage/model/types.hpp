#pragma once
/** @file
    Types shared by several tables of the model: the deletion filter, checksums, the empty key.
*/

#include <garage/table/schema.hpp>

#include <cereal/types/string.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>

/** The `model` layer: Garage's data model as table schemas (buckets, bucket aliases, access
    keys, objects, versions, block references, multipart uploads, index counters), the hooks that
    cascade deletions from one table to the next, and @ref garage::model::basic_model, which opens
    them all on one storage. Bazel target `//garage/model`.
*/
namespace garage::model {

/** The value of the empty key (Garage's `EmptyKey`): the sort key of tables with one entry
    per partition, and the partition key of tables kept in a single partition. Entries return a
    reference to it from `sort_key()` or `partition_key()`. */
inline constexpr table::empty_key no_key{};

/** Which entries a range read returns, by their deletion state (Garage's `DeletedFilter`). */
enum class deleted_filter : std::uint8_t {
    any,         ///< every entry
    deleted,     ///< only deleted entries
    not_deleted, ///< only entries that are not deleted
};

/** Applies a @ref garage::model::deleted_filter.
    @param f          The filter.
    @param is_deleted Whether the entry is deleted.
    @return Whether the entry passes. */
constexpr bool matches(deleted_filter f, bool is_deleted) noexcept
{
    switch (f) {
    case deleted_filter::any:
        return true;
    case deleted_filter::deleted:
        return is_deleted;
    case deleted_filter::not_deleted:
        return !is_deleted;
    }
    return true;
}

/** The checksum algorithms of `x-amz-checksum-algorithm` (reference §1.6).
    The numeric values are part of the stored format: append, never renumber. */
enum class checksum_algorithm : std::uint8_t {
    crc32 = 0,     ///< CRC-32 (ISO-HDLC), 4 bytes
    crc32c = 1,    ///< CRC-32C (Castagnoli), 4 bytes
    sha1 = 2,      ///< SHA-1, 20 bytes
    sha256 = 3,    ///< SHA-256, 32 bytes
    crc64nvme = 4, ///< CRC-64/NVME, 8 bytes
};

/** The size in bytes of a checksum.
    @param a The algorithm.
    @return 4, 8, 20 or 32. */
constexpr std::size_t checksum_size(checksum_algorithm a) noexcept
{
    switch (a) {
    case checksum_algorithm::crc32:
    case checksum_algorithm::crc32c:
        return 4;
    case checksum_algorithm::crc64nvme:
        return 8;
    case checksum_algorithm::sha1:
        return 20;
    case checksum_algorithm::sha256:
        return 32;
    }
    return 0;
}

/** A checksum of an object or a part: the algorithm and the raw digest bytes (Garage's
    `ChecksumValue`). Totally ordered so that the merges that keep a maximum can use it. */
struct checksum_value {
    model::checksum_algorithm algorithm = model::checksum_algorithm::crc32; ///< the algorithm
    std::string bytes; ///< the raw digest, as many bytes as `checksum_size(algorithm)`

    /// Ordered by algorithm, then bytes.
    friend auto operator<=>(checksum_value const&, checksum_value const&) = default;
    /// Equal when algorithm and bytes are equal.
    friend bool operator==(checksum_value const&, checksum_value const&) = default;

    /** cereal: algorithm, bytes.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("algorithm", algorithm), cereal::make_nvp("bytes", bytes));
    }
};

} // namespace garage::model
