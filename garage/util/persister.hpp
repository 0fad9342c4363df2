#pragma once
/** @file
    A value kept in one file, saved atomically (Garage's `Persister`): the peer list, the
    cluster layout, scrub and resync settings, worker progress.
*/

#include <garage/util/detail/atomic_file.hpp>
#include <garage/util/error.hpp>

#include <filesystem>
#include <optional>
#include <utility>

namespace garage::util {

/** Stores one value of type `T` in a file, encoded with cereal's portable binary archive.

    `save` writes `<path>.tmp`, fsyncs it, renames it over `path` and fsyncs the directory,
    so after a crash the file holds either the previous value or the new one, never a mix.

    @tparam T A default-constructible type that cereal can serialize (a `serialize` or
    `save`/`load` member or free function; give it a class version to evolve its format).

    @par Thread Safety
    Distinct objects: safe. Shared objects: `load` is safe; concurrent `save` calls on the
    same path (through one or several persisters) are not, as they share `<path>.tmp`.

    @par Example
    @code
    util::persister<peer_list> peers(metadata_dir / "peer_list");
    if (auto r = peers.load(); r && *r) { use(**r); }
    if (auto r = peers.save(current); !r) { spdlog::warn("{}", r.error().message); }
    @endcode
*/
template <class T>
class persister {
public:
    /// The type of the stored value.
    using value_type = T;

    /** A persister of one file.
        @param path The file; not touched until `load` or `save`. */
    explicit persister(std::filesystem::path path) : path_(std::move(path)) {}

    /// @return The file this persister reads and writes.
    std::filesystem::path const& path() const noexcept { return path_; }

    /** Reads and decodes the file.
        @return `std::nullopt` if the file does not exist; `error::io_error` if it cannot be
        read; `error::decode_error` (naming the file) if it is not a valid encoding of `T`,
        including trailing bytes after the value. */
    result<std::optional<T>> load() const;

    /** Encodes `value` and replaces the file atomically.
        @param value The value to store.
        @return Nothing on success; `error::io_error` naming the file and the failing step; the
        previous content is then unchanged. */
    result<void> save(T const& value) const;

private:
    std::filesystem::path path_;
};

} // namespace garage::util

#include <garage/util/impl/persister.hpp>
