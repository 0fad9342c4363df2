#pragma once
/** @file
    The `block_ref` table: which versions use which data blocks; its hook keeps the blocks'
    reference counts.
*/

#include <garage/crdt/flag.hpp>
#include <garage/model/concepts.hpp>
#include <garage/model/types.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/table/schema.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <boost/describe/class.hpp>

#include <memory>
#include <string_view>

namespace garage::model {

/** One use of a data block by one version (Garage's `BlockRef`). Once deleted, deleted for
    ever; a deleted reference is a tombstone, collected after the GC delay.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
struct block_ref {
    util::hash32 block; ///< the block's content hash (the partition key)
    util::uuid version; ///< the version that uses it (the sort key)
    crdt::flag deleted; ///< the version no longer uses it

    /** A live reference.
        @param block   The block.
        @param version The version.
        @return The reference. */
    static block_ref live(util::hash32 const& block, util::uuid const& version)
    {
        return block_ref{block, version, crdt::flag(false)};
    }
    /** The deletion of a reference, to merge into it.
        @param block   The block.
        @param version The version.
        @return The deleted reference. */
    static block_ref tombstone(util::hash32 const& block, util::uuid const& version)
    {
        return block_ref{block, version, crdt::flag(true)};
    }

    /// @return The block hash.
    util::hash32 const& partition_key() const noexcept { return block; }
    /// @return The version id.
    util::uuid const& sort_key() const noexcept { return version; }
    /// @return Whether the reference is deleted.
    bool is_tombstone() const noexcept { return deleted.get(); }

    /// Equal when every member is equal.
    friend bool operator==(block_ref const&, block_ref const&) = default;
};

/// @cond garage_describe
BOOST_DESCRIBE_STRUCT(block_ref, (), (block, version, deleted))
/// @endcond

/** The schema of the `block_ref` table (sharded; partition: block hash; sort: version id).

    Its hook reports to `RcSink`, in the transaction of the write, every reference that comes
    alive (absent or deleted before, live after: `incref`) and every live reference that dies
    (`decref`). Reference counts therefore count live `block_ref` entries exactly, whatever
    the order and repetition of the writes; a failing sink aborts the write.

    @tparam Storage The storage backend the table lives in.
    @tparam RcSink  Models @ref garage::model::block_rc_sink for `Storage`'s transactions; the block manager
                    in the server, a counter in tests. The schema holds a pointer: the sink
                    must outlive the table.

    @par Thread Safety
    As the sink's `incref` and `decref`, which the table calls under its storage's single
    writer.
*/
template <storage::storage_backend Storage, block_rc_sink<typename Storage::transaction_type> RcSink>
class block_ref_schema {
public:
    /// Garage's table name.
    static constexpr std::string_view table_name = "block_ref";
    using partition_key_type = util::hash32;                     ///< the block hash
    using sort_key_type = util::uuid;                            ///< the version id
    using entry_type = block_ref;                                ///< the entry
    using filter_type = deleted_filter;                          ///< by deletion state
    using transaction_type = typename Storage::transaction_type; ///< the hook's transaction
    using rc_sink_type = RcSink;                                 ///< where counts go

    /** @param sink The reference-count sink; it must outlive the schema and its table. */
    explicit block_ref_schema(RcSink& sink) noexcept : sink_(std::addressof(sink)) {}

    /** @param e An entry. @param f A filter. @return Whether `e` passes `f`. */
    static bool matches_filter(block_ref const& e, deleted_filter f) noexcept
    {
        return matches(f, e.is_tombstone());
    }

    /** The hook: `incref` when a reference comes alive, `decref` when a live one dies.
        @param tx  The write's transaction.
        @param old The entry before the write, or null.
        @param now The entry after the write, or null (collected by the GC).
        @return The sink's error, which aborts the write. */
    util::result<void> updated(transaction_type& tx, block_ref const* old, block_ref const* now)
    {
        bool const was_live = old != nullptr && !old->deleted.get();
        bool const is_live = now != nullptr && !now->deleted.get();
        auto const& block = old != nullptr ? old->block : now->block;
        if (is_live && !was_live) {
            return sink_->incref(tx, block);
        }
        if (was_live && !is_live) {
            return sink_->decref(tx, block);
        }
        return {};
    }

    /// @return The sink.
    RcSink& rc_sink() const noexcept { return *sink_; }

private:
    RcSink* sink_;
};

} // namespace garage::model
