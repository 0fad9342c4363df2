#include <garage/api/http/server.hpp>

#include <garage/util/encoding.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <random>
#include <set>

#include <sys/un.h>

namespace garage::api::http {

namespace beast = boost::beast;
using tcp = net::ip::tcp;
using unix_protocol = net::local::stream_protocol;

namespace {

class http_category_impl final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "garage.http"; }
    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::body_too_large:
            return "request body too large";
        case error::bad_request:
            return "malformed HTTP request";
        case error::connection_closed:
            return "connection closed by peer";
        case error::response_state:
            return "response calls out of order";
        case error::listen_failed:
            return "cannot listen on address";
        }
        return "unknown HTTP error";
    }
    boost::system::error_condition default_error_condition(int ev) const noexcept override
    {
        switch (static_cast<error>(ev)) {
        case error::body_too_large:
        case error::bad_request:
            return util::condition::bad_request;
        case error::connection_closed:
            return util::condition::unavailable;
        case error::response_state:
            return util::condition::internal;
        case error::listen_failed:
            return util::condition::io_error;
        }
        return util::condition::internal;
    }
};

} // namespace

boost::system::error_category const& http_category() noexcept
{
    static http_category_impl const instance;
    return instance;
}

net::awaitable<util::result<std::string>> exchange::read_all(std::size_t limit)
{
    std::string out;
    char buf[64 * 1024];
    for (;;) {
        auto n = co_await read_some(std::span<char>(buf, sizeof buf));
        if (!n) {
            co_return n.error();
        }
        if (*n == 0) {
            co_return out;
        }
        if (out.size() + *n > limit) {
            co_return util::failure(error::body_too_large,
                                    "request body larger than " + std::to_string(limit) + " bytes");
        }
        out.append(buf, *n);
    }
}

namespace {

/// What the server needs of a connection to stop it.
struct connection_base {
    virtual ~connection_base() = default;
    virtual void close() = 0;
    std::atomic<bool> idle{true};
};

} // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
    net::any_io_executor ex;
    handler handle;
    server_options options;
    std::optional<tcp::acceptor> tcp_acceptor;
    std::optional<unix_protocol::acceptor> unix_acceptor;
    std::atomic<bool> stopping{false};
    std::uint32_t id_prefix = std::random_device{}();
    std::atomic<std::uint64_t> next_id{0};

    mutable std::mutex mutex;
    std::set<std::shared_ptr<connection_base>> live;
    std::function<void()> on_drained;

    impl(net::any_io_executor e, handler h, server_options o)
        : ex(std::move(e)), handle(std::move(h)), options(std::move(o))
    {
    }

    std::string make_request_id()
    {
        char buf[32];
        auto const n = next_id.fetch_add(1, std::memory_order_relaxed);
        std::snprintf(buf, sizeof buf, "%08x%08llx", id_prefix, static_cast<unsigned long long>(n));
        return buf;
    }

    void add(std::shared_ptr<connection_base> c)
    {
        std::lock_guard lock(mutex);
        live.insert(std::move(c));
    }

    void remove(connection_base* c)
    {
        std::function<void()> done;
        {
            std::lock_guard lock(mutex);
            for (auto it = live.begin(); it != live.end(); ++it) {
                if (it->get() == c) {
                    live.erase(it);
                    break;
                }
            }
            if (stopping && live.empty() && on_drained) {
                done = std::move(on_drained);
            }
        }
        if (done) {
            net::post(ex, std::move(done));
        }
    }

    template <class Protocol>
    net::awaitable<void> accept_loop(typename Protocol::acceptor& acceptor);
};

namespace {

template <class Protocol>
class connection final : public connection_base, public std::enable_shared_from_this<connection<Protocol>> {
public:
    using stream_type = beast::basic_stream<Protocol, net::any_io_executor, beast::unlimited_rate_policy>;

    connection(std::shared_ptr<server::impl> srv, typename Protocol::socket socket, std::string remote)
        : server_(std::move(srv)), stream_(std::move(socket)), remote_(std::move(remote))
    {
    }

    void close() override
    {
        net::post(stream_.get_executor(), [self = this->shared_from_this()] {
            beast::error_code ec;
            self->stream_.socket().shutdown(Protocol::socket::shutdown_both, ec);
            self->stream_.close();
        });
    }

