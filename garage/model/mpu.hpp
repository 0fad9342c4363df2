#pragma once
/** @file
    The `multipart_upload` table: the parts uploaded so far for each multipart upload; its
    hook deletes the parts' versions once the upload is completed or aborted.
*/

#include <garage/crdt/flag.hpp>
#include <garage/crdt/map.hpp>
#include <garage/model/concepts.hpp>
#include <garage/model/types.hpp>
#include <garage/model/version.hpp>
#include <garage/table/schema.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>

#include <array>
#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace garage::model {

/** The key of one upload of one part: the part number and the time of the upload, so that
    retries of a part are all kept until the upload ends. Ordered by part, then time. */
struct mpu_part_key {
    std::uint64_t part_number = 0; ///< the part number (any u64: Garage checks no range)
    std::uint64_t timestamp = 0;   ///< milliseconds since the Unix epoch of this upload

    /// Ordered by part number, then timestamp.
    friend constexpr auto operator<=>(mpu_part_key const&, mpu_part_key const&) = default;
    /// Equal when both fields are equal.
    friend constexpr bool operator==(mpu_part_key const&, mpu_part_key const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("part_number", part_number), cereal::make_nvp("timestamp", timestamp));
    }
};

/** One upload of one part (Garage's `MpuPart`): the version holding its blocks, and, once its
    data is all received, its ETag, checksum and size.

    Merge: each optional field keeps the larger value, an absent value being the smallest, so
    that "known" wins over "not yet known"; the version ids are equal by construction (the
    larger is kept should they differ).
*/
struct mpu_part {
    util::uuid version;                     ///< the version entry with the part's blocks
    std::optional<std::string> etag;        ///< hex MD5 of the part, once received
    std::optional<checksum_value> checksum; ///< the requested checksum, once received
    std::optional<std::uint64_t> size;      ///< the size of the part, once received

    /** Merges another state of the part.
        @param other The state to merge in. */
    void merge(mpu_part const& other);

    /// Equal when every field is equal.
    friend bool operator==(mpu_part const&, mpu_part const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("version", version), cereal::make_nvp("etag", etag),
           cereal::make_nvp("checksum", checksum), cereal::make_nvp("size", size));
    }
};

/** A multipart upload (Garage's `MultipartUpload`): its parts, and a link back to its object.

    Created with the object version `uploading{multipart}` of the same id; marked deleted once
    that version is completed or aborted. Merge: `deleted` is an OR; a deleted upload drops its
    parts (their versions are deleted through the hook), otherwise parts are united and merged.
    The other fields are set at creation and equal in every copy (should they differ, the larger
    is kept). A deleted upload is a tombstone.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
struct multipart_upload {
    util::uuid upload_id;                    ///< the upload id = the object version id (partition key)
    std::uint64_t timestamp = 0;             ///< the object version's timestamp
    crdt::flag deleted;                      ///< completed or aborted
    crdt::map<mpu_part_key, mpu_part> parts; ///< every upload of every part
    util::uuid bucket_id;                    ///< the object's bucket
    std::string key;                         ///< the object's key

    /** A new upload, with no part.
        @param upload_id The upload id (the object version id).
        @param timestamp The object version's timestamp.
        @param bucket_id The bucket.
        @param key       The object key.
        @return The upload. */
    static multipart_upload create(util::uuid const& upload_id, std::uint64_t timestamp,
                                   util::uuid const& bucket_id, std::string key)
    {
        return multipart_upload{upload_id, timestamp, crdt::flag(false), {}, bucket_id, std::move(key)};
    }
    /** The deletion of an upload, to merge into it.
        @param upload_id The upload id.
        @param timestamp The object version's timestamp.
        @param bucket_id The bucket.
        @param key       The object key.
        @return The deleted upload. */
    static multipart_upload tombstone(util::uuid const& upload_id, std::uint64_t timestamp,
                                      util::uuid const& bucket_id, std::string key)
    {
        return multipart_upload{upload_id, timestamp, crdt::flag(true), {}, bucket_id, std::move(key)};
    }

    /** The timestamp for a new upload of a part: `max(now, 1 + latest upload of that part)`,
        so that a retry sorts after the previous attempts.
        @param part_number The part.
        @return The timestamp. */
    std::uint64_t next_timestamp(std::uint64_t part_number) const;

    /** Merges another state of the upload (see the class comment).
        @param other The state to merge in. */
    void merge(multipart_upload const& other);

    /// @return The upload id.
    util::uuid const& partition_key() const noexcept { return upload_id; }
    /// @return The empty sort key: one entry per upload.
    table::empty_key const& sort_key() const noexcept { return no_key; }
    /// @return Whether the upload is deleted.
    bool is_tombstone() const noexcept { return deleted.get(); }

    /// Equal when every field is equal.
    friend bool operator==(multipart_upload const&, multipart_upload const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("upload_id", upload_id), cereal::make_nvp("timestamp", timestamp),
           cereal::make_nvp("deleted", deleted), cereal::make_nvp("parts", parts),
           cereal::make_nvp("bucket_id", bucket_id), cereal::make_nvp("key", key));
    }
};

