#pragma once

#include <garage/crdt/crdt.hpp>
#include <garage/util/codec.hpp>
#include <garage/util/encoding.hpp>
#include <garage/table/detail/hash.hpp>
#include <garage/util/time.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <iterator>

namespace garage::table {

namespace detail {

inline void put_u64_be(std::string& out, std::uint64_t v)
{
    for (int s = 56; s >= 0; s -= 8) {
        out.push_back(static_cast<char>((v >> s) & 0xff));
    }
}

inline std::uint64_t get_u64_be(std::string_view b)
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        v = (v << 8) | static_cast<unsigned char>(b[i]);
    }
    return v;
}

/// The smallest key greater than every key that starts with `prefix`, if any.
inline std::optional<std::string> prefix_successor(std::string prefix)
{
    while (!prefix.empty()) {
        auto& c = reinterpret_cast<unsigned char&>(prefix.back());
        if (c != 0xff) {
            ++c;
            return prefix;
        }
        prefix.pop_back();
    }
    return std::nullopt;
}

/// Makes `slot` point at `batch` (a write's Merkle todo record) for the guard's lifetime.
class open_batch_scope {
public:
    open_batch_scope(merkle_todo_batch*& slot, merkle_todo_batch& batch) noexcept : slot_(slot), prev_(slot)
    {
        slot_ = &batch;
    }
    open_batch_scope(open_batch_scope const&) = delete;
    open_batch_scope& operator=(open_batch_scope const&) = delete;
    ~open_batch_scope() { slot_ = prev_; }

private:
    merkle_todo_batch*& slot_;
    merkle_todo_batch* prev_;
};

template <class Schema, class Tx>
inline constexpr bool has_updated_hook = requires(Schema& s, Tx& tx, typename Schema::entry_type const* e)
{
    s.updated(tx, e, e);
};