    static net::awaitable<void> run(std::shared_ptr<connection> self);

private:
    class exchange_impl;

    net::awaitable<bool> serve_one();
    net::awaitable<void> send_simple(beast_http::status status, bool close_after);

    std::shared_ptr<server::impl> server_;
    stream_type stream_;
    std::string remote_;
    beast::flat_buffer buffer_;
};

template <class Protocol>
class connection<Protocol>::exchange_impl final : public exchange {
    /// The free space a body read asks of the connection's buffer.
    static constexpr std::size_t body_read_size = 64 * 1024;

public:
    using parser_type = beast_http::request_parser<beast_http::buffer_body>;

    exchange_impl(connection& c, parser_type& parser, std::string id)
        : conn_(c), parser_(parser), id_(std::move(id))
    {
    }

    request_header const& request() const noexcept override { return parser_.get().base(); }
    std::string const& request_id() const noexcept override { return id_; }
    std::string const& remote() const noexcept override { return conn_.remote_; }

    net::awaitable<util::result<std::size_t>> read_some(std::span<char> buf) override
    {
        if (parser_.is_done() || buf.empty()) {
            co_return std::size_t(0);
        }
        if (auto r = co_await send_continue(); !r) {
            co_return r.error();
        }
        auto& body = parser_.get().body();
        body.data = buf.data();
        body.size = buf.size();
        // Beast reads at most the buffer's free capacity (at least 512 bytes) per call: after a
        // small header that is ~1 KiB, so a body would arrive in 1 KiB recv calls. Reading 64 KiB
        // at a time cuts the syscalls and wake-ups of a large body 64-fold.
        if (conn_.buffer_.capacity() - conn_.buffer_.size() < body_read_size) {
            conn_.buffer_.reserve(conn_.buffer_.size() + body_read_size);
        }
        conn_.stream_.expires_after(conn_.server_->options.idle_timeout);
        auto [ec, n] = co_await beast_http::async_read(conn_.stream_, conn_.buffer_, parser_,
                                                       net::as_tuple(net::use_awaitable));
        if (ec == beast_http::error::need_buffer) {
            ec = {};
        }
        std::size_t const got = buf.size() - body.size;
        body.data = nullptr;
        body.size = 0;
        if (ec) {
            broken_ = true;
            if (ec == beast_http::error::partial_message || ec == net::error::eof ||
                ec == net::error::connection_reset || ec == beast::error::timeout) {
                co_return util::failure(error::connection_closed, "request body: " + ec.message());
            }
            co_return util::failure(error::bad_request, "request body: " + ec.message());
        }
        co_return got;
    }

    net::awaitable<util::result<void>> respond(string_response response) override
    {
        if (started_) {
            co_return util::failure(error::response_state, "response already started");
        }
        response_header h = std::move(response.base());
        if (h.find(beast_http::field::content_length) == h.end()) {
            h.set(beast_http::field::content_length, std::to_string(response.body().size()));
        }
        if (auto r = co_await write_header(std::move(h)); !r) {
            co_return r;
        }
        co_return co_await write_body(response.body(), true);
    }

    net::awaitable<util::result<void>> write_header(response_header header) override
    {
        if (started_) {
            co_return util::failure(error::response_state, "response header already sent");
        }
        started_ = true;
        res_.base() = std::move(header);
        res_.version(11);
        // A final answer before the client was told to send its body: the client may send the
        // body anyway or not at all (RFC 9110 §10.1.1), so the connection cannot be reused.
        res_.keep_alive(parser_.get().keep_alive() && !conn_.server_->stopping && !awaiting_continue());
        if (res_.find(beast_http::field::server) == res_.end()) {
            res_.set(beast_http::field::server, conn_.server_->options.server_name);
        }
        head_only_ = parser_.get().method() == beast_http::verb::head ||
                     res_.result() == beast_http::status::no_content ||
                     res_.result() == beast_http::status::not_modified;
        res_.body().data = nullptr;
        res_.body().size = 0;
        res_.body().more = !head_only_;
        sr_.emplace(res_);
        conn_.stream_.expires_after(conn_.server_->options.idle_timeout);
        auto [ec, n] =
            co_await beast_http::async_write_header(conn_.stream_, *sr_, net::as_tuple(net::use_awaitable));
        if (ec) {
            broken_ = true;
            co_return util::failure(error::connection_closed, "response header: " + ec.message());
        }
        if (head_only_) {
            finished_ = true;
        }
        co_return util::result<void>();
    }

