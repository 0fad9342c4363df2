#pragma once
/** @file
    `layout_source`: where the replication policies read the cluster layout from — a small
    interface that the layout manager implements, and a static model for tests and embedded use.

    The interface keeps the dependency one-way and narrow: `garage/replication` (layer 6) sees
    only this header and @ref garage::layout::layout_helper, never the RPC machinery of the
    manager that keeps the layout up to date.
*/

#include <garage/layout/helper.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/config.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

namespace garage::layout {

/** Gives the current layout to readers, as immutable snapshots.

    | member | meaning |
    |---|---|
    | `snapshot()` | the current layout, never null (later calls may return newer ones) |
    | `local_node()` | this node's id |
    | `replication_factor()` | the configured replication factor |
    | `consistency_mode()` | the configured consistency mode (quorums, §5.5) |
    | `preferred_order(nodes)` | the same nodes, best first (by default: self first) |

    Implemented by @ref garage::layout::layout_manager (the layout of a running node) and
    @ref garage::layout::static_layout_source (a fixed layout).

    @par Thread Safety
    Every member may be called from any thread.
*/
class layout_source {
public:
    virtual ~layout_source() = default;

    /// @return The current layout; never null.
    virtual std::shared_ptr<layout_helper const> snapshot() const = 0;
    /// @return This node's id.
    virtual util::node_id local_node() const = 0;
    /// @return The configured replication factor.
    virtual std::size_t replication_factor() const = 0;
    /// @return The configured consistency mode.
    virtual util::consistency_mode consistency_mode() const = 0;
    /** Orders nodes by preference for reads.
        @param nodes The candidates.
        @return The same nodes, best first; this default puts this node first and keeps the
                order of the others. */
    virtual std::vector<util::node_id> preferred_order(std::vector<util::node_id> nodes) const
    {
        auto const self = local_node();
        std::stable_partition(nodes.begin(), nodes.end(), [&](util::node_id const& n) { return n == self; });
        return nodes;
    }
};

/** A layout source over a layout given by hand: tests, examples, single-process stores.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (`set` swaps the snapshot atomically).

    @par Example
    @code
    layout::static_layout_source src(self, 3, util::consistency_mode::consistent, history);
    replication::sharded policy(src);
    @endcode
*/
class static_layout_source final : public layout_source {
public:
    /** @param self    This node's id.
        @param replication_factor The replication factor.
        @param mode    The consistency mode.
        @param history The layout (normalised by @ref layout_helper). */
    static_layout_source(util::node_id self, std::size_t replication_factor, util::consistency_mode mode,
                         layout_history history)
        : self_(self), replication_factor_(replication_factor), mode_(mode),
          snapshot_(std::make_shared<layout_helper const>(replication_factor, mode, std::move(history)))
    {
    }

    /** Replaces the layout.
        @param history The new layout. */
    void set(layout_history history)
    {
        snapshot_.store(
            std::make_shared<layout_helper const>(replication_factor_, mode_, std::move(history)));
    }

    /// @return The layout given last.
    std::shared_ptr<layout_helper const> snapshot() const override { return snapshot_.load(); }
    /// @return The id given to the constructor.
    util::node_id local_node() const override { return self_; }
    /// @return The replication factor given to the constructor.
    std::size_t replication_factor() const override { return replication_factor_; }
    /// @return The consistency mode given to the constructor.
    util::consistency_mode consistency_mode() const override { return mode_; }

private:
    util::node_id self_;
    std::size_t replication_factor_;
    util::consistency_mode mode_;
    std::atomic<std::shared_ptr<layout_helper const>> snapshot_;
};

} // namespace garage::layout
