#pragma once
// Out-of-line parts of <garage/model/k2v.hpp>.

#include <garage/util/time.hpp>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

namespace garage::model {

namespace detail {

inline constexpr std::string_view k2v_timestamp_key = "timestamp";

inline std::string k2v_encode_ts(std::uint64_t t)
{
    std::string s(8, '\0');
    for (int i = 7; i >= 0; --i) {
        s[static_cast<std::size_t>(i)] = static_cast<char>(t & 0xff);
        t >>= 8;
    }
    return s;
}

inline std::uint64_t k2v_decode_ts(std::string_view s)
{
    std::uint64_t t = 0;
    if (s.size() != 8) {
        return 0;
    }
    for (char c : s) {
        t = (t << 8) | static_cast<unsigned char>(c);
    }
    return t;
}

} // namespace detail

template <replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::unique_ptr<basic_k2v<Replication, Storage>>>
basic_k2v<Replication, Storage>::open(Storage& db, Replication replication, table::table_options options)
{
    auto ts = db.open_tree(timestamp_tree_name);
    if (!ts) {
        return ts.error();
    }
    std::unique_ptr<basic_k2v> k(new basic_k2v(db, std::move(*ts)));
    k->node_ = make_k2v_node_id(replication.local_node());
    auto last = db.get(k->ts_tree_, detail::k2v_timestamp_key);
    if (!last) {
        return last.error();
    }
    if (*last) {
        k->last_ts_ = detail::k2v_decode_ts(**last);
    }
    auto c = counter_type::open(replication, db, options);
    if (!c) {
        return c.error();
    }
    k->counter_ = std::move(*c);
    auto t = item_table_type::open(schema_type(*k->counter_, *k->subs_), std::move(replication), db, options);
    if (!t) {
        return t.error();
    }
    k->items_ = std::move(*t);
    return k;
}

template <replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> basic_k2v<Replication, Storage>::insert(k2v_insert const& w)
{
    return insert_many(std::span<k2v_insert const>(&w, 1));
}

template <replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> basic_k2v<Replication, Storage>::insert_many(std::span<k2v_insert const> ws)
{
    if (ws.empty()) {
        return {};
    }
    std::lock_guard lock(write_mutex_);
    // Apply every write to the current state of its item (a write to an item already written
    // by this batch applies to that new state), with timestamps above every earlier one.
    std::map<std::string, k2v_item> updated;
    std::vector<std::string> order;
    std::uint64_t ts = std::max(last_ts_, util::now_msec());
    for (auto const& w : ws) {
        auto key = item_table_type::tree_key(w.partition, w.sort_key);
        auto it = updated.find(key);
        if (it == updated.end()) {
            auto cur = items_->get(w.partition, w.sort_key);
            if (!cur) {
                return cur.error();
            }
            k2v_item item = *cur ? std::move(**cur) : k2v_item(w.partition, w.sort_key);
            it = updated.emplace(key, std::move(item)).first;
            order.push_back(key);
        }
        ts = std::max(ts, it->second.update(node_, w.context, w.value, ts));
    }
    auto r = db_->transact([&](auto& tx) -> util::result<void> {
        if (auto p = tx.put(ts_tree_, detail::k2v_timestamp_key, detail::k2v_encode_ts(ts)); !p) {
            return p;
        }
        for (auto const& key : order) {
            if (auto i = items_->insert_in(tx, updated.at(key)); !i) {
                return i;
            }
        }
        return {};
    });
    if (r) {
        last_ts_ = ts;
    }
    return r;
}

template <replication::replication_policy Replication, storage::storage_backend Storage>
void basic_k2v<Replication, Storage>::spawn_workers(util::background_runner& runner,
                                                    util::net::any_io_executor ex)
{
    table::spawn_workers(*items_, runner, ex);
    table::spawn_workers(counter_->counter_table(), runner, ex);
}

template <replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::size_t> basic_k2v<Replication, Storage>::flush_insert_queues()
{
    std::size_t total = 0;
    while (true) {
        auto a = items_->flush_insert_queue();
        if (!a) {
            return a.error();
        }
        auto b = counter_->counter_table().flush_insert_queue();
        if (!b) {
            return b.error();
        }
        std::size_t const n = *a + *b;
        if (n == 0) {
            return total;
        }
        total += n;
    }
}

template <replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::size_t> basic_k2v<Replication, Storage>::gc_step()
{
    auto a = items_->gc_step();
    if (!a) {
        return a.error();
    }
    auto b = counter_->counter_table().gc_step();
    if (!b) {
        return b.error();
    }
    return *a + *b;
}

} // namespace garage::model
