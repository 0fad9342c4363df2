#pragma once
// Private helpers shared by every backend: the checks on keys and tree names that make all
// backends reject the same inputs with the same errors.

#include <garage/storage/concepts.hpp>
#include <garage/storage/error.hpp>
#include <garage/util/error.hpp>

#include <string_view>

namespace garage::storage::detail {

/// True for a key every backend can store: not empty and at most @ref max_key_size bytes.
inline bool valid_key(std::string_view key) noexcept
{
    return !key.empty() && key.size() <= max_key_size;
}

/// The failure for a key that is not @ref valid_key (`error::empty_key` or `error::key_too_long`).
util::failure invalid_key(std::string_view tree, std::string_view key);

/// The failure for a write in a read-only transaction (`error::read_only`).
util::failure read_only_write(std::string_view tree, std::string_view operation);

/// Checks a tree name: not empty, at most @ref max_key_size bytes, no NUL byte.
util::result<void> check_tree_name(std::string_view name);

/// The failure for `transact` or a new tree on a thread already inside `transact` (`error::busy`).
util::failure nested_write(std::string_view what);

} // namespace garage::storage::detail
