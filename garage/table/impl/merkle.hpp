#pragma once

#include <garage/table/detail/merkle_batch.hpp>

namespace garage::table {

template <replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::size_t>
merkle_updater<Replication, Storage>::update_batch(std::size_t max_items)
{
    using tx_type = typename Storage::transaction_type;
    return db_.transact([&](tx_type& tx) -> util::result<std::size_t> {
        std::vector<std::pair<std::string, std::string>> items;
        auto it = tx.for_each(todo_, std::nullopt, storage::direction::forward,
                              [&](std::string_view k, std::string_view v) {
                                  items.emplace_back(k, v);
                                  return items.size() < max_items;
                              });
        if (!it) {
            return it.error();
        }
        detail::merkle_batch<tx_type, tree_type> batch(tx, tree_);
        for (auto const& [k, v] : items) {
            if (k.size() < util::hash32::size_bytes) {
                return util::failure(util::error::decode_error, "Merkle todo: key shorter than a hash");
            }
            auto const phash = util::hash32::from_bytes(std::string_view(k).substr(0, 32));
            std::optional<util::hash32> vhash;
            if (!v.empty()) {
                auto h = util::hash32::from_bytes(v);
                if (!h) {
                    return util::failure(util::error::decode_error, "Merkle todo: bad value hash");
                }
                vhash = *h;
            }
            if (auto r = batch.apply(replication_.partition_of(*phash), k, vhash); !r) {
                return r.error();
            }
        }
        if (auto r = batch.commit(); !r) {
            return r.error();
        }
        for (auto const& [k, v] : items) {
            if (auto r = tx.remove(todo_, k); !r) {
                return r.error();
            }
        }
        return items.size();
    });
}

template <replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::size_t>
merkle_updater<Replication, Storage>::update_all()
{
    std::size_t total = 0;
    for (;;) {
        auto n = update_batch();
        if (!n) {
            return n.error();
        }
        if (*n == 0) {
            return total;
        }
        total += *n;
    }
}

template <replication::replication_policy Replication, storage::storage_backend Storage>
util::result<util::hash32>
merkle_updater<Replication, Storage>::root_hash(replication::partition_id partition) const
{
    auto n = read_node(merkle_node_key(partition, {}));
    if (!n) {
        return n.error();
    }
    return n->hash();
}

template <replication::replication_policy Replication, storage::storage_backend Storage>
util::result<merkle_node>
merkle_updater<Replication, Storage>::read_node(std::string_view node_key) const
{
    auto raw = db_.get(tree_, node_key);
    if (!raw) {
        return raw.error();
    }
    if (!*raw) {
        return merkle_node{};
    }
    return merkle_node::decode(**raw);
}

} // namespace garage::table
