#pragma once
// Out-of-line parts of <garage/model/object.hpp>: the object table's filter and hook.

#include <algorithm>

namespace garage::model {

template <entry_queue<version> VersionQueue, entry_queue<multipart_upload> MpuQueue,
          item_counter<object> Counter>
requires std::same_as<typename VersionQueue::transaction_type, typename MpuQueue::transaction_type> &&
    std::same_as<typename VersionQueue::transaction_type, typename Counter::transaction_type>
bool object_schema<VersionQueue, MpuQueue, Counter>::matches_filter(object const& e,
                                                                    object_filter const& f) noexcept
{
    auto const vs = e.versions();
    switch (f.what) {
    case object_filter::kind::data:
        return std::ranges::any_of(vs, [](object_version const& v) { return v.is_data(); });
    case object_filter::kind::uploading:
        return std::ranges::any_of(vs, [&](object_version const& v) { return v.is_uploading(f.multipart); });
    }
    return false;
}

template <entry_queue<version> VersionQueue, entry_queue<multipart_upload> MpuQueue,
          item_counter<object> Counter>
requires std::same_as<typename VersionQueue::transaction_type, typename MpuQueue::transaction_type> &&
    std::same_as<typename VersionQueue::transaction_type, typename Counter::transaction_type>
        util::result<void> object_schema<VersionQueue, MpuQueue, Counter>::updated(transaction_type& tx,
                                                                                   object const* old,
                                                                                   object const* now)
{
    if (auto r = counter_->count(tx, old, now); !r) {
        return r;
    }
    if (old == nullptr || now == nullptr) {
        return {};
    }
    for (object_version const& v : old->versions()) {
        object_version const* const nv = now->find_version(v.timestamp, v.uuid);
        // A version that disappeared, or that this write aborted, releases its blocks.
        if (nv == nullptr || (nv->is_aborted() && !v.is_aborted())) {
            auto const dead = version::tombstone(v.uuid, object_backlink{old->bucket_id(), old->key()});
            if (auto r = versions_->queue_insert(tx, dead); !r) {
                return r;
            }
        }
        // A multipart upload that disappeared, completed or was aborted releases its parts.
        if (v.is_uploading(true) && (nv == nullptr || !nv->is_uploading())) {
            auto const dead = multipart_upload::tombstone(v.uuid, v.timestamp, old->bucket_id(), old->key());
            if (auto r = mpus_->queue_insert(tx, dead); !r) {
                return r;
            }
        }
    }
    return {};
}

} // namespace garage::model
