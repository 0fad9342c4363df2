// k2v_load: a K2V load generator and poll-latency probe.
//
//   bazel run -c opt //bench:k2v_load -- --endpoint 127.0.0.1:3904 --bucket b
//       --access-key GK... --secret-key ... --op insert --size 4KiB --concurrency 32 --duration 10
//   (one command line)
//
// --op insert: each of --concurrency keep-alive connections PUTs items (InsertItem, no causality
//   token, a distinct sort key each time) of --size random bytes, one request at a time.
// --op read:   --keys items are inserted first, then each connection reads random ones (ReadItem,
//   `Accept: application/octet-stream`).
// --op poll:   --rounds times: a PollItem waits on an item with its current causality token, a
//   second connection writes the item, and the time from sending the write to receiving the
//   poll's answer (the wake-up latency) is recorded, as well as the write's own latency.
// Requests are SigV4-signed for service `k2v` (UNSIGNED-PAYLOAD) with garage/api/common/sigv4.hpp.
// The last line printed is machine-readable: `result: op=... ...`.

#include <garage/api/common/request_view.hpp>
#include <garage/api/common/sigv4.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace sigv4 = garage::api::sigv4;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

struct options {
    std::string endpoint = "127.0.0.1:3904";
    std::string bucket;
    std::string access_key;
    std::string secret_key;
    std::string region = "garage";
    std::string op = "insert";
    std::size_t size = 4096;
    unsigned concurrency = 32;
    double duration = 10;
    unsigned keys = 1000;
    unsigned rounds = 200;
    unsigned threads = 1;
};

/// Extra request headers.
using header_pairs = std::vector<std::pair<std::string, std::string>>;

/// A signed K2V request with keep-alive on one connection.
class client {
public:
    client(options const& o, tcp::endpoint ep) : o_(o), ep_(ep) {}

    net::awaitable<bhttp::response<bhttp::string_body>>
    call(std::string method, std::string path, std::string query, std::string body, header_pairs extra = {})
    {
        if (!sock_) {
            sock_.emplace(co_await net::this_coro::executor);
            co_await sock_->async_connect(ep_, net::use_awaitable);
            sock_->set_option(tcp::no_delay(true));
        }
        auto const now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        auto const amz_date = sigv4::format_amz_date(now);
        std::vector<std::pair<std::string, std::string>> hs{
            {"host", o_.endpoint}, {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}, {"x-amz-date", amz_date}};
        for (auto& e : extra) {
            hs.push_back(e);
        }
        std::sort(hs.begin(), hs.end());
        std::vector<garage::api::header_field> fields;
        std::vector<std::string> names;
        std::string signed_list;
        for (auto const& [n, v] : hs) {
            fields.push_back({n, v});
            names.push_back(n);
            signed_list += (signed_list.empty() ? "" : ";") + n;
        }
        auto const short_date = amz_date.substr(0, 8);
        auto const scope = sigv4::credential_scope(short_date, o_.region, "k2v");
        auto const creq = sigv4::canonical_request(method, sigv4::canonical_uri(path, sigv4::service::k2v),
                                                   sigv4::canonical_query(garage::api::parse_query(query)),
                                                   sigv4::canonical_headers(fields, names).value(),
                                                   signed_list, "UNSIGNED-PAYLOAD");
        if (!key_ || key_date_ != short_date) {
            key_ = sigv4::derive_signing_key(o_.secret_key, short_date, o_.region, "k2v");
            key_date_ = short_date;
        }
        auto const sig = sigv4::compute_signature(*key_, sigv4::string_to_sign(amz_date, scope, creq));
        bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method),
                                               query.empty() ? path : path + "?" + query, 11};
        for (auto const& [n, v] : hs) {
            req.set(n, v);
        }
        req.set(bhttp::field::authorization, "AWS4-HMAC-SHA256 Credential=" + o_.access_key + "/" + scope +
                                                 ",SignedHeaders=" + signed_list +
                                                 ",Signature=" + sig.to_hex());
        req.keep_alive(true);
        req.body() = std::move(body);
        req.prepare_payload();
        co_await bhttp::async_write(*sock_, req, net::use_awaitable);
        bhttp::response<bhttp::string_body> res;
        co_await bhttp::async_read(*sock_, buf_, res, net::use_awaitable);
        co_return res;
    }

