#pragma once
// One batch of Merkle updates inside one storage transaction: structural changes on a node
// cache first, then one rehash per touched node, deepest first.

#include <garage/table/merkle.hpp>
#include <garage/table/detail/hash.hpp>

#include <algorithm>
#include <map>

namespace garage::table::detail {

template <class Tx, class Tree>
class merkle_batch {
public:
    merkle_batch(Tx& tx, Tree const& tree) : tx_(tx), tree_(tree) {}

    /** Sets (or, with no `vhash`, removes) the leaf of `key` in `partition`'s tree. */
    util::result<void> apply(replication::partition_id partition, std::string const& key,
                             std::optional<util::hash32> const& vhash)
    {
        auto const khash = detail::merkle_hash(key);
        auto changed = update(merkle_node_key(partition, {}), 0, key, khash, vhash);
        if (!changed) {
            return changed.error();
        }
        return {};
    }

    /** Writes every touched node, deepest first, filling in child hashes on the way up. */
    util::result<void> commit()
    {
        std::vector<std::string const*> dirty;
        for (auto& [k, c] : cache_) {
            if (c.dirty) {
                dirty.push_back(&k);
            }
        }
        std::stable_sort(dirty.begin(), dirty.end(), [](auto* a, auto* b) { return a->size() > b->size(); });
        for (auto const* k : dirty) {
            auto& node = cache_.find(*k)->second.node;
            util::hash32 h;
            if (node.type == merkle_node::kind::empty) {
                if (auto r = tx_.remove(tree_, *k); !r) {
                    return r.error();
                }
            } else {
                auto bytes = node.encode();
                h = detail::merkle_hash(bytes);
                if (auto r = tx_.put(tree_, *k, bytes); !r) {
                    return r.error();
                }
            }
            if (k->size() > 2) {
                auto parent = cache_.find(k->substr(0, k->size() - 1));
                if (parent != cache_.end() && parent->second.node.type == merkle_node::kind::intermediate) {
                    auto const b = static_cast<std::uint8_t>(k->back());
                    for (auto& [cb, ch] : parent->second.node.children) {
                        if (cb == b) {
                            ch = h;
                        }
                    }
                }
            }
        }
        return {};
    }

private:
    struct cached {
        merkle_node node;
        bool dirty = false;
    };

    util::result<cached*> get(std::string const& node_key)
    {
        auto it = cache_.find(node_key);
        if (it != cache_.end()) {
            return &it->second;
        }
        auto raw = tx_.get(tree_, node_key);
        if (!raw) {
            return raw.error();
        }
        cached c;
        if (*raw) {
            auto n = merkle_node::decode(**raw);
            if (!n) {
                return n.error();
            }
            c.node = std::move(*n);
        }
        return &cache_.emplace(node_key, std::move(c)).first->second;
    }

    static void set_child(merkle_node& n, std::uint8_t b)
    {
        auto it = std::lower_bound(n.children.begin(), n.children.end(), b,
                                   [](auto const& c, std::uint8_t v) { return c.first < v; });
        if (it == n.children.end() || it->first != b) {
            n.children.insert(it, {b, util::hash32{}});
        }
    }

    static void remove_child(merkle_node& n, std::uint8_t b)
    {
        std::erase_if(n.children, [b](auto const& c) { return c.first == b; });
    }

    /// Returns whether the subtree at `node_key` changed.
    util::result<bool> update(std::string node_key, std::size_t depth, std::string const& key,
                              util::hash32 const& khash, std::optional<util::hash32> const& vhash)
    {
        auto got = get(node_key);
        if (!got) {
            return got.error();
        }
        cached* c = *got;
        merkle_node& n = c->node;
        switch (n.type) {
        case merkle_node::kind::empty:
            if (!vhash) {
                return false;
            }
            n = merkle_node::make_leaf(key, *vhash);
            c->dirty = true;
            return true;
        case merkle_node::kind::leaf:
            if (n.key == key) {
                if (vhash && n.value_hash == *vhash) {
                    return false;
                }
                if (vhash) {
                    n.value_hash = *vhash;
                } else {
                    n = merkle_node{};
                }
                c->dirty = true;
                return true;
            }
            if (!vhash) {
                return false; // removing a key that is not in the tree
            }
            if (depth >= util::hash32::size_bytes) {
                return util::failure(util::error::decode_error, "Merkle tree: two keys with the same hash");
            }
            {
                // Split: push the existing leaf one level down, then insert below.
                auto const old_b = detail::merkle_hash(n.key)[depth];
                auto moved = std::move(n);
                n = merkle_node{};
                n.type = merkle_node::kind::intermediate;
                n.children.push_back({old_b, util::hash32{}});
                c->dirty = true;
                auto child = get(node_key + static_cast<char>(old_b));
                if (!child) {
                    return child.error();
                }
                (*child)->node = std::move(moved);
                (*child)->dirty = true;
            }
            [[fallthrough]];
        case merkle_node::kind::intermediate: {
            auto const b = khash[depth];
            auto child_key = node_key + static_cast<char>(b);
            auto changed = update(child_key, depth + 1, key, khash, vhash);
            if (!changed) {
                return changed.error();
            }
            if (!*changed) {
                return false;
            }
            // `c` stays valid: std::map nodes do not move on insertion.
            auto child = get(child_key);
            if (!child) {
                return child.error();
            }
            if ((*child)->node.type == merkle_node::kind::empty) {
                remove_child(n, b);
            } else {
                set_child(n, b);
            }
            c->dirty = true;
            if (n.children.empty()) {
                n = merkle_node{};
            } else if (n.children.size() == 1) {
                // A subtree holding a single leaf collapses into that leaf.
                auto only = get(node_key + static_cast<char>(n.children.front().first));
                if (!only) {
                    return only.error();
                }
                if ((*only)->node.type == merkle_node::kind::leaf) {
                    n = std::move((*only)->node);
                    (*only)->node = merkle_node{};
                    (*only)->dirty = true;
                }
            }
            return true;
        }
        }
        return false;
    }

    Tx& tx_;
    Tree const& tree_;
    std::map<std::string, cached> cache_;
};

} // namespace garage::table::detail
