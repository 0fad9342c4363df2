#pragma once
// The minimal models of garage::storage::storage_tree, storage_transaction and storage_backend:
// exactly the members the concepts require, with trivial bodies (an empty store that accepts
// every write), so that templates over a backend can be instantiated against them.

#include <garage/storage/concepts.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace garage::test {

struct storage_tree_archetype {
    std::string_view name() const { return "archetype"; }
};

class storage_transaction_archetype {
public:
    storage_transaction_archetype() = default;
    storage_transaction_archetype(storage_transaction_archetype const&) = delete;
    storage_transaction_archetype& operator=(storage_transaction_archetype const&) = delete;

    util::result<std::optional<std::string>> get(storage_tree_archetype const&, std::string_view)
    {
        return std::optional<std::string>();
    }
    util::result<void> put(storage_tree_archetype const&, std::string_view, std::string_view) { return {}; }
    util::result<bool> remove(storage_tree_archetype const&, std::string_view) { return false; }
    util::result<std::size_t> len(storage_tree_archetype const&) { return std::size_t{0}; }
    template <storage::storage_visitor Visitor>
    util::result<void> for_each(storage_tree_archetype const&, std::optional<std::string_view>,
                                storage::direction, Visitor&&)
    {
        return {};
    }
};

class storage_backend_archetype {
public:
    using tree_type = storage_tree_archetype;
    using transaction_type = storage_transaction_archetype;

    util::result<tree_type> open_tree(std::string_view) { return tree_type{}; }
    util::result<std::optional<std::string>> get(tree_type const&, std::string_view) const
    {
        return std::optional<std::string>();
    }
    util::result<std::size_t> len(tree_type const&) const { return std::size_t{0}; }
    util::result<std::vector<std::string>> list_trees() const { return std::vector<std::string>(); }

    template <class F>
    requires std::invocable<F, transaction_type&>
    auto transact(F&& f) -> std::invoke_result_t<F, transaction_type&>
    {
        transaction_type tx;
        return std::invoke(std::forward<F>(f), tx);
    }
    template <class F>
    requires std::invocable<F, transaction_type&>
    auto read(F&& f) const -> std::invoke_result_t<F, transaction_type&>
    {
        transaction_type tx;
        return std::invoke(std::forward<F>(f), tx);
    }
    template <storage::storage_visitor Visitor>
    util::result<void> for_each(tree_type const&, std::optional<std::string_view>, storage::direction,
                                Visitor&&) const
    {
        return {};
    }
};

} // namespace garage::test
