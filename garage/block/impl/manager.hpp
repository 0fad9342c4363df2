#pragma once

#include <garage/block/detail/codec.hpp>
#include <garage/block/detail/file_io.hpp>
#include <garage/util/persister.hpp>
#include <garage/util/time.hpp>

#include <algorithm>
#include <utility>

namespace garage::block {

namespace detail {

/// The margin between a block becoming deletable and its queued resync (Garage: 10 s),
/// never more than the GC delay itself (so that a zero delay is handled at once).
inline std::uint64_t gc_resync_margin_msec(std::chrono::milliseconds gc_delay) noexcept
{
    auto const d = static_cast<std::uint64_t>(std::max<std::int64_t>(gc_delay.count(), 0));
    return std::min<std::uint64_t>(d, 10000);
}

inline std::uint64_t to_msec(std::chrono::milliseconds d) noexcept
{
    return static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0));
}

/// Removes a key from the busy set when a resync step ends.
class busy_guard {
public:
    busy_guard(std::mutex& m, std::set<std::string>& set, std::string key)
        : mutex_(m), set_(set), key_(std::move(key))
    {
    }
    busy_guard(busy_guard const&) = delete;
    busy_guard& operator=(busy_guard const&) = delete;
    ~busy_guard()
    {
        std::lock_guard lock(mutex_);
        set_.erase(key_);
    }

private:
    std::mutex& mutex_;
    std::set<std::string>& set_;
    std::string key_;
};

} // namespace detail

template <storage::storage_backend Storage>
util::result<std::unique_ptr<block_manager<Storage>>>
block_manager<Storage>::open(Storage& db, block_options options, std::unique_ptr<block_fetcher> fetcher)
{
    if (options.block_size == 0 || options.block_size > max_block_size) {
        return util::failure(error::invalid_options, "block_size must be between 1 and " +
                                                         std::to_string(max_block_size) + " bytes, not " +
                                                         std::to_string(options.block_size));
    }
    auto layout = data_layout::load_or_initialize(options.data_dirs, options.metadata_dir);
    if (!layout) {
        return layout.error();
    }
    auto rc = db.open_tree(rc_tree_name);
    if (!rc) {
        return rc.error();
    }
    auto queue = db.open_tree(resync_queue_tree_name);
    if (!queue) {
        return queue.error();
    }
    auto errors = db.open_tree(resync_errors_tree_name);
    if (!errors) {
        return errors.error();
    }
    auto small = db.open_tree(small_tree_name);
    if (!small) {
        return small.error();
    }
    if (!fetcher) {
        fetcher = std::make_unique<null_block_fetcher>();
    }
    return std::unique_ptr<block_manager>(new block_manager(
        db, std::move(options), std::move(*layout), trees{*rc, *queue, *errors, *small}, std::move(fetcher)));
}

template <storage::storage_backend Storage>
block_manager<Storage>::block_manager(Storage& db, block_options options, data_layout layout, trees t,
                                      std::unique_ptr<block_fetcher> fetcher)
    : db_(db), options_(std::move(options)), trees_(std::move(t)),
      store_(std::move(layout), options_.data_fsync, options_.compression_level.has_value()),
      fetcher_(std::move(fetcher))
{
}

