#include <garage/rpc/network.hpp>

#include <garage/rpc/detail/frame.hpp>
#include <garage/rpc/detail/link.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <span>
#include <unordered_map>
#include <unordered_set>

namespace garage::rpc {
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

using call_signature = void(util::result<raw_message>);
using call_handler = net::any_completion_handler<call_signature>;
using strand_type = net::strand<net::any_io_executor>;

class connection;

std::string short_id(util::node_id const& id)
{
    return id.to_hex().substr(0, 16);
}

// ---- encoding of the logical messages (see detail/frame.hpp)

std::string encode_request_head(std::string_view path, raw_message const& m)
{
    std::string out;
    out.reserve(1 + path.size() + 8 + m.message.size());
    out.push_back(static_cast<char>(path.size()));
    out.append(path);
    detail::put_u32(out, m.version);
    detail::put_u32(out, static_cast<std::uint32_t>(m.message.size()));
    out.append(m.message);
    return out;
}

std::string encode_ok_head(raw_message const& m)
{
    std::string out;
    out.reserve(9 + m.message.size());
    out.push_back('\0');
    detail::put_u32(out, m.version);
    detail::put_u32(out, static_cast<std::uint32_t>(m.message.size()));
    out.append(m.message);
    return out;
}

std::string encode_error(util::failure const& f)
{
    std::string out;
    out.push_back('\1');
    detail::put_u32(out, static_cast<std::uint32_t>(f.code.value()));
    std::string_view cat = f.code.category().name();
    cat = cat.substr(0, 255);
    out.push_back(static_cast<char>(cat.size()));
    out.append(cat);
    detail::put_u32(out, static_cast<std::uint32_t>(f.message.size()));
    out.append(f.message);
    return out;
}

boost::system::error_category const* known_category(std::string_view name)
{
    for (auto const* c : {&rpc_category(), &util::util_category(), &util::condition_category(),
                          &boost::system::generic_category(), &boost::system::system_category()}) {
        if (name == c->name()) {
            return c;
        }
    }
    return nullptr;
}

/// Splits `u8 path_len | path | u32 version | u32 len | message | body`.
bool decode_request(std::string&& in, std::string& path, raw_message& m)
{
    detail::reader r(in);
    std::uint8_t path_len = 0;
    std::string_view p;
    std::uint32_t len = 0;
    std::string_view msg;
    if (!r.u8(path_len) || !r.bytes(path_len, p) || !r.u32(m.version) || !r.u32(len) || !r.bytes(len, msg)) {
        return false;
    }
    path.assign(p);
    m.message.assign(msg);
    auto const body_at = in.size() - r.rest().size();
    in.erase(0, body_at);
    m.body = std::move(in);
    return true;
}

util::result<raw_message> decode_response(std::string&& in)
{
    detail::reader r(in);
    std::uint8_t status = 0;
    if (!r.u8(status)) {
        return util::failure(error::protocol_error, "empty response");
    }
    if (status == 0) {
        raw_message m;
        std::uint32_t len = 0;
        std::string_view msg;
        if (!r.u32(m.version) || !r.u32(len) || !r.bytes(len, msg)) {
            return util::failure(error::protocol_error, "truncated response");
        }
        m.message.assign(msg);
        auto const body_at = in.size() - r.rest().size();
        in.erase(0, body_at);
        m.body = std::move(in);
        return m;
    }
    std::uint32_t value = 0;
    std::uint8_t cat_len = 0;
    std::string_view cat;
    std::uint32_t len = 0;
    std::string_view text;
    if (status != 1 || !r.u32(value) || !r.u8(cat_len) || !r.bytes(cat_len, cat) || !r.u32(len) ||
        !r.bytes(len, text)) {
        return util::failure(error::protocol_error, "malformed error response");
    }
    if (auto const* c = known_category(cat)) {
        return util::failure(util::error_code(static_cast<int>(value), *c), std::string(text));
    }
    return util::failure(error::remote_error,
                         std::string(text) + " [" + std::string(cat) + ":" + std::to_string(value) + "]");
}

void complete(call_handler h, util::result<raw_message> r)
{
    net::get_associated_cancellation_slot(h).clear();
    // Always called from a handler on the connection's strand, never from the initiating
    // function: dispatching to the handler's own executor is safe and saves a post.
    net::dispatch(net::append(std::move(h), std::move(r)));
}

} // namespace

// ---- the shared state of a network

struct network::state {
    executor_type ex;
    node_key key;
    std::string secret;
    network_options opts;
    std::shared_ptr<net::ssl::context> tls;
    strand_type acceptor_strand;
    std::optional<tcp::acceptor> acceptor;

