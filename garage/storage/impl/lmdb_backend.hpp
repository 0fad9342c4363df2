#pragma once

namespace garage::storage {

template <class F>
requires std::invocable<F, lmdb_transaction&> &&
    detail::is_result_v<std::invoke_result_t<F, lmdb_transaction&>>
auto lmdb_backend::transact(F&& f) -> std::invoke_result_t<F, transaction_type&>
{
    using result_type = std::invoke_result_t<F, transaction_type&>;
    auto txn = begin_write();
    if (!txn) {
        return result_type(boost::system::in_place_error, std::move(txn).error());
    }
    // The transaction aborts in its destructor unless committed, also when `f` throws.
    transaction_type tx(*state_, *txn, transaction_type::mode::read_write);
    result_type r = std::invoke(std::forward<F>(f), tx);
    if (!r) {
        return r;
    }
    if (auto c = tx.commit(); !c) {
        return result_type(boost::system::in_place_error, std::move(c).error());
    }
    return r;
}

template <class F>
requires std::invocable<F, lmdb_transaction&> &&
    detail::is_result_v<std::invoke_result_t<F, lmdb_transaction&>>
auto lmdb_backend::read(F&& f) const -> std::invoke_result_t<F, transaction_type&>
{
    using result_type = std::invoke_result_t<F, transaction_type&>;
    auto txn = begin_read();
    if (!txn) {
        return result_type(boost::system::in_place_error, std::move(txn).error());
    }
    // Goes back to the pool of read transactions in its destructor.
    transaction_type tx(*state_, *txn, transaction_type::mode::read_only);
    return std::invoke(std::forward<F>(f), tx);
}

template <storage_visitor Visitor>
util::result<void> lmdb_backend::for_each(tree_type const& tree, std::optional<std::string_view> start,
                                          direction dir, Visitor&& visitor) const
{
    return read([&](transaction_type& tx) { return tx.for_each(tree, start, dir, visitor); });
}

} // namespace garage::storage
