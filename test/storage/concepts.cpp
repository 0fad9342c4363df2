// Test that header file is self-contained.
#include <garage/storage/concepts.hpp>

#include <garage/storage/lmdb_backend.hpp>
#include <garage/storage/memory_backend.hpp>
#include <test/support/storage_archetype.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <memory>

namespace {
using namespace garage;
using storage::direction;
using storage::storage_backend;
using storage::storage_transaction;
using storage::storage_tree;
using storage::storage_visitor;
using test::storage_backend_archetype;
using test::storage_transaction_archetype;
using test::storage_tree_archetype;

// --- the models --------------------------------------------------------------------------------

static_assert(storage_tree<storage::lmdb_tree>);
static_assert(storage_tree<storage::memory_tree>);
static_assert(storage_tree<storage_tree_archetype>);
static_assert(storage_transaction<storage::lmdb_transaction, storage::lmdb_tree>);
static_assert(storage_transaction<storage::memory_transaction, storage::memory_tree>);
static_assert(storage_transaction<storage_transaction_archetype, storage_tree_archetype>);
static_assert(storage_backend<storage::lmdb_backend>);
static_assert(storage_backend<storage::memory_backend>);
static_assert(storage_backend<storage_backend_archetype>);

// A transaction only takes the tree handles of its own backend.
static_assert(!storage_transaction<storage::lmdb_transaction, storage::memory_tree>);
static_assert(!storage_transaction<storage::memory_transaction, storage::lmdb_tree>);

// --- visitors ----------------------------------------------------------------------------------

auto const visitor_bool = [](std::string_view, std::string_view) { return true; };
auto const visitor_int = [](std::string_view, std::string_view) { return 1; };
auto const visitor_void = [](std::string_view, std::string_view) {};
auto const visitor_one_argument = [](std::string_view) { return true; };
auto const visitor_int_arguments = [](int, int) { return true; };
struct visitor_mutable {
    bool operator()(std::string_view, std::string_view) { return true; } // non-const
};
static_assert(storage_visitor<decltype(visitor_bool)>);
static_assert(storage_visitor<decltype(visitor_int)>);
static_assert(storage_visitor<visitor_mutable>);
static_assert(!storage_visitor<decltype(visitor_void)>);
static_assert(!storage_visitor<decltype(visitor_one_argument)>);
static_assert(!storage_visitor<decltype(visitor_int_arguments)>);
static_assert(!storage_visitor<int>);

// --- trees that are not trees ------------------------------------------------------------------

struct tree_without_name {};
struct tree_not_copyable {
    tree_not_copyable(tree_not_copyable const&) = delete;
    std::string_view name() const;
};
struct tree_with_int_name {
    int name() const;
};
static_assert(!storage_tree<tree_without_name>);
static_assert(!storage_tree<tree_not_copyable>);
static_assert(!storage_tree<tree_with_int_name>);
static_assert(!storage_tree<int>);

// --- transactions that are not transactions ----------------------------------------------------

using tree = storage_tree_archetype;
using sv = std::string_view;
using opt_sv = std::optional<std::string_view>;

struct tx_missing_remove {
    util::result<std::optional<std::string>> get(tree const&, sv);
    util::result<void> put(tree const&, sv, sv);
    util::result<std::size_t> len(tree const&);
    template <class V>
    util::result<void> for_each(tree const&, opt_sv, direction, V&&);
};
struct tx_remove_returns_void : tx_missing_remove {
    util::result<void> remove(tree const&, sv); // must say whether the key existed
};
struct tx_get_returns_optional {
    std::optional<std::string> get(tree const&, sv); // errors must be values
    util::result<void> put(tree const&, sv, sv);
    util::result<bool> remove(tree const&, sv);
    util::result<std::size_t> len(tree const&);
    template <class V>
    util::result<void> for_each(tree const&, opt_sv, direction, V&&);
};
struct tx_takes_function_pointer {
    util::result<std::optional<std::string>> get(tree const&, sv);
    util::result<void> put(tree const&, sv, sv);
    util::result<bool> remove(tree const&, sv);
    util::result<std::size_t> len(tree const&);
    util::result<void> for_each(tree const&, opt_sv, direction, bool (*)(sv, sv)); // no state
};
static_assert(!storage_transaction<tx_missing_remove, tree>);
static_assert(!storage_transaction<tx_remove_returns_void, tree>);
static_assert(!storage_transaction<tx_get_returns_optional, tree>);
static_assert(!storage_transaction<tx_takes_function_pointer, tree>);
static_assert(!storage_transaction<storage_transaction_archetype, tree_without_name>);

// --- backends that are not backends ------------------------------------------------------------

template <class Tree, class Tx>
struct backend_base {
    using tree_type = Tree;
    using transaction_type = Tx;
    util::result<tree_type> open_tree(sv);
    util::result<std::optional<std::string>> get(tree_type const&, sv) const;
    util::result<std::size_t> len(tree_type const&) const;
    template <class F>
    std::invoke_result_t<F, Tx&> transact(F&&);
    template <class F>
    std::invoke_result_t<F, Tx&> read(F&&) const;
    template <class V>
    util::result<void> for_each(tree_type const&, opt_sv, direction, V&&) const;
};
struct backend_missing_list_trees : backend_base<tree, storage_transaction_archetype> {};
struct backend_complete : backend_base<tree, storage_transaction_archetype> {
    util::result<std::vector<std::string>> list_trees() const;
};
struct backend_bad_transaction : backend_base<tree, tx_missing_remove> {
    util::result<std::vector<std::string>> list_trees() const;
};
struct backend_missing_types {
    util::result<tree> open_tree(sv);
    util::result<std::vector<std::string>> list_trees() const;
};
struct backend_without_read {
    using tree_type = tree;
    using transaction_type = storage_transaction_archetype;
    util::result<tree_type> open_tree(sv);
    util::result<std::optional<std::string>> get(tree_type const&, sv) const;
    util::result<std::size_t> len(tree_type const&) const;
    util::result<std::vector<std::string>> list_trees() const;
    template <class F>
    std::invoke_result_t<F, storage_transaction_archetype&> transact(F&&);
    template <class V>
    util::result<void> for_each(tree_type const&, opt_sv, direction, V&&) const;
};
static_assert(storage_backend<backend_complete>); // the negative cases differ from it by one thing
static_assert(!storage_backend<backend_missing_list_trees>);
static_assert(!storage_backend<backend_bad_transaction>);
static_assert(!storage_backend<backend_missing_types>);
static_assert(!storage_backend<backend_without_read>);
static_assert(!storage_backend<int>);

// --- the member templates, for functions of every shape ----------------------------------------

template <class Backend>
void check_member_templates(Backend& db)
{
    using tx_type = typename Backend::transaction_type;
    auto t = db.open_tree("t").value();

    // A function returning util::result<R> gives util::result<R>, whatever R is.
    auto returns_int = [&](tx_type& tx) -> util::result<int> {
        if (auto p = tx.put(t, "k", "v"); !p) {
            return p.error();
        }
        return 7;
    };
    static_assert(std::is_same_v<decltype(db.transact(returns_int)), util::result<int>>);
    static_assert(std::is_same_v<decltype(db.read(returns_int)), util::result<int>>);
    CHECK(db.transact(returns_int).value() == 7); // an lvalue function object
    CHECK(db.read(returns_int).error().code == storage::error::read_only);

    // A move-only function, called as an rvalue.
    auto owned = std::make_unique<std::string>("moved");
    auto r = db.transact([o = std::move(owned), &t](tx_type& tx) mutable -> util::result<std::string> {
        if (auto p = tx.put(t, "m", *o); !p) {
            return p.error();
        }
        return std::move(*o);
    });
    CHECK(r.value() == "moved");

    // A plain function pointer.
    util::result<void> (*fp)(tx_type&) = [](tx_type&) -> util::result<void> { return {}; };
    CHECK(db.transact(fp).has_value());

    // A function that does not return a util::result is rejected at the template head.
    auto returns_int_plainly = [](tx_type&) { return 1; };
    static_assert(!requires { db.transact(returns_int_plainly); });
    static_assert(!requires { db.read(returns_int_plainly); });
    auto wrong_argument = [](int) -> util::result<void> { return {}; };
    static_assert(!requires { db.transact(wrong_argument); });

    // for_each takes visitors by reference: non-copyable and mutable ones too.
    struct counting {
        int n = 0;
        counting() = default;
        counting(counting const&) = delete;
        bool operator()(std::string_view, std::string_view) { return ++n, true; }
    } counter;
    REQUIRE(db.for_each(t, std::nullopt, direction::forward, counter).has_value());
    CHECK(counter.n == 2);
    static_assert(!requires { db.for_each(t, std::nullopt, direction::forward, visitor_void); });
}

TEST_CASE("backends accept transaction functions and visitors of every shape", "[storage][concepts]")
{
    storage::memory_backend db;
    check_member_templates(db);
}

TEST_CASE("the backend archetype runs a transaction function", "[storage][concepts]")
{
    storage_backend_archetype db;
    auto t = db.open_tree("any").value();
    auto r = db.transact(
        [&](storage_transaction_archetype& tx) -> util::result<bool> { return tx.remove(t, "k"); });
    CHECK(r.value() == false);
    CHECK(db.read([](storage_transaction_archetype&) -> util::result<int> { return 3; }).value() == 3);
}

} // namespace