    mutable std::mutex mutex; // guards what follows
    std::map<std::string, std::shared_ptr<raw_handler const>, std::less<>> handlers;
    std::unordered_map<util::node_id, std::shared_ptr<connection>> conns;
    std::vector<std::weak_ptr<connection>> links; // every connection, for stop()
    std::shared_ptr<std::function<void(link_event const&)>> observer;
    bool stopped = false;

    std::atomic<std::uint64_t> links_accepted{0};
    std::atomic<std::uint64_t> links_refused{0};
    std::atomic<std::uint64_t> requests_handled{0};
    std::atomic<std::uint64_t> links_closed_on_error{0};
    std::atomic<std::uint64_t> frames_sent{0};
    std::atomic<std::uint64_t> writes{0};

    state(executor_type e, node_key k, std::string s, network_options o)
        : ex(std::move(e)), key(std::move(k)), secret(std::move(s)), opts(o),
          acceptor_strand(net::make_strand(ex))
    {
    }

    std::shared_ptr<raw_handler const> find_handler(std::string_view path) const
    {
        std::lock_guard lock(mutex);
        auto it = handlers.find(path);
        return it == handlers.end() ? nullptr : it->second;
    }

    void notify(link_event const& ev) const
    {
        std::shared_ptr<std::function<void(link_event const&)>> obs;
        {
            std::lock_guard lock(mutex);
            obs = observer;
        }
        if (obs && *obs) {
            (*obs)(ev);
        }
    }
};

namespace {

// ---- one authenticated connection; everything below runs on its strand unless said otherwise

class connection : public std::enable_shared_from_this<connection> {
public:
    connection(std::shared_ptr<network::state> st, std::unique_ptr<detail::tls_stream> stream,
               util::node_id peer, bool outgoing)
        : st_(std::move(st)), stream_(std::move(stream)), strand_(stream_->get_executor()), peer_(peer),
          outgoing_(outgoing), wake_(strand_), linger_(strand_)
    {
    }

    util::node_id const& peer() const noexcept { return peer_; }
    bool outgoing() const noexcept { return outgoing_; }

    /// On the strand: starts the reader and the writer.
    void start()
    {
        wake_.expires_at(net::steady_timer::time_point::max());
        net::co_spawn(strand_, read_loop(shared_from_this()), net::detached);
        net::co_spawn(strand_, write_loop(shared_from_this()), net::detached);
    }

    /// Any thread: sends a request and completes `h` with the response.
    void start_call(std::string const& path, raw_message req, call_options opts, call_handler h)
    {
        auto const id = next_id_.fetch_add(1, std::memory_order_relaxed);
        auto slot = net::get_associated_cancellation_slot(h);
        auto msg = std::make_shared<out_msg>();
        msg->id = id;
        msg->kind = detail::frame_kind::request;
        msg->prio = static_cast<std::uint8_t>(opts.priority);
        msg->head = encode_request_head(path, req);
        msg->body = std::move(req.body);
        auto const timeout = opts.timeout.value_or(st_->opts.call_timeout);
        // The slot is assigned before the call is posted: once posted, the call may complete
        // (and its coroutine resume on another thread) before this function returns. A
        // cancellation that reaches the strand before begin_call is remembered there.
        if (slot.is_connected()) {
            slot.assign([w = weak_from_this(), id](net::cancellation_type) {
                if (auto c = w.lock()) {
                    auto* raw = c.get();
                    net::post(raw->strand_, [c = std::move(c), id] {
                        c->abort_call(id, util::failure(error::cancelled, "the call was cancelled"));
                    });
                }
            });
        }
        net::post(strand_,
                  [self = shared_from_this(), msg = std::move(msg), timeout, h = std::move(h)]() mutable {
                      self->begin_call(std::move(msg), timeout, std::move(h));
                  });
    }

    /// Any thread: closes the connection.
    void close_async(util::failure reason, bool tell_peer)
    {
        net::post(strand_, [self = shared_from_this(), reason = std::move(reason), tell_peer]() mutable {
            self->close(std::move(reason), tell_peer);
        });
    }

private:
    struct out_msg {
        std::uint32_t id = 0;
        detail::frame_kind kind = detail::frame_kind::request;
        std::uint8_t prio = 0;
        std::string head;
        std::string body;
        std::size_t offset = 0; // bytes of head+body already handed to the writer
        std::size_t size() const noexcept { return head.size() + body.size(); }
    };
    struct pending_call {
        call_handler handler;
        std::unique_ptr<net::steady_timer> timer;
        std::string buffer;
    };
    struct incoming_request {
        std::string buffer;
        std::uint8_t prio = 0;
        bool running = false;
        std::shared_ptr<net::cancellation_signal> signal;
    };