    net::awaitable<util::result<void>> write_body(std::string_view data, bool last) override
    {
        if (!started_ || finished_) {
            if (finished_ && head_only_) {
                co_return util::result<void>(); // HEAD, 204 and 304 carry no body
            }
            co_return util::failure(error::response_state, started_ ? "response already complete"
                                                                    : "response body before its header");
        }
        if (data.empty() && !last) {
            co_return util::result<void>();
        }
        res_.body().data = const_cast<char*>(data.data());
        res_.body().size = data.size();
        res_.body().more = !last;
        conn_.stream_.expires_after(conn_.server_->options.idle_timeout);
        auto [ec, n] =
            co_await beast_http::async_write(conn_.stream_, *sr_, net::as_tuple(net::use_awaitable));
        if (ec == beast_http::error::need_buffer) {
            ec = {};
        }
        if (ec) {
            broken_ = true;
            co_return util::failure(error::connection_closed, "response body: " + ec.message());
        }
        sent_ += data.size();
        if (last) {
            finished_ = true;
        }
        co_return util::result<void>();
    }

    bool response_started() const noexcept override { return started_; }
    std::uint64_t body_bytes_sent() const noexcept override { return sent_; }
    bool finished() const noexcept { return finished_; }
    bool broken() const noexcept { return broken_; }
    bool keep_alive() const noexcept { return res_.keep_alive(); }

    /// Whether the client waits for `100 Continue` before sending a body not read yet.
    bool awaiting_continue() const
    {
        if (continue_sent_ || parser_.is_done()) {
            return false;
        }
        auto it = parser_.get().find(beast_http::field::expect);
        return it != parser_.get().end() && beast::iequals(it->value(), "100-continue");
    }

private:
    net::awaitable<util::result<void>> send_continue()
    {
        if (continue_sent_) {
            co_return util::result<void>();
        }
        continue_sent_ = true;
        auto it = parser_.get().find(beast_http::field::expect);
        if (it == parser_.get().end() || !beast::iequals(it->value(), "100-continue")) {
            co_return util::result<void>();
        }
        static constexpr std::string_view msg = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [ec, n] = co_await net::async_write(conn_.stream_, net::buffer(msg.data(), msg.size()),
                                                 net::as_tuple(net::use_awaitable));
        if (ec) {
            broken_ = true;
            co_return util::failure(error::connection_closed, "100-continue: " + ec.message());
        }
        co_return util::result<void>();
    }