// ---- blocks

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::write_block(util::hash32 const& h, std::string_view data)
{
    if (data.size() > options_.block_size) {
        return util::failure(error::block_too_large, "block " + h.to_hex() + " has " +
                                                         std::to_string(data.size()) +
                                                         " bytes, more than block_size (" +
                                                         std::to_string(options_.block_size) + ")");
    }
    // Compression runs outside the block's mutex: it is the costly part.
    return write_encoded(h, encode(data));
}

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::write_encoded(util::hash32 const& h, data_block const& blk)
{
    auto const start = std::chrono::steady_clock::now();
    auto const small = is_small(blk);
    auto r = small ? db_.transact([&](transaction_type& tx) { return write_small_in(tx, h, blk); })
                   : store_.write(h, blk);
    if (auto* cap = util::write_capture::current(); cap != nullptr && r && !small) {
        cap->blocks.push_back(
            util::captured_block{h, static_cast<std::uint8_t>(blk.encoding()), std::string(blk.bytes())});
    }
    if (metrics_ != nullptr && r && !small) { // write_small_in records a small block
        metrics_->record_write(blk.size(), std::chrono::steady_clock::now() - start);
    }
    return r;
}

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::write_small_in(transaction_type& tx, util::hash32 const& h,
                                                          data_block const& blk)
{
    // The write time guards the entry against the GC (see delete_if_unneeded), as a file's mtime.
    std::string v;
    v.reserve(1 + 8 + blk.size());
    v.push_back(blk.is_compressed() ? '\1' : '\0');
    detail::put_u64_be(v, util::now_msec());
    v.append(blk.bytes());
    if (auto* cap = util::write_capture::current(); cap != nullptr) {
        cap->blocks.push_back(
            util::captured_block{h, static_cast<std::uint8_t>(blk.encoding()), std::string(blk.bytes())});
    }
    if (metrics_ != nullptr) {
        metrics_->record_write(blk.size(), std::chrono::steady_clock::duration{}); // a put into the batch
    }
    return tx.put(trees_.small, h.view(), v);
}

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::write_raw_block(util::hash32 const& h, data_block const& blk)
{
    if (auto v = blk.verify(h); !v) {
        return v.error();
    }
    return write_encoded(h, blk);
}

template <storage::storage_backend Storage>
util::failure block_manager<Storage>::corrupt_copy(util::hash32 const& h, block_location const& loc,
                                                   util::failure const& why)
{
    if (auto q = store_.quarantine(h, loc); !q) {
        detail::log_error("cannot set aside corrupted block file: " + q.error().message);
    }
    if (auto r = put_to_resync(h, std::chrono::milliseconds(0)); !r) {
        detail::log_error("cannot queue a resync of corrupted block " + h.to_hex() + ": " +
                          r.error().message);
    }
    return util::failure(error::corrupt_block, "block " + h.to_hex() + " is corrupted in " +
                                                   loc.path.string() + " (" + why.message + ")");
}

template <storage::storage_backend Storage>
util::result<data_block> block_manager<Storage>::read_verified(util::hash32 const& h, std::string* plain_out)
{
    auto const start = std::chrono::steady_clock::now();
    if (auto small = read_small(h, plain_out); !small) {
        return small.error();
    } else if (*small) {
        if (metrics_ != nullptr) {
            metrics_->record_read((*small)->size(), std::chrono::steady_clock::now() - start);
        }
        return std::move(**small);
    }
    // A copy may move between finding and opening it (rewritten compressed or into its
    // primary directory): look again once.
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto loc = store_.find(h);
        if (!loc) {
            break;
        }
        bool intact = false;
        auto raw = store_.read(*loc, intact);
        if (!raw) {
            if (raw.error().code == make_error_code(error::corrupt_block)) {
                return corrupt_copy(h, *loc, raw.error());
            }
            return raw.error();
        }
        if (!*raw) {
            continue;
        }
        // An intact copy (its CRC-64 as written) holds bytes that matched the hash: not re-hashed.
        if (plain_out != nullptr && (*raw)->is_compressed()) {
            auto plain = intact ? zstd_decompress((*raw)->bytes()) : (*raw)->decode(h);
            if (!plain) {
                return corrupt_copy(h, *loc, plain.error());
            }
            *plain_out = std::move(*plain);
        } else if (!intact) {
            if (auto v = (*raw)->verify(h); !v) {
                return corrupt_copy(h, *loc, v.error());
            }
        }
        if (metrics_ != nullptr) {
            metrics_->record_read((*raw)->size(), std::chrono::steady_clock::now() - start);
        }
        return std::move(**raw);
    }
    // Perhaps it should be here: if it is referenced, a resync will fetch it.
    if (auto r = put_to_resync(h, options_.missing_block_delay); !r) {
        detail::log_error("cannot queue a resync of missing block " + h.to_hex() + ": " + r.error().message);
    }
    return util::failure(error::block_not_found, "block " + h.to_hex() + " is not stored on this node");
}