    // -- calls

    void begin_call(std::shared_ptr<out_msg> msg, std::chrono::milliseconds timeout, call_handler h)
    {
        if (closed_) {
            complete(std::move(h), closed_reason_);
            return;
        }
        auto const id = msg->id;
        if (early_cancels_.erase(id) != 0) {
            complete(std::move(h), util::failure(error::cancelled, "the call was cancelled"));
            return;
        }
        auto timer = std::make_unique<net::steady_timer>(strand_);
        timer->expires_after(timeout);
        timer->async_wait([w = weak_from_this(), id, timeout](util::error_code ec) {
            if (ec) {
                return;
            }
            if (auto c = w.lock()) {
                c->abort_call(id, util::failure(error::timeout, "no answer within " +
                                                                    std::to_string(timeout.count()) +
                                                                    " ms from node " + short_id(c->peer_)));
            }
        });
        pending_.emplace(id, pending_call{std::move(h), std::move(timer), {}});
        enqueue(std::move(msg));
    }

    void abort_call(std::uint32_t id, util::failure why)
    {
        auto it = pending_.find(id);
        if (it == pending_.end()) {
            if (why.code == error::cancelled) {
                early_cancels_.insert(id); // not begun yet (or, rarely, just answered)
            }
            return;
        }
        auto h = std::move(it->second.handler);
        pending_.erase(it);
        // Not sent at all: forget it. Partly or wholly sent: tell the peer.
        bool unsent = false;
        for (auto q = queue_.begin(); q != queue_.end(); ++q) {
            auto& dq = q->second;
            for (auto m = dq.begin(); m != dq.end(); ++m) {
                if ((*m)->kind == detail::frame_kind::request && (*m)->id == id) {
                    unsent = (*m)->offset == 0;
                    dq.erase(m);
                    if (dq.empty()) {
                        queue_.erase(q);
                    }
                    goto removed;
                }
            }
        }
    removed:
        if (!unsent && !closed_) {
            auto c = std::make_shared<out_msg>();
            c->id = id;
            c->kind = detail::frame_kind::cancel;
            c->prio = 0;
            enqueue(std::move(c));
        }
        complete(std::move(h), std::move(why));
    }

    // -- sending

    void enqueue(std::shared_ptr<out_msg> msg)
    {
        if (closed_) {
            return;
        }
        auto& dq = queue_[msg->prio];
        // Messages that have not started go before those already being sent (Garage's rule),
        // in arrival order among themselves.
        auto pos = std::find_if(dq.begin(), dq.end(), [](auto const& m) { return m->offset != 0; });
        dq.insert(pos, std::move(msg));
        wake_.cancel();
    }

    /// Frames of at most this many bytes are sent together, up to `coalesce_max` per write.
    static constexpr std::size_t coalesce_frame = 8 * 1024;
    static constexpr std::size_t coalesce_max = 16 * 1024;

    /// @return The size of the next frame's payload (the queue must not be empty).
    std::size_t next_chunk() const
    {
        auto const& msg = queue_.begin()->second.front();
        return std::min(msg->size() - msg->offset, st_->opts.max_frame_size);
    }

    /** Takes the next frame off the queue (round robin between the messages of the highest
        priority) and gives `out` its header (encoded into `header`, which must stay valid
        until the bytes are written) and payload, as up to three buffers.
        @return The message, which the payload's buffers point into: keep it until written. */
    template <class Out>
    std::shared_ptr<out_msg> take_frame(std::array<unsigned char, detail::frame_header_size>& header,
                                        Out&& out)
    {
        auto q = queue_.begin();
        auto msg = q->second.front();
        q->second.pop_front();
        auto const remaining = msg->size() - msg->offset;
        auto const chunk = std::min(remaining, st_->opts.max_frame_size);
        bool const final = chunk == remaining;
        detail::encode_frame_header({msg->id, msg->kind,
                                     static_cast<std::uint8_t>(final ? detail::frame_final : 0), msg->prio,
                                     static_cast<std::uint32_t>(chunk)},
                                    header.data());
        out(net::buffer(header));
        auto const begin = msg->offset;
        auto const end = begin + chunk;
        if (begin < msg->head.size()) {
            auto const stop = std::min(end, msg->head.size());
            out(net::buffer(msg->head.data() + begin, stop - begin));
        }
        if (end > msg->head.size()) {
            auto const from = std::max(begin, msg->head.size()) - msg->head.size();
            out(net::buffer(msg->body.data() + from, end - msg->head.size() - from));
        }
        msg->offset = end;
        st_->frames_sent.fetch_add(1, std::memory_order_relaxed);
        if (!final) {
            q->second.push_back(msg); // round robin within the priority class
        } else if (q->second.empty()) {
            queue_.erase(q);
        }
        return msg;
    }

