#pragma once
/** @file
    Errors of the table layer (category `"garage.table"`).
*/

#include <garage/util/error.hpp>

namespace garage::table {

/// The error codes of the `table` layer.
enum class error {
    corrupt_entry = 1, ///< a stored entry could not be decoded (the message names table and key)
    key_too_long,      ///< partition hash plus sort key exceed the storage's key limit
    hook_failed,       ///< a schema's `updated` hook refused the write
    encode_failed,     ///< an entry could not be encoded (cereal or its `serialize` threw)
    invalid_entry,     ///< a received entry (from another node) could not be decoded; nothing was written
    unexpected_answer, ///< a node answered a table RPC with a message of the wrong kind
    partial_failure,   ///< a background step (sync, offload, GC) failed with some nodes
};

/// @return The category of @ref garage::table::error (`"garage.table"`).
boost::system::error_category const& table_category() noexcept;

/** Makes an error code of the `table` layer (found by ADL).
    @param e The error.
    @return `{e, table_category()}`. */
inline util::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), table_category()};
}

} // namespace garage::table

template <>
struct boost::system::is_error_code_enum<garage::table::error> : std::true_type {
};