template <storage::storage_backend Storage>
util::result<std::optional<data_block>> block_manager<Storage>::read_small(util::hash32 const& h,
                                                                           std::string* plain_out)
{
    auto v = db_.get(trees_.small, h.view());
    if (!v) {
        return v.error();
    }
    if (!*v) {
        return std::optional<data_block>{};
    }
    std::string_view const stored = **v;
    std::optional<util::failure> bad;
    std::optional<data_block> blk;
    if (stored.size() < 9 || (stored[0] != '\0' && stored[0] != '\1')) {
        bad = util::failure(error::corrupt_block, "malformed entry");
    } else {
        blk.emplace(stored[0] == '\1' ? block_encoding::compressed : block_encoding::plain,
                    std::string(stored.substr(9)));
        if (plain_out != nullptr && blk->is_compressed()) {
            auto plain = blk->decode(h);
            if (!plain) {
                bad = plain.error();
            } else {
                *plain_out = std::move(*plain);
            }
        } else if (auto ok = blk->verify(h); !ok) {
            bad = ok.error();
        }
    }
    if (!bad) {
        return blk;
    }
    // Set the corrupt copy aside (removed: a copy in a file, if any, or a resync takes over).
    small_corruptions_.fetch_add(1);
    auto rm = db_.transact([&](transaction_type& tx) -> util::result<void> {
        auto r = tx.remove(trees_.small, h.view());
        if (!r) {
            return r.error();
        }
        return queue_in(tx, h, util::now_msec());
    });
    if (!rm) {
        detail::log_error("cannot remove corrupted small block " + h.to_hex() + ": " + rm.error().message);
    } else {
        notify_resync();
    }
    return util::failure(error::corrupt_block,
                         "block " + h.to_hex() + " is corrupted in the metadata DB (" + bad->message + ")");
}

template <storage::storage_backend Storage>
util::result<std::string> block_manager<Storage>::read_block(util::hash32 const& h)
{
    std::string plain;
    auto r = read_verified(h, &plain);
    if (!r) {
        return r.error();
    }
    if (!r->is_compressed()) {
        return std::move(*r).bytes();
    }
    return plain;
}

template <storage::storage_backend Storage>
util::result<data_block> block_manager<Storage>::read_raw_block(util::hash32 const& h)
{
    return read_verified(h, nullptr);
}

// ---- reference counts

template <storage::storage_backend Storage>
util::result<rc_value> block_manager<Storage>::get_rc(util::hash32 const& h) const
{
    auto v = db_.get(trees_.rc, h.view());
    if (!v) {
        return v.error();
    }
    return rc_value::decode(*v ? std::optional<std::string_view>(**v) : std::nullopt);
}

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::queue_in(transaction_type& tx, util::hash32 const& h,
                                                    std::uint64_t when_msec)
{
    return tx.put(trees_.queue, detail::queue_key(when_msec, h), h.view());
}

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::incref(transaction_type& tx, util::hash32 const& h)
{
    auto stored = tx.get(trees_.rc, h.view());
    if (!stored) {
        return stored.error();
    }
    auto old = rc_value::decode(*stored ? std::optional<std::string_view>(**stored) : std::nullopt);
    if (!old) {
        return util::failure(old.error().code, "block " + h.to_hex() + ": " + old.error().message);
    }
    if (auto p = tx.put(trees_.rc, h.view(), *old->incremented().encode()); !p) {
        return p;
    }
    if (old->is_zero()) {
        // The writer should have sent us the block; check later that it did.
        auto const due = util::now_msec() + detail::to_msec(options_.missing_block_delay);
        auto q = queue_in(tx, h, due);
        if (!q) {
            return q;
        }
        notify_resync(due);
    }
    return {};
}

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::decref(transaction_type& tx, util::hash32 const& h)
{
    auto stored = tx.get(trees_.rc, h.view());
    if (!stored) {
        return stored.error();
    }
    auto old = rc_value::decode(*stored ? std::optional<std::string_view>(**stored) : std::nullopt);
    if (!old) {
        return util::failure(old.error().code, "block " + h.to_hex() + ": " + old.error().message);
    }
    if (old->get_state() != rc_value::state::present) {
        return {};
    }
    auto const next = old->decremented(util::now_msec(), detail::to_msec(options_.gc_delay));
    if (auto p = tx.put(trees_.rc, h.view(), *next.encode()); !p) {
        return p;
    }
    if (auto at = next.deletable_at()) {
        auto const due = *at + detail::gc_resync_margin_msec(options_.gc_delay);
        auto q = queue_in(tx, h, due);
        if (!q) {
            return q;
        }
        notify_resync(due);
    }
    return {};
}

