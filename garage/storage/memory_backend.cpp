#include <garage/storage/memory_backend.hpp>

#include <garage/storage/detail/keys.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace garage::storage {
namespace detail {

/// One key and its value, shared by every version of the tree that holds them.
struct memory_item {
    std::string key;
    std::string value;
};

/** A node of a persistent treap: immutable once built, so that versions share subtrees.

    A node's priority is a hash of its key, so that the shape of a tree depends only on its
    keys (expected depth O(log n)) and no random state is needed.
*/
struct memory_node {
    std::shared_ptr<memory_item const> item;
    std::uint64_t priority;
    std::shared_ptr<memory_node const> left;
    std::shared_ptr<memory_node const> right;
};

struct memory_state {
    std::mutex writer_mutex;               // held by the one write transaction
    std::atomic<std::thread::id> writer{}; // the thread holding it, if any

    mutable std::mutex mutex; // guards the two members below (held briefly)
    std::map<std::string, std::size_t, std::less<>> names;
    std::vector<memory_root> roots; // the committed version of every tree, by index
};

} // namespace detail

namespace {

using detail::memory_item;
using detail::memory_node;
using detail::memory_root;
using node_ptr = std::shared_ptr<memory_node const>;
using item_ptr = std::shared_ptr<memory_item const>;

std::uint64_t priority_of(std::string_view key) noexcept
{
    std::uint64_t x = std::hash<std::string_view>{}(key); // then splitmix64's finalizer
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

node_ptr make_node(item_ptr item, std::uint64_t priority, node_ptr left, node_ptr right)
{
    return std::make_shared<memory_node>(
        memory_node{std::move(item), priority, std::move(left), std::move(right)});
}

memory_node const* find(memory_node const* n, std::string_view key) noexcept
{
    while (n != nullptr) {
        int const c = key.compare(n->item->key);
        if (c == 0) {
            return n;
        }
        n = c < 0 ? n->left.get() : n->right.get();
    }
    return nullptr;
}

/// Joins two treaps, every key of `a` being less than every key of `b`.
node_ptr merge(node_ptr const& a, node_ptr const& b)
{
    if (!a) {
        return b;
    }
    if (!b) {
        return a;
    }
    if (a->priority >= b->priority) {
        return make_node(a->item, a->priority, a->left, merge(a->right, b));
    }
    return make_node(b->item, b->priority, merge(a, b->left), b->right);
}

/// Splits `t` into the keys less than `key` and those greater (`key` is absent from `t`).
void split(node_ptr const& t, std::string_view key, node_ptr& less, node_ptr& greater)
{
    if (!t) {
        less.reset();
        greater.reset();
        return;
    }
    if (std::string_view(t->item->key) < key) {
        node_ptr rest;
        split(t->right, key, rest, greater);
        less = make_node(t->item, t->priority, t->left, std::move(rest));
    } else {
        node_ptr rest;
        split(t->left, key, less, rest);
        greater = make_node(t->item, t->priority, std::move(rest), t->right);
    }
}

/// Inserts a key absent from `t`.
node_ptr insert(node_ptr const& t, item_ptr item, std::uint64_t priority)
{
    if (!t || priority > t->priority) {
        node_ptr less;
        node_ptr greater;
        split(t, item->key, less, greater);
        return make_node(std::move(item), priority, std::move(less), std::move(greater));
    }
    if (std::string_view(item->key) < std::string_view(t->item->key)) {
        return make_node(t->item, t->priority, insert(t->left, std::move(item), priority), t->right);
    }
    return make_node(t->item, t->priority, t->left, insert(t->right, std::move(item), priority));
}

/// Replaces the item of a key present in `t`.
node_ptr replace(node_ptr const& t, item_ptr item)
{
    int const c = std::string_view(item->key).compare(t->item->key);
    if (c == 0) {
        return make_node(std::move(item), t->priority, t->left, t->right);
    }
    if (c < 0) {
        return make_node(t->item, t->priority, replace(t->left, std::move(item)), t->right);
    }
    return make_node(t->item, t->priority, t->left, replace(t->right, std::move(item)));
}

/// Removes a key present in `t`.
node_ptr erase(node_ptr const& t, std::string_view key)
{
    int const c = key.compare(t->item->key);
    if (c == 0) {
        return merge(t->left, t->right);
    }
    if (c < 0) {
        return make_node(t->item, t->priority, erase(t->left, key), t->right);
    }
    return make_node(t->item, t->priority, t->left, erase(t->right, key));
}

memory_root const empty_root{};

} // namespace

// --- memory_transaction -----------------------------------------------------------------------

memory_transaction::memory_transaction(detail::memory_state& state, mode m) : state_(&state), mode_(m)
{
    if (mode_ == mode::read_write) {
        state.writer_mutex.lock();
        state.writer.store(std::this_thread::get_id());
        holds_writer_lock_ = true;
    }
    try {
        std::lock_guard lock(state.mutex);
        roots_ = state.roots;
    } catch (...) {
        if (holds_writer_lock_) {
            state.writer.store(std::thread::id{});
            state.writer_mutex.unlock();
        }
        throw;
    }
    if (mode_ == mode::read_write) {
        changed_.assign(roots_.size(), false);
    }
}

memory_transaction::~memory_transaction()
{
    if (holds_writer_lock_) { // not committed: drop the new versions
        state_->writer.store(std::thread::id{});
        state_->writer_mutex.unlock();
    }
}

void memory_transaction::commit()
{
    {
        std::lock_guard lock(state_->mutex);
        for (std::size_t i = 0; i < roots_.size(); ++i) {
            if (changed_[i]) {
                state_->roots[i] = std::move(roots_[i]);
            }
        }
    }
    holds_writer_lock_ = false;
    state_->writer.store(std::thread::id{});
    state_->writer_mutex.unlock();
}

util::result<memory_root const*> memory_transaction::find_root(memory_tree const& tree) const
{
    if (tree.index_ < roots_.size()) [[likely]] {
        return &roots_[tree.index_];
    }
    if (tree.index_ != memory_tree::no_index) {
        std::lock_guard lock(state_->mutex);
        if (tree.index_ < state_->roots.size()) {
            return &empty_root; // opened after this transaction began: empty in its view
        }
    }
    return util::failure(error::tree_not_found, "a tree handle that open_tree did not return");
}

util::result<memory_root*> memory_transaction::write_root(memory_tree const& tree)
{
    auto r = find_root(tree);
    if (!r) {
        return r.error();
    }
    if (tree.index_ >= roots_.size()) {
        roots_.resize(tree.index_ + 1);
        changed_.resize(tree.index_ + 1, false);
    }
    changed_[tree.index_] = true;
    return &roots_[tree.index_];
}

util::result<std::optional<std::string>> memory_transaction::get(memory_tree const& tree,
                                                                 std::string_view key)
{
    auto root = find_root(tree);
    if (!root) {
        return root.error();
    }
    if (!detail::valid_key(key)) {
        return detail::invalid_key(tree.name(), key);
    }
    if (auto const* n = find((*root)->root.get(), key)) {
        return std::optional<std::string>(n->item->value);
    }
    return std::optional<std::string>();
}

util::result<void> memory_transaction::put(memory_tree const& tree, std::string_view key,
                                           std::string_view value)
{
    if (auto root = find_root(tree); !root) {
        return root.error();
    }
    if (!detail::valid_key(key)) {
        return detail::invalid_key(tree.name(), key);
    }
    if (mode_ == mode::read_only) {
        return detail::read_only_write(tree.name(), "put");
    }
    auto root = write_root(tree);
    if (!root) {
        return root.error();
    }
    memory_root& r = **root;
    auto item = std::make_shared<memory_item>(memory_item{std::string(key), std::string(value)});
    if (find(r.root.get(), key) != nullptr) {
        r.root = replace(r.root, std::move(item));
    } else {
        r.root = insert(r.root, std::move(item), priority_of(key));
        ++r.size;
    }
    return {};
}

util::result<bool> memory_transaction::remove(memory_tree const& tree, std::string_view key)
{
    if (auto root = find_root(tree); !root) {
        return root.error();
    }
    if (!detail::valid_key(key)) {
        return detail::invalid_key(tree.name(), key);
    }
    if (mode_ == mode::read_only) {
        return detail::read_only_write(tree.name(), "remove");
    }
    auto root = find_root(tree);
    if (find((*root)->root.get(), key) == nullptr) {
        return false;
    }
    auto w = write_root(tree);
    if (!w) {
        return w.error();
    }
    memory_root& r = **w;
    r.root = erase(r.root, key);
    --r.size;
    return true;
}

util::result<std::size_t> memory_transaction::len(memory_tree const& tree)
{
    auto root = find_root(tree);
    if (!root) {
        return root.error();
    }
    return (*root)->size;
}

util::result<void> memory_transaction::for_each_impl(memory_tree const& tree,
                                                     std::optional<std::string_view> start, direction dir,
                                                     detail::visitor_ref visitor)
{
    auto root = find_root(tree);
    if (!root) {
        return root.error();
    }
    // Keeps this version alive even if the visitor writes to the tree.
    node_ptr const version = (*root)->root;
    std::vector<memory_node const*> path; // the nodes still to visit, next on top
    path.reserve(64);
    bool const forward = dir == direction::forward;
    for (memory_node const* n = version.get(); n != nullptr;) {
        std::string_view const k = n->item->key;
        bool const in_range = !start || (forward ? k >= *start : k <= *start);
        if (in_range) {
            path.push_back(n);
            n = forward ? n->left.get() : n->right.get();
        } else {
            n = forward ? n->right.get() : n->left.get();
        }
    }
    while (!path.empty()) {
        memory_node const* n = path.back();
        path.pop_back();
        if (!visitor(n->item->key, n->item->value)) {
            return {};
        }
        for (memory_node const* c = forward ? n->right.get() : n->left.get(); c != nullptr;
             c = forward ? c->left.get() : c->right.get()) {
            path.push_back(c);
        }
    }
    return {};
}

// --- memory_backend ---------------------------------------------------------------------------

memory_backend::memory_backend() : state_(std::make_unique<detail::memory_state>()) {}
memory_backend::memory_backend(memory_backend&&) noexcept = default;
memory_backend& memory_backend::operator=(memory_backend&&) noexcept = default;
memory_backend::~memory_backend() = default;

util::result<void> memory_backend::check_not_writing() const
{
    if (state_->writer.load() == std::this_thread::get_id()) {
        return detail::nested_write("transact");
    }
    return {};
}

util::result<memory_tree> memory_backend::open_tree(std::string_view name)
{
    if (auto c = detail::check_tree_name(name); !c) {
        return c.error();
    }
    std::lock_guard lock(state_->mutex);
    if (auto it = state_->names.find(name); it != state_->names.end()) {
        return memory_tree(it->second, it->first);
    }
    // As with LMDB, where creating a tree takes the write lock.
    if (state_->writer.load() == std::this_thread::get_id()) {
        return detail::nested_write("open_tree(\"" + std::string(name) + "\")");
    }
    std::size_t const index = state_->roots.size();
    state_->roots.emplace_back();
    state_->names.emplace(std::string(name), index);
    return memory_tree(index, std::string(name));
}

util::result<std::optional<std::string>> memory_backend::get(memory_tree const& tree,
                                                             std::string_view key) const
{
    node_ptr root;
    {
        std::lock_guard lock(state_->mutex);
        if (tree.index_ >= state_->roots.size()) {
            return util::failure(error::tree_not_found, "a tree handle that open_tree did not return");
        }
        root = state_->roots[tree.index_].root;
    }
    if (!detail::valid_key(key)) {
        return detail::invalid_key(tree.name(), key);
    }
    if (auto const* n = find(root.get(), key)) {
        return std::optional<std::string>(n->item->value);
    }
    return std::optional<std::string>();
}

util::result<std::size_t> memory_backend::len(memory_tree const& tree) const
{
    std::lock_guard lock(state_->mutex);
    if (tree.index_ >= state_->roots.size()) {
        return util::failure(error::tree_not_found, "a tree handle that open_tree did not return");
    }
    return state_->roots[tree.index_].size;
}

util::result<std::vector<std::string>> memory_backend::list_trees() const
{
    std::vector<std::string> names;
    std::lock_guard lock(state_->mutex);
    names.reserve(state_->names.size());
    for (auto const& [name, index] : state_->names) {
        names.push_back(name);
    }
    return names;
}

} // namespace garage::storage
