#include <garage/storage/lmdb_backend.hpp>

#include <garage/storage/detail/keys.hpp>

#include <lmdb++.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace garage::storage {
namespace detail {

/// Everything an open environment owns; behind a pointer so that the backend moves freely
/// and tree handles stay valid.
struct lmdb_state {
    lmdb_options options;
    lmdb::env env{nullptr};

    std::mutex open_mutex;          // serializes the creation of trees
    mutable std::mutex trees_mutex; // guards `trees`
    std::map<std::string, MDB_dbi, std::less<>> trees;

    mutable std::mutex pool_mutex;      // guards `idle`
    mutable std::vector<MDB_txn*> idle; // reset read-only transactions, ready to renew

    std::atomic<std::thread::id> writer{}; // the thread inside `transact`, if any

    lmdb_state() { idle.reserve(16); }
    lmdb_state(lmdb_state const&) = delete;
    lmdb_state& operator=(lmdb_state const&) = delete;
    ~lmdb_state()
    {
        for (MDB_txn* txn : idle) {
            lmdb::txn_abort(txn);
        }
        // `env` closes after this body, with every database handle.
    }

    void release_read(MDB_txn* txn) const noexcept
    {
        lmdb::txn_reset(txn);
        std::lock_guard lock(pool_mutex);
        try {
            idle.push_back(txn);
        } catch (...) {
            lmdb::txn_abort(txn);
        }
    }
};

} // namespace detail