    static net::awaitable<void> write_loop(std::shared_ptr<connection> self)
    {
        std::array<unsigned char, detail::frame_header_size> header{};
        std::string batch;
        for (;;) {
            if (self->closed_) {
                if (self->goaway_) {
                    auto frame = std::move(*self->goaway_);
                    self->goaway_.reset();
                    co_await net::async_write(*self->stream_, net::buffer(frame),
                                              net::as_tuple(net::use_awaitable));
                    util::error_code ignored;
                    self->stream_->lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
                    if (self->reading_) {
                        co_return; // the reader drains until the peer closes (linger_ bounds it)
                    }
                    // Drain what the peer still sends: closing with unread data would reset the
                    // link, and the peer might lose the goaway before reading it.
                    std::array<char, 4096> sink;
                    for (;;) {
                        auto [ec, n] = co_await self->stream_->next_layer().async_read_some(
                            net::buffer(sink), net::as_tuple(net::use_awaitable));
                        if (ec) {
                            break;
                        }
                    }
                }
                self->hard_close();
                co_return;
            }
            if (self->queue_.empty()) {
                self->wake_.expires_at(net::steady_timer::time_point::max());
                co_await self->wake_.async_wait(net::as_tuple(net::use_awaitable));
                continue;
            }
            // Small frames waiting (of any messages, in priority order) go out together: one TLS
            // record and one send for many requests and answers, not one each.
            batch.clear();
            while (!self->queue_.empty() && self->next_chunk() <= coalesce_frame &&
                   batch.size() + detail::frame_header_size + self->next_chunk() <= coalesce_max) {
                self->take_frame(header, [&batch](net::const_buffer b) {
                    batch.append(static_cast<char const*>(b.data()), b.size());
                });
            }
            std::array<net::const_buffer, 3> bufs;
            std::size_t nbufs = 0;
            std::shared_ptr<out_msg> keep; // what the buffers point into, until written
            if (batch.empty()) {
                // a large frame alone, from the message's own buffers
                keep = self->take_frame(header, [&bufs, &nbufs](net::const_buffer b) { bufs[nbufs++] = b; });
            } else {
                bufs[nbufs++] = net::buffer(batch);
            }
            self->st_->writes.fetch_add(1, std::memory_order_relaxed);
            auto [ec, n] = co_await net::async_write(*self->stream_, std::span(bufs.data(), nbufs),
                                                     net::as_tuple(net::use_awaitable));
            if (ec) {
                self->close(util::failure(error::connection_closed, "link to node " + short_id(self->peer_) +
                                                                        " failed: " + ec.message()),
                            false);
                self->hard_close();
                co_return;
            }
        }
    }

    // -- receiving

    static net::awaitable<void> read_loop(std::shared_ptr<connection> self)
    {
        std::array<unsigned char, detail::frame_header_size> header{};
        std::string chunk;
        for (;;) {
            auto [ec, n] = co_await net::async_read(*self->stream_, net::buffer(header),
                                                    net::as_tuple(net::use_awaitable));
            if (ec) {
                self->reading_ = false;
                if (self->closed_) {
                    self->hard_close();
                } else {
                    self->close(
                        util::failure(error::connection_closed,
                                      "link to node " + short_id(self->peer_) + " closed: " + ec.message()),
                        false);
                }
                co_return;
            }
            auto h = detail::decode_frame_header(header.data());
            if (!h) {
                self->reading_ = false;
                self->close(util::failure(error::protocol_error, "malformed frame header"), true);
                co_return;
            }
            if (h->length > self->st_->opts.max_frame_size) {
                self->reading_ = false;
                self->close(
                    util::failure(error::frame_too_large, "frame of " + std::to_string(h->length) +
                                                              " bytes exceeds the limit of " +
                                                              std::to_string(self->st_->opts.max_frame_size)),
                    true);
                co_return;
            }
            chunk.resize(h->length);
            if (h->length != 0) {
                auto [ec2, n2] = co_await net::async_read(*self->stream_, net::buffer(chunk),
                                                          net::as_tuple(net::use_awaitable));
                if (ec2) {
                    self->reading_ = false;
                    if (self->closed_) {
                        self->hard_close();
                        co_return;
                    }
                    self->close(util::failure(error::connection_closed,
                                              "link to node " + short_id(self->peer_) +
                                                  " closed inside a frame: " + ec2.message()),
                                false);
                    co_return;
                }
            }
            if (self->closed_) {
                continue; // closing: drain and drop until the peer closes
            }
            if (auto bad = self->on_frame(*h, chunk); !bad) {
                self->reading_ = false;
                self->close(bad.error(), true);
                co_return;
            }
        }
    }

