#pragma once
// Out-of-line parts of <garage/model/counter.hpp>.

#include <garage/model/error.hpp>
#include <garage/util/codec.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/time.hpp>

#include <algorithm>
#include <utility>
#include <vector>

namespace garage::model {

template <counter_definition Def>
bool counter_entry<Def>::is_tombstone() const noexcept
{
    for (auto const& counter : values.items()) {
        for (auto const& node : counter.value.items()) {
            if (node.value.value != 0) {
                return false;
            }
        }
    }
    return true;
}

template <counter_definition Def>
std::optional<std::int64_t> counter_entry<Def>::get(std::string_view name) const
{
    auto const* counter = values.get(name);
    if (counter == nullptr) {
        return std::nullopt;
    }
    std::optional<std::int64_t> out;
    for (auto const& node : counter->items()) {
        out = out ? std::max(*out, node.value.value) : node.value.value;
    }
    return out;
}

template <counter_definition Def>
template <replication::node_range Nodes>
std::optional<std::int64_t> counter_entry<Def>::get(std::string_view name, Nodes const& nodes) const
{
    auto const* counter = values.get(name);
    if (counter == nullptr) {
        return std::nullopt;
    }
    std::optional<std::int64_t> out;
    for (util::node_id const& n : nodes) {
        if (auto const* c = counter->get(n)) {
            out = out ? std::max(*out, c->value) : c->value;
        }
    }
    return out;
}

template <counter_definition Def, replication::replication_policy Replication,
          storage::storage_backend Storage>
util::result<std::unique_ptr<index_counter<Def, Replication, Storage>>>
index_counter<Def, Replication, Storage>::open(Replication replication, Storage& db,
                                               table::table_options options)
{
    auto const node = replication.local_node();
    auto local = db.open_tree(local_tree_name());
    if (!local) {
        return util::failure(local.error().code,
                             "cannot open tree `" + local_tree_name() + "`: " + local.error().message);
    }
    auto t = table_type::open(counter_schema<Def>{}, std::move(replication), db, options);
    if (!t) {
        return t.error();
    }
    return std::unique_ptr<index_counter>(new index_counter(db, std::move(*local), std::move(*t), node));
}

template <counter_definition Def, replication::replication_policy Replication,
          storage::storage_backend Storage>
util::result<counter_entry<Def>>
index_counter<Def, Replication, Storage>::decode_local(std::string_view key, std::string_view bytes) const
{
    auto e = util::decode<entry_type>(bytes);
    if (!e) {
        return util::failure(error::corrupt_counter, "tree `" + local_tree_name() + "`, key " +
                                                         util::to_hex(key) + ": " + e.error().message);
    }
    return std::move(*e);
}

template <counter_definition Def, replication::replication_policy Replication,
          storage::storage_backend Storage>
util::result<void> index_counter<Def, Replication, Storage>::count(transaction_type& tx, item_type const* old,
                                                                   item_type const* now)
{
    item_type const& any = old != nullptr ? *old : *now;
    partition_key_type const& pk = Def::partition_key(any);
    sort_key_type const& sk = Def::sort_key(any);

    // The difference, per counter name, in the order the definition lists them.
    std::vector<counter_sample> diff;
    auto add = [&](item_type const& item, std::int64_t sign) {
        for (auto&& sample : Def::counts(item)) {
            counter_sample const s(sample);
            auto it = std::ranges::find(diff, s.first, &counter_sample::first);
            if (it == diff.end()) {
                diff.emplace_back(s.first, sign * s.second);
            } else {
                it->second += sign * s.second;
            }
        }
    };
    if (old != nullptr) {
        add(*old, -1);
    }
    if (now != nullptr) {
        add(*now, +1);
    }
    if (std::ranges::all_of(diff, [](counter_sample const& s) { return s.second == 0; })) {
        return {};
    }

    auto const key = table_type::tree_key(pk, sk);
    auto raw = tx.get(local_, key);
    if (!raw) {
        return raw.error();
    }
    entry_type local;
    if (*raw) {
        auto d = decode_local(key, **raw);
        if (!d) {
            return d.error();
        }
        local = std::move(*d);
    } else {
        local.pk = pk;
        local.sk = sk;
    }

    auto const t = util::now_msec();
    for (auto const& [name, inc] : diff) {
        node_count cell;
        if (auto const* counter = local.values.get(name)) {
            if (auto const* c = counter->get(node_)) {
                cell = *c;
            }
        }
        // A strictly later timestamp: the merge below replaces this node's value.
        cell = node_count{std::max(cell.timestamp + 1, t), cell.value + inc};
        local.values.put(std::string(name), entry_type::node_values::put_mutator(node_, cell));
    }

    if (auto r = tx.put(local_, key, util::encode(local)); !r) {
        return r;
    }
    return table_->queue_insert(tx, local);
}

template <counter_definition Def, replication::replication_policy Replication,
          storage::storage_backend Storage>
util::result<std::optional<counter_entry<Def>>>
index_counter<Def, Replication, Storage>::get_local(partition_key_type const& pk,
                                                    sort_key_type const& sk) const
{
    auto const key = table_type::tree_key(pk, sk);
    auto raw = db_.get(local_, key);
    if (!raw) {
        return raw.error();
    }
    if (!*raw) {
        return std::optional<entry_type>();
    }
    auto d = decode_local(key, **raw);
    if (!d) {
        return d.error();
    }
    return std::optional<entry_type>(std::move(*d));
}

} // namespace garage::model
