#pragma once
// A block reference-count sink for model tests (a model of garage::model::block_rc_sink):
// it keeps the count of each block in a storage tree, written in the caller's transaction like
// the block manager's, so that an aborted write leaves the counts untouched; it also counts the
// calls, and can be told to fail.

#include <garage/storage/concepts.hpp>
#include <garage/storage/error.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

namespace garage::test {

template <storage::storage_backend Storage>
class tree_rc_sink {
public:
    using transaction_type = typename Storage::transaction_type;

    explicit tree_rc_sink(Storage& db) : db_(db), tree_(db.open_tree("test_block_rc").value()) {}
    tree_rc_sink(tree_rc_sink const&) = delete;
    tree_rc_sink& operator=(tree_rc_sink const&) = delete;

    util::result<void> incref(transaction_type& tx, util::hash32 const& h)
    {
        ++increfs_;
        return add(tx, h, +1);
    }

    util::result<void> decref(transaction_type& tx, util::hash32 const& h)
    {
        ++decrefs_;
        if (fail_decref_) {
            return util::failure(util::error::io_error, "test sink: decref refused");
        }
        return add(tx, h, -1);
    }

    /// The committed count of a block.
    std::int64_t count(util::hash32 const& h) const
    {
        auto v = db_.get(tree_, h.view()).value();
        return v ? decode(*v) : 0;
    }

    /// How many times incref / decref were called (committed or not).
    std::size_t increfs() const noexcept { return increfs_; }
    std::size_t decrefs() const noexcept { return decrefs_; }
    void reset_calls() noexcept
    {
        increfs_ = 0;
        decrefs_ = 0;
    }
    /// Makes every later decref fail (and abort its transaction).
    void fail_decref(bool fail) noexcept { fail_decref_ = fail; }

private:
    static std::int64_t decode(std::string const& v)
    {
        std::int64_t n = 0;
        std::memcpy(&n, v.data(), sizeof n);
        return n;
    }

    util::result<void> add(transaction_type& tx, util::hash32 const& h, std::int64_t d)
    {
        auto cur = tx.get(tree_, h.view());
        if (!cur) {
            return cur.error();
        }
        std::int64_t n = *cur ? decode(**cur) : 0;
        n += d;
        std::string out(sizeof n, '\0');
        std::memcpy(out.data(), &n, sizeof n);
        return tx.put(tree_, h.view(), out);
    }

    Storage& db_;
    typename Storage::tree_type tree_;
    std::atomic<std::size_t> increfs_{0};
    std::atomic<std::size_t> decrefs_{0};
    std::atomic<bool> fail_decref_{false};
};

} // namespace garage::test