    util::result<void> on_frame(detail::frame_header const& h, std::string const& chunk)
    {
        auto const max_message = st_->opts.max_message_size;
        bool const final = (h.flags & detail::frame_final) != 0;
        switch (h.kind) {
        case detail::frame_kind::request: {
            if (!incoming_.contains(h.id) && incoming_.size() >= st_->opts.max_incoming_requests) {
                return util::failure(error::protocol_error,
                                     "more than " + std::to_string(st_->opts.max_incoming_requests) +
                                         " requests in progress on one link");
            }
            auto& in = incoming_[h.id];
            if (in.running) {
                return util::failure(error::protocol_error, "request id " + std::to_string(h.id) + " reused");
            }
            if (in.buffer.empty()) {
                in.prio = h.prio;
            }
            if (in.buffer.size() + chunk.size() > max_message) {
                return util::failure(error::message_too_large, "request exceeds the limit of " +
                                                                   std::to_string(max_message) + " bytes");
            }
            in.buffer.append(chunk);
            if (final) {
                dispatch(h.id);
            }
            return {};
        }
        case detail::frame_kind::response: {
            auto it = pending_.find(h.id);
            if (it == pending_.end()) {
                return {}; // cancelled or timed out: drop
            }
            if (it->second.buffer.size() + chunk.size() > max_message) {
                return util::failure(error::message_too_large, "response exceeds the limit of " +
                                                                   std::to_string(max_message) + " bytes");
            }
            it->second.buffer.append(chunk);
            if (final) {
                auto pc = std::move(it->second);
                pending_.erase(it);
                pc.timer->cancel();
                complete(std::move(pc.handler), decode_response(std::move(pc.buffer)));
            }
            return {};
        }
        case detail::frame_kind::cancel: {
            auto it = incoming_.find(h.id);
            if (it != incoming_.end()) {
                if (it->second.signal) {
                    it->second.signal->emit(net::cancellation_type::terminal);
                }
                incoming_.erase(it);
            }
            return {};
        }
        case detail::frame_kind::goaway: {
            detail::reader r(chunk);
            std::uint32_t code = 0;
            r.u32(code);
            close(util::failure(error::connection_closed,
                                "node " + short_id(peer_) + " closed the link: " + std::string(r.rest())),
                  false);
            return {};
        }
        }
        return {};
    }

    void dispatch(std::uint32_t id)
    {
        auto& in = incoming_[id];
        in.running = true;
        std::string path;
        raw_message req;
        if (!decode_request(std::move(in.buffer), path, req)) {
            respond(id, util::failure(error::decode_error, "malformed request"));
            return;
        }
        auto handler = st_->find_handler(path);
        if (!handler) {
            respond(id,
                    util::failure(error::no_such_endpoint, "no RPC endpoint \"" + path + "\" on this node"));
            return;
        }
        st_->requests_handled.fetch_add(1, std::memory_order_relaxed);
        in.signal = std::make_shared<net::cancellation_signal>();
        auto sig = in.signal;
        net::co_spawn(strand_, run_handler(shared_from_this(), id, std::move(handler), std::move(req)),
                      net::bind_cancellation_slot(sig->slot(), [sig](std::exception_ptr) {}));
    }

    static net::awaitable<void> run_handler(std::shared_ptr<connection> self, std::uint32_t id,
                                            std::shared_ptr<raw_handler const> handler, raw_message req)
    {
        util::result<raw_message> r = util::failure(error::handler_failed, "no result");
        try {
            r = co_await (*handler)(self->peer_, std::move(req));
        } catch (boost::system::system_error const& e) {
            r = util::failure(e.code() == net::error::operation_aborted ? util::error_code(error::cancelled)
                                                                        : e.code(),
                              e.what());
        } catch (std::exception const& e) {
            r = util::failure(error::handler_failed, e.what());
        }
        self->respond(id, std::move(r));
    }

    void respond(std::uint32_t id, util::result<raw_message> r)
    {
        auto it = incoming_.find(id);
        if (it == incoming_.end() || closed_) {
            return; // cancelled by the caller
        }
        auto msg = std::make_shared<out_msg>();
        msg->id = id;
        msg->kind = detail::frame_kind::response;
        msg->prio = it->second.prio;
        incoming_.erase(it);
        if (r) {
            msg->head = encode_ok_head(*r);
            msg->body = std::move(r->body);
        } else {
            msg->head = encode_error(r.error());
        }
        enqueue(std::move(msg));
    }