namespace {

MDB_val to_val(std::string_view s) noexcept
{
    return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string_view to_view(MDB_val const& v) noexcept
{
    return {static_cast<char const*>(v.mv_data), v.mv_size};
}

/// Turns an LMDB return code into a failure naming the operation, the tree and the database.
util::failure lmdb_failure(detail::lmdb_state const& state, int rc, std::string_view operation,
                           std::string_view tree)
{
    std::string where(operation);
    if (!tree.empty()) {
        where += " in tree `";
        where += tree;
        where += '`';
    }
    where += ", LMDB database in " + state.options.path.string();
    std::string const what = ::mdb_strerror(rc);
    switch (rc) {
    case MDB_MAP_FULL:
        return {error::map_full,
                "the LMDB database is full (" + where +
                    "): it has reached lmdb_map_size = " + std::to_string(state.options.map_size) +
                    " bytes; raise lmdb_map_size in the configuration file and restart"};
    case MDB_BAD_VALSIZE:
        return {error::key_too_long, "LMDB rejected the size of a key or value (" + where +
                                         "): keys are at most " + std::to_string(max_key_size) + " bytes"};
    case MDB_DBS_FULL:
        return {error::too_many_trees, "cannot open another tree (" + where +
                                           "): max_dbs = " + std::to_string(state.options.max_dbs)};
    case MDB_READERS_FULL:
        return {error::busy, "no free LMDB reader slot (" + where +
                                 "): max_readers = " + std::to_string(state.options.max_readers)};
    case MDB_TXN_FULL:
        return {error::transaction_full, "the transaction changed too many pages (" + where + "): " + what};
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        return {error::corrupt, "the LMDB database is corrupt (" + where + "): " + what};
    case MDB_BAD_TXN:
        return {error::aborted, "the transaction was aborted by an earlier failure (" + where + "): " + what};
    default:
        return {error::io_error, "LMDB failure (" + where + "): " + what};
    }
}

util::failure lmdb_failure(detail::lmdb_state const& state, lmdb::error const& e, std::string_view tree)
{
    return lmdb_failure(state, e.code(), e.origin(), tree);
}

/// True when LMDB refused a tree handle because the tree was created after this read-only
/// snapshot began (its handle is beyond the snapshot's table of databases): in the snapshot's
/// view the tree is empty, as in the memory backend.
bool opened_after_snapshot(lmdb_transaction const& tx, lmdb::error const& e) noexcept
{
    return tx.is_read_only() && e.code() == EINVAL;
}

/// Closes a cursor at the end of a scope (also when a visitor throws).
struct cursor_closer {
    MDB_cursor* cursor;
    ~cursor_closer() { lmdb::cursor_close(cursor); }
};

} // namespace

// --- lmdb_transaction -------------------------------------------------------------------------

lmdb_transaction::lmdb_transaction(detail::lmdb_state& state, MDB_txn* txn, mode m) noexcept
    : state_(&state), txn_(txn), mode_(m)
{
}

lmdb_transaction::~lmdb_transaction()
{
    if (txn_ == nullptr) {
        return;
    }
    if (mode_ == mode::read_only) {
        state_->release_read(txn_);
    } else {
        state_->writer.store(std::thread::id{});
        lmdb::txn_abort(txn_);
    }
}

util::result<void> lmdb_transaction::usable(lmdb_tree const& tree) const
{
    if (spoilt_) {
        return *spoilt_;
    }
    if (tree.dbi_ < 2) { // 0 and 1 are LMDB's free-page and main databases
        return util::failure(error::tree_not_found, "a tree handle that open_tree did not return");
    }
    return {};
}

util::failure lmdb_transaction::spoil(util::failure f)
{
    if (mode_ == mode::read_write && !spoilt_) {
        spoilt_ = f;
    }
    return f;
}

util::result<std::optional<std::string>> lmdb_transaction::get(lmdb_tree const& tree, std::string_view key)
{
    if (spoilt_ || tree.dbi_ < 2 || !detail::valid_key(key)) [[unlikely]] {
        if (auto u = usable(tree); !u) {
            return u.error();
        }
        return detail::invalid_key(tree.name(), key);
    }
    MDB_val k = to_val(key);
    MDB_val v{};
    try {
        if (!lmdb::dbi_get(txn_, tree.dbi_, &k, &v)) {
            return std::optional<std::string>();
        }
    } catch (lmdb::error const& e) {
        if (opened_after_snapshot(*this, e)) {
            return std::optional<std::string>();
        }
        return spoil(lmdb_failure(*state_, e, tree.name()));
    }
    return std::optional<std::string>(std::in_place, static_cast<char const*>(v.mv_data), v.mv_size);
}

util::result<void> lmdb_transaction::put(lmdb_tree const& tree, std::string_view key, std::string_view value)
{
    if (spoilt_ || tree.dbi_ < 2 || !detail::valid_key(key)) [[unlikely]] {
        if (auto u = usable(tree); !u) {
            return u;
        }
        return detail::invalid_key(tree.name(), key);
    }
    if (mode_ == mode::read_only) [[unlikely]] {
        return detail::read_only_write(tree.name(), "put");
    }
    MDB_val k = to_val(key);
    MDB_val v = to_val(value);
    try {
        lmdb::dbi_put(txn_, tree.dbi_, &k, &v, 0);
    } catch (lmdb::error const& e) {
        return spoil(lmdb_failure(*state_, e, tree.name()));
    }
    return {};
}

util::result<bool> lmdb_transaction::remove(lmdb_tree const& tree, std::string_view key)
{
    if (spoilt_ || tree.dbi_ < 2 || !detail::valid_key(key)) [[unlikely]] {
        if (auto u = usable(tree); !u) {
            return u.error();
        }
        return detail::invalid_key(tree.name(), key);
    }
    if (mode_ == mode::read_only) [[unlikely]] {
        return detail::read_only_write(tree.name(), "remove");
    }
    MDB_val k = to_val(key);
    try {
        return lmdb::dbi_del(txn_, tree.dbi_, &k, nullptr);
    } catch (lmdb::error const& e) {
        return spoil(lmdb_failure(*state_, e, tree.name()));
    }
}

util::result<std::size_t> lmdb_transaction::len(lmdb_tree const& tree)
{
    if (auto u = usable(tree); !u) {
        return u.error();
    }
    MDB_stat stat{};
    try {
        lmdb::dbi_stat(txn_, tree.dbi_, &stat);
    } catch (lmdb::error const& e) {
        if (opened_after_snapshot(*this, e)) {
            return std::size_t{0};
        }
        return spoil(lmdb_failure(*state_, e, tree.name()));
    }
    return static_cast<std::size_t>(stat.ms_entries);
}

util::result<void> lmdb_transaction::for_each_impl(lmdb_tree const& tree,
                                                   std::optional<std::string_view> start, direction dir,
                                                   detail::visitor_ref visitor)
{
    if (auto u = usable(tree); !u) {
        return u;
    }
    if (dir == direction::reverse && start && start->empty()) {
        return {}; // no key is <= the empty string
    }
    MDB_cursor* cursor = nullptr;
    try {
        lmdb::cursor_open(txn_, tree.dbi_, &cursor);
    } catch (lmdb::error const& e) {
        if (opened_after_snapshot(*this, e)) {
            return {};
        }
        return spoil(lmdb_failure(*state_, e, tree.name()));
    }
    cursor_closer closer{cursor};

    MDB_val k{};
    MDB_val v{};
    // One cursor move; the visitor is called outside any try block so that its exceptions,
    // whatever their type, propagate untouched.
    auto const move = [&](MDB_cursor_op op) -> util::result<bool> {
        try {
            return lmdb::cursor_get(cursor, &k, &v, op);
        } catch (lmdb::error const& e) {
            return spoil(lmdb_failure(*state_, e, tree.name()));
        }
    };

    // A stored key is at most max_key_size bytes, so a longer bound can be cut to that size:
    // the only stored key between the cut and the bound is the cut itself, which is skipped
    // going forward and is rightly included going backward.
    std::optional<std::string_view> const bound =
        start && !start->empty() ? std::optional(start->substr(0, max_key_size)) : std::nullopt;
    util::result<bool> found = false;
    if (dir == direction::forward) {
        if (!bound) {
            found = move(MDB_FIRST);
        } else {
            k = to_val(*bound);
            found = move(MDB_SET_RANGE);
            while (found && *found && to_view(k) < *start) {
                found = move(MDB_NEXT);
            }
        }
    } else {
        if (!bound) {
            found = move(MDB_LAST);
        } else {
            k = to_val(*bound);
            found = move(MDB_SET_RANGE); // the first key >= bound
            if (found && *found) {
                if (to_view(k) != *bound) {
                    found = move(MDB_PREV);
                }
            } else if (found) {
                found = move(MDB_LAST); // every key is < bound
            }
        }
    }
    MDB_cursor_op const next = dir == direction::forward ? MDB_NEXT : MDB_PREV;
    for (;;) {
        if (!found) {
            return found.error();
        }
        if (!*found || !visitor(to_view(k), to_view(v))) {
            return {};
        }
        found = move(next);
    }
}

util::result<void> lmdb_transaction::commit()
{
    if (spoilt_) {
        return *spoilt_; // the destructor aborts
    }
    MDB_txn* txn = std::exchange(txn_, nullptr);
    state_->writer.store(std::thread::id{});
    try {
        lmdb::txn_commit(txn); // frees the transaction, also on failure
    } catch (lmdb::error const& e) {
        return lmdb_failure(*state_, e, {});
    }
    return {};
}

// --- lmdb_backend -----------------------------------------------------------------------------

lmdb_backend::lmdb_backend(std::unique_ptr<detail::lmdb_state> state) noexcept : state_(std::move(state)) {}
lmdb_backend::lmdb_backend(lmdb_backend&&) noexcept = default;
lmdb_backend& lmdb_backend::operator=(lmdb_backend&&) noexcept = default;
lmdb_backend::~lmdb_backend() = default;

util::result<lmdb_backend> lmdb_backend::open(lmdb_options options)
{
    options.map_size -= options.map_size % 4096;
    std::string const path = options.path.string();
    std::error_code ec;
    std::filesystem::create_directories(options.path, ec);
    if (ec) {
        return util::failure(error::io_error,
                             "cannot create the metadata directory " + path + ": " + ec.message());
    }
    auto state = std::make_unique<detail::lmdb_state>();
    state->options = options;
    try {
        state->env = lmdb::env::create();
        state->env.set_mapsize(static_cast<std::size_t>(options.map_size));
        state->env.set_max_dbs(options.max_dbs);
        state->env.set_max_readers(options.max_readers);
        // Not MDB_WRITEMAP: it saves the pwrite of each dirty page at commit, but LMDB then
        // extends data.mdb to the whole map size (1 TiB, sparse), which backups and scans of the
        // metadata directory trip over; group commits amortise the pwrites instead.
        unsigned flags = MDB_NOTLS | MDB_NORDAHEAD | MDB_NOMETASYNC;
        if (!options.fsync) {
            flags |= MDB_NOSYNC;
        }
        state->env.open(path.c_str(), flags, 0600);
    } catch (lmdb::error const& e) {
        if (e.code() == ENOMEM) {
            return util::failure(
                error::io_error,
                "cannot map the LMDB database in " + path +
                    " into memory (lmdb_map_size = " + std::to_string(options.map_size) +
                    " bytes): the process may not reserve that much virtual address space. The limit is "
                    "probably set by `ulimit -v`: raise it (`ulimit -v unlimited`) or lower lmdb_map_size");
        }
        return lmdb_failure(*state, e, {});
    }
    if (int const max = lmdb::env_get_max_keysize(state->env); max < static_cast<int>(max_key_size)) {
        return util::failure(error::io_error, "this LMDB library accepts keys of at most " +
                                                  std::to_string(max) + " bytes; Garage needs " +
                                                  std::to_string(max_key_size));
    }
    int dead = 0;
    ::mdb_reader_check(state->env, &dead); // clear reader slots left by dead processes
    return lmdb_backend(std::move(state));
}

util::result<lmdb_tree> lmdb_backend::open_tree(std::string_view name)
{
    if (auto c = detail::check_tree_name(name); !c) {
        return c.error();
    }
    auto const find = [&]() -> std::optional<lmdb_tree> {
        std::lock_guard lock(state_->trees_mutex);
        if (auto it = state_->trees.find(name); it != state_->trees.end()) {
            return lmdb_tree(it->second, it->first);
        }
        return std::nullopt;
    };
    if (auto t = find()) {
        return *std::move(t);
    }
    // Creating a database takes a write transaction: on the thread that holds one, it would
    // wait for itself.
    if (state_->writer.load() == std::this_thread::get_id()) {
        return detail::nested_write("open_tree(\"" + std::string(name) + "\")");
    }
    std::lock_guard open_lock(state_->open_mutex);
    if (auto t = find()) {
        return *std::move(t);
    }
    std::string key(name);
    MDB_dbi dbi = 0;
    try {
        auto txn = lmdb::txn::begin(state_->env);
        lmdb::dbi_open(txn, key.c_str(), MDB_CREATE, &dbi);
        txn.commit();
    } catch (lmdb::error const& e) {
        return lmdb_failure(*state_, e, key);
    }
    std::lock_guard lock(state_->trees_mutex);
    state_->trees.emplace(key, dbi);
    return lmdb_tree(dbi, std::move(key));
}

util::result<MDB_txn*> lmdb_backend::begin_write()
{
    auto const self = std::this_thread::get_id();
    if (state_->writer.load() == self) {
        return detail::nested_write("transact");
    }
    MDB_txn* txn = nullptr;
    try {
        lmdb::txn_begin(state_->env, nullptr, 0, &txn);
    } catch (lmdb::error const& e) {
        return lmdb_failure(*state_, e, {});
    }
    state_->writer.store(self);
    return txn;
}

util::result<MDB_txn*> lmdb_backend::begin_read() const
{
    MDB_txn* txn = nullptr;
    {
        std::lock_guard lock(state_->pool_mutex);
        if (!state_->idle.empty()) {
            txn = state_->idle.back();
            state_->idle.pop_back();
        }
    }
    try {
        if (txn != nullptr) {
            lmdb::txn_renew(txn);
        } else {
            lmdb::txn_begin(state_->env, nullptr, MDB_RDONLY, &txn);
        }
    } catch (lmdb::error const& e) {
        if (txn != nullptr) {
            lmdb::txn_abort(txn);
        }
        return lmdb_failure(*state_, e, {});
    }
    return txn;
}

util::result<std::optional<std::string>> lmdb_backend::get(lmdb_tree const& tree, std::string_view key) const
{
    return read([&](lmdb_transaction& tx) { return tx.get(tree, key); });
}

util::result<std::size_t> lmdb_backend::len(lmdb_tree const& tree) const
{
    return read([&](lmdb_transaction& tx) { return tx.len(tree); });
}

util::result<std::vector<std::string>> lmdb_backend::list_trees() const
{
    return read([&](lmdb_transaction& tx) -> util::result<std::vector<std::string>> {
        std::vector<std::string> names;
        try {
            // Named databases are the keys of the main database, which we never write to.
            MDB_dbi main = 0;
            lmdb::dbi_open(tx.txn_, nullptr, 0, &main);
            MDB_cursor* cursor = nullptr;
            lmdb::cursor_open(tx.txn_, main, &cursor);
            cursor_closer closer{cursor};
            MDB_val k{};
            MDB_val v{};
            for (bool found = lmdb::cursor_get(cursor, &k, &v, MDB_FIRST); found;
                 found = lmdb::cursor_get(cursor, &k, &v, MDB_NEXT)) {
                names.emplace_back(to_view(k));
            }
        } catch (lmdb::error const& e) {
            return lmdb_failure(*state_, e, {});
        }
        return names;
    });
}

util::result<void> lmdb_backend::sync()
{
    try {
        lmdb::env_sync(state_->env, true);
    } catch (lmdb::error const& e) {
        return lmdb_failure(*state_, e, {});
    }
    return {};
}

lmdb_options const& lmdb_backend::options() const noexcept
{
    return state_->options;
}

} // namespace garage::storage
