#pragma once
/** @file
    Per-partition Merkle trees over a table's entries, for anti-entropy.
*/

#include <garage/replication/concepts.hpp>
#include <garage/storage/concepts.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace garage::table {

/** A node of a partition's Merkle tree (Garage's `MerkleNode`).

    The tree is a radix tree over `khash = H(tree_key)`, `H` being SHA-256 (see
    detail/hash.hpp): the node at prefix `p` covers every entry whose `khash` starts with `p`.
    A subtree holding one entry is a leaf; one holding two or more is an intermediate node
    whose children are indexed by the next byte of `khash`. The shape is therefore canonical:
    two nodes holding the same entries have the same root hash, whatever the order of their
    updates.
*/
struct merkle_node {
    /// What a node is; the value is its first byte when stored.
    enum class kind : std::uint8_t {
        empty = 0,        ///< no entry below this prefix (never stored: absence reads as empty)
        intermediate = 1, ///< two or more entries below this prefix
        leaf = 2          ///< exactly one entry below this prefix
    };

    /// What this node is.
    kind type = kind::empty;
    /// Intermediate: (next khash byte, hash of the child node), sorted by byte.
    std::vector<std::pair<std::uint8_t, util::hash32>> children;
    /// Leaf: the entry's full storage key.
    std::string key;
    /// Leaf: the hash of the entry's stored bytes.
    util::hash32 value_hash;

    /** A leaf.
        @param key   The entry's storage key.
        @param vhash The hash of the entry's stored bytes.
        @return The leaf node. */
    static merkle_node make_leaf(std::string key, util::hash32 vhash)
    {
        merkle_node n;
        n.type = kind::leaf;
        n.key = std::move(key);
        n.value_hash = vhash;
        return n;
    }

    /// @return The stored form of the node.
    std::string encode() const;
    /** Parses the stored form.
        @param bytes What @ref encode returned.
        @return The node; `util::error::decode_error` on malformed bytes. */
    static util::result<merkle_node> decode(std::string_view bytes);
    /// @return The node's hash: SHA-256 of its encoding (see detail/hash.hpp); all zero for an empty node.
    util::hash32 hash() const;

    /// Equal when kind, children, key and value hash are equal.
    friend bool operator==(merkle_node const&, merkle_node const&) = default;
};

/** The storage key of a Merkle node.
    @param partition The partition of the tree.
    @param prefix    The first bytes of `khash` leading to the node (empty for the root).
    @return The big-endian partition number (2 bytes), then `prefix`. */
std::string merkle_node_key(replication::partition_id partition, std::string_view prefix);

/** The Merkle updates of one transaction, stored as one record of the table's todo log.

    A table's writes do not touch the Merkle trees themselves: each transaction appends one
    record to `<table>:merkle_todo`, keyed by a big-endian sequence number, listing the keys it
    changed with the hash of each new value (none for a removal). One record per transaction,
    rather than one todo entry per key as in Garage, halves the B-tree writes of a batch insert.

    Record format: for each update, u16 BE key length, the key, one byte (1 if a hash
    follows, 0 for a removal), then the 32-byte hash.
*/
class merkle_todo_batch {
public:
    /** Records one update.
        @param key   The entry's storage key.
        @param vhash The hash of its new stored bytes; `nullopt` if it was removed. */
    void add(std::string_view key, std::optional<util::hash32> const& vhash);
    /// @return How many updates the record holds.
    std::size_t size() const noexcept { return count_; }
    /// @return True when the record holds no update (then nothing is stored).
    bool empty() const noexcept { return count_ == 0; }
    /// @return The stored form of the record.
    std::string const& bytes() const noexcept { return bytes_; }