    // -- closing

    void close(util::failure reason, bool tell_peer)
    {
        if (closed_) {
            return;
        }
        closed_ = true;
        closed_reason_ = reason;
        if (tell_peer && reason.code != error::connection_closed) {
            st_->links_closed_on_error.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn("rpc: closing the link to node {}: {}", short_id(peer_), reason.message);
        } else {
            spdlog::debug("rpc: link to node {} down: {}", short_id(peer_), reason.message);
        }
        auto pending = std::move(pending_);
        pending_.clear();
        for (auto& [id, pc] : pending) {
            pc.timer->cancel();
            auto const code = reason.code == error::shutting_down
                                  ? reason.code
                                  : util::error_code(error::connection_closed);
            complete(std::move(pc.handler), util::failure(code, reason.message));
        }
        for (auto& [id, in] : incoming_) {
            if (in.signal) {
                in.signal->emit(net::cancellation_type::terminal);
            }
        }
        incoming_.clear();
        queue_.clear();
        if (tell_peer) {
            std::string payload;
            detail::put_u32(payload, static_cast<std::uint32_t>(reason.code.value()));
            payload += reason.message;
            std::string frame(detail::frame_header_size, '\0');
            detail::encode_frame_header({0, detail::frame_kind::goaway, detail::frame_final, 0,
                                         static_cast<std::uint32_t>(payload.size())},
                                        reinterpret_cast<unsigned char*>(frame.data()));
            goaway_ = frame + payload;
            // The writer sends it, then closes; a peer that does not read cannot hold us.
            linger_.expires_after(std::chrono::seconds(2));
            linger_.async_wait([self = shared_from_this()](util::error_code ec) {
                if (!ec) {
                    self->hard_close();
                }
            });
            wake_.cancel();
        } else {
            hard_close();
        }
        {
            std::lock_guard lock(st_->mutex);
            auto it = st_->conns.find(peer_);
            if (it != st_->conns.end() && it->second.get() == this) {
                st_->conns.erase(it);
            }
        }
        st_->notify(link_event{peer_, false, outgoing_, reason});
    }

    void hard_close()
    {
        if (socket_closed_) {
            return;
        }
        socket_closed_ = true;
        util::error_code ec;
        stream_->lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
        stream_->lowest_layer().close(ec);
        wake_.cancel();
        linger_.cancel();
    }

    std::shared_ptr<network::state> st_;
    std::unique_ptr<detail::tls_stream> stream_;
    net::any_io_executor strand_;
    util::node_id peer_;
    bool outgoing_;
    std::atomic<std::uint32_t> next_id_{1};

