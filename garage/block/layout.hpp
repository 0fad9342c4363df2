#pragma once
/** @file
    The data layout of one node: which of its data directories holds which block files
    (Garage's `DataLayout`, reference §7).
*/

#include <garage/util/bytes32.hpp>
#include <garage/util/config.hpp>
#include <garage/util/error.hpp>

#include <cereal/cereal.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace garage::block {

/// The number of slices of the hash space that are spread over the data directories
/// (Garage's `DRIVE_NPART`).
inline constexpr std::size_t drive_npart = 1024;

/// The file, in each data directory, whose random content proves that the directory is the
/// one the layout remembers (a disk that is not mounted has no marker).
inline constexpr std::string_view marker_file_name = "garage-marker";

/// The name of the file, in the metadata directory, that keeps the layout.
inline constexpr std::string_view layout_file_name = "data_layout";

/** One data directory as the layout remembers it.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe for reads.
*/
struct data_dir {
    std::filesystem::path path;            ///< the directory
    std::optional<std::uint64_t> capacity; ///< bytes, for a writable directory; `nullopt`: read-only

    /// @return True for a directory that is read but never chosen for new blocks.
    bool is_read_only() const noexcept { return !capacity.has_value(); }

    /// Equal when path and capacity are equal.
    friend bool operator==(data_dir const&, data_dir const&) = default;

    /** cereal: the path as a string, then the capacity (0 for a read-only directory).
        @param ar A cereal output archive. */
    template <class Archive>
    void save(Archive& ar) const
    {
        ar(path.string(), capacity.value_or(0));
    }
    /** cereal: reads what `save` writes (a capacity of 0 is read-only).
        @param ar A cereal input archive. */
    template <class Archive>
    void load(Archive& ar)
    {
        std::string p;
        std::uint64_t c = 0;
        ar(p, c);
        path = p;
        capacity = c == 0 ? std::nullopt : std::optional<std::uint64_t>(c);
    }
};

/** The assignment of the hash space to data directories.

    The hash space is cut into @ref garage::block::drive_npart slices by `u16_be(hash[2..4]) % 1024`. Each
    slice has one primary directory, where new blocks of the slice are written, and any
    number of secondary directories, where older blocks of the slice may still be found
    (directories that were primary before a change of the configuration, or that held files
    when the layout was first made). Slices are given to the writable directories in
    proportion to their capacities; read-only directories are only ever secondary.

    A block file lives at `<dir>/<hex hash[0]>/<hex hash[1]>/<64-hex hash>` (plus `.zst` when
    compressed). The layout is kept in `<metadata_dir>/data_layout`
    (@ref garage::block::data_layout::load_or_initialize); each data directory holds a
    `garage-marker` file whose random content the layout remembers, so that a disk that is
    not mounted, or mounted at the wrong place, is detected at start-up instead of being
    filled or reported empty.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe for const member functions.

    @par Example
    @code
    auto layout = block::data_layout::load_or_initialize(config.data_dir, config.metadata_dir);
    if (!layout) { spdlog::critical("{}", layout.error().message); return 1; }
    auto dir = layout->primary_block_dir(hash); // where a new copy of `hash` goes
    @endcode
*/
class data_layout {
public:
    /// The index of a directory in @ref data_dirs.
    using dir_index = std::uint16_t;

    /// An empty layout (no directory); only for deserialization and assignment.
    data_layout() = default;

    /** A fresh layout for `dirs`: slices are spread over the writable directories in
        proportion to their capacities; every directory that already holds block folders or
        a marker becomes a secondary location of every slice it is not primary for.
        @param dirs The configured data directories: one entry without capacity (a plain
                    `data_dir` string), or entries each with a non-zero capacity or marked
                    read-only, at least one of them writable, no path twice.
        @return `error::invalid_data_dirs` naming the offending directory; `error::io_error`
                if a directory cannot be listed. */
    static util::result<data_layout> initialize(std::span<util::data_dir_config const> dirs);

    /** This layout adapted to a new configuration, moving as few slices as possible.

        Directories that keep their path keep their slices up to their new share; slices
        taken from a directory (removed, made read-only, or over its share) go to the
        directories under their share, and the directory they leave stays a secondary
        location of those slices. A new directory that already holds files becomes a
        secondary location of every slice. Markers of remaining directories are kept.
        @param dirs As for @ref initialize.
        @return The same layout if the directories are unchanged; errors as @ref initialize. */
    util::result<data_layout> update(std::span<util::data_dir_config const> dirs) const;

