#pragma once
/** @file
    Helpers for the layout tests (test/layout/): deterministic node ids and staged clusters.
*/

#include <garage/layout/history.hpp>
#include <garage/util/bytes32.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace garage::test {

/** A deterministic node id whose first byte is `i + 1` (so ids sort as their numbers).
    @param i A number below 255.
    @return The id. */
inline util::node_id layout_node(std::size_t i)
{
    util::node_id id;
    id[0] = static_cast<std::uint8_t>(i + 1);
    id[31] = 0xAB;
    return id;
}

/** One node to stage: its number, zone and capacity (absent: gateway). */
struct layout_node_spec {
    std::size_t number;                    ///< passed to @ref layout_node
    std::string zone;                      ///< its zone
    std::optional<std::uint64_t> capacity; ///< bytes; absent for a gateway
};

/** Stages the roles of `nodes` in `h`; fails the test (throws) on a refusal.
    @param h     The history.
    @param nodes The nodes. */
inline void stage_nodes(layout::layout_history& h, std::vector<layout_node_spec> const& nodes)
{
    for (auto const& n : nodes) {
        auto const id = layout_node(n.number);
        layout::assign_options opts;
        opts.zone = n.zone;
        opts.capacity = n.capacity;
        opts.gateway = !n.capacity.has_value();
        h.stage_assign(id, opts).value();
    }
}

} // namespace garage::test