    net::steady_timer wake_;   // the writer sleeps on it while the queue is empty
    net::steady_timer linger_; // bounds the time spent sending a goaway
    std::map<std::uint8_t, std::deque<std::shared_ptr<out_msg>>> queue_;
    std::unordered_map<std::uint32_t, pending_call> pending_;
    std::unordered_map<std::uint32_t, incoming_request> incoming_;
    std::unordered_set<std::uint32_t> early_cancels_; // cancelled before begin_call ran
    bool closed_ = false;
    bool socket_closed_ = false;
    bool reading_ = true; // the reader coroutine is still reading
    util::failure closed_reason_;
    std::optional<std::string> goaway_;
};

net::awaitable<util::result<raw_message>> call_on(std::shared_ptr<connection> c, std::string path,
                                                  raw_message req, call_options opts)
{
    return net::async_initiate<net::use_awaitable_t<> const, call_signature>(
        [c = std::move(c)](auto handler, std::string path, raw_message req, call_options opts) {
            c->start_call(path, std::move(req), opts, call_handler(std::move(handler)));
        },
        net::use_awaitable, std::move(path), std::move(req), opts);
}

/// On the connection's strand: connect (client), handshake with a deadline, register.
net::awaitable<util::result<util::node_id>>
establish(std::shared_ptr<network::state> st, std::unique_ptr<detail::tls_stream> stream,
          detail::link_role role, std::optional<tcp::endpoint> address, std::optional<util::node_id> expected)
{
    struct guard_state {
        bool done = false;
        bool timed_out = false;
    };
    auto guard = std::make_shared<guard_state>();
    net::steady_timer timer(stream->get_executor());
    timer.expires_after(st->opts.handshake_timeout);
    timer.async_wait([guard, s = stream.get()](util::error_code ec) {
        if (!ec && !guard->done) {
            guard->timed_out = true;
            util::error_code ignored;
            s->lowest_layer().close(ignored);
        }
    });
    auto finish = [&](util::result<util::node_id> r) -> util::result<util::node_id> {
        guard->done = true;
        timer.cancel();
        if (!r && guard->timed_out) {
            return util::failure(error::handshake_timeout,
                                 "no complete handshake within " +
                                     std::to_string(st->opts.handshake_timeout.count()) + " ms");
        }
        return r;
    };
    if (address) {
        auto [ec] =
            co_await stream->lowest_layer().async_connect(*address, net::as_tuple(net::use_awaitable));
        if (ec) {
            co_return finish(util::failure(util::error::io_error,
                                           "cannot connect to " + address->address().to_string() + ":" +
                                               std::to_string(address->port()) + ": " + ec.message()));
        }
        stream->lowest_layer().set_option(tcp::no_delay(true), ec);
    }
    auto peer = finish(co_await detail::authenticate(*stream, role, st->key.id(), st->secret, expected));
    if (!peer) {
        if (role == detail::link_role::server) {
            st->links_refused.fetch_add(1, std::memory_order_relaxed);
            spdlog::info("rpc: refused an incoming link: {}", peer.error().message);
        }
        util::error_code ignored;
        stream->lowest_layer().close(ignored);
        co_return peer;
    }
    auto conn = std::make_shared<connection>(st, std::move(stream), *peer, role == detail::link_role::client);
    {
        std::lock_guard lock(st->mutex);
        if (st->stopped) {
            co_return util::failure(error::shutting_down, "the RPC network is stopping");
        }
        st->conns[*peer] = conn;
        std::erase_if(st->links, [](auto const& w) { return w.expired(); });
        st->links.push_back(conn);
    }
    if (role == detail::link_role::server) {
        st->links_accepted.fetch_add(1, std::memory_order_relaxed);
    }
    conn->start();
    st->notify(link_event{*peer, true, role == detail::link_role::client, {}});
    co_return *peer;
}

net::awaitable<void> accept_loop(std::shared_ptr<network::state> st)
{
    for (;;) {
        auto strand = net::make_strand(st->ex);
        auto [ec, sock] = co_await st->acceptor->async_accept(strand, net::as_tuple(net::use_awaitable));
        if (ec) {
            {
                std::lock_guard lock(st->mutex);
                if (st->stopped) {
                    co_return;
                }
            }
            if (ec == net::error::operation_aborted || ec == net::error::bad_descriptor) {
                co_return;
            }
            spdlog::warn("rpc: accept failed: {}", ec.message());
            net::steady_timer pause(strand, std::chrono::milliseconds(100));
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
            continue;
        }
        sock.set_option(tcp::no_delay(true), ec);
        auto stream = std::make_unique<detail::tls_stream>(std::move(sock), *st->tls);
        net::co_spawn(strand,
                      establish(st, std::move(stream), detail::link_role::server, std::nullopt, std::nullopt),
                      net::detached);
    }
}

} // namespace

// ---- network

network::network(executor_type ex, node_key key, std::string rpc_secret, network_options options)
    : state_(std::make_shared<state>(std::move(ex), std::move(key), std::move(rpc_secret), options))
{
    auto tls = detail::make_tls_context(state_->key);
    if (!tls) {
        throw util::failure_exception(tls.error()); // start-up failure
    }
    state_->tls = std::move(*tls);
}

network::~network()
{
    stop();
}

network::executor_type network::get_executor() const noexcept
{
    return state_->ex;
}

util::node_id const& network::id() const noexcept
{
    return state_->key.id();
}

network_options const& network::options() const noexcept
{
    return state_->opts;
}

