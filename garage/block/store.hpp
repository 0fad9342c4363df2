#pragma once
/** @file
    The block files of this node: finding, writing, reading, setting aside and deleting them
    across the data directories, and walking them for scrub.
*/

#include <garage/block/block.hpp>
#include <garage/block/layout.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace garage::block {

/// Where one copy of a block is stored.
struct block_location {
    std::filesystem::path path;                      ///< the file
    block_encoding encoding = block_encoding::plain; ///< plain, or `.zst`
    data_layout::dir_index dir = 0;                  ///< the data directory holding it
    bool primary = false;                            ///< true when that is the block's primary directory

    /// Equal when every field is equal.
    friend bool operator==(block_location const&, block_location const&) = default;
};

/** A position in a walk over every block file of every data directory (a scrub pass).

    The walk goes directory by directory, and within a directory through the block folders
    `<hex byte 0>/<hex byte 1>` in increasing order, and files by name. The persisted part is
    the directory and the folder being visited, so a resumed walk visits that folder again
    from its start: it checks a few files twice, never skips one.

    @par Thread Safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class scrub_cursor {
public:
    /// At the start of a pass.
    scrub_cursor() = default;

    /// @return True once the walk has gone past the last directory.
    bool finished() const noexcept { return finished_; }

    /** @param dir_count The number of data directories.
        @return The fraction of the walk done, in [0, 1] (1 when finished or with no directory). */
    double progress(std::size_t dir_count) const noexcept
    {
        if (finished_ || dir_count == 0) {
            return 1.0;
        }
        double const in_dir = static_cast<double>(prefix_) / 65536.0;
        double const p = (static_cast<double>(dir_) + in_dir) / static_cast<double>(dir_count);
        return p > 1.0 ? 1.0 : p;
    }

    /** cereal: a format version, the directory, the next folder and the finished flag (the
        files pending in the current folder are not saved).
        @param ar A cereal archive. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        std::uint32_t version = 1;
        ar(version, dir_, prefix_, finished_);
    }

    /// Equal when the persisted parts (directory, folder, finished flag) are equal.
    friend bool operator==(scrub_cursor const& a, scrub_cursor const& b) noexcept
    {
        return a.dir_ == b.dir_ && a.prefix_ == b.prefix_ && a.finished_ == b.finished_;
    }

private:
    friend class block_store;

    std::uint32_t dir_ = 0;    // the data directory being walked
    std::uint32_t prefix_ = 0; // the folder (byte0 << 8 | byte1) being visited, or the next to list
    bool finished_ = false;    // past the last directory
    bool in_folder_ = false;   // `pending_` holds the rest of folder `prefix_` (not persisted)
    std::deque<std::filesystem::path> pending_; // files of the current folder not yet visited
};

/// What one step of a scrub pass did (@ref garage::block::block_store::scrub_step).
struct scrub_step_result {
    bool finished = false;               ///< the pass is over; nothing was checked
    std::optional<util::hash32> checked; ///< the block whose file was checked in this step
    bool corrupt = false;                ///< that file was corrupt and was renamed `.corrupted`
    std::size_t removed_temporaries = 0; ///< leftover `.tmp` files removed on the way
};

/// What one step of a rebalance pass did (@ref garage::block::block_store::rebalance_step).
struct rebalance_step_result {
    bool finished = false;             ///< the walk has ended
    std::size_t files = 0;             ///< block files met in this step
    std::size_t moved = 0;             ///< copies rewritten into their primary directory
    std::uint64_t moved_bytes = 0;     ///< the bytes of those copies, as stored
    std::size_t dropped = 0;           ///< secondary copies removed because a primary copy existed
    std::vector<util::hash32> corrupt; ///< blocks whose secondary copy failed verification (set aside)
};

/** The block files of this node, spread over its data directories by a
    @ref garage::block::data_layout.

    Writes go to `<file>.tmp<8 random hex>` and are renamed into place (with an fsync of the
    file before and of its folder after, when `data_fsync`), so a reader never sees part of
    a file and a crash leaves at most a `.tmp` file, which no read looks at and which
    `scrub_step` removes. Mutations of one block are serialized by one of 256 mutexes,
    chosen by the first two bytes of its hash. Reads take no lock.

    Blocking file I/O: call from a thread pool, never from a reactor thread.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe.
*/
class block_store {
public:
    /// Garage's `MUTEX_COUNT`.
    static constexpr std::size_t mutex_count = 256;

    /** A store over the directories of `layout`.
        @param layout         The data layout (checked and saved by the caller).
        @param data_fsync     fsync files before renaming them, and folders after.
        @param prefer_compressed Look for the `.zst` copy first (when compression is on). */
    block_store(data_layout layout, bool data_fsync, bool prefer_compressed);
    block_store(block_store const&) = delete;
    block_store& operator=(block_store const&) = delete;

    /** @return The data layout (a snapshot: @ref drop_secondary_locations replaces it). */
    std::shared_ptr<data_layout const> layout() const noexcept { return layout_.load(); }

    /** Replaces the layout with the same one without secondary locations (after a complete
        rebalance pass, when every block file is in its primary directory). The caller saves it.
        @return The new layout. */
    std::shared_ptr<data_layout const> drop_secondary_locations();

    /** Finds the copy of a block that reads use.
        @param h The block's hash.
        @return The first copy found, searching the primary directory then the secondary
                ones (in each, the preferred encoding first); `nullopt` if there is none. */
    std::optional<block_location> find(util::hash32 const& h) const;

    /** @param h The block's hash.
        @return Every copy of the block in every directory where the layout may put it. */
    std::vector<block_location> find_all(util::hash32 const& h) const;

