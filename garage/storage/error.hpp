#pragma once
/** @file
    Errors of the storage layer (category `"garage.storage"`).
*/

#include <garage/util/error.hpp>

namespace garage::storage {

/** The error codes of the `storage` layer.

    Every backend reports the same codes for the same situations, so that code written and
    tested against `memory_backend` behaves the same on `lmdb_backend`.
*/
enum class error {
    key_too_long = 1, ///< a key exceeds `max_key_size` bytes (nothing was written)
    map_full,         ///< the LMDB map is full: raise `lmdb_map_size`
    tree_not_found,   ///< the named tree does not exist
    too_many_trees,   ///< the backend cannot open another tree (LMDB `max_dbs`)
    read_only,        ///< a write was attempted in a read-only transaction
    io_error,         ///< the operating system or the database engine reported a failure
    corrupt,          ///< the database files are corrupt
    aborted,          ///< a transaction was aborted
    busy, ///< the operation would deadlock (a write transaction is active on this thread) or no reader slot
          ///< is free
    empty_key,         ///< a key is empty (no backend stores empty keys; nothing was written)
    invalid_tree_name, ///< a tree name is empty, too long or contains a NUL byte
    transaction_full,  ///< one transaction changed more than the engine can hold (LMDB `MDB_TXN_FULL`)
};

/** The category of the storage errors.
    @return The one category named `"garage.storage"`. */
boost::system::error_category const& storage_category() noexcept;

/** Makes an error code of the `storage` layer (found by ADL).
    @param e A storage error.
    @return The code, in `storage_category()`. */
inline util::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), storage_category()};
}

} // namespace garage::storage

namespace boost::system {
template <>
struct is_error_code_enum<garage::storage::error> : std::true_type {
};
} // namespace boost::system