    connection& conn_;
    parser_type& parser_;
    std::string id_;
    beast_http::response<beast_http::buffer_body> res_;
    std::optional<beast_http::response_serializer<beast_http::buffer_body>> sr_;
    bool started_ = false;
    bool finished_ = false;
    bool broken_ = false;
    bool head_only_ = false;
    bool continue_sent_ = false;
    std::uint64_t sent_ = 0;
};

template <class Protocol>
net::awaitable<void> connection<Protocol>::send_simple(beast_http::status status, bool close_after)
{
    beast_http::response<beast_http::string_body> res{status, 11};
    res.set(beast_http::field::server, server_->options.server_name);
    res.set(beast_http::field::content_type, "text/plain");
    res.body() = std::string(beast_http::obsolete_reason(status)) + "\n";
    res.keep_alive(!close_after);
    res.prepare_payload();
    stream_.expires_after(server_->options.idle_timeout);
    co_await beast_http::async_write(stream_, res, net::as_tuple(net::use_awaitable));
}

/// Serves one request; returns whether the connection may serve another.
template <class Protocol>
net::awaitable<bool> connection<Protocol>::serve_one()
{
    typename exchange_impl::parser_type parser;
    parser.header_limit(static_cast<std::uint32_t>(server_->options.header_limit));
    parser.body_limit(boost::none); // bodies are streamed; handlers set their own limits
    idle = true;
    stream_.expires_after(server_->options.idle_timeout);
    auto [ec, n] =
        co_await beast_http::async_read_header(stream_, buffer_, parser, net::as_tuple(net::use_awaitable));
    idle = false;
    if (ec) {
        if (ec == beast_http::error::header_limit) {
            co_await send_simple(beast_http::status::request_header_fields_too_large, true);
        } else if (ec != beast_http::error::end_of_stream && ec != net::error::eof &&
                   ec != beast::error::timeout && ec != net::error::operation_aborted &&
                   ec != net::error::connection_reset && ec != net::error::bad_descriptor) {
            co_await send_simple(beast_http::status::bad_request, true);
        }
        co_return false;
    }
    if (server_->stopping) {
        co_await send_simple(beast_http::status::service_unavailable, true);
        co_return false;
    }
    exchange_impl ex(*this, parser, server_->make_request_id());
    try {
        co_await server_->handle(ex);
    } catch (std::exception const& e) {
        spdlog::error("http: handler for {} {} failed: {}", std::string(parser.get().method_string()),
                      std::string(parser.get().target()), e.what());
    }
    if (ex.broken()) {
        co_return false;
    }
    if (!ex.response_started()) {
        co_await send_simple(beast_http::status::internal_server_error, true);
        co_return false;
    }
    if (!ex.finished()) {
        co_return false; // a truncated body: closing tells the client
    }
    if (!parser.is_done()) {
        if (!ex.keep_alive()) {
            co_return false; // e.g. answered before `100 Continue`: the body may never come
        }
        // Skip a small unread body to keep the connection; close on a large one.
        char sink[8192];
        std::size_t skipped = 0;
        while (!parser.is_done() && skipped < (1 << 20)) {
            auto got = co_await ex.read_some(std::span<char>(sink, sizeof sink));
            if (!got || *got == 0) {
                co_return false;
            }
            skipped += *got;
        }
        if (!parser.is_done()) {
            co_return false;
        }
    }
    co_return ex.keep_alive() && !server_->stopping;
}

template <class Protocol>
net::awaitable<void> connection<Protocol>::run(std::shared_ptr<connection> self)
{
    try {
        while (co_await self->serve_one()) {
        }
    } catch (std::exception const& e) {
        spdlog::debug("http: connection from {} ended: {}", self->remote_, e.what());
    }
    beast::error_code ec;
    self->stream_.socket().shutdown(Protocol::socket::shutdown_both, ec);
    self->stream_.close();
    self->server_->remove(self.get());
}

std::string describe(tcp::endpoint const& ep)
{
    auto addr = ep.address();
    return (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) + ":" + std::to_string(ep.port());
}

std::string describe(unix_protocol::endpoint const& ep)
{
    return ep.path().empty() ? std::string("unix") : ep.path();
}

} // namespace

template <class Protocol>
net::awaitable<void> server::impl::accept_loop(typename Protocol::acceptor& acceptor)
{
    auto self = shared_from_this();
    while (!stopping) {
        auto strand = net::make_strand(ex);
        auto [ec, socket] = co_await acceptor.async_accept(strand, net::as_tuple(net::use_awaitable));
        if (ec) {
            if (stopping || ec == net::error::operation_aborted) {
                break;
            }
            spdlog::warn("http: accept failed: {}", ec.message());
            net::steady_timer t(ex, std::chrono::milliseconds(100)); // e.g. out of file descriptors
            co_await t.async_wait(net::as_tuple(net::use_awaitable));
            continue;
        }
        if constexpr (std::is_same_v<Protocol, tcp>) {
            socket.set_option(tcp::no_delay(true), ec);
        }
        boost::system::error_code rec;
        auto const remote = describe(socket.remote_endpoint(rec));
        auto c = std::make_shared<connection<Protocol>>(self, std::move(socket), remote);
        add(c);
        net::co_spawn(strand, connection<Protocol>::run(c), net::detached);
    }
}

server::server(net::any_io_executor ex, handler h, server_options options)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(h), std::move(options)))
{
}