    /** Stores `blk` as the block `h` (its content is not checked against `h`: the caller has
        computed `h` from it or verified it, since reads trust the CRC-64 recorded with it, see
        the second `read`).

        An existing compressed copy is kept; an existing plain copy is kept unless `blk` is
        compressed, which replaces it. A copy found outside the primary directory is rewritten
        there and the old file removed. A kept copy has its modification time refreshed
        (a deletion that raced with this write then sees a fresh file, see `delete_if`).
        @param h   The block's hash.
        @param blk The block, plain or compressed.
        @return Success; `error::no_space` when the directory is full, `error::io_error` otherwise. */
    util::result<void> write(util::hash32 const& h, data_block const& blk);

    /** Reads the file of one copy, unchecked.
        @param loc The copy, as found by `find` or `find_all`.
        @return The block; `nullopt` if the file has gone (moved or deleted concurrently);
                `error::corrupt_block` if it is larger than any valid block;
                `error::io_error` on a read failure. */
    util::result<std::optional<data_block>> read(block_location const& loc) const;

    /** Reads the file of one copy as `read` does, and compares its bytes with the CRC-64 that
        `write` recorded beside them (the extended attribute `user.garage.crc64`). `write` is only ever given
        bytes that match their hash (computed from them, or verified on receipt), so a copy
        whose CRC still matches holds those bytes: readers may skip re-hashing it (BLAKE2b runs
        at ~1.2 GB/s per core here, the CRC at ~50 GB/s). The scrub always re-hashes.
        @param loc    The copy, as found by `find` or `find_all`.
        @param intact Set to true when the file has its CRC and the bytes match it; false when
                      it has none (written by Garage, or on a file system without user extended
                      attributes) or they differ (the bytes, or the attribute, are damaged):
                      verify by the hash then.
        @return As `read`. */
    util::result<std::optional<data_block>> read(block_location const& loc, bool& intact) const;

    /** Renames a corrupt copy to `<file>.corrupted` (under the block's mutex) and counts it.
        @param h   The block's hash.
        @param loc The corrupt copy.
        @return true if this call renamed it; false if the file had already gone. */
    util::result<bool> quarantine(util::hash32 const& h, block_location const& loc);

    /** Under the block's mutex: finds every copy of `h`, asks `still_unneeded(copies)` and, if
        it says true, deletes them all (and fsyncs their folders when `data_fsync`).
        @param h              The block's hash.
        @param still_unneeded Decides, given the copies found, whether they may be deleted.
        @return The number of files deleted, or the error of `still_unneeded` or of a deletion. */
    util::result<std::size_t>
    delete_if(util::hash32 const& h,
              std::function<util::result<bool>(std::vector<block_location> const&)> const& still_unneeded);

    /** Checks the next block file of a scrub pass: reads it, verifies it against the hash in
        its name, and renames it `.corrupted` (counted) if it fails. Leftover `.tmp` files met
        on the way are removed (under the block's mutex, so never one being written).
        @param cursor The position of the pass; advanced past the file checked.
        @return What was done; an I/O error stops the step (the cursor stays valid). */
    util::result<scrub_step_result> scrub_step(scrub_cursor& cursor);

    /** Lists the blocks of the next files of a walk over every data directory (the walk of
        @ref scrub_step, without reading the files): for `garage repair blocks`, which queues
        every stored block for a resync check.
        @param cursor The position of the walk; advanced past the files listed.
        @param max    The most hashes returned.
        @return Up to `max` hashes (a block stored twice may appear twice); fewer only when the
                walk has ended (`cursor.finished()`). */
    std::vector<util::hash32> list_step(scrub_cursor& cursor, std::size_t max) const;

    /** Moves the next block files of a walk over every data directory into their primary
        directory (Garage's `RebalanceWorker`): a copy found outside its primary directory is
        read, verified and rewritten there (same encoding, temporary file then rename), then
        removed; when a primary copy already exists it is only removed. A copy that fails
        verification is set aside (`.corrupted`) and reported, to be fetched again.
        @param cursor The position of the walk; advanced past the files handled.
        @param max    The most block files met in one step.
        @return What was done; an I/O error stops the step (the file is tried again at the next). */
    util::result<rebalance_step_result> rebalance_step(scrub_cursor& cursor, std::size_t max);

    /// @return The number of corrupt copies set aside since this store was made.
    std::uint64_t corruptions() const noexcept { return corruptions_.load(std::memory_order_relaxed); }

    /** @param h A block's hash.
        @return The mutex that serializes changes to the block's files (chosen by hash bytes
                0 and 1, modulo @ref mutex_count). */
    std::mutex& mutex_of(util::hash32 const& h) noexcept
    {
        return mutexes_[((static_cast<std::size_t>(h[0]) << 8) | h[1]) % mutex_count];
    }

private:
    util::result<void> write_locked(util::hash32 const& h, data_block const& blk);
    util::result<void> put_file(std::filesystem::path const& folder, std::filesystem::path const& target,
                                std::string_view bytes) const;
    /// Reads a copy; compares it with its CRC-64 into `*intact` when `intact` is not null.
    util::result<std::optional<data_block>> read_file(block_location const& loc, bool* intact) const;
    util::result<std::optional<std::uint64_t>> move_to_primary(util::hash32 const& h,
                                                               block_location const& loc, bool& dropped);
    bool next_folder(scrub_cursor& cursor) const;

    std::atomic<std::shared_ptr<data_layout const>> layout_;
    bool data_fsync_;
    bool prefer_compressed_;
    std::array<std::mutex, mutex_count> mutexes_;
    std::atomic<std::uint64_t> corruptions_{0};
};

} // namespace garage::block