template <storage::storage_backend Storage>
util::result<bool> block_manager<Storage>::recalculate_rc(util::hash32 const& h)
{
    if (!recount_) {
        return util::failure(error::invalid_options,
                             "block reference counts cannot be recounted: no recount function is set");
    }
    bool queued = false;
    auto fixed = db_.transact([&](transaction_type& tx) -> util::result<bool> {
        auto n = recount_(tx, h);
        if (!n) {
            return n.error();
        }
        auto stored = tx.get(trees_.rc, h.view());
        if (!stored) {
            return stored.error();
        }
        auto old = rc_value::decode(*stored ? std::optional<std::string_view>(**stored) : std::nullopt);
        if (!old) {
            return util::failure(old.error().code, "block " + h.to_hex() + ": " + old.error().message);
        }
        if (*n == old->count()) {
            return false;
        }
        auto const now = util::now_msec();
        auto const next =
            *n > 0 ? rc_value::present(*n) : rc_value::deletable(now + detail::to_msec(options_.gc_delay));
        if (auto p = tx.put(trees_.rc, h.view(), *next.encode()); !p) {
            return p.error();
        }
        if (auto at = next.deletable_at()) {
            if (auto q = queue_in(tx, h, *at + detail::gc_resync_margin_msec(options_.gc_delay)); !q) {
                return q.error();
            }
            queued = true;
        } else if (old->is_zero()) {
            if (auto q = queue_in(tx, h, now + detail::to_msec(options_.missing_block_delay)); !q) {
                return q.error();
            }
            queued = true;
        }
        detail::log_warn("fixing the reference count of block " + h.to_hex() + ": was " +
                         std::to_string(old->count()) + ", should be " + std::to_string(*n));
        return true;
    });
    if (fixed && queued) {
        notify_resync();
    }
    return fixed;
}

template <storage::storage_backend Storage>
util::result<rebalance_step_result> block_manager<Storage>::rebalance_step(scrub_cursor& cursor,
                                                                           std::size_t max)
{
    auto r = store_.rebalance_step(cursor, max);
    if (!r) {
        return r;
    }
    if (!r->corrupt.empty()) {
        if (auto q = put_to_resync_many(r->corrupt, std::chrono::milliseconds(0)); !q) {
            return q.error();
        }
    }
    if (r->finished) {
        // Every block file is in its primary directory (those written meanwhile always were):
        // the secondary locations are no longer searched, and no longer remembered.
        auto next = store_.drop_secondary_locations();
        if (!options_.metadata_dir.empty()) {
            util::persister<data_layout> persister(options_.metadata_dir / layout_file_name);
            if (auto s = persister.save(*next); !s) {
                return s.error();
            }
        }
    }
    return r;
}

// ---- resync

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::put_to_resync_at(util::hash32 const& h, std::uint64_t when_msec)
{
    auto r = db_.transact([&](transaction_type& tx) { return queue_in(tx, h, when_msec); });
    if (r) {
        notify_resync();
    }
    return r;
}

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::put_to_resync(util::hash32 const& h,
                                                         std::chrono::milliseconds delay)
{
    return put_to_resync_at(h, util::now_msec() + detail::to_msec(delay));
}