    /** Calls `f(key, vhash)` for each update of a stored record, in order.
        @tparam F Callable as `f(std::string_view, std::optional<util::hash32> const&)`.
        @param record The stored record (@ref bytes).
        @param f      Called for each update; the key view is valid during the call only.
        @return Nothing; `util::error::decode_error` on a malformed record. */
    template <class F>
    static util::result<void> for_each(std::string_view record, F&& f)
    {
        while (!record.empty()) {
            if (record.size() < 3) {
                return util::failure(util::error::decode_error, "Merkle todo record: truncated");
            }
            std::size_t const len = (std::size_t(static_cast<unsigned char>(record[0])) << 8) |
                                    static_cast<unsigned char>(record[1]);
            if (record.size() < 3 + len) {
                return util::failure(util::error::decode_error, "Merkle todo record: truncated key");
            }
            auto const key = record.substr(2, len);
            auto const has_hash = record[2 + len];
            record.remove_prefix(3 + len);
            std::optional<util::hash32> vhash;
            if (has_hash) {
                auto h = util::hash32::from_bytes(record.substr(0, std::min<std::size_t>(32, record.size())));
                if (!h) {
                    return util::failure(util::error::decode_error, "Merkle todo record: truncated hash");
                }
                vhash = *h;
                record.remove_prefix(32);
            }
            f(key, vhash);
        }
        return {};
    }

private:
    std::string bytes_;
    std::size_t count_ = 0;
};

/** Applies a table's pending Merkle updates (its `merkle_todo` tree) to its Merkle trees.

    Every write transaction of the table appends a @ref merkle_todo_batch record to
    `<table>:merkle_todo` (@ref record). The updater takes the records in order, in batches:
    each batch is one storage transaction that restructures the affected paths, then rehashes
    each touched node once, deepest first, and removes the processed records. A batch of many
    updates thus hashes the upper nodes once rather than once per update.

    @tparam Replication Models @ref garage::replication::replication_policy (gives the partition).
    @tparam Storage     Models @ref garage::storage::storage_backend.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (each batch is one write transaction).
*/
template <replication::replication_policy Replication, storage::storage_backend Storage>
class merkle_updater {
public:
    /// The storage's tree handle.
    using tree_type = typename Storage::tree_type;

    /** @param db          The storage holding both trees.
        @param replication Gives `partition_of()` for each entry.
        @param merkle_tree The tree holding the nodes (`<table>:merkle_tree`).
        @param merkle_todo The tree of pending updates (`<table>:merkle_todo`). */
    merkle_updater(Storage& db, Replication replication, tree_type merkle_tree, tree_type merkle_todo)
        : db_(db), replication_(std::move(replication)), tree_(std::move(merkle_tree)),
          todo_(std::move(merkle_todo))
    {
    }

    /** Appends a record to the todo log, inside the writer's transaction.
        @param tx    The write transaction of the table's write.
        @param batch The transaction's updates; nothing is stored if it is empty.
        @return Nothing; a storage error (which aborts the caller's transaction). */
    util::result<void> record(typename Storage::transaction_type& tx, merkle_todo_batch const& batch) const;

    /** Processes pending records, about `max_items` updates (whole records), in one transaction.
        @param max_items Stop taking records once this many updates were taken.
        @return How many updates were processed (0 when there was nothing to do). */
    util::result<std::size_t> update_batch(std::size_t max_items = 4096);

    /** Processes every pending update, batch after batch.
        @return How many updates were processed. */
    util::result<std::size_t> update_all();

    /** The root hash of a partition's tree: equal roots mean equal entries.
        @param partition The partition (`Replication::partition_of` of the entries' hashes).
        @return The hash, all zero when the partition is empty. Pending todo records are not
        reflected: call @ref update_all first to compare up-to-date trees. */
    util::result<util::hash32> root_hash(replication::partition_id partition) const;

    /** Reads one node by its storage key; an absent node reads as empty.
        This is the `GetNode` step of the sync protocol.
        @param node_key The node's key (@ref garage::table::merkle_node_key).
        @return The node; `util::error::decode_error` if its stored form is malformed. */
    util::result<merkle_node> read_node(std::string_view node_key) const;

    /// @return How many todo records (write transactions) are pending.
    util::result<std::size_t> todo_len() const { return db_.len(todo_); }
    /// @return How many nodes the trees hold, over all partitions.
    util::result<std::size_t> tree_len() const { return db_.len(tree_); }

    /// @return The tree holding the nodes (`<table>:merkle_tree`).
    tree_type const& tree() const noexcept { return tree_; }
    /// @return The tree of pending updates (`<table>:merkle_todo`).
    tree_type const& todo_tree() const noexcept { return todo_; }

private:
    Storage& db_;
    [[no_unique_address]] Replication replication_;
    tree_type tree_;
    tree_type todo_;
};

} // namespace garage::table

#include <garage/table/impl/merkle.hpp>
