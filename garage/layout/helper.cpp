#include <garage/layout/helper.hpp>

#include <garage/util/codec.hpp>
#include <garage/util/hasher.hpp>

#include <algorithm>

namespace garage::layout {

layout_helper::layout_helper(std::size_t replication_factor, util::consistency_mode mode,
                             layout_history history)
    : replication_factor_(replication_factor), mode_(mode), history_(std::move(history))
{
    recompute();
}

void layout_helper::recompute()
{
    if (mode_ != util::consistency_mode::consistent) {
        // Without consistency nothing needs coordinating: only the current version matters.
        history_.keep_current_version_only();
    }
    history_.cleanup_old_versions();
    all_nodes_ = history_.all_nodes();
    all_storage_nodes_ = history_.all_storage_nodes();
    history_.clamp_update_trackers(all_nodes_);
    auto const min_v = history_.min_stored();
    ack_map_min_ = history_.trackers.ack.min_among(all_nodes_, min_v);
    sync_map_min_ = history_.sync_map_min_with_quorum(
        write_quorum(replication_factor_, util::consistency_mode::consistent), all_storage_nodes_);
    check_ok_ = static_cast<bool>(history_.check());
    digest_.current_version = history_.current().version;
    digest_.active_versions = history_.versions.size();
    digest_.trackers_hash = util::blake2sum(util::encode(history_.trackers));
    digest_.staging_hash = util::blake2sum(util::encode(history_.staging));
    for (auto it = ack_lock_.begin(); it != ack_lock_.end();) {
        it = it->second == 0 ? ack_lock_.erase(it) : std::next(it);
    }
}

std::vector<util::node_id> layout_helper::read_nodes_of(util::hash32 const& h) const
{
    auto const& vs = history_.versions;
    auto it = std::find_if(vs.begin(), vs.end(),
                           [&](layout_version const& v) { return v.version == sync_map_min_; });
    auto const& v = it != vs.end() ? *it : vs.back();
    return v.nodes_of(h);
}

std::vector<std::vector<util::node_id>> layout_helper::write_sets_of(util::hash32 const& h) const
{
    std::vector<std::vector<util::node_id>> out;
    for (auto const& v : history_.versions) {
        out.push_back(v.nodes_of(h));
    }
    return out;
}

std::vector<util::node_id> layout_helper::storage_nodes_of(util::hash32 const& h) const
{
    std::vector<util::node_id> out;
    for (auto const& v : history_.versions) {
        auto n = v.nodes_of(h);
        out.insert(out.end(), n.begin(), n.end());
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<util::node_id> layout_helper::current_storage_nodes_of(util::hash32 const& h) const
{
    return history_.current().nodes_of(h);
}

bool layout_helper::update(std::function<bool(layout_history&)> const& f)
{
    bool const changed = f(history_);
    if (changed) {
        recompute();
    }
    return changed;
}

std::uint64_t layout_helper::lock_write()
{
    auto const v = history_.current().version;
    ++ack_lock_[v];
    return v;
}

void layout_helper::unlock_write(std::uint64_t version)
{
    auto it = ack_lock_.find(version);
    if (it != ack_lock_.end() && it->second > 0) {
        --it->second;
    }
}

bool layout_helper::ack_max_free(util::node_id const& local)
{
    // The newest version such that no write is in flight on any older live version: the
    // first locked version, or the current one.
    auto max_free = history_.current().version;
    for (auto const& v : history_.versions) {
        auto it = ack_lock_.find(v.version);
        if (it != ack_lock_.end() && it->second > 0) {
            max_free = v.version;
            break;
        }
    }
    return update([&](layout_history& h) { return h.trackers.ack.set_max(local, max_free); });
}

bool layout_helper::update_trackers_of(util::node_id const& local)
{
    bool changed = ack_max_free(local);
    auto const first = history_.min_stored();
    changed = update([&](layout_history& h) { return h.trackers.sync.set_max(local, first); }) || changed;
    auto const sync_min = sync_map_min_;
    changed =
        update([&](layout_history& h) { return h.trackers.sync_ack.set_max(local, sync_min); }) || changed;
    return changed;
}

bool layout_helper::sync_until(util::node_id const& local, std::uint64_t version)
{
    return update([&](layout_history& h) { return h.trackers.sync.set_max(local, version); });
}

} // namespace garage::layout