template <storage::storage_backend Storage>
util::result<resync_step_result> block_manager<Storage>::resync_step()
{
    using namespace std::chrono;
    std::optional<std::pair<std::string, std::string>> item;
    {
        std::lock_guard lock(busy_mutex_);
        auto r = db_.for_each(trees_.queue, std::nullopt, storage::direction::forward,
                              [&](std::string_view k, std::string_view v) {
                                  if (busy_.count(std::string(k)) != 0) {
                                      return true;
                                  }
                                  item.emplace(std::string(k), std::string(v));
                                  return false;
                              });
        if (!r) {
            return r.error();
        }
        if (!item) {
            return resync_step_result{resync_outcome::empty, seconds(10), std::nullopt};
        }
        busy_.insert(item->first);
    }
    detail::busy_guard guard(busy_mutex_, busy_, item->first);
    auto const& key = item->first;

    if (key.size() != 8 + util::hash32::size()) {
        detail::log_error("removing a malformed entry of " + std::string(resync_queue_tree_name));
        auto r = db_.transact([&](transaction_type& tx) -> util::result<void> {
            auto rm = tx.remove(trees_.queue, key);
            if (!rm) {
                return rm.error();
            }
            return {};
        });
        if (!r) {
            return r.error();
        }
        return resync_step_result{resync_outcome::processed, milliseconds(0), std::nullopt};
    }
    auto const when = detail::get_u64_be(key);
    auto const h = util::hash32::from_bytes(std::string_view(key).substr(8)).value();
    auto const now = util::now_msec();
    if (when > now) {
        return resync_step_result{resync_outcome::waiting, milliseconds(when - now), std::nullopt};
    }
    auto const base = detail::to_msec(options_.resync_retry_delay);

    // In back-off after a failure: move the item to its retry time.
    auto stored_ec = db_.get(trees_.errors, h.view());
    if (!stored_ec) {
        return stored_ec.error();
    }
    std::optional<detail::error_counter> counter;
    if (*stored_ec) {
        if (auto c = detail::error_counter::decode(**stored_ec)) {
            counter = *c;
        }
    }
    if (counter && now < counter->next_try(base)) {
        auto const next = counter->next_try(base);
        auto r = db_.transact([&](transaction_type& tx) -> util::result<void> {
            if (auto q = queue_in(tx, h, next); !q) {
                return q;
            }
            auto rm = tx.remove(trees_.queue, key);
            if (!rm) {
                return rm.error();
            }
            return {};
        });
        if (!r) {
            return r.error();
        }
        return resync_step_result{resync_outcome::postponed, milliseconds(0), h};
    }

    auto res = resync_block(h);
    if (!res) {
        detail::log_warn("resync of block " + h.to_hex() + " failed: " + res.error().message);
    }
    auto r = db_.transact([&](transaction_type& tx) -> util::result<void> {
        if (!res) {
            detail::error_counter c = counter ? *counter : detail::error_counter{};
            c.errors += 1;
            c.last_try = now + 1;
            if (auto p = tx.put(trees_.errors, h.view(), c.encode()); !p) {
                return p;
            }
            // next_try > now >= when: never the key removed below.
            if (auto q = queue_in(tx, h, c.next_try(base)); !q) {
                return q;
            }
        } else {
            auto e = tx.remove(trees_.errors, h.view());
            if (!e) {
                return e.error();
            }
        }
        auto rm = tx.remove(trees_.queue, key);
        if (!rm) {
            return rm.error();
        }
        return {};
    });
    if (!r) {
        return r.error();
    }
    return resync_step_result{resync_outcome::processed, milliseconds(0), h};
}

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::resync_block(util::hash32 const& h)
{
    auto const now = util::now_msec();
    bool const exists = has_block(h);
    auto rc = get_rc(h);
    if (!rc) {
        return rc.error();
    }

    if (exists && rc->is_deletable(now)) {
        if (recount_) {
            auto fixed = db_.transact([&](transaction_type& tx) -> util::result<std::uint64_t> {
                auto n = recount_(tx, h);
                if (!n || *n == 0) {
                    return n;
                }
                auto p = tx.put(trees_.rc, h.view(), *rc_value::present(*n).encode());
                if (!p) {
                    return p.error();
                }
                return n;
            });
            if (!fixed) {
                return fixed.error();
            }
            if (*fixed > 0) {
                detail::log_warn("block " + h.to_hex() + " had a zero reference count but " +
                                 std::to_string(*fixed) + " references: count fixed, block kept");
                return {};
            }
        }
        auto off = fetcher_->offload(h, [this, &h] { return read_raw_block(h); });
        if (!off) {
            return off;
        }
        if (auto d = delete_if_unneeded(h); !d) {
            return d;
        }
    } else if (exists && !fetcher_->should_store(h)) {
        // Misplaced here (the layout changed): the nodes that should store it get it first.
        auto off = fetcher_->hand_over(h, [this, &h] { return read_raw_block(h); });
        if (!off) {
            return off;
        }
        return delete_misplaced(h);
    } else if (exists) {
        if (auto at = rc->deletable_at(); at && *at > now) {
            // Not due yet (queued early, e.g. by a read): look again when it is.
            return put_to_resync_at(h, *at);
        }
    }

    if (auto at = rc->deletable_at(); at && *at <= now) {
        // Forget the count once it is due and the files are gone (or were never here).
        auto r = db_.transact([&](transaction_type& tx) -> util::result<void> {
            auto cur = tx.get(trees_.rc, h.view());
            if (!cur) {
                return cur.error();
            }
            auto v = rc_value::decode(*cur ? std::optional<std::string_view>(**cur) : std::nullopt);
            if (!v) {
                return v.error();
            }
            auto small = tx.get(trees_.small, h.view());
            if (!small) {
                return small.error();
            }
            if (auto a = v->deletable_at(); a && *a <= util::now_msec() && !*small && !store_.find(h)) {
                auto rm = tx.remove(trees_.rc, h.view());
                if (!rm) {
                    return rm.error();
                }
            }
            return {};
        });
        if (!r) {
            return r;
        }
    }

    if (!rc->is_zero() && !exists && fetcher_->should_store(h)) {
        // Referenced here but missing: fetch it from a node that has it.
        auto blk = fetcher_->fetch(h);
        if (!blk) {
            return blk.error();
        }
        return write_raw_block(h, *blk);
    }
    return {};
}

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::delete_if_unneeded(util::hash32 const& h)
{
    std::optional<std::uint64_t> retry_at;
    auto const delay = detail::to_msec(options_.gc_delay);
    auto small = delete_small_if_unneeded(h, retry_at);
    if (!small) {
        return small.error();
    }
    if (*small) {
        detail::log_info("deleted unneeded small block " + h.to_hex());
    }
    auto deleted = store_.delete_if(h, [&](std::vector<block_location> const& copies) -> util::result<bool> {
        // Under the block's mutex: no write of this block runs. Look at the count again.
        auto const now = util::now_msec();
        auto rc = get_rc(h);
        if (!rc) {
            return rc.error();
        }
        if (!rc->is_deletable(now)) {
            return false;
        }
        // A copy written (or re-written) less than gc_delay ago may be about to be
        // referenced (the write comes before its reference): keep it until then.
        for (auto const& c : copies) {
            if (auto m = detail::mtime_msec(c.path); m && *m + delay > now) {
                retry_at = std::max(retry_at.value_or(0), *m + delay);
            }
        }
        return !retry_at.has_value();
    });
    if (!deleted) {
        return deleted.error();
    }
    if (*deleted > 0) {
        detail::log_info("deleted unneeded block " + h.to_hex());
    }
    if (retry_at) {
        return put_to_resync_at(h, *retry_at);
    }
    return {};
}

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::delete_misplaced(util::hash32 const& h)
{
    // Look again under the block's mutex (or in the transaction): the replication may have
    // changed back while the block was handed over.
    auto small = db_.transact([&](transaction_type& tx) -> util::result<bool> {
        auto stored = tx.get(trees_.small, h.view());
        if (!stored) {
            return stored.error();
        }
        if (!*stored || fetcher_->should_store(h)) {
            return false;
        }
        auto rm = tx.remove(trees_.small, h.view());
        if (!rm) {
            return rm.error();
        }
        return true;
    });
    if (!small) {
        return small.error();
    }
    auto deleted = store_.delete_if(h, [&](std::vector<block_location> const&) -> util::result<bool> {
        return !fetcher_->should_store(h);
    });
    if (!deleted) {
        return deleted.error();
    }
    if (*small || *deleted > 0) {
        detail::log_info("block " + h.to_hex() +
                         " handed over to the nodes that store it; local copy deleted");
    }
    return {};
}