private:
    options const& o_;
    tcp::endpoint ep_;
    std::optional<tcp::socket> sock_;
    beast::flat_buffer buf_;
    std::optional<sigv4::signing_key> key_;
    std::string key_date_;
};

std::string random_bytes(std::size_t n, std::mt19937_64& rng)
{
    std::string s(n, '\0');
    for (auto& c : s) {
        c = static_cast<char>(rng());
    }
    return s;
}

struct stats {
    std::atomic<std::uint64_t> ops{0};
    std::atomic<std::uint64_t> errors{0};
    std::vector<double> latencies_ms; ///< per worker merged at the end
};

double percentile(std::vector<double> v, double p)
{
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    auto const i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    return v[i];
}

void run(net::io_context& ioc, unsigned threads)
{
    std::vector<std::thread> ts;
    for (unsigned i = 1; i < threads; ++i) {
        ts.emplace_back([&] { ioc.run(); });
    }
    ioc.run();
    for (auto& t : ts) {
        t.join();
    }
    ioc.restart();
}

net::awaitable<void> load_worker(options const* o, tcp::endpoint ep, unsigned id, clock_type::time_point end,
                                 stats* st, std::vector<double>* lat)
{
    client c(*o, ep);
    std::mt19937_64 rng(id * 7919 + 1);
    auto const value = random_bytes(o->size, rng);
    std::string const path = "/" + o->bucket + "/bench";
    std::uint64_t n = 0;
    while (clock_type::now() < end) {
        auto const t0 = clock_type::now();
        bhttp::response<bhttp::string_body> r;
        if (o->op == "insert") {
            std::string v = value;
            std::memcpy(v.data(), &n, sizeof n); // distinct values
            r = co_await c.call("PUT", path, "sort_key=w" + std::to_string(id) + "-" + std::to_string(n++),
                                v);
        } else {
            auto const k = rng() % o->keys;
            header_pairs accept;
            accept.emplace_back("accept", "application/octet-stream");
            r = co_await c.call("GET", path, "sort_key=k" + std::to_string(k), {}, std::move(accept));
        }
        lat->push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
        if (r.result_int() / 100 == 2) {
            ++st->ops;
        } else {
            ++st->errors;
        }
    }
}

net::awaitable<void> prefill(options const* o, tcp::endpoint ep, unsigned id, unsigned stride, stats* st)
{
    client c(*o, ep);
    std::mt19937_64 rng(id);
    std::string const path = "/" + o->bucket + "/bench";
    for (unsigned k = id; k < o->keys; k += stride) {
        auto r = co_await c.call("PUT", path, "sort_key=k" + std::to_string(k), random_bytes(o->size, rng));
        if (r.result_int() != 204) {
            ++st->errors;
        }
    }
}

net::awaitable<void> poll_probe(options const* o, tcp::endpoint ep, std::vector<double>* wake,
                                std::vector<double>* write_lat, stats* st)
{
    client poller(*o, ep);
    client writer(*o, ep);
    std::string const path = "/" + o->bucket + "/bench-poll";
    auto const ex = co_await net::this_coro::executor;
    (void)co_await writer.call("PUT", path, "sort_key=p", "init");
    for (unsigned i = 0; i < o->rounds; ++i) {
        auto read = co_await writer.call("GET", path, "sort_key=p", {});
        std::string token(read["x-garage-causality-token"]);
        std::string enc = garage::api::sigv4::uri_encode(token, true);
        std::optional<clock_type::time_point> woke;
        // The poll runs concurrently; the write goes once it has had time to reach the server.
        net::co_spawn(
            ex,
            [](client* p, std::string path, std::string q, std::optional<clock_type::time_point>* woke,
               stats* st) -> net::awaitable<void> {
                auto r = co_await p->call("GET", path, q, {});
                *woke = clock_type::now();
                if (r.result_int() != 200) {
                    ++st->errors;
                }
            }(&poller, path, "sort_key=p&causality_token=" + enc + "&timeout=10", &woke, st),
            net::detached);
        net::steady_timer t(ex, std::chrono::milliseconds(20));
        co_await t.async_wait(net::use_awaitable);
        auto const t0 = clock_type::now();
        header_pairs ct;
        ct.emplace_back("x-garage-causality-token", token);
        auto w = co_await writer.call("PUT", path, "sort_key=p", "v" + std::to_string(i), std::move(ct));
        auto const t1 = clock_type::now();
        if (w.result_int() != 204) {
            ++st->errors;
        }
        while (!woke) {
            net::steady_timer s(ex, std::chrono::microseconds(50));
            co_await s.async_wait(net::use_awaitable);
        }
        wake->push_back(std::chrono::duration<double, std::milli>(*woke - t0).count());
        write_lat->push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        ++st->ops;
    }
}

} // namespace

