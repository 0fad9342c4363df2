#pragma once
// The dispatcher and the handlers of k2v_api_server.

#include <garage/api/k2v/api_server.hpp>
#include <garage/api/k2v/detail/common.hpp>
#include <garage/api/k2v/json.hpp>
#include <garage/api/s3/detail/common.hpp>
#include <garage/api/s3/impl/cors.hpp>
#include <garage/model/helper.hpp>
#include <garage/model/k2v.hpp>
#include <garage/model/k2v_causality.hpp>
#include <garage/model/k2v_seen.hpp>
#include <garage/util/encoding.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <optional>

namespace garage::api::k2v {

namespace detail {

namespace net = boost::asio;

/// The longest sort key: a storage key is the 32-byte partition hash and the sort key.
inline constexpr std::size_t max_sort_key_bytes = storage::max_key_size - 32;

/// The header carrying causality tokens.
inline constexpr std::string_view causality_header = "X-Garage-Causality-Token";

/// Sends a complete response.
inline net::awaitable<void> send(http::exchange& ex, unsigned status, std::string body, std::string_view type,
                                 std::optional<std::string> token = std::nullopt)
{
    s3::detail::header_pairs extra;
    if (token) {
        extra.emplace_back(std::string(causality_header), std::move(*token));
    }
    co_await s3::detail::send(ex, status, std::move(body), extra, type);
}

/// Sends a JSON value.
inline net::awaitable<void> send_json(http::exchange& ex, boost::json::value const& v)
{
    co_await send(ex, 200, boost::json::serialize(v), "application/json");
}

/// Parses a causality token or fails with `CausalityToken`.
inline model::causal_context parse_token(std::string_view s)
{
    auto ct = model::causal_context::parse(s);
    if (!ct) {
        fail(k2v_error::invalid_causality_token());
    }
    return std::move(*ct);
}

/// The causality token of the request's header, if any.
template <class Ctx>
std::optional<model::causal_context> header_token(Ctx const& c)
{
    auto h = c.header(causality_header);
    if (!h) {
        return std::nullopt;
    }
    return parse_token(*h);
}

/// Reads the (checked) request body, at most `max_body_bytes`.
template <class Ctx>
net::awaitable<std::string> read_body(Ctx& c)
{
    co_return co_await s3::detail::read_small_body(c.ex, c.headers, c.auth, c.settings.max_body_bytes);
}

/// Refuses sort keys longer than the storage allows (reference §1.19: 479 bytes).
inline void check_sort_key(std::string const& sk)
{
    if (sk.size() > max_sort_key_bytes) {
        fail(k2v_error::bad_request("Sort key too long (" + std::to_string(sk.size()) + " bytes; at most " +
                                    std::to_string(max_sort_key_bytes) + ")"));
    }
}

/// Applies writes (on the blocking executor, with other requests' writes).
template <class Ctx>
net::awaitable<void> apply(Ctx& c, std::vector<model::k2v_insert> ws)
{
    for (auto const& w : ws) {
        check_sort_key(w.sort_key);
    }
    check(co_await c.writes.insert(std::move(ws)));
}

/// Answers with an item as `format` says (ReadItem, PollItem).
inline net::awaitable<void> send_item(http::exchange& ex, model::k2v_item const& item, return_format format)
{
    auto const vals = item.values();
    if (vals.empty()) {
        fail(k2v_error::no_such_key());
    }
    auto ct = item.context().serialize();
    if (format == return_format::binary && vals.size() > 1) {
        co_await send(ex, 409, {}, {}, std::move(ct));
        co_return;
    }
    if (format != return_format::json && vals.size() == 1) {
        if (!*vals[0]) {
            co_await send(ex, 204, {}, "application/octet-stream", std::move(ct));
        } else {
            co_await send(ex, 200, **vals[0], "application/octet-stream", std::move(ct));
        }
        co_return;
    }
    co_await send(ex, 200, boost::json::serialize(values_json(item)), "application/json", std::move(ct));
}

template <class Ctx>
model::k2v_item_partition partition_of(Ctx const& c, std::string pk)
{
    return {c.bucket_id, std::move(pk)};
}

template <class Ctx>
net::awaitable<void> handle_read_item(Ctx& c)
{
    auto const format = parse_accept(c.header("accept"));
    auto item = value_or_fail(c.k2v.get(partition_of(c, c.r.partition_key), c.r.sort_key));
    if (!item) {
        fail(k2v_error::no_such_key());
    }
    co_await send_item(c.ex, *item, format);
}

template <class Ctx>
net::awaitable<void> handle_poll_item(Ctx& c)
{
    auto const format = parse_accept(c.header("accept"));
    auto const seen = model::causal_context::parse(*c.r.causality_token);
    if (!seen) {
        fail(k2v_error::bad_request("Invalid causality token"));
    }
    auto const secs = std::clamp<std::uint64_t>(c.r.timeout.value_or(300), 1, 600);
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(secs);
    auto const part = partition_of(c, c.r.partition_key);
    // Subscribe before reading: a write between the read and the wait still wakes us.
    auto sub = c.k2v.subscriptions().subscribe_item(part, c.r.sort_key, co_await net::this_coro::executor);
    auto cur = value_or_fail(c.k2v.get(part, c.r.sort_key));
    model::k2v_item item = cur ? std::move(*cur) : model::k2v_item(part, c.r.sort_key);
    while (!item.context().is_newer_than(*seen)) {
        auto next = co_await sub.next(deadline);
        if (!next) {
            co_await send(c.ex, 304, {}, {});
            co_return;
        }
        item = std::move(*next);
    }
    co_await send_item(c.ex, item, format);
}

template <class Ctx>
net::awaitable<void> handle_insert_item(Ctx& c, bool del)
{
    auto token = header_token(c);
    model::dvvs_value value;
    if (!del) {
        value = co_await read_body(c);
    }
    std::vector<model::k2v_insert> ws;
    ws.push_back({partition_of(c, c.r.partition_key), c.r.sort_key, std::move(token), std::move(value)});
    co_await apply(c, std::move(ws));
    co_await send(c.ex, 204, {}, {});
}

template <class Ctx>
net::awaitable<void> handle_read_index(Ctx& c)
{
    auto res =
        read_range(c.k2v.counter().counter_table(), c.bucket_id, c.r.prefix, c.r.start, c.r.end, c.r.limit,
                   std::optional<model::deleted_filter>(model::deleted_filter::not_deleted), c.r.reverse);
    boost::json::array pks;
    for (auto const& e : res.entries) {
        boost::json::object o;
        o["pk"] = e.sk;
        for (auto name : {model::k2v_index_counter::entries, model::k2v_index_counter::conflicts,
                          model::k2v_index_counter::values, model::k2v_index_counter::bytes}) {
            o[name] = e.get(name).value_or(0);
        }
        pks.push_back(std::move(o));
    }
    boost::json::object out;
    out["prefix"] = opt_json(c.r.prefix);
    out["start"] = opt_json(c.r.start);
    out["end"] = opt_json(c.r.end);
    out["limit"] = c.r.limit ? boost::json::value(*c.r.limit) : boost::json::value(nullptr);
    out["reverse"] = c.r.reverse;
    out["partitionKeys"] = std::move(pks);
    out["more"] = res.more;
    out["nextStart"] = opt_json(res.next_start);
    co_await send_json(c.ex, out);
}

template <class Ctx>
void check_batch_size(Ctx const& c, std::size_t n)
{
    if (n > c.settings.max_batch_items) {
        fail(k2v_error::bad_request("Batch of " + std::to_string(n) + " entries exceeds the limit of " +
                                    std::to_string(c.settings.max_batch_items)));
    }
}

template <class Ctx>
net::awaitable<void> handle_insert_batch(Ctx& c)
{
    auto const body = co_await read_body(c);
    auto items = value_or_bad_request(parse_insert_batch(body));
    check_batch_size(c, items.size());
    std::vector<model::k2v_insert> ws;
    ws.reserve(items.size());
    for (auto& it : items) {
        std::optional<model::causal_context> ct;
        if (it.ct) {
            ct = parse_token(*it.ct);
        }
        model::dvvs_value v;
        if (it.v) {
            auto bytes = util::from_base64(*it.v);
            if (!bytes) {
                fail(k2v_error::invalid_base64(bytes.error().message));
            }
            v = std::move(*bytes);
        }
        ws.push_back({partition_of(c, std::move(it.pk)), std::move(it.sk), std::move(ct), std::move(v)});
    }
    co_await apply(c, std::move(ws));
    co_await send(c.ex, 204, {}, {});
}

template <class Ctx>
net::awaitable<void> handle_read_batch(Ctx& c)
{
    auto const body = co_await read_body(c);
    auto queries = value_or_bad_request(parse_read_batch(body));
    check_batch_size(c, queries.size());
    boost::json::array out;
    for (auto const& q : queries) {
        auto const part = partition_of(c, q.partition_key);
        model::k2v_item_filter const filter{!q.tombstones, q.conflicts_only};
        boost::json::array items;
        range_result<model::k2v_item> res;
        if (q.single_item) {
            if (q.prefix || q.end || q.limit || q.reverse) {
                fail(k2v_error::bad_request(
                    "Batch query parameters 'prefix', 'end', 'limit' and 'reverse' must "
                    "not be set when singleItem is true."));
            }
            if (!q.start) {
                fail(k2v_error::bad_request("start should be specified if single_item is set"));
            }
            auto item = value_or_fail(c.k2v.get(part, *q.start));
            if (item && model::matches(*item, filter)) {
                res.entries.push_back(std::move(*item));
            }
        } else {
            res = read_range(c.k2v.item_table(), part, q.prefix, q.start, q.end, q.limit,
                             std::optional<model::k2v_item_filter>(filter), q.reverse);
        }
        for (auto const& i : res.entries) {
            items.push_back(item_json(i));
        }
        boost::json::object o;
        o["partitionKey"] = q.partition_key;
        o["prefix"] = opt_json(q.prefix);
        o["start"] = opt_json(q.start);
        o["end"] = opt_json(q.end);
        o["limit"] = q.limit ? boost::json::value(*q.limit) : boost::json::value(nullptr);
        o["reverse"] = q.reverse;
        o["singleItem"] = q.single_item;
        o["conflictsOnly"] = q.conflicts_only;
        o["tombstones"] = q.tombstones;
        o["items"] = std::move(items);
        o["more"] = res.more;
        o["nextStart"] = opt_json(res.next_start);
        out.push_back(std::move(o));
    }
    co_await send_json(c.ex, out);
}

template <class Ctx>
net::awaitable<void> handle_delete_batch(Ctx& c)
{
    auto const body = co_await read_body(c);
    auto queries = value_or_bad_request(parse_delete_batch(body));
    check_batch_size(c, queries.size());
    boost::json::array out;
    model::k2v_item_filter const live{true, false};
    for (auto const& q : queries) {
        auto const part = partition_of(c, q.partition_key);
        std::vector<model::k2v_insert> ws;
        if (q.single_item) {
            if (q.prefix || q.end) {
                fail(k2v_error::bad_request(
                    "Batch query parameters 'prefix' and 'end' must not be set when singleItem is true."));
            }
            if (!q.start) {
                fail(k2v_error::bad_request("start should be specified if single_item is set"));
            }
            auto item = value_or_fail(c.k2v.get(part, *q.start));
            if (item && model::matches(*item, live)) {
                ws.push_back({part, item->sort_key(), item->context(), std::nullopt});
            }
        } else {
            auto res = read_range(c.k2v.item_table(), part, q.prefix, q.start, q.end, std::nullopt,
                                  std::optional<model::k2v_item_filter>(live), false);
            for (auto const& i : res.entries) {
                ws.push_back({part, i.sort_key(), i.context(), std::nullopt});
            }
        }
        std::size_t const n = ws.size();
        co_await apply(c, std::move(ws));
        boost::json::object o;
        o["partitionKey"] = q.partition_key;
        o["prefix"] = opt_json(q.prefix);
        o["start"] = opt_json(q.start);
        o["end"] = opt_json(q.end);
        o["singleItem"] = q.single_item;
        o["deletedItems"] = n;
        out.push_back(std::move(o));
    }
    co_await send_json(c.ex, out);
}

template <class Ctx>
net::awaitable<void> handle_poll_range(Ctx& c)
{
    auto const body = co_await read_body(c);
    auto q = value_or_bad_request(parse_poll_range(body));
    auto const secs = std::clamp<std::uint64_t>(q.timeout.value_or(300), 1, 600);
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(secs);
    model::k2v_poll_range const range{partition_of(c, c.r.partition_key), q.prefix, q.start, q.end};
    model::k2v_seen_marker seen;
    if (q.seen_marker) {
        auto m = model::k2v_seen_marker::decode(*q.seen_marker);
        if (!m) {
            fail(k2v_error::bad_request("Invalid seen marker"));
        }
        seen = std::move(*m);
    }
    if (range.start && range.prefix && !range.start->starts_with(*range.prefix)) {
        fail(k2v_error::bad_request("Start key '" + *range.start + "' does not start with prefix '" +
                                    *range.prefix + "'"));
    }
    seen.restrict(range);

    auto sub = c.k2v.subscriptions().subscribe_partition(range.partition, co_await net::this_coro::executor);
    std::map<std::string, model::k2v_item> found;
    auto all = read_range(c.k2v.item_table(), range.partition, range.prefix, range.start, range.end,
                          std::nullopt, std::optional<model::k2v_item_filter>(), false);
    for (auto& i : all.entries) {
        if (seen.is_new_item(i)) {
            found.emplace(i.sort_key(), std::move(i));
        }
    }
    if (q.seen_marker) {
        while (found.empty()) {
            auto next = co_await sub.next(deadline);
            if (!next) {
                co_await send(c.ex, 304, {}, {});
                co_return;
            }
            if (range.matches(*next) && seen.is_new_item(*next)) {
                found.emplace(next->sort_key(), std::move(*next));
            }
        }
    }
    boost::json::array items;
    for (auto const& [sk, i] : found) {
        seen.mark_seen(c.k2v.node(), i);
        items.push_back(item_json(i));
    }
    boost::json::object o;
    o["seenMarker"] = seen.encode();
    o["items"] = std::move(items);
    co_await send_json(c.ex, o);
}

} // namespace detail

template <class Model, class K2v>
boost::asio::awaitable<void> k2v_api_server<Model, K2v>::handle(http::exchange& raw_ex)
{
    using namespace detail;
    s3::detail::cors_exchange cors_ex(raw_ex);
    http::exchange& ex = cors_ex;
    auto const& req = ex.request();
    std::string_view const target = req.target();
    std::string_view const path = target.substr(0, target.find('?'));
    std::string_view const method = req.method_string();

    std::vector<header_field> headers;
    for (auto const& f : req) {
        headers.push_back({f.name_string(), f.value()});
    }

    std::optional<k2v_error> error;
    try {
        auto routed = route_request(method, target);
        if (!routed) {
            fail(k2v_error::bad_request(routed.error().message));
        }
        context<Model, K2v> c{model_,  k2v_, settings_, ex,        std::move(*routed),
                              headers, {},   {},        blocking_, writes_};

        if (c.r.ep == endpoint::options) {
            struct options_ctx {
                struct {
                    std::string bucket;
                } r;
                Model& model;
                http::exchange& ex;
                std::vector<header_field> const& headers;
                std::optional<std::string_view> header(std::string_view n) const
                {
                    return find_header(headers, n);
                }
            } oc{{c.r.bucket}, model_, ex, headers};
            co_await s3::detail::handle_options(oc);
            co_return;
        }

        // ---- authentication (SigV4, service k2v)
        request_view view{method, path,
                          target.size() > path.size() ? target.substr(path.size() + 1) : std::string_view{},
                          headers};
        auto parsed = sigv4::parse_auth(view, {settings_.region, sigv4::service::k2v});
        if (!parsed) {
            if (parsed.error().code == api::error::anonymous_access) {
                fail(k2v_error::forbidden("Garage does not support anonymous access yet"));
            }
            fail(to_k2v_error(parsed.error()));
        }
        auto key = value_or_fail(model::get_key(model_, parsed->access_key_id));
        if (!key) {
            fail(to_k2v_error(
                util::failure(api::error::invalid_access_key_id, "No such key: " + parsed->access_key_id)));
        }
        c.auth = value_or_fail(
            sigv4::verify(*parsed, key->params()->secret_key, std::chrono::system_clock::now(), key_cache_));

        // ---- bucket and permission
        auto id = value_or_fail(model::resolve_bucket(model_, c.r.bucket, &*key));
        if (!id || !value_or_fail(model::get_bucket(model_, *id))) {
            fail(k2v_error::no_such_bucket(c.r.bucket));
        }
        c.bucket_id = *id;
        bool const allowed = is_read(c.r.ep) ? key->allow_read(*id) : key->allow_write(*id);
        if (!allowed) {
            fail(k2v_error::forbidden("Operation is not allowed for this key."));
        }
        if (method == "GET" || method == "HEAD" || method == "POST") {
            cors_ex.set_headers(s3::detail::cors_headers_for(model_, *id, headers, method));
        }

        switch (c.r.ep) {
        case endpoint::read_item:
            co_await handle_read_item(c);
            break;
        case endpoint::poll_item:
            co_await handle_poll_item(c);
            break;
        case endpoint::insert_item:
            co_await handle_insert_item(c, false);
            break;
        case endpoint::delete_item:
            co_await handle_insert_item(c, true);
            break;
        case endpoint::read_index:
            co_await handle_read_index(c);
            break;
        case endpoint::insert_batch:
            co_await handle_insert_batch(c);
            break;
        case endpoint::read_batch:
            co_await handle_read_batch(c);
            break;
        case endpoint::delete_batch:
            co_await handle_delete_batch(c);
            break;
        case endpoint::poll_range:
            co_await handle_poll_range(c);
            break;
        case endpoint::options:
            break;
        }
    } catch (k2v_exception& e) {
        error = std::move(e.err);
    } catch (s3::detail::s3_exception& e) {
        error = k2v_error{std::move(e.err.code), e.err.status, std::move(e.err.message)};
    } catch (std::exception const& e) {
        error = k2v_error::internal(e.what());
    }
    if (error && !ex.response_started()) {
        std::string body;
        if (req.method() != boost::beast::http::verb::head) {
            body = error_json(*error, path, settings_.region);
        }
        co_await send(ex, error->status, std::move(body), "application/json");
    }
}

} // namespace garage::api::k2v