/** The `bucket_mpu_counter` index counter: per bucket, the multipart uploads in progress
    (`uploads`), their distinct part numbers (`parts`) and the bytes of their parts (`bytes`).
    Models @ref garage::model::counter_definition. */
struct bucket_mpu_counter {
    /// Garage's table name.
    static constexpr std::string_view table_name = "bucket_mpu_counter";
    using item_type = multipart_upload;     ///< counts multipart uploads
    using partition_key_type = util::uuid;  ///< the bucket id
    using sort_key_type = table::empty_key; ///< one counter per bucket

    /// Counter name: uploads not completed nor aborted.
    static constexpr std::string_view uploads = "uploads";
    /// Counter name: distinct part numbers of those uploads.
    static constexpr std::string_view parts = "parts";
    /// Counter name: bytes of their uploaded parts.
    static constexpr std::string_view bytes = "bytes";

    /** @param u An upload. @return Its bucket. */
    static util::uuid const& partition_key(multipart_upload const& u) noexcept { return u.bucket_id; }
    /** @return The empty key. */
    static table::empty_key const& sort_key(multipart_upload const&) noexcept { return no_key; }
    /** @param u An upload. @return Its counts: `uploads`, `parts`, `bytes`. */
    static std::array<counter_sample, 3> counts(multipart_upload const& u);
};

/** The schema of the `multipart_upload` table (sharded; partition: upload id; sort: empty).

    Hook, in the write's transaction: the upload is counted into `Counter`; when it becomes
    deleted, a deleted `version` for each uploaded part is queued into `VersionQueue` (those
    versions then release their blocks through the version table's hook).

    @tparam VersionQueue Models @ref garage::model::entry_queue of @ref garage::model::version; the version
   table.
    @tparam Counter      Models @ref garage::model::item_counter of @ref garage::model::multipart_upload; the
                         `bucket_mpu_counter` index counter.
*/
template <entry_queue<version> VersionQueue, item_counter<multipart_upload> Counter>
requires std::same_as<typename VersionQueue::transaction_type, typename Counter::transaction_type>
class mpu_schema {
public:
    /// Garage's table name.
    static constexpr std::string_view table_name = "multipart_upload";
    using partition_key_type = util::uuid;                            ///< the upload id
    using sort_key_type = table::empty_key;                           ///< one entry per upload
    using entry_type = multipart_upload;                              ///< the entry
    using filter_type = deleted_filter;                               ///< by deletion state
    using transaction_type = typename VersionQueue::transaction_type; ///< the hook's transaction

    /** @param versions Where version deletions go. @param counter The upload counter.
        Both must outlive the schema and its table. */
    mpu_schema(VersionQueue& versions, Counter& counter) noexcept
        : versions_(std::addressof(versions)), counter_(std::addressof(counter))
    {
    }

    /** @param e An entry. @param f A filter. @return Whether `e` passes `f`. */
    static bool matches_filter(multipart_upload const& e, deleted_filter f) noexcept
    {
        return matches(f, e.is_tombstone());
    }

    /** The hook: counts the upload, and queues the deletion of its parts' versions when it
        becomes deleted.
        @param tx  The write's transaction.
        @param old The entry before the write, or null.
        @param now The entry after the write, or null.
        @return The first error, which aborts the write. */
    util::result<void> updated(transaction_type& tx, multipart_upload const* old, multipart_upload const* now)
    {
        if (auto r = counter_->count(tx, old, now); !r) {
            return r;
        }
        if (old == nullptr || now == nullptr || !now->deleted.get() || old->deleted.get()) {
            return {};
        }
        for (auto const& p : old->parts.items()) {
            if (auto r = versions_->queue_insert(
                    tx, version::tombstone(p.value.version, mpu_backlink{old->upload_id}));
                !r) {
                return r;
            }
        }
        return {};
    }

private:
    VersionQueue* versions_;
    Counter* counter_;
};

} // namespace garage::model