template <storage::storage_backend Storage>
util::result<std::vector<util::hash32>>
block_manager<Storage>::list_keys(tree_type const& tree, std::optional<util::hash32> const& after,
                                  std::size_t max) const
{
    std::vector<util::hash32> out;
    if (max == 0) {
        return out;
    }
    std::optional<std::string_view> start;
    if (after) {
        start = after->view();
    }
    auto r =
        db_.for_each(tree, start, storage::direction::forward, [&](std::string_view k, std::string_view) {
            auto h = util::hash32::from_bytes(k);
            if (!h || (after && *h == *after)) {
                return true; // a malformed key is skipped (resync_step reports those of the queue)
            }
            out.push_back(*h);
            return out.size() < max;
        });
    if (!r) {
        return r.error();
    }
    return out;
}

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::put_to_resync_many(std::vector<util::hash32> const& hashes,
                                                              std::chrono::milliseconds delay)
{
    if (hashes.empty()) {
        return {};
    }
    auto const when = util::now_msec() + detail::to_msec(delay);
    auto r = db_.transact([&](transaction_type& tx) -> util::result<void> {
        for (auto const& h : hashes) {
            if (auto q = queue_in(tx, h, when); !q) {
                return q;
            }
        }
        return {};
    });
    if (r) {
        notify_resync();
    }
    return r;
}

