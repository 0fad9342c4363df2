#pragma once
/** @file
    Errors of the block layer (category `"garage.block"`).
*/

#include <garage/util/error.hpp>

namespace garage::block {

/// The error codes of the `block` layer.
enum class error {
    corrupt_block = 1, ///< a stored block failed its integrity check (it was set aside, never returned)
    block_not_found,   ///< no copy of the block is stored on this node (nor could one be fetched)
    no_space,          ///< a data directory is full (`ENOSPC`, `EDQUOT`)
    io_error,          ///< the operating system reported another failure on a block file
    layout_mismatch,   ///< a data directory's `garage-marker` is missing or differs from the one remembered
    invalid_data_dirs, ///< the `data_dir` configuration is not usable (no writable dir, bad capacity, ...)
    block_too_large,   ///< a block exceeds the configured or absolute block size limit
    corrupt_metadata,  ///< a reference count or resync record in the metadata DB is malformed
    invalid_options,   ///< a @ref block_options value is out of range
};

/** The category of the block errors.
    @return The one category named `"garage.block"`; it maps each @ref garage::block::error to
            a generic `util::condition`. */
boost::system::error_category const& block_category() noexcept;

/** Makes an error code of the `block` layer (found by ADL, so that an @ref garage::block::error
    converts to `util::error_code`).
    @param e The error.
    @return The code `e` in @ref garage::block::block_category. */
inline util::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), block_category()};
}

} // namespace garage::block

template <>
struct boost::system::is_error_code_enum<garage::block::error> : std::true_type {
};
