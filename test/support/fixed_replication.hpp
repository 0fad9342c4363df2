#pragma once
// A TEST replication policy with explicit node sets: the hash space is cut into
// `partition_count` partitions (by the first byte of the hash), each stored on a node list the
// test chooses and may change at run time (the layout is shared by every copy of the policy,
// as a layout manager's would be). Not a production policy: there is no layout, no transition.

#include <garage/replication/concepts.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace garage::test {

/// The shared, mutable "layout" of the test policy.
struct fixed_layout {
    std::uint64_t version = 1;
    /// One storage set per partition; the partition count must divide 256.
    std::vector<std::vector<util::node_id>> partitions;
    /// Optional second write set per partition (a layout transition): writes need a quorum in both.
    std::vector<std::vector<util::node_id>> extra_write_sets;
    std::size_t read_quorum = 2;
    std::size_t write_quorum = 2;
    mutable std::mutex mutex;
};

class fixed_replication {
public:
    fixed_replication(util::node_id self, std::shared_ptr<fixed_layout> layout)
        : self_(self), layout_(std::move(layout))
    {
    }

    util::node_id local_node() const { return self_; }
    std::vector<util::node_id> storage_nodes(util::hash32 const& h) const
    {
        std::lock_guard lock(layout_->mutex);
        return layout_->partitions[index(h)];
    }
    std::vector<util::node_id> read_nodes(util::hash32 const& h) const { return storage_nodes(h); }
    std::size_t read_quorum() const { return layout_->read_quorum; }
    std::vector<std::vector<util::node_id>> write_sets(util::hash32 const& h) const
    {
        std::lock_guard lock(layout_->mutex);
        std::vector<std::vector<util::node_id>> out{layout_->partitions[index(h)]};
        if (!layout_->extra_write_sets.empty()) {
            out.push_back(layout_->extra_write_sets[index(h)]);
        }
        return out;
    }
    std::size_t write_quorum() const { return layout_->write_quorum; }
    replication::partition_id partition_of(util::hash32 const& h) const
    {
        return static_cast<replication::partition_id>(index(h));
    }
    replication::sync_partition_set sync_partitions() const
    {
        std::lock_guard lock(layout_->mutex);
        replication::sync_partition_set out;
        out.layout_version = layout_->version;
        auto const n = layout_->partitions.size();
        for (std::size_t i = 0; i < n; ++i) {
            replication::sync_partition p;
            p.partition = static_cast<replication::partition_id>(i);
            p.first_hash[0] = static_cast<std::uint8_t>(i * 256 / n);
            if (i + 1 < n) {
                p.last_hash[0] = static_cast<std::uint8_t>((i + 1) * 256 / n);
            }
            p.storage_nodes = layout_->partitions[i];
            out.partitions.push_back(std::move(p));
        }
        return out;
    }

private:
    std::size_t index(util::hash32 const& h) const { return h[0] * layout_->partitions.size() / 256; }

    util::node_id self_;
    std::shared_ptr<fixed_layout> layout_;
};

static_assert(replication::replication_policy<fixed_replication>);

} // namespace garage::test