    /** Checks every directory's `garage-marker` against the remembered one: adopts a marker
        found in a directory the layout has none for, and writes a new random marker into a
        directory that has none and none remembered. Forgets the markers of directories that
        are no longer in the layout.
        @return `error::layout_mismatch` (with a sentence telling the operator what to check)
                if a remembered marker is missing or differs; `error::io_error` if a marker
                cannot be read or written. */
    util::result<void> check_markers();

    /** Loads `<metadata_dir>/data_layout` and updates it for `dirs`, or initializes a new
        one; creates writable data directories that do not exist; checks the markers; and
        saves the result.
        @param dirs         The configured data directories, as for @ref initialize.
        @param metadata_dir The metadata directory, where the layout file is kept.
        @return The layout; errors of @ref initialize, @ref check_markers, or
                `util::error::decode_error` / `io_error` for the layout file itself (it is
                then left untouched: delete it to start again from the configuration). */
    static util::result<data_layout> load_or_initialize(std::span<util::data_dir_config const> dirs,
                                                        std::filesystem::path const& metadata_dir);

    /** The slice of the hash space that a block falls in.
        @param h The block's hash.
        @return `u16_be(h[2], h[3]) % drive_npart`. */
    static std::size_t partition_of(util::hash32 const& h) noexcept
    {
        return ((static_cast<std::size_t>(h[2]) << 8) | h[3]) % drive_npart;
    }

    /** The folder of a block under a data directory.
        @param dir A data directory.
        @param h   The block's hash.
        @return `<dir>/<hex h[0]>/<hex h[1]>` (two lower-case hex digits each). */
    static std::filesystem::path block_dir(std::filesystem::path const& dir, util::hash32 const& h);

    /** The name of the file of a block.
        @param h          The block's hash.
        @param compressed Whether the file holds the compressed encoding.
        @return The 64 hex digits of `h`, plus `.zst` when `compressed`. */
    static std::string block_file_name(util::hash32 const& h, bool compressed);

    /// @return The directories, in configuration order (a @ref dir_index indexes it).
    std::vector<data_dir> const& data_dirs() const noexcept { return dirs_; }

    /** @param part A slice, below @ref garage::block::drive_npart.
        @return The primary directory of the slice. @throws std::out_of_range for a slice out of range. */
    dir_index primary(std::size_t part) const { return part_prim_.at(part); }

    /** @param part A slice, below @ref garage::block::drive_npart.
        @return The secondary directories of the slice, in search order.
        @throws std::out_of_range for a slice out of range. */
    std::span<dir_index const> secondaries(std::size_t part) const { return part_sec_.at(part); }

    /** @param h A block's hash.
        @return The folder where a new copy of the block is written. */
    std::filesystem::path primary_block_dir(util::hash32 const& h) const;

    /** @param h A block's hash.
        @return The folders where an older copy of the block may be, in search order. */
    std::vector<std::filesystem::path> secondary_block_dirs(util::hash32 const& h) const;

    /// @return The same layout with no secondary location (after a full rebalance).
    data_layout without_secondary_locations() const;

    /// @return The remembered markers, by directory path.
    std::map<std::string, std::string> const& markers() const noexcept { return markers_; }

    /// Layouts are equal when directories, markers and assignments are.
    friend bool operator==(data_layout const&, data_layout const&) = default;

    /** cereal: a format version, then the directories, markers and slice assignments.
        @param ar A cereal archive.
        @throws cereal::Exception when loading an unknown format version. */
    template <class Archive>
    void serialize(Archive& ar)
    {
        std::uint32_t version = 1;
        ar(version);
        if (version != 1) {
            throw cereal::Exception("unknown data_layout format version " + std::to_string(version));
        }
        ar(dirs_, markers_, part_prim_, part_sec_);
    }

private:
    std::vector<data_dir> dirs_;
    std::map<std::string, std::string> markers_;
    std::vector<dir_index> part_prim_;
    std::vector<std::vector<dir_index>> part_sec_;
};

} // namespace garage::block