util::result<tcp::endpoint> network::listen(tcp::endpoint const& bind)
{
    util::error_code ec;
    tcp::acceptor acc(state_->acceptor_strand);
    acc.open(bind.protocol(), ec);
    if (!ec) {
        acc.set_option(tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec) {
        acc.bind(bind, ec);
    }
    if (!ec) {
        acc.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return util::failure(util::error::io_error, "cannot listen on " + bind.address().to_string() + ":" +
                                                        std::to_string(bind.port()) + ": " + ec.message());
    }
    auto local = acc.local_endpoint(ec);
    state_->acceptor.emplace(std::move(acc));
    net::co_spawn(state_->acceptor_strand, accept_loop(state_), net::detached);
    return local;
}

net::awaitable<util::result<util::node_id>> network::connect(tcp::endpoint address,
                                                             std::optional<util::node_id> expected)
{
    auto st = state_;
    if (expected && is_connected(*expected)) {
        co_return *expected;
    }
    {
        std::lock_guard lock(st->mutex);
        if (st->stopped) {
            co_return util::failure(error::shutting_down, "the RPC network is stopping");
        }
    }
    auto strand = net::make_strand(st->ex);
    auto stream = std::make_unique<detail::tls_stream>(tcp::socket(strand), *st->tls);
    co_return co_await net::co_spawn(
        strand, establish(st, std::move(stream), detail::link_role::client, address, expected),
        net::use_awaitable);
}

void network::disconnect(util::node_id const& peer)
{
    std::shared_ptr<connection> c;
    {
        std::lock_guard lock(state_->mutex);
        auto it = state_->conns.find(peer);
        if (it == state_->conns.end()) {
            return;
        }
        c = it->second;
    }
    c->close_async(util::failure(error::connection_closed, "disconnected by this node"), true);
}

bool network::is_connected(util::node_id const& peer) const
{
    std::lock_guard lock(state_->mutex);
    return state_->conns.contains(peer);
}

std::vector<util::node_id> network::connected_peers() const
{
    std::lock_guard lock(state_->mutex);
    std::vector<util::node_id> out;
    out.reserve(state_->conns.size());
    for (auto const& [id, c] : state_->conns) {
        out.push_back(id);
    }
    return out;
}

void network::add_handler(std::string path, raw_handler handler)
{
    auto h = std::make_shared<raw_handler const>(std::move(handler));
    std::lock_guard lock(state_->mutex);
    state_->handlers.insert_or_assign(std::move(path), std::move(h));
}

void network::remove_handler(std::string_view path)
{
    std::lock_guard lock(state_->mutex);
    if (auto it = state_->handlers.find(path); it != state_->handlers.end()) {
        state_->handlers.erase(it);
    }
}

void network::on_link_event(std::function<void(link_event const&)> observer)
{
    auto obs = std::make_shared<std::function<void(link_event const&)>>(std::move(observer));
    std::lock_guard lock(state_->mutex);
    state_->observer = std::move(obs);
}

net::awaitable<util::result<raw_message>> network::call(util::node_id peer, std::string path,
                                                        raw_message request, call_options options)
{
    if (path.size() > 255) {
        co_return util::failure(error::protocol_error, "endpoint path longer than 255 bytes");
    }
    if (peer == id()) {
        auto handler = state_->find_handler(path);
        if (!handler) {
            co_return util::failure(error::no_such_endpoint, "no RPC endpoint \"" + path + "\" on this node");
        }
        try {
            co_return co_await (*handler)(peer, std::move(request));
        } catch (std::exception const& e) {
            co_return util::failure(error::handler_failed, e.what());
        }
    }
    std::shared_ptr<connection> c;
    {
        std::lock_guard lock(state_->mutex);
        if (state_->stopped) {
            co_return util::failure(error::shutting_down, "the RPC network is stopping");
        }
        auto it = state_->conns.find(peer);
        if (it != state_->conns.end()) {
            c = it->second;
        }
    }
    if (!c) {
        co_return util::failure(error::not_connected, "not connected to node " + short_id(peer));
    }
    co_return co_await call_on(std::move(c), std::move(path), std::move(request), options);
}

network_stats network::stats() const
{
    network_stats s;
    s.links_accepted = state_->links_accepted.load(std::memory_order_relaxed);
    s.links_refused = state_->links_refused.load(std::memory_order_relaxed);
    s.requests_handled = state_->requests_handled.load(std::memory_order_relaxed);
    s.links_closed_on_error = state_->links_closed_on_error.load(std::memory_order_relaxed);
    s.frames_sent = state_->frames_sent.load(std::memory_order_relaxed);
    s.writes = state_->writes.load(std::memory_order_relaxed);
    return s;
}

void network::stop()
{
    std::vector<std::shared_ptr<connection>> all;
    {
        std::lock_guard lock(state_->mutex);
        if (state_->stopped) {
            return;
        }
        state_->stopped = true;
        for (auto& w : state_->links) {
            if (auto c = w.lock()) {
                all.push_back(std::move(c));
            }
        }
        state_->links.clear();
        state_->conns.clear();
        state_->handlers.clear();
        state_->observer.reset();
    }
    if (state_->acceptor) {
        net::post(state_->acceptor_strand, [st = state_] {
            util::error_code ec;
            st->acceptor->close(ec);
        });
    }
    for (auto& c : all) {
        c->close_async(util::failure(error::shutting_down, "the RPC network is stopping"), false);
    }
}

} // namespace garage::rpc
