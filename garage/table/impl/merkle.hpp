#pragma once

#include <garage/table/detail/merkle_batch.hpp>

#include <spdlog/spdlog.h>

namespace garage::table {

template <replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> merkle_updater<Replication, Storage>::record(typename Storage::transaction_type& tx,
                                                                merkle_todo_batch const& batch) const
{
    if (batch.empty()) {
        return {};
    }
    std::uint64_t seq = 0;
    std::optional<util::failure> bad;
    auto last = tx.for_each(
        todo_, std::nullopt, storage::direction::reverse, [&](std::string_view k, std::string_view) {
            if (k.size() != 8) {
                bad = util::failure(util::error::decode_error, "Merkle todo: bad record key");
                return false;
            }
            for (char c : k) {
                seq = (seq << 8) | static_cast<unsigned char>(c);
            }
            ++seq;
            return false;
        });
    if (!last) {
        return last.error();
    }
    if (bad) {
        return *bad;
    }
    std::string key(8, '\0');
    for (int i = 7; i >= 0; --i, seq >>= 8) {
        key[static_cast<std::size_t>(i)] = static_cast<char>(seq & 0xff);
    }
    return tx.put(todo_, key, batch.bytes());
}

template <replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::size_t> merkle_updater<Replication, Storage>::update_batch(std::size_t max_items)
{
    using tx_type = typename Storage::transaction_type;
    return db_.transact([&](tx_type& tx) -> util::result<std::size_t> {
        detail::merkle_batch<tx_type, tree_type> batch(tx, tree_);
        std::vector<std::string> done;
        std::size_t count = 0;
        std::optional<util::failure> err;
        auto it = tx.for_each(
            todo_, std::nullopt, storage::direction::forward,
            [&](std::string_view k, std::string_view record) {
                auto r = merkle_todo_batch::for_each(record, [&](std::string_view key,
                                                                 std::optional<util::hash32> const& vhash) {
                    if (err) {
                        return;
                    }
                    if (key.size() < util::hash32::size_bytes) {
                        err =
                            util::failure(util::error::decode_error, "Merkle todo: key shorter than a hash");
                        return;
                    }
                    auto const phash = util::hash32::from_bytes(key.substr(0, 32)).value();
                    if (auto a = batch.apply(replication_.partition_of(phash), std::string(key), vhash); !a) {
                        err = a.error();
                    }
                    ++count;
                });
                if (!r) {
                    // A malformed record would stop the updater forever: drop
                    // it (its updates up to the damage are applied), loudly.
                    spdlog::error("Merkle updater: dropping malformed todo record: {}", r.error().message);
                }
                done.emplace_back(k);
                return !err && count < max_items;
            });
        if (!it) {
            return it.error();
        }
        if (err) {
            return *err;
        }
        if (auto r = batch.commit(); !r) {
            return r.error();
        }
        for (auto const& k : done) {
            if (auto r = tx.remove(todo_, k); !r) {
                return r.error();
            }
        }
        return count;
    });
}

template <replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::size_t> merkle_updater<Replication, Storage>::update_all()
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
util::result<merkle_node> merkle_updater<Replication, Storage>::read_node(std::string_view node_key) const
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
