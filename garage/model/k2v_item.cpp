#include <garage/model/k2v_item.hpp>

#include <garage/util/hasher.hpp>

#include <algorithm>

namespace garage::model {

util::hash32 k2v_item_partition::partition_hash() const
{
    std::string buf(bucket_id.view());
    buf += partition_key;
    return util::blake2sum(buf);
}

std::uint64_t dvvs_entry::max_time() const noexcept
{
    std::uint64_t t = t_discard;
    for (auto const& [vt, v] : values) {
        t = std::max(t, vt);
    }
    return t;
}

void dvvs_entry::discard()
{
    std::erase_if(values, [this](auto const& p) { return p.first <= t_discard; });
}

void dvvs_entry::merge(dvvs_entry const& other)
{
    t_discard = std::max(t_discard, other.t_discard);
    discard();
    std::uint64_t const t_max = max_time();
    for (auto const& p : other.values) {
        if (p.first > t_max) {
            values.push_back(p);
        }
    }
}

std::uint64_t k2v_item::update(k2v_node_id node, std::optional<causal_context> const& context,
                               dvvs_value value, std::uint64_t node_ts)
{
    if (context) {
        for (auto const& [n, t] : context->clock) {
            auto& e = items_[n];
            e.t_discard = std::max(e.t_discard, t);
        }
    }
    for (auto& [n, e] : items_) {
        e.discard();
    }
    auto& e = items_[node];
    std::uint64_t const t_new = std::max(e.max_time() + 1, node_ts + 1);
    e.values.emplace_back(t_new, std::move(value));
    return t_new;
}

causal_context k2v_item::context() const
{
    causal_context cc;
    for (auto const& [n, e] : items_) {
        cc.clock.emplace(n, e.max_time());
    }
    return cc;
}

std::vector<dvvs_value const*> k2v_item::values() const
{
    std::vector<dvvs_value const*> out;
    for (auto const& [n, e] : items_) {
        for (auto const& tv : e.values) {
            // (not a structured binding: clang 14, which builds the fuzz targets, cannot capture one)
            dvvs_value const& v = tv.second;
            if (std::none_of(out.begin(), out.end(), [&](dvvs_value const* p) { return *p == v; })) {
                out.push_back(&v);
            }
        }
    }
    return out;
}

bool k2v_item::is_tombstone() const
{
    for (auto const& [n, e] : items_) {
        for (auto const& [t, v] : e.values) {
            if (v) {
                return false;
            }
        }
    }
    return true;
}

void k2v_item::merge(k2v_item const& other)
{
    for (auto const& [n, e2] : other.items_) {
        auto it = items_.find(n);
        if (it == items_.end()) {
            items_.emplace(n, e2);
        } else {
            it->second.merge(e2);
        }
    }
}

std::array<counter_sample, 4> k2v_index_counter::counts(k2v_item const& i)
{
    auto const vals = i.values();
    std::int64_t n_values = 0;
    std::int64_t n_bytes = 0;
    for (dvvs_value const* v : vals) {
        if (*v) {
            ++n_values;
            n_bytes += static_cast<std::int64_t>((*v)->size());
        }
    }
    return {counter_sample{entries, i.is_tombstone() ? 0 : 1},
            counter_sample{conflicts, vals.size() > 1 ? 1 : 0}, counter_sample{values, n_values},
            counter_sample{bytes, n_bytes}};
}

} // namespace garage::model