template <storage::storage_backend Storage>
util::result<bool> block_manager<Storage>::delete_small_if_unneeded(util::hash32 const& h,
                                                                    std::optional<std::uint64_t>& retry_at)
{
    auto const delay = detail::to_msec(options_.gc_delay);
    // One transaction: no write of the block nor new reference can slip between the checks
    // and the removal.
    return db_.transact([&](transaction_type& tx) -> util::result<bool> {
        auto stored = tx.get(trees_.small, h.view());
        if (!stored) {
            return stored.error();
        }
        if (!*stored) {
            return false;
        }
        auto const now = util::now_msec();
        auto cur = tx.get(trees_.rc, h.view());
        if (!cur) {
            return cur.error();
        }
        auto rc = rc_value::decode(*cur ? std::optional<std::string_view>(**cur) : std::nullopt);
        if (!rc) {
            return rc.error();
        }
        if (!rc->is_deletable(now)) {
            return false;
        }
        // Written less than gc_delay ago: it may be about to be referenced (as a file's mtime).
        if (std::string_view const v = **stored; v.size() >= 9) {
            if (auto const written = detail::get_u64_be(v.substr(1)); written + delay > now) {
                retry_at = std::max(retry_at.value_or(0), written + delay);
                return false;
            }
        }
        auto rm = tx.remove(trees_.small, h.view());
        if (!rm) {
            return rm.error();
        }
        return true;
    });
}

template <storage::storage_backend Storage>
util::result<std::vector<resync_error_info>> block_manager<Storage>::list_errors() const
{
    std::vector<resync_error_info> out;
    std::optional<util::failure> bad;
    auto const base = detail::to_msec(options_.resync_retry_delay);
    auto r = db_.for_each(trees_.errors, std::nullopt, storage::direction::forward,
                          [&](std::string_view k, std::string_view v) {
                              auto h = util::hash32::from_bytes(k);
                              auto c = detail::error_counter::decode(v);
                              if (!h || !c) {
                                  bad = util::failure(error::corrupt_metadata,
                                                      "malformed entry in " +
                                                          std::string(resync_errors_tree_name));
                                  return false;
                              }
                              out.push_back({*h, 0, c->errors, c->last_try, c->next_try(base)});
                              return true;
                          });
    if (!r) {
        return r.error();
    }
    if (bad) {
        return *bad;
    }
    for (auto& e : out) {
        auto rc = get_rc(e.hash);
        if (!rc) {
            return rc.error();
        }
        e.refcount = rc->count();
    }
    return out;
}

template <storage::storage_backend Storage>
util::result<void> block_manager<Storage>::clear_backoff(util::hash32 const& h)
{
    auto const now = util::now_msec();
    auto const base = detail::to_msec(options_.resync_retry_delay);
    auto r = db_.transact([&](transaction_type& tx) -> util::result<void> {
        auto stored = tx.get(trees_.errors, h.view());
        if (!stored) {
            return stored.error();
        }
        if (!*stored) {
            return util::failure(error::block_not_found,
                                 "block " + h.to_hex() + " is not in an errored state");
        }
        auto c = detail::error_counter::decode(**stored);
        if (!c) {
            return c.error();
        }
        // Pretend the last try was long enough ago that the retry is due now.
        auto const delay = c->delay_msec(base);
        c->last_try = now > delay ? now - delay : 0;
        if (auto p = tx.put(trees_.errors, h.view(), c->encode()); !p) {
            return p;
        }
        return queue_in(tx, h, now);
    });
    if (r) {
        notify_resync();
    }
    return r;
}

// ---- scrub

template <storage::storage_backend Storage>
util::result<scrub_step_result> block_manager<Storage>::scrub_step(scrub_cursor& cursor)
{
    auto r = store_.scrub_step(cursor);
    if (r && r->corrupt && r->checked) {
        if (auto q = put_to_resync(*r->checked, std::chrono::milliseconds(0)); !q) {
            return q.error();
        }
    }
    return r;
}

} // namespace garage::block
