#include <garage/model/k2v_seen.hpp>

#include <garage/util/codec.hpp>
#include <garage/util/encoding.hpp>

#include <algorithm>

namespace garage::model {

bool k2v_poll_range::matches(k2v_item const& item) const
{
    auto const& sk = item.sort_key();
    return item.partition_key() == partition && (!prefix || sk.starts_with(*prefix)) &&
           (!start || sk >= *start) && (!end || sk < *end);
}

void k2v_seen_marker::restrict(k2v_poll_range const& range)
{
    std::erase_if(items, [&](auto const& kv) {
        auto const& sk = kv.first;
        return (range.start && sk < *range.start) || (range.end && sk >= *range.end) ||
               (range.prefix && !sk.starts_with(*range.prefix));
    });
}

void k2v_seen_marker::mark_seen(k2v_node_id node, k2v_item const& item)
{
    auto const cc = item.context();
    if (auto it = cc.clock.find(node); it != cc.clock.end()) {
        auto& e = clock[node];
        e = std::max(e, it->second);
    }
    if (vclock_gt(cc.clock, clock)) {
        auto [it, inserted] = items.try_emplace(item.sort_key(), cc.clock);
        if (!inserted) {
            it->second = vclock_max(it->second, cc.clock);
        }
    }
}

void k2v_seen_marker::canonicalize()
{
    std::erase_if(items, [&](auto const& kv) { return !vclock_gt(kv.second, clock); });
}

bool k2v_seen_marker::is_new_item(k2v_item const& item) const
{
    auto const cc = item.context();
    if (!vclock_gt(cc.clock, clock)) {
        return false;
    }
    auto it = items.find(item.sort_key());
    return it == items.end() || vclock_gt(cc.clock, it->second);
}

std::string k2v_seen_marker::encode()
{
    canonicalize();
    return util::to_base64(util::encode(*this));
}

std::optional<k2v_seen_marker> k2v_seen_marker::decode(std::string_view text)
{
    auto bytes = util::from_base64(text);
    if (!bytes) {
        return std::nullopt;
    }
    auto m = util::decode<k2v_seen_marker>(*bytes);
    if (!m) {
        return std::nullopt;
    }
    return std::move(*m);
}

} // namespace garage::model
