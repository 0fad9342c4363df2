#pragma once
// The hash of Merkle trees: of stored values, of keys (the tree path) and of nodes.
//
// Garage uses BLAKE2b throughout; on CPUs with SHA extensions SHA-256 is twice as fast
// (../shared/PERFORMANCE.md), and this hash never leaves the table layer's own trees, so the
// table layer uses SHA-256 here, behind this one function.

#include <garage/util/bytes32.hpp>
#include <garage/util/hasher.hpp>

#include <string_view>

namespace garage::table::detail {

inline util::hash32 merkle_hash(std::string_view bytes)
{
    return util::sha256sum(bytes);
}

} // namespace garage::table::detail
