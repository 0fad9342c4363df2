#pragma once
/** @file
    The error codes of the `layout` layer (category `"garage.layout"`).
*/

#include <garage/util/error.hpp>

#include <type_traits>

/** The `layout` layer: node roles, the partition assignment, staged changes, layout versions,
    their history and the transition trackers. Bazel target `//garage/layout`.
*/
namespace garage::layout {

/// The error codes of the `layout` layer (category `"garage.layout"`).
enum class error {
    too_few_nodes = 1,     ///< fewer storage nodes than the replication factor
    too_few_zones,         ///< fewer zones with storage nodes than the zone redundancy asks
    too_many_nodes,        ///< more than 256 storage nodes
    insufficient_capacity, ///< not even partitions of one byte fit
    invalid_role,          ///< a role is malformed (capacity 0, no zone, capacity and gateway)
    invalid_parameter,     ///< a layout parameter is out of range (zone redundancy)
    unknown_node,          ///< the node has no role in the (planned) layout
    missing_version,       ///< apply was called without the new version number
    stale_version,         ///< apply was called with a version other than current + 1
    invalid_layout,        ///< a layout version fails its consistency check
    inconsistent_history,  ///< two histories hold different layouts under one version number
    nothing_to_do,         ///< the operation would change nothing (skip-dead-nodes)
};

/// @return The category of @ref garage::layout::error (`"garage.layout"`).
boost::system::error_category const& layout_category() noexcept;

/** Makes an error code of the `layout` layer (found by ADL).
    @param e The error.
    @return `{e, layout_category()}`. */
inline util::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), layout_category()};
}

} // namespace garage::layout

namespace boost::system {
template <>
struct is_error_code_enum<garage::layout::error> : std::true_type {
};
} // namespace boost::system
