#pragma once
/** @file
    The `version` table: the ordered block list of each object version and uploaded part; its
    hook deletes the block references of a deleted version.
*/

#include <garage/crdt/crdt.hpp>
#include <garage/crdt/flag.hpp>
#include <garage/crdt/map.hpp>
#include <garage/model/block_ref.hpp>
#include <garage/model/concepts.hpp>
#include <garage/model/types.hpp>
#include <garage/table/schema.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <cereal/types/string.hpp>
#include <cereal/types/variant.hpp>

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace garage::model {

/** The position of a block in a version: its part number (1 for a simple upload) and its
    offset in that part, before compression or encryption. Ordered by part, then offset. */
struct version_block_key {
    std::uint64_t part_number = 0; ///< the part (multipart uploads), 1 otherwise
    std::uint64_t offset = 0;      ///< the block's offset in the part

    /// Ordered by part number, then offset.
    friend constexpr auto operator<=>(version_block_key const&, version_block_key const&) = default;
    /// Equal when both fields are equal.
    friend constexpr bool operator==(version_block_key const&, version_block_key const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("part_number", part_number), cereal::make_nvp("offset", offset));
    }
};

/** A block of a version: its content hash and its size before compression or encryption. */
struct version_block {
    util::hash32 hash;      ///< the block's content hash
    std::uint64_t size = 0; ///< its size in bytes

    /// Ordered by hash, then size (a merge of two different values keeps the larger).
    friend auto operator<=>(version_block const&, version_block const&) = default;
    /// Equal when both fields are equal.
    friend bool operator==(version_block const&, version_block const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("hash", hash), cereal::make_nvp("size", size));
    }
};

/** The owner of a version that is an object version: its bucket and key. */
struct object_backlink {
    util::uuid bucket_id; ///< the bucket
    std::string key;      ///< the object key

    /// Ordered by bucket, then key.
    friend auto operator<=>(object_backlink const&, object_backlink const&) = default;
    /// Equal when both fields are equal.
    friend bool operator==(object_backlink const&, object_backlink const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("bucket_id", bucket_id), cereal::make_nvp("key", key));
    }
};

/** The owner of a version that is one uploaded part: its multipart upload. */
struct mpu_backlink {
    util::uuid upload_id; ///< the upload

    /// Ordered by upload id.
    friend auto operator<=>(mpu_backlink const&, mpu_backlink const&) = default;
    /// Equal when the upload ids are equal.
    friend bool operator==(mpu_backlink const&, mpu_backlink const&) = default;
    /** cereal. @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("upload_id", upload_id));
    }
};

/** What a version belongs to (Garage's `VersionBacklink`), used by repairs to find versions
    whose owner is gone. */
using version_backlink = std::variant<object_backlink, mpu_backlink>;

} // namespace garage::model

/// Two replicas never disagree on a block (content-addressed) or on an owner; should they,
/// the larger wins (Garage: `AutoCrdt for VersionBlock`).
template <>
inline constexpr bool garage::crdt::enable_auto_crdt<garage::model::version_block> = true;
/// See `enable_auto_crdt<version_block>`.
template <>
inline constexpr bool garage::crdt::enable_auto_crdt<garage::model::version_backlink> = true;

namespace garage::model {

/** A version of an object, or one upload of a part (Garage's `Version`): its ordered blocks.

    Merge: `deleted` is an OR; a deleted version drops its block list (the blocks are released
    through their block references), otherwise the block lists are united. A deleted version
    is a tombstone, collected after the GC delay.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
struct version {
    util::uuid uuid;    ///< the version id (the partition key): the object version's, or a part's
    crdt::flag deleted; ///< the version is deleted
    crdt::map<version_block_key, version_block> blocks; ///< the blocks, by (part, offset)
    version_backlink backlink;                          ///< what the version belongs to

    /** A live version with no block yet.
        @param id       Its id.
        @param backlink Its owner.
        @return The version. */
    static version create(util::uuid const& id, version_backlink backlink)
    {
        return version{id, crdt::flag(false), {}, std::move(backlink)};
    }
    /** The deletion of a version, to merge into it.
        @param id       Its id.
        @param backlink Its owner.
        @return The deleted version. */
    static version tombstone(util::uuid const& id, version_backlink backlink)
    {
        return version{id, crdt::flag(true), {}, std::move(backlink)};
    }

    /** @param part_number A part number. @return Whether some block belongs to that part. */
    bool has_part_number(std::uint64_t part_number) const noexcept;
    /// @return The largest part number, or nullopt when there is no block.
    std::optional<std::uint64_t> n_parts() const noexcept;

    /** Merges another state of the version (see the class comment).
        @param other The state to merge in. */
    void merge(version const& other);

    /// @return The version id.
    util::uuid const& partition_key() const noexcept { return uuid; }
    /// @return The empty sort key: one entry per version.
    table::empty_key const& sort_key() const noexcept { return no_key; }
    /// @return Whether the version is deleted.
    bool is_tombstone() const noexcept { return deleted.get(); }

    /// Equal when every member is equal.
    friend bool operator==(version const&, version const&) = default;

    /** cereal: id, deleted, blocks, backlink.
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        ar(cereal::make_nvp("uuid", uuid), cereal::make_nvp("deleted", deleted),
           cereal::make_nvp("blocks", blocks), cereal::make_nvp("backlink", backlink));
    }
};

/** The schema of the `version` table (sharded; partition: version id; sort: empty).

    Hook: when a version becomes deleted, a deleted `block_ref` for each block it had is
    queued into the block_ref table, in the same transaction (Garage's cascade).

    @tparam BlockRefQueue Models @ref garage::model::entry_queue of @ref garage::model::block_ref; the
   block_ref table, or a test double. The schema holds a pointer: it must outlive the table.
*/
template <entry_queue<block_ref> BlockRefQueue>
class version_schema {
public:
    /// Garage's table name.
    static constexpr std::string_view table_name = "version";
    using partition_key_type = util::uuid;                             ///< the version id
    using sort_key_type = table::empty_key;                            ///< one entry per version
    using entry_type = version;                                        ///< the entry
    using filter_type = deleted_filter;                                ///< by deletion state
    using transaction_type = typename BlockRefQueue::transaction_type; ///< the hook's transaction

    /** @param block_refs Where block-reference deletions go; it must outlive the schema. */
    explicit version_schema(BlockRefQueue& block_refs) noexcept : block_refs_(std::addressof(block_refs)) {}

    /** @param e An entry. @param f A filter. @return Whether `e` passes `f`. */
    static bool matches_filter(version const& e, deleted_filter f) noexcept
    {
        return matches(f, e.is_tombstone());
    }

    /** The hook: a version that becomes deleted queues the deletion of its block references.
        @param tx  The write's transaction.
        @param old The entry before the write, or null.
        @param now The entry after the write, or null.
        @return The queue's error, which aborts the write. */
    util::result<void> updated(transaction_type& tx, version const* old, version const* now)
    {
        if (old == nullptr || now == nullptr || !now->deleted.get() || old->deleted.get()) {
            return {};
        }
        for (auto const& b : old->blocks.items()) {
            if (auto r = block_refs_->queue_insert(tx, block_ref::tombstone(b.value.hash, old->uuid)); !r) {
                return r;
            }
        }
        return {};
    }

private:
    BlockRefQueue* block_refs_;
};

} // namespace garage::model