/// A schema that declares a non-template member `updated` that cannot be called as the hook:
/// most likely a mistyped signature, which would otherwise be silently ignored.
template <class Schema, class Tx>
inline constexpr bool has_mistyped_hook = requires
{
    &Schema::updated;
}
&&!has_updated_hook<Schema, Tx>;

} // namespace detail

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::unique_ptr<table<Schema, Replication, Storage>>>
table<Schema, Replication, Storage>::open(Schema schema, Replication replication, Storage& db,
                                          table_options options)
{
    std::string const base(Schema::table_name);
    trees t;
    auto open_one = [&](tree_type& out, char const* suffix) -> util::result<void> {
        auto r = db.open_tree(base + suffix);
        if (!r) {
            return util::failure(r.error().code, "table `" + base + "`: cannot open tree `" + base + suffix +
                                                     "`: " + r.error().message);
        }
        out = std::move(*r);
        return {};
    };
    for (auto [tree, suffix] :
         {std::pair{&t.store, ":table"}, std::pair{&t.merkle_tree, ":merkle_tree"},
          std::pair{&t.merkle_todo, ":merkle_todo"}, std::pair{&t.insert_queue, ":insert_queue"},
          std::pair{&t.gc_todo, ":gc_todo_v2"}}) {
        if (auto r = open_one(*tree, suffix); !r) {
            return r.error();
        }
    }
    return std::unique_ptr<table>(
        new table(std::move(schema), std::move(replication), db, std::move(t), options));
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
table<Schema, Replication, Storage>::table(Schema schema, Replication replication, Storage& db, trees t,
                                           table_options options)
    : schema_(std::move(schema)), replication_(std::move(replication)), db_(db), trees_(std::move(t)),
      options_(options), merkle_(db_, replication_, trees_.merkle_tree, trees_.merkle_todo)
{
    static_assert(!detail::has_mistyped_hook<Schema, transaction_type>,
                  "Schema::updated exists but cannot be called as "
                  "`util::result<void> updated(Storage::transaction_type&, entry_type const* old, entry_type "
                  "const* now)`");
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
std::string table<Schema, Replication, Storage>::tree_key(partition_key_type const& pk,
                                                          sort_key_type const& sk)
{
    auto const h = garage::table::partition_hash(pk);
    // `sort_key_bytes` may return an owning string: keep it alive while it is viewed.
    auto&& bytes = garage::table::sort_key_bytes(sk);
    std::string_view const s = bytes;
    std::string k;
    k.reserve(h.size() + s.size());
    k.append(h.view());
    k.append(s);
    return k;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::failure table<Schema, Replication, Storage>::key_error(std::string_view key,
                                                             util::failure const& inner) const
{
    return util::failure(inner.code, "table `" + std::string(Schema::table_name) + "`, key " +
                                         util::to_hex(key) + ": " + inner.message);
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> table<Schema, Replication, Storage>::check_key(std::string const& key) const
{
    if (key.size() > storage::max_key_size) {
        return util::failure(error::key_too_long, "table `" + std::string(Schema::table_name) + "`: key of " +
                                                      std::to_string(key.size()) +
                                                      " bytes exceeds the limit of " +
                                                      std::to_string(storage::max_key_size) +
                                                      " bytes (32-byte partition hash + sort key)");
    }
    return {};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::optional<typename Schema::entry_type>>
table<Schema, Replication, Storage>::decode_at(std::string_view key, std::string_view bytes) const
{
    auto e = util::decode<entry_type>(bytes);
    if (!e) {
        return key_error(
            key, util::failure(error::corrupt_entry, "cannot decode stored entry: " + e.error().message));
    }
    return std::optional<entry_type>(std::move(*e));
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::string> table<Schema, Replication, Storage>::encode_at(std::string_view key,
                                                                         entry_type const& e) const
{
    // cereal reports failures by throwing (and a user's `serialize` may throw too): the error
    // must reach the caller as a value, before anything of the entry is written.
    try {
        return util::encode(e);
    } catch (std::exception const& x) {
        return key_error(
            key, util::failure(error::encode_failed, std::string("cannot encode entry: ") + x.what()));
    }
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> table<Schema, Replication, Storage>::insert_in(transaction_type& tx, entry_type const& e)
{
    auto const key = tree_key(e.partition_key(), e.sort_key());
    if (open_batch_ != nullptr) {
        // Called by a hook of one of this table's own writes (the storage runs one write
        // transaction at a time, so it is that write's transaction): append to its record,
        // after the updates it has made so far. A record of its own would be stored before the
        // write's record and applied first, leaving the Merkle tree with older value hashes.
        return insert_at(tx, key, e, *open_batch_);
    }
    merkle_todo_batch todo;
    detail::open_batch_scope scope(open_batch_, todo);
    if (auto r = insert_at(tx, key, e, todo); !r) {
        return r;
    }
    if (auto r = merkle_.record(tx, todo); !r) {
        return r;
    }
    if (!todo.empty()) {
        // The caller commits; the woken worker's transaction waits for that commit.
        notify_merkle();
    }
    return {};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> table<Schema, Replication, Storage>::insert_at(transaction_type& tx,
                                                                  std::string const& key, entry_type const& e,
                                                                  merkle_todo_batch& todo)
{
    if (auto r = check_key(key); !r) {
        return r;
    }
    auto old_raw = tx.get(trees_.store, key);
    if (!old_raw) {
        return key_error(key, old_raw.error());
    }
    std::optional<entry_type> old;
    entry_type merged;
    if (*old_raw) {
        auto d = decode_at(key, **old_raw);
        if (!d) {
            return d.error();
        }
        if constexpr (detail::has_updated_hook<Schema, transaction_type>) {
            old = std::move(*d); // the hook sees both versions
            merged = *old;
        } else {
            merged = std::move(**d);
        }
        crdt::merge(merged, e);
    } else {
        merged = e;
    }
    auto encoded = encode_at(key, merged);
    if (!encoded) {
        return encoded.error();
    }
    auto const& new_raw = *encoded;
    if (auto* cap = util::write_capture::current(); cap != nullptr) {
        // recorded even when unchanged here: the other nodes may not have it
        cap->entries.push_back(util::captured_entry{
            Schema::table_name, util::hash32::from_bytes(std::string_view(key).substr(0, 32)).value(),
            new_raw});
    }
    if (*old_raw && **old_raw == new_raw) {
        return {};
    }
    if (auto r = tx.put(trees_.store, key, new_raw); !r) {
        return key_error(key, r.error());
    }
    auto const vhash = detail::merkle_hash(new_raw);
    todo.add(key, vhash);
    if constexpr (detail::has_updated_hook<Schema, transaction_type>) {
        if (auto r = schema_.updated(tx, old ? &*old : nullptr, &merged); !r) {
            return r;
        }
    }
    if (garage::table::is_tombstone(merged)) {
        auto const nodes =
            replication_.storage_nodes(util::hash32::from_bytes(std::string_view(key).substr(0, 32)).value());
        if (std::ranges::begin(nodes) != std::ranges::end(nodes) &&
            *std::ranges::begin(nodes) == replication_.local_node()) {
            std::string gk;
            gk.reserve(8 + key.size());
            detail::put_u64_be(gk, util::now_msec());
            gk.append(key);
            if (auto r = tx.put(trees_.gc_todo, gk, vhash.view()); !r) {
                return key_error(key, r.error());
            }
        }
    }
    return {};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> table<Schema, Replication, Storage>::insert(entry_type const& e)
{
    return insert_many(std::span<entry_type const>(&e, 1));
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> table<Schema, Replication, Storage>::insert_many(std::span<entry_type const> entries)
{
    // (the worker woken inside waits for the commit)
    return db_.transact([&](transaction_type& tx) { return insert_many_in(tx, entries); });
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> table<Schema, Replication, Storage>::insert_many_in(transaction_type& tx,
                                                                       std::span<entry_type const> entries)
{
    // Applying a batch in key order makes consecutive B-tree descents touch the same pages;
    // the merge is commutative, so the order does not change the result.
    std::vector<std::pair<std::string, entry_type const*>> keyed;
    keyed.reserve(entries.size());
    for (auto const& e : entries) {
        keyed.emplace_back(tree_key(e.partition_key(), e.sort_key()), &e);
    }
    if (keyed.size() > 1) {
        std::stable_sort(keyed.begin(), keyed.end(),
                         [](auto const& a, auto const& b) { return a.first < b.first; });
    }
    merkle_todo_batch todo;
    detail::open_batch_scope scope(open_batch_, todo);
    for (auto const& [key, e] : keyed) {
        if (auto r = insert_at(tx, key, *e, todo); !r) {
            return r;
        }
    }
    if (auto r = merkle_.record(tx, todo); !r) {
        return r;
    }
    // The caller commits; the woken worker's transaction waits for that commit.
    notify_merkle();
    return {};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> table<Schema, Replication, Storage>::queue_insert(transaction_type& tx,
                                                                     entry_type const& e)
{
    auto const key = tree_key(e.partition_key(), e.sort_key());
    if (auto r = check_key(key); !r) {
        return r;
    }
    auto old_raw = tx.get(trees_.insert_queue, key);
    if (!old_raw) {
        return key_error(key, old_raw.error());
    }
    std::string new_raw;
    if (*old_raw) {
        auto d = decode_at(key, **old_raw);
        if (!d) {
            return d.error();
        }
        crdt::merge(**d, e);
        auto encoded = encode_at(key, **d);
        if (!encoded) {
            return encoded.error();
        }
        new_raw = std::move(*encoded);
    } else {
        auto encoded = encode_at(key, e);
        if (!encoded) {
            return encoded.error();
        }
        new_raw = std::move(*encoded);
    }
    if (auto r = tx.put(trees_.insert_queue, key, new_raw); !r) {
        return key_error(key, r.error());
    }
    if (queue_wakeup_) {
        queue_wakeup_();
    }
    return {};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::optional<typename Schema::entry_type>>
table<Schema, Replication, Storage>::get(partition_key_type const& pk, sort_key_type const& sk) const
{
    auto const key = tree_key(pk, sk);
    if (key.size() > storage::max_key_size) {
        return std::optional<entry_type>(); // can never have been stored
    }
    auto raw = db_.get(trees_.store, key);
    if (!raw) {
        return key_error(key, raw.error());
    }
    if (!*raw) {
        return std::optional<entry_type>();
    }
    return decode_at(key, **raw);
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
template <class F>
util::result<void> table<Schema, Replication, Storage>::scan_partition(
    util::hash32 const& phash, std::optional<std::string> const& start_sk, filter_type const* filter,
    std::size_t limit, storage::direction dir, F&& out) const
{
    if (limit == 0) {
        return {};
    }
    std::string const prefix(phash.view());
    std::optional<std::string> from;
    if (start_sk) {
        from = prefix + *start_sk;
    } else if (dir == storage::direction::forward) {
        from = prefix;
    } else {
        from = detail::prefix_successor(prefix);
    }
    std::optional<util::failure> err;
    std::size_t count = 0;
    auto visit = [&](std::string_view k, std::string_view v) {
        if (!k.starts_with(prefix)) {
            // Reverse from the successor of the prefix: skip keys above the partition.
            return dir == storage::direction::reverse && k > std::string_view(prefix);
        }
        auto e = decode_at(k, v);
        if (!e) {
            err = e.error();
            return false;
        }
        if (filter == nullptr || Schema::matches_filter(**e, *filter)) {
            out(k, v, std::move(**e));
            ++count;
        }
        return count < limit;
    };
    std::optional<std::string_view> from_view;
    if (from) {
        from_view = *from;
    }
    if (auto r = db_.for_each(trees_.store, from_view, dir, visit); !r) {
        return r.error();
    }
    if (err) {
        return *err;
    }
    return {};
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::vector<typename Schema::entry_type>> table<Schema, Replication, Storage>::get_range(
    partition_key_type const& pk, std::optional<sort_key_type> const& start,
    std::optional<filter_type> const& filter, std::size_t limit, storage::direction dir) const
{
    std::vector<entry_type> out;
    std::optional<std::string> start_sk;
    if (start) {
        auto&& bytes = garage::table::sort_key_bytes(*start);
        start_sk = std::string(std::string_view(bytes));
    }
    auto r = scan_partition(
        garage::table::partition_hash(pk), start_sk, filter ? &*filter : nullptr, limit, dir,
        [&](std::string_view, std::string_view, entry_type&& e) { out.push_back(std::move(e)); });
    if (!r) {
        return r.error();
    }
    return out;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::vector<typename table<Schema, Replication, Storage>::encoded_item>>
table<Schema, Replication, Storage>::get_range_encoded(util::hash32 const& phash,
                                                       std::optional<std::string> const& start_sk,
                                                       filter_type const* filter, std::size_t limit,
                                                       storage::direction dir) const
{
    std::vector<encoded_item> out;
    auto r = scan_partition(phash, start_sk, filter, limit, dir,
                            [&](std::string_view k, std::string_view v, entry_type&&) {
                                out.emplace_back(std::string(k), std::string(v));
                            });
    if (!r) {
        return r.error();
    }
    return out;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::optional<std::string>>
table<Schema, Replication, Storage>::get_encoded(std::string_view key) const
{
    if (key.size() > storage::max_key_size) {
        return std::optional<std::string>();
    }
    auto raw = db_.get(trees_.store, key);
    if (!raw) {
        return key_error(key, raw.error());
    }
    if (!*raw) {
        return std::optional<std::string>();
    }
    return std::optional<std::string>(std::string(**raw));
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> table<Schema, Replication, Storage>::insert_encoded(std::span<std::string const> items)
{
    auto entries = decode_items(items);
    if (!entries) {
        return entries.error();
    }
    return insert_many(*entries);
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::vector<typename Schema::entry_type>>
table<Schema, Replication, Storage>::decode_items(std::span<std::string const> items) const
{
    std::vector<entry_type> entries;
    entries.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto e = util::decode<entry_type>(items[i]);
        if (!e) {
            return util::failure(error::invalid_entry, "table `" + std::string(Schema::table_name) +
                                                           "`: item " + std::to_string(i) + " of " +
                                                           std::to_string(items.size()) +
                                                           " does not decode: " + e.error().message);
        }
        entries.push_back(std::move(*e));
    }
    return entries;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::size_t> table<Schema, Replication, Storage>::count_in(transaction_type& tx,
                                                                        partition_key_type const& pk,
                                                                        filter_type const& filter) const
{
    std::string const prefix(garage::table::partition_hash(pk).view());
    std::size_t count = 0;
    std::optional<util::failure> err;
    auto visit = [&](std::string_view k, std::string_view v) {
        if (!k.starts_with(prefix)) {
            return false;
        }
        auto e = decode_at(k, v);
        if (!e) {
            err = e.error();
            return false;
        }
        if (Schema::matches_filter(**e, filter)) {
            ++count;
        }
        return true;
    };
    if (auto r = tx.for_each(trees_.store, std::optional<std::string_view>(prefix),
                             storage::direction::forward, visit);
        !r) {
        return r.error();
    }
    if (err) {
        return *err;
    }
    return count;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::vector<typename table<Schema, Replication, Storage>::encoded_item>>
table<Schema, Replication, Storage>::scan_encoded(std::string_view from, std::optional<std::string> const& to,
                                                  std::size_t limit) const
{
    std::vector<encoded_item> out;
    if (limit == 0) {
        return out;
    }
    auto r = db_.for_each(trees_.store, from, storage::direction::forward,
                          [&](std::string_view k, std::string_view v) {
                              if (to && k >= std::string_view(*to)) {
                                  return false;
                              }
                              out.emplace_back(std::string(k), std::string(v));
                              return out.size() < limit;
                          });
    if (!r) {
        return r.error();
    }
    return out;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<bool>
table<Schema, Replication, Storage>::delete_if_hash_in(transaction_type& tx, std::string_view key,
                                                       std::string_view vhash, merkle_todo_batch& removed)
{
    auto cur = tx.get(trees_.store, key);
    if (!cur) {
        return cur.error();
    }
    if (!*cur || detail::merkle_hash(**cur).view() != vhash) {
        return false;
    }
    if constexpr (detail::has_updated_hook<Schema, transaction_type>) {
        auto old = decode_at(key, **cur);
        if (!old) {
            return old.error();
        }
        if (auto h = schema_.updated(tx, &**old, nullptr); !h) {
            return h.error();
        }
    }
    if (auto d = tx.remove(trees_.store, key); !d) {
        return d.error();
    }
    removed.add(key, std::nullopt);
    return true;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::size_t> table<Schema, Replication, Storage>::delete_if_equal_hash(
    std::span<std::pair<std::string, util::hash32> const> items)
{
    auto r = db_.transact([&](transaction_type& tx) -> util::result<std::size_t> {
        merkle_todo_batch removed;
        detail::open_batch_scope scope(open_batch_, removed);
        std::size_t n = 0;
        for (auto const& [key, vhash] : items) {
            auto d = delete_if_hash_in(tx, key, vhash.view(), removed);
            if (!d) {
                return d.error();
            }
            n += *d ? 1 : 0;
        }
        if (auto m = merkle_.record(tx, removed); !m) {
            return m.error();
        }
        return n;
    });
    if (r && *r > 0) {
        notify_merkle();
    }
    return r;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::vector<typename table<Schema, Replication, Storage>::encoded_item>>
table<Schema, Replication, Storage>::insert_queue_peek(std::size_t limit) const
{
    std::vector<encoded_item> out;
    if (limit == 0) {
        return out;
    }
    auto r = db_.for_each(trees_.insert_queue, std::nullopt, storage::direction::forward,
                          [&](std::string_view k, std::string_view v) {
                              out.emplace_back(std::string(k), std::string(v));
                              return out.size() < limit;
                          });
    if (!r) {
        return r.error();
    }
    return out;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void>
table<Schema, Replication, Storage>::insert_queue_remove_if_equal(std::span<encoded_item const> items)
{
    return db_.transact([&](transaction_type& tx) -> util::result<void> {
        for (auto const& [k, v] : items) {
            auto cur = tx.get(trees_.insert_queue, k);
            if (!cur) {
                return cur.error();
            }
            if (*cur && **cur == v) {
                if (auto d = tx.remove(trees_.insert_queue, k); !d) {
                    return d.error();
                }
            }
        }
        return {};
    });
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::vector<typename table<Schema, Replication, Storage>::gc_todo_item>>
table<Schema, Replication, Storage>::gc_todo_due(std::uint64_t now_msec, std::size_t limit)
{
    auto const delay = static_cast<std::uint64_t>(options_.gc_delay.count());
    std::vector<gc_todo_item> out;
    std::vector<std::string> bad;
    auto it = db_.for_each(trees_.gc_todo, std::nullopt, storage::direction::forward,
                           [&](std::string_view k, std::string_view v) {
                               if (k.size() < 8 + util::hash32::size_bytes ||
                                   v.size() != util::hash32::size_bytes) {
                                   bad.emplace_back(k); // garbage: removed below
                                   return true;
                               }
                               if (detail::get_u64_be(k) + delay > now_msec) {
                                   return false; // ordered by time: the rest is younger
                               }
                               out.push_back(gc_todo_item{std::string(k), std::string(k.substr(8)),
                                                          util::hash32::from_bytes(v).value()});
                               return out.size() < limit;
                           });
    if (!it) {
        return it.error();
    }
    if (!bad.empty()) {
        if (auto r = gc_todo_remove(bad); !r) {
            return r.error();
        }
    }
    return out;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<void> table<Schema, Replication, Storage>::gc_todo_remove(std::span<std::string const> todo_keys)
{
    return db_.transact([&](transaction_type& tx) -> util::result<void> {
        for (auto const& k : todo_keys) {
            if (auto d = tx.remove(trees_.gc_todo, k); !d) {
                return d.error();
            }
        }
        return {};
    });
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::size_t> table<Schema, Replication, Storage>::flush_insert_queue()
{
    auto r = db_.transact([&](transaction_type& tx) -> util::result<std::size_t> {
        std::vector<std::string> items;
        auto it = tx.for_each(trees_.insert_queue, std::nullopt, storage::direction::forward,
                              [&](std::string_view k, std::string_view) {
                                  items.emplace_back(k);
                                  return items.size() < options_.queue_batch;
                              });
        if (!it) {
            return it.error();
        }
        merkle_todo_batch todo;
        detail::open_batch_scope scope(open_batch_, todo);
        for (auto const& k : items) {
            // Read the item now rather than during the scan, and dequeue it before inserting:
            // the hooks of earlier inserts may have merged into it, and this insert's hook may
            // queue this key again; both must survive.
            auto v = tx.get(trees_.insert_queue, k);
            if (!v) {
                return key_error(k, v.error());
            }
            if (!*v) {
                continue;
            }
            if (auto r = tx.remove(trees_.insert_queue, k); !r) {
                return key_error(k, r.error());
            }
            auto e = decode_at(k, **v);
            if (!e) {
                // A corrupt queue item would block the queue forever: drop it, loudly.
                spdlog::error("{}: dropping undecodable insert-queue item: {}", Schema::table_name,
                              e.error().message);
                continue;
            }
            if (auto r = insert_at(tx, k, **e, todo); !r) {
                return r.error();
            }
        }
        if (auto r = merkle_.record(tx, todo); !r) {
            return r.error();
        }
        return items.size();
    });
    if (r && *r > 0) {
        notify_merkle();
    }
    return r;
}

template <table_schema Schema, replication::replication_policy Replication, storage::storage_backend Storage>
util::result<std::size_t> table<Schema, Replication, Storage>::gc_step()
{
    auto const now = util::now_msec();
    auto const delay = static_cast<std::uint64_t>(options_.gc_delay.count());
    auto r = db_.transact([&](transaction_type& tx) -> util::result<std::size_t> {
        std::vector<std::pair<std::string, std::string>> todo;
        auto it = tx.for_each(trees_.gc_todo, std::nullopt, storage::direction::forward,
                              [&](std::string_view k, std::string_view v) {
                                  if (k.size() >= 8 && detail::get_u64_be(k) + delay > now) {
                                      return false; // ordered by time: the rest is younger
                                  }
                                  // (a key too short to hold a time is garbage: taken to be removed)
                                  todo.emplace_back(k, v);
                                  return todo.size() < options_.gc_batch;
                              });
        if (!it) {
            return it.error();
        }
        merkle_todo_batch removed;
        detail::open_batch_scope scope(open_batch_, removed);
        for (auto const& [gk, vhash] : todo) {
            if (gk.size() < 8 + util::hash32::size_bytes) {
                if (auto d = tx.remove(trees_.gc_todo, gk); !d) {
                    return d.error();
                }
                continue;
            }
            std::string_view const key = std::string_view(gk).substr(8);
            if (auto d = delete_if_hash_in(tx, key, vhash, removed); !d) {
                return d.error();
            }
            if (auto d = tx.remove(trees_.gc_todo, gk); !d) {
                return d.error();
            }
        }
        if (auto m = merkle_.record(tx, removed); !m) {
            return m.error();
        }
        return todo.size();
    });
    if (r && *r > 0) {
        notify_merkle();
    }
    return r;
}

} // namespace garage::table
