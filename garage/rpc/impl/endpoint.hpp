#pragma once

#include <garage/rpc/detail/typed.hpp>

namespace garage::rpc {

template <endpoint E>
boost::asio::awaitable<util::result<typename E::response_type>>
call(network& net, util::node_id peer, typename E::request_type request, call_options options)
{
    using response_type = typename E::response_type;
    raw_message raw;
    raw.version = message_version<typename E::request_type>();
    raw.message = util::encode(request);
    auto r = co_await net.call(peer, std::string(E::path), std::move(raw), options);
    if (!r) {
        co_return r.error();
    }
    co_return detail::decode_message<response_type>(*r, E::path);
}

template <endpoint E>
boost::asio::awaitable<util::result<with_body<typename E::response_type>>>
call_with_body(network& net, util::node_id peer, with_body<typename E::request_type> request,
               call_options options)
{
    using response_type = typename E::response_type;
    raw_message raw;
    raw.version = message_version<typename E::request_type>();
    raw.message = util::encode(request.message);
    raw.body = std::move(request.body);
    auto r = co_await net.call(peer, std::string(E::path), std::move(raw), options);
    if (!r) {
        co_return r.error();
    }
    auto m = detail::decode_message<response_type>(*r, E::path);
    if (!m) {
        co_return m.error();
    }
    co_return with_body<response_type>{std::move(*m), std::move(r->body)};
}

template <endpoint E, class Handler>
requires plain_handler_for<Handler, E> || body_handler_for<Handler, E>
void serve(network& net, Handler handler)
{
    using request_type = typename E::request_type;
    using response_type = typename E::response_type;
    net.add_handler(std::string(E::path),
                    [h = std::move(handler)](util::node_id from, raw_message raw)
                        -> boost::asio::awaitable<util::result<raw_message>> {
                        // The closure lives in the network (a shared, immutable handler), not on the
                        // coroutine frame's caller, so capturing `h` is safe here.
                        auto req = detail::decode_message<request_type>(raw, E::path);
                        if (!req) {
                            co_return req.error();
                        }
                        raw_message out;
                        out.version = message_version<response_type>();
                        if constexpr (plain_handler_for<Handler, E>) {
                            auto r = co_await h(from, std::move(*req));
                            if (!r) {
                                co_return r.error();
                            }
                            out.message = util::encode(*r);
                        } else {
                            // A named argument, not a braced temporary inside the co_await expression: g++ 12
                            // destroys such aggregate temporaries twice.
                            with_body<request_type> arg{std::move(*req), std::move(raw.body)};
                            auto r = co_await h(from, std::move(arg));
                            if (!r) {
                                co_return r.error();
                            }
                            out.message = util::encode(r->message);
                            out.body = std::move(r->body);
                        }
                        co_return out;
                    });
}

} // namespace garage::rpc
