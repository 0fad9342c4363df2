#pragma once
// Test doubles for the model's hook interfaces: a transaction type, an entry queue, an item
// counter and a reference-count sink that record what a schema's hook asks of them, so that
// hooks can be tested without storage. Each also shows the minimal model of its concept.

#include <garage/model/concepts.hpp>
#include <garage/storage/error.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/error.hpp>

#include <optional>
#include <utility>
#include <vector>

namespace garage::test {

/// A transaction that the fakes accept and ignore.
struct fake_tx {};

/// Records every queued entry; fails when told to.
template <class E>
struct recording_queue {
    using transaction_type = fake_tx;
    std::vector<E> queued;
    bool fail = false;

    util::result<void> queue_insert(fake_tx&, E const& e)
    {
        if (fail) {
            return util::failure(util::error::io_error, "recording_queue: refused");
        }
        queued.push_back(e);
        return {};
    }
};

/// Records every (old, new) pair it is asked to count.
template <class Item>
struct recording_counter {
    using transaction_type = fake_tx;
    std::vector<std::pair<std::optional<Item>, std::optional<Item>>> calls;

    util::result<void> count(fake_tx&, Item const* old, Item const* now)
    {
        calls.emplace_back(old ? std::optional<Item>(*old) : std::nullopt,
                           now ? std::optional<Item>(*now) : std::nullopt);
        return {};
    }
};

/// Records every incref and decref.
struct recording_rc_sink {
    std::vector<util::hash32> increfs;
    std::vector<util::hash32> decrefs;

    template <class Tx>
    util::result<void> incref(Tx&, util::hash32 const& h)
    {
        increfs.push_back(h);
        return {};
    }
    template <class Tx>
    util::result<void> decref(Tx&, util::hash32 const& h)
    {
        decrefs.push_back(h);
        return {};
    }
};

} // namespace garage::test
