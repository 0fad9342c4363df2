#pragma once
/** @file
    The K2V poll notifier (Garage's `SubscriptionManager`): PollItem and PollRange wait on a
    subscription, which the item table's hook fills with every new state of the item (or of any
    item of the partition). A waiting poll is a suspended coroutine: it holds no thread.
*/

#include <garage/model/k2v_item.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace garage::model {

/** Subscriptions to changes of K2V items, keyed by item (partition and sort key) or by
    partition. Models @ref garage::model::k2v_item_listener.

    @par Thread Safety
    Distinct objects: safe. Shared objects: safe (a mutex guards the registry; `notify` may
    run on any thread, inside a storage transaction, and never blocks).
*/
class k2v_subscriptions {
public:
    /// The queue of one subscriber: new states of items, delivered on the subscriber's executor.
    using channel_type =
        boost::asio::experimental::concurrent_channel<void(boost::system::error_code, k2v_item)>;

    /** One subscriber's registration; unregisters when destroyed.
        @par Thread Safety
        Used by one coroutine at a time. */
    class subscription {
    public:
        /** Takes over another registration. @param other The registration (left empty). */
        subscription(subscription&& other) noexcept;
        subscription& operator=(subscription&&) = delete;
        subscription(subscription const&) = delete;
        /// Unregisters (queued notifications are dropped).
        ~subscription();

        /** Waits for the next state of a subscribed item, or the deadline.
            @param deadline When to give up.
            @return The item, or nullopt when the deadline passed first. */
        boost::asio::awaitable<std::optional<k2v_item>> next(std::chrono::steady_clock::time_point deadline);

    private:
        friend class k2v_subscriptions;
        subscription(k2v_subscriptions* owner, std::string key, bool partition,
                     std::shared_ptr<channel_type> chan)
            : owner_(owner), key_(std::move(key)), partition_(partition), chan_(std::move(chan))
        {
        }
        k2v_subscriptions* owner_;
        std::string key_;
        bool partition_;
        std::shared_ptr<channel_type> chan_;
    };

    /// How many undelivered notifications one subscriber may hold (more are dropped: the
    /// subscriber has enough to wake on).
    static constexpr std::size_t queue_capacity = 64;

    k2v_subscriptions() = default;
    k2v_subscriptions(k2v_subscriptions const&) = delete;
    k2v_subscriptions& operator=(k2v_subscriptions const&) = delete;

    /** Subscribes to one item. Subscribe before reading the item, so that no write between
        the read and the wait is missed.
        @param partition The item's partition. @param sort_key Its sort key.
        @param ex Where the subscriber's wake-ups are delivered.
        @return The subscription. */
    subscription subscribe_item(k2v_item_partition const& partition, std::string const& sort_key,
                                boost::asio::any_io_executor ex);

    /** Subscribes to every item of a partition.
        @param partition The partition. @param ex Where wake-ups are delivered.
        @return The subscription. */
    subscription subscribe_partition(k2v_item_partition const& partition, boost::asio::any_io_executor ex);

    /** Delivers a new state of an item to its subscribers and its partition's (the item table's
        hook calls it). Never blocks.
        @param item The item, as just written. */
    void notify(k2v_item const& item);

    /// @return The number of live subscriptions.
    std::size_t size() const;

    /** Ends every wait, now and later: each subscriber's `next` returns nullopt at once (a
        node calls it when it shuts down, so that long polls answer instead of holding their
        connections for up to their timeout). */
    void close();

private:
    static std::string item_key(k2v_item_partition const& p, std::string const& sk);
    static std::string partition_key(k2v_item_partition const& p);
    void unsubscribe(std::string const& key, bool partition, channel_type const* chan);

    mutable std::mutex mutex_;
    bool closed_ = false;
    std::unordered_multimap<std::string, std::shared_ptr<channel_type>> items_;
    std::unordered_multimap<std::string, std::shared_ptr<channel_type>> partitions_;
};

static_assert(k2v_item_listener<k2v_subscriptions>);

} // namespace garage::model
