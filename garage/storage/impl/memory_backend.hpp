#pragma once

namespace garage::storage {

template <class F>
requires std::invocable<F, memory_transaction&> &&
    detail::is_result_v<std::invoke_result_t<F, memory_transaction&>>
auto memory_backend::transact(F&& f) -> std::invoke_result_t<F, transaction_type&>
{
    using result_type = std::invoke_result_t<F, transaction_type&>;
    if (auto c = check_not_writing(); !c) {
        return result_type(boost::system::in_place_error, std::move(c).error());
    }
    // Holds the writer lock until commit or destruction (which aborts, also when `f` throws).
    transaction_type tx(*state_, transaction_type::mode::read_write);
    result_type r = std::invoke(std::forward<F>(f), tx);
    if (r) {
        tx.commit();
    }
    return r;
}

template <class F>
requires std::invocable<F, memory_transaction&> &&
    detail::is_result_v<std::invoke_result_t<F, memory_transaction&>>
auto memory_backend::read(F&& f) const -> std::invoke_result_t<F, transaction_type&>
{
    transaction_type tx(*state_, transaction_type::mode::read_only);
    return std::invoke(std::forward<F>(f), tx);
}

template <storage_visitor Visitor>
util::result<void> memory_backend::for_each(tree_type const& tree, std::optional<std::string_view> start,
                                            direction dir, Visitor&& visitor) const
{
    return read([&](transaction_type& tx) { return tx.for_each(tree, start, dir, visitor); });
}

} // namespace garage::storage
