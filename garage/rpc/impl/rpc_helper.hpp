#pragma once

namespace garage::rpc {
namespace detail {

template <class M>
util::result<quorum_responses<M>> decode_all(quorum_responses<raw_message> const& raw, std::string_view path)
{
    quorum_responses<M> out;
    out.reserve(raw.size());
    for (auto const& [node, msg] : raw) {
        auto m = decode_message<M>(msg, path);
        if (!m) {
            return util::failure(m.error().code,
                                 "node " + node.to_hex().substr(0, 16) + ": " + m.error().message);
        }
        out.emplace_back(node, std::move(*m));
    }
    return out;
}

template <class M>
raw_message encode_request(M const& request)
{
    raw_message raw;
    raw.version = message_version<M>();
    raw.message = util::encode(request);
    return raw;
}

} // namespace detail

template <endpoint E>
boost::asio::awaitable<util::result<quorum_responses<typename E::response_type>>>
rpc_helper::try_call_many(std::vector<util::node_id> nodes, typename E::request_type request,
                          request_strategy strategy)
{
    auto raw = detail::encode_request(request);
    auto r = co_await raw_try_call_many(std::move(nodes), std::string(E::path), std::move(raw), strategy);
    if (!r) {
        co_return r.error();
    }
    co_return detail::decode_all<typename E::response_type>(*r, E::path);
}

template <endpoint E>
boost::asio::awaitable<util::result<quorum_responses<typename E::response_type>>>
rpc_helper::try_write_many_sets(std::vector<std::vector<util::node_id>> write_sets,
                                typename E::request_type request, request_strategy strategy)
{
    auto raw = detail::encode_request(request);
    auto const done = strategy.already_done;
    auto r = co_await raw_try_write_many_sets(std::move(write_sets), std::string(E::path), std::move(raw),
                                              std::move(strategy));
    if (!r) {
        co_return r.error();
    }
    // the nodes that already held the write answered nothing to decode
    std::erase_if(
        *r, [&done](auto const& p) { return std::find(done.begin(), done.end(), p.first) != done.end(); });
    co_return detail::decode_all<typename E::response_type>(*r, E::path);
}

} // namespace garage::rpc