server::~server()
{
    impl_->stopping = true;
    boost::system::error_code ec;
    if (impl_->tcp_acceptor) {
        impl_->tcp_acceptor->close(ec);
    }
    if (impl_->unix_acceptor) {
        impl_->unix_acceptor->close(ec);
    }
    std::lock_guard lock(impl_->mutex);
    for (auto const& c : impl_->live) {
        c->close();
    }
}

util::result<void> server::listen(listen_address const& address)
{
    boost::system::error_code ec;
    auto fail = [&](std::string const& where) {
        return util::failure(error::listen_failed, "cannot listen on " + where + ": " + ec.message());
    };
    if (auto const* t = std::get_if<tcp_address>(&address)) {
        auto const addr = net::ip::make_address(t->host, ec);
        std::string const where = t->host + ":" + std::to_string(t->port);
        if (ec) {
            return fail(where);
        }
        tcp::endpoint ep(addr, t->port);
        tcp::acceptor a(impl_->ex);
        a.open(ep.protocol(), ec);
        if (!ec) {
            a.set_option(net::socket_base::reuse_address(true), ec);
        }
        if (!ec && addr.is_v6()) {
            a.set_option(net::ip::v6_only(false), ec); // `[::]` also takes IPv4, as Garage's default
            ec = {};
        }
        if (!ec) {
            a.bind(ep, ec);
        }
        if (!ec) {
            a.listen(net::socket_base::max_listen_connections, ec);
        }
        if (ec) {
            return fail(where);
        }
        impl_->tcp_acceptor.emplace(std::move(a));
        return {};
    }
    auto const& path = std::get<std::filesystem::path>(address);
    std::error_code fec;
    std::filesystem::remove(path, fec); // a stale socket from a previous run
    if (path.string().size() >= sizeof(sockaddr_un{}.sun_path)) {
        return util::failure(error::listen_failed, "cannot listen on " + path.string() +
                                                       ": a Unix socket path must be shorter than " +
                                                       std::to_string(sizeof(sockaddr_un{}.sun_path)) +
                                                       " bytes");
    }
    unix_protocol::acceptor a(impl_->ex);
    unix_protocol::endpoint ep(path.string());
    a.open(ep.protocol(), ec);
    if (!ec) {
        a.bind(ep, ec);
    }
    if (!ec) {
        a.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return fail(path.string());
    }
    impl_->unix_acceptor.emplace(std::move(a));
    return {};
}

std::uint16_t server::port() const noexcept
{
    boost::system::error_code ec;
    return impl_->tcp_acceptor ? impl_->tcp_acceptor->local_endpoint(ec).port() : 0;
}

void server::start()
{
    if (impl_->tcp_acceptor) {
        net::co_spawn(impl_->ex, impl_->accept_loop<tcp>(*impl_->tcp_acceptor), net::detached);
    }
    if (impl_->unix_acceptor) {
        net::co_spawn(impl_->ex, impl_->accept_loop<unix_protocol>(*impl_->unix_acceptor), net::detached);
    }
}

void server::stop(std::function<void()> done)
{
    auto self = impl_;
    self->stopping = true;
    net::post(self->ex, [self] {
        boost::system::error_code ec;
        if (self->tcp_acceptor) {
            self->tcp_acceptor->close(ec);
        }
        if (self->unix_acceptor) {
            self->unix_acceptor->close(ec);
        }
    });
    std::vector<std::shared_ptr<connection_base>> busy;
    {
        std::lock_guard lock(self->mutex);
        if (self->live.empty()) {
            if (done) {
                net::post(self->ex, std::move(done));
            }
            return;
        }
        self->on_drained = std::move(done);
        for (auto const& c : self->live) {
            if (c->idle) {
                c->close();
            } else {
                busy.push_back(c);
            }
        }
    }
    if (!busy.empty()) {
        auto timer = std::make_shared<net::steady_timer>(self->ex, self->options.drain_timeout);
        timer->async_wait([self, timer](boost::system::error_code) {
            std::lock_guard lock(self->mutex);
            for (auto const& c : self->live) {
                c->close();
            }
        });
    }
}

std::size_t server::connections() const noexcept
{
    std::lock_guard lock(impl_->mutex);
    return impl_->live.size();
}

} // namespace garage::api::http
