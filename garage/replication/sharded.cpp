#include <garage/replication/sharded.hpp>

namespace garage::replication {

sync_partition_set sharded::sync_partitions() const
{
    auto const snap = source_->snapshot();
    sync_partition_set out;
    out.layout_version = snap->ack_map_min();
    out.partitions.reserve(layout::partition_count);
    for (std::size_t p = 0; p < layout::partition_count; ++p) {
        auto const id = static_cast<partition_id>(p);
        auto const first = layout::first_hash_of(id);
        auto const last = p + 1 < layout::partition_count
                              ? layout::first_hash_of(static_cast<partition_id>(p + 1))
                              : util::hash32{};
        out.partitions.push_back(sync_partition{id, first, last, snap->storage_nodes_of(first)});
    }
    return out;
}

} // namespace garage::replication
