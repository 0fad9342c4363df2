#include <garage/model/k2v_subscriptions.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <variant>

namespace garage::model {

k2v_subscriptions::subscription::subscription(subscription&& other) noexcept
    : owner_(other.owner_), key_(std::move(other.key_)), partition_(other.partition_),
      chan_(std::move(other.chan_))
{
    other.owner_ = nullptr;
}

k2v_subscriptions::subscription::~subscription()
{
    if (owner_ != nullptr && chan_) {
        owner_->unsubscribe(key_, partition_, chan_.get());
    }
}

boost::asio::awaitable<std::optional<k2v_item>>
k2v_subscriptions::subscription::next(std::chrono::steady_clock::time_point deadline)
{
    using namespace boost::asio::experimental::awaitable_operators;
    namespace net = boost::asio;
    // A notification may already be queued: take it without arming the timer.
    std::optional<k2v_item> ready;
    chan_->try_receive([&](boost::system::error_code ec, k2v_item item) {
        if (!ec) {
            ready = std::move(item);
        }
    });
    if (ready) {
        co_return ready;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
        co_return std::nullopt;
    }
    net::steady_timer timer(co_await net::this_coro::executor, deadline);
    auto result = co_await (chan_->async_receive(net::as_tuple(net::use_awaitable)) ||
                            timer.async_wait(net::as_tuple(net::use_awaitable)));
    if (result.index() == 0) {
        auto& [ec, item] = std::get<0>(result);
        if (!ec) {
            co_return std::move(item);
        }
    }
    co_return std::nullopt;
}

std::string k2v_subscriptions::item_key(k2v_item_partition const& p, std::string const& sk)
{
    std::string k(p.partition_hash().view());
    k += sk;
    return k;
}

std::string k2v_subscriptions::partition_key(k2v_item_partition const& p)
{
    return std::string(p.partition_hash().view());
}

k2v_subscriptions::subscription k2v_subscriptions::subscribe_item(k2v_item_partition const& partition,
                                                                  std::string const& sort_key,
                                                                  boost::asio::any_io_executor ex)
{
    auto chan = std::make_shared<channel_type>(std::move(ex), queue_capacity);
    auto key = item_key(partition, sort_key);
    {
        std::lock_guard lock(mutex_);
        if (closed_) {
            chan->close();
        }
        items_.emplace(key, chan);
    }
    return subscription(this, std::move(key), false, std::move(chan));
}

k2v_subscriptions::subscription k2v_subscriptions::subscribe_partition(k2v_item_partition const& partition,
                                                                       boost::asio::any_io_executor ex)
{
    auto chan = std::make_shared<channel_type>(std::move(ex), queue_capacity);
    auto key = partition_key(partition);
    {
        std::lock_guard lock(mutex_);
        if (closed_) {
            chan->close();
        }
        partitions_.emplace(key, chan);
    }
    return subscription(this, std::move(key), true, std::move(chan));
}

void k2v_subscriptions::notify(k2v_item const& item)
{
    std::string const pkey = partition_key(item.partition_key());
    std::string ikey = pkey;
    ikey += item.sort_key();
    std::lock_guard lock(mutex_);
    if (items_.empty() && partitions_.empty()) {
        return;
    }
    auto deliver = [&](auto range) {
        for (auto it = range.first; it != range.second; ++it) {
            // A full queue already holds enough to wake its subscriber: drop.
            (void)it->second->try_send(boost::system::error_code{}, item);
        }
    };
    deliver(items_.equal_range(ikey));
    deliver(partitions_.equal_range(pkey));
}

void k2v_subscriptions::close()
{
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& [k, c] : items_) {
        c->close();
    }
    for (auto& [k, c] : partitions_) {
        c->close();
    }
}

std::size_t k2v_subscriptions::size() const
{
    std::lock_guard lock(mutex_);
    return items_.size() + partitions_.size();
}

void k2v_subscriptions::unsubscribe(std::string const& key, bool partition, channel_type const* chan)
{
    std::lock_guard lock(mutex_);
    auto& m = partition ? partitions_ : items_;
    auto range = m.equal_range(key);
    for (auto it = range.first; it != range.second; ++it) {
        if (it->second.get() == chan) {
            m.erase(it);
            return;
        }
    }
}

} // namespace garage::model