int main(int argc, char** argv)
{
    options o;
    CLI::App app{"K2V load generator"};
    app.add_option("--endpoint", o.endpoint, "host:port of the K2V API");
    app.add_option("--bucket", o.bucket, "bucket")->required();
    app.add_option("--access-key", o.access_key, "access key id")->required();
    app.add_option("--secret-key", o.secret_key, "secret key")->required();
    app.add_option("--region", o.region, "region");
    app.add_option("--op", o.op, "insert, read or poll")->check(CLI::IsMember({"insert", "read", "poll"}));
    app.add_option("--size", o.size, "value size in bytes");
    app.add_option("--concurrency", o.concurrency, "connections");
    app.add_option("--duration", o.duration, "seconds (insert, read)");
    app.add_option("--keys", o.keys, "items read (read)");
    app.add_option("--rounds", o.rounds, "wake-ups measured (poll)");
    app.add_option("--threads", o.threads, "client threads");
    CLI11_PARSE(app, argc, argv);

    auto const colon = o.endpoint.rfind(':');
    tcp::endpoint const ep(net::ip::make_address(o.endpoint.substr(0, colon)),
                           static_cast<std::uint16_t>(std::stoul(o.endpoint.substr(colon + 1))));
    net::io_context ioc(static_cast<int>(o.threads));
    stats st;
    if (o.op == "poll") {
        std::vector<double> wake, write_lat;
        net::co_spawn(ioc, poll_probe(&o, ep, &wake, &write_lat, &st), [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
        });
        run(ioc, 1);
        std::printf(
            "result: op=poll rounds=%llu errors=%llu wake_ms_p50=%.3f wake_ms_p90=%.3f wake_ms_p99=%.3f "
            "wake_ms_max=%.3f write_ms_p50=%.3f\n",
            static_cast<unsigned long long>(st.ops.load()), static_cast<unsigned long long>(st.errors.load()),
            percentile(wake, 0.5), percentile(wake, 0.9), percentile(wake, 0.99), percentile(wake, 1.0),
            percentile(write_lat, 0.5));
        return st.errors == 0 ? 0 : 1;
    }
    if (o.op == "read") {
        for (unsigned i = 0; i < o.concurrency; ++i) {
            net::co_spawn(ioc, prefill(&o, ep, i, o.concurrency, &st), net::detached);
        }
        run(ioc, o.threads);
    }
    std::vector<std::vector<double>> lats(o.concurrency);
    auto const start = clock_type::now();
    auto const end =
        start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.duration));
    for (unsigned i = 0; i < o.concurrency; ++i) {
        net::co_spawn(ioc, load_worker(&o, ep, i, end, &st, &lats[i]), [](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (std::exception const& x) {
                    std::cerr << "worker failed: " << x.what() << "\n";
                }
            }
        });
    }
    run(ioc, o.threads);
    double const secs = std::chrono::duration<double>(clock_type::now() - start).count();
    std::vector<double> all;
    for (auto& l : lats) {
        all.insert(all.end(), l.begin(), l.end());
    }
    std::printf(
        "result: op=%s size=%zu concurrency=%u ops=%llu errors=%llu secs=%.2f ops_per_s=%.0f lat_ms_p50=%.3f "
        "lat_ms_p99=%.3f\n",
        o.op.c_str(), o.size, o.concurrency, static_cast<unsigned long long>(st.ops.load()),
        static_cast<unsigned long long>(st.errors.load()), secs, static_cast<double>(st.ops.load()) / secs,
        percentile(all, 0.5), percentile(all, 0.99));
    return 0;
}
