// s3_load: an S3 (or plain HTTP) load generator in the spirit of MinIO's warp.
//
//   bazel run -c opt //bench:s3_load -- --endpoint 127.0.0.1:3900 --bucket b
//       --access-key GK... --secret-key ... --op get --size 4KiB --concurrency 32 --duration 10
//   (one command line)
//
// Each of --concurrency connections runs one request at a time with keep-alive. PUT bodies are
// streamed from a per-connection reusable buffer of random bytes (never the whole object in
// RAM), each body made distinct by a 16-byte prefix and a random start in the buffer so that a
// content-addressed store cannot deduplicate them; GET bodies are counted and discarded.
// Requests are SigV4-signed (UNSIGNED-PAYLOAD, or the body's SHA-256 with --signed-payload) with
// the signing functions of garage/api/common/sigv4.hpp, or sent unsigned with --plain (paths
// /<bucket>/<key>, e.g. for nginx with `dav_methods PUT`).
// The last line printed is machine-readable: `result: op=... ops=... ops_per_s=... ...`.

#include <garage/api/common/sigv4.hpp>
#include <garage/util/hasher.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
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

/// Parses `4KiB`, `1GiB`, `10MB`, `512` (bytes) into bytes; nullopt if malformed.
std::optional<std::uint64_t> parse_size(std::string s)
{
    std::size_t pos = 0;
    double v = 0;
    try {
        v = std::stod(s, &pos);
    } catch (...) {
        return std::nullopt;
    }
    std::string unit = s.substr(pos);
    for (auto& c : unit) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    double mul = 1;
    if (unit.empty() || unit == "b") {
        mul = 1;
    } else if (unit == "k" || unit == "kib") {
        mul = 1024.0;
    } else if (unit == "kb") {
        mul = 1e3;
    } else if (unit == "m" || unit == "mib") {
        mul = 1024.0 * 1024;
    } else if (unit == "mb") {
        mul = 1e6;
    } else if (unit == "g" || unit == "gib") {
        mul = 1024.0 * 1024 * 1024;
    } else if (unit == "gb") {
        mul = 1e9;
    } else {
        return std::nullopt;
    }
    if (v < 0) {
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(v * mul);
}

enum class op_kind { put, get };

struct options {
    std::string endpoint = "127.0.0.1:3900";
    std::string bucket = "bench";
    std::string access_key;
    std::string secret_key;
    std::string region = "garage";
    bool plain = false;
    bool signed_payload = false;
    std::string op = "put";
    double get_ratio = 0.5;
    std::string size_text = "4KiB";
    std::uint64_t size = 4096;
    unsigned concurrency = 1;
    double duration = 10;
    std::uint64_t count = 0;
    std::uint64_t objects = 0;
    bool no_prefill = false;
    unsigned threads = 1;
    std::string key_prefix = "obj-";
};

/// Per-worker latency samples and totals for one kind of operation.
struct stats {
    std::vector<std::uint32_t> lat_us; ///< latencies of successful operations
    std::uint64_t bytes = 0;           ///< body bytes moved by successful operations
    std::uint64_t errors = 0;          ///< failed operations

    void merge(stats const& o)
    {
        lat_us.insert(lat_us.end(), o.lat_us.begin(), o.lat_us.end());
        bytes += o.bytes;
        errors += o.errors;
    }
};

/// A reusable buffer of random bytes a bit longer than a MiB (not a divisor of any block size,
/// so the blocks of one body differ).
constexpr std::size_t pattern_size = (1u << 20) + 4099;

/// State shared by all workers.
struct shared_state {
    /// @param o The options (must outlive the state).
    explicit shared_state(options const& o) : opt(o) {}

    options const& opt;
    std::string host;
    std::string port;
    tcp::resolver::results_type addrs;
    std::atomic<std::uint64_t> next_seq{0};  ///< for new keys and unique body prefixes
    std::atomic<std::uint64_t> remaining{0}; ///< --count mode: operations left
    clock_type::time_point deadline{};
    bool use_deadline = false;
    std::mutex sign_mu;
    std::string signing_date; ///< yyyymmdd of the cached key
    sigv4::signing_key signing_key{};
    std::atomic<int> errors_logged{0};

    /// Whether another operation may start.
    bool take_one()
    {
        if (use_deadline) {
            return clock_type::now() < deadline;
        }
        auto r = remaining.load();
        while (r > 0 && !remaining.compare_exchange_weak(r, r - 1)) {
        }
        return r > 0;
    }
};

/// The SigV4 headers of a request (`x-amz-content-sha256`, `x-amz-date`, `Authorization`).
std::string sign_headers(shared_state& st, std::string_view method, std::string const& path,
                         std::string const& payload_hash)
{
    auto const now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    std::string const amz_date = sigv4::format_amz_date(now);
    std::string const short_date = amz_date.substr(0, 8);
    sigv4::signing_key key;
    {
        std::lock_guard lk(st.sign_mu);
        if (st.signing_date != short_date) {
            st.signing_key = sigv4::derive_signing_key(st.opt.secret_key, short_date, st.opt.region, "s3");
            st.signing_date = short_date;
        }
        key = st.signing_key;
    }
    std::string const headers_block = "host:" + st.opt.endpoint + "\nx-amz-content-sha256:" + payload_hash +
                                      "\nx-amz-date:" + amz_date + "\n";
    std::string_view const signed_names = "host;x-amz-content-sha256;x-amz-date";
    auto const creq = sigv4::canonical_request(method, sigv4::canonical_uri(path, sigv4::service::s3), "",
                                               headers_block, signed_names, payload_hash);
    auto const scope = sigv4::credential_scope(short_date, st.opt.region, "s3");
    auto const sts = sigv4::string_to_sign(amz_date, scope, creq);
    auto const sig = sigv4::compute_signature(key, sts);
    std::string out;
    out += "x-amz-content-sha256: " + payload_hash + "\r\n";
    out += "x-amz-date: " + amz_date + "\r\n";
    out += "Authorization: AWS4-HMAC-SHA256 Credential=" + st.opt.access_key + "/" + scope +
           ", SignedHeaders=" + std::string(signed_names) + ", Signature=" + sig.to_hex() + "\r\n";
    return out;
}

/// One connection's worker: runs operations until the deadline or count is reached.
class worker {
public:
    worker(shared_state& st, unsigned id) : st_(st), id_(id), rng_(std::random_device{}() ^ (id * 7919u))
    {
        pattern_.resize(pattern_size);
        for (std::size_t i = 0; i + 8 <= pattern_.size(); i += 8) {
            auto v = rng_();
            std::memcpy(pattern_.data() + i, &v, 8);
        }
        scratch_.resize(256 * 1024);
    }

    stats put_stats;
    stats get_stats;

    /// Runs `n` PUTs of keys `first`, `first + step`, ... below `limit` (the prefill).
    net::awaitable<void> prefill(std::uint64_t first, std::uint64_t step, std::uint64_t limit)
    {
        for (auto i = first; i < limit; i += step) {
            stats dummy;
            auto k = key(i); // named: GCC 12 mishandles temporaries in co_await expressions
            co_await one(op_kind::put, std::move(k), dummy);
            if (dummy.errors != 0) {
                ++put_stats.errors;
            }
        }
    }

    /// The timed run.
    net::awaitable<void> run()
    {
        auto const& o = st_.opt;
        std::uniform_real_distribution<double> coin(0, 1);
        while (st_.take_one()) {
            op_kind k = o.op == "get" ? op_kind::get : op_kind::put;
            if (o.op == "mixed") {
                k = coin(rng_) < o.get_ratio ? op_kind::get : op_kind::put;
            }
            std::uint64_t idx;
            if (k == op_kind::get || o.objects > 0) {
                idx = std::uniform_int_distribution<std::uint64_t>(0, std::max<std::uint64_t>(o.objects, 1) -
                                                                          1)(rng_);
            } else {
                idx = st_.next_seq.fetch_add(1);
            }
            auto name = key(idx);
            auto& into = k == op_kind::get ? get_stats : put_stats;
            co_await one(k, std::move(name), into);
        }
        if (sock_) {
            beast::error_code ec;
            sock_->shutdown(tcp::socket::shutdown_both, ec);
            sock_->close(ec);
        }
    }

private:
    std::string key(std::uint64_t i) const { return st_.opt.key_prefix + std::to_string(i); }

    void log_error(std::string const& what)
    {
        if (st_.errors_logged.fetch_add(1) < 5) {
            std::cerr << "s3_load: " << what << "\n";
        }
    }

    net::awaitable<bool> ensure_connected()
    {
        if (sock_ && sock_->is_open()) {
            co_return true;
        }
        sock_.emplace(co_await net::this_coro::executor);
        auto [ec, ep] = co_await net::async_connect(*sock_, st_.addrs, net::as_tuple(net::use_awaitable));
        if (ec) {
            log_error("connect: " + ec.message());
            sock_.reset();
            co_return false;
        }
        sock_->set_option(tcp::no_delay(true));
        fb_.clear();
        fb_.reserve(64 * 1024); // Beast reads at most the free capacity: 512 bytes otherwise
        co_return true;
    }

    void drop_connection()
    {
        if (sock_) {
            beast::error_code ec;
            sock_->close(ec);
        }
        sock_.reset();
    }

    /// The body's bytes: a 16-byte unique prefix, then the pattern from a random start.
    struct body_plan {
        std::array<char, 16> prefix{};
        std::size_t start = 0;
        std::uint64_t size = 0;
    };

    body_plan plan_body()
    {
        body_plan b;
        b.size = st_.opt.size;
        std::uint64_t const seq = st_.next_seq.fetch_add(1) ^ 0x5a5a000000000000ull;
        std::uint64_t const tag = (std::uint64_t(id_) << 32) ^ rng_();
        std::memcpy(b.prefix.data(), &seq, 8);
        std::memcpy(b.prefix.data() + 8, &tag, 8);
        b.start = std::uniform_int_distribution<std::size_t>(0, pattern_size - 1)(rng_);
        return b;
    }

    /// Calls `f(string_view)` over the body's bytes in order, in pieces.
    template <class F>
    void for_each_piece(body_plan const& b, std::uint64_t from, std::uint64_t max_bytes, F&& f) const
    {
        std::uint64_t pos = from;
        std::uint64_t const end = std::min(b.size, from + max_bytes);
        while (pos < end) {
            if (pos < b.prefix.size()) {
                auto const n = std::min<std::uint64_t>(b.prefix.size() - pos, end - pos);
                f(std::string_view(b.prefix.data() + pos, n));
                pos += n;
                continue;
            }
            auto const at = (b.start + (pos - b.prefix.size())) % pattern_size;
            auto const n = std::min<std::uint64_t>(pattern_size - at, end - pos);
            f(std::string_view(pattern_.data() + at, n));
            pos += n;
        }
    }

    std::string payload_hash(body_plan const& b) const
    {
        if (!st_.opt.signed_payload) {
            return std::string(sigv4::unsigned_payload);
        }
        garage::util::sha256_hasher h;
        for_each_piece(b, 0, b.size, [&](std::string_view p) { h.update(p); });
        return h.finalize().to_hex();
    }

    /// One request; records its latency and bytes in `s`, or an error.
    net::awaitable<void> one(op_kind k, std::string key, stats& s)
    {
        auto const t0 = clock_type::now();
        if (!co_await ensure_connected()) {
            ++s.errors;
            co_return;
        }
        auto const& o = st_.opt;
        std::string const path = "/" + o.bucket + "/" + key;
        std::string_view const method = k == op_kind::put ? "PUT" : "GET";
        body_plan body;
        if (k == op_kind::put) {
            body = plan_body();
        }
        std::string head;
        head.reserve(512);
        head += method;
        head += " " + path + " HTTP/1.1\r\nHost: " + o.endpoint + "\r\n";
        if (k == op_kind::put) {
            head += "Content-Length: " + std::to_string(body.size) + "\r\n";
        }
        if (!o.plain) {
            head +=
                sign_headers(st_, method, path,
                             k == op_kind::put ? payload_hash(body) : std::string(sigv4::empty_sha256_hex));
        }
        head += "\r\n";

        // Send the head and the body (first piece together with the head).
        std::vector<net::const_buffer> bufs;
        bufs.emplace_back(net::buffer(head));
        std::uint64_t sent = 0;
        constexpr std::uint64_t chunk = 1u << 20;
        auto add_pieces = [&](std::uint64_t max_bytes) {
            for_each_piece(body, sent, max_bytes, [&](std::string_view p) {
                bufs.emplace_back(net::buffer(p.data(), p.size()));
                sent += p.size();
            });
        };
        if (k == op_kind::put) {
            add_pieces(chunk);
        }
        for (;;) {
            auto [ec, n] = co_await net::async_write(*sock_, bufs, net::as_tuple(net::use_awaitable));
            if (ec) {
                log_error(std::string(method) + " " + path + ": write: " + ec.message());
                drop_connection();
                ++s.errors;
                co_return;
            }
            bufs.clear();
            if (k != op_kind::put || sent >= body.size) {
                break;
            }
            add_pieces(chunk);
        }

        // Read the response, discarding the body.
        bhttp::response_parser<bhttp::buffer_body> p;
        p.body_limit(boost::none);
        auto [ec, n] = co_await bhttp::async_read_header(*sock_, fb_, p, net::as_tuple(net::use_awaitable));
        if (ec) {
            log_error(std::string(method) + " " + path + ": response: " + ec.message());
            drop_connection();
            ++s.errors;
            co_return;
        }
        std::uint64_t got = 0;
        std::string err_body;
        while (!p.is_done()) {
            p.get().body().data = scratch_.data();
            p.get().body().size = scratch_.size();
            auto [ec2, n2] = co_await bhttp::async_read(*sock_, fb_, p, net::as_tuple(net::use_awaitable));
            if (ec2 == bhttp::error::need_buffer) {
                ec2 = {};
            }
            auto const chunk_got = scratch_.size() - p.get().body().size;
            if (p.get().result_int() >= 300 && err_body.size() < 512) {
                err_body.append(scratch_.data(), std::min<std::size_t>(chunk_got, 512));
            }
            got += chunk_got;
            if (ec2) {
                log_error(std::string(method) + " " + path + ": response body: " + ec2.message());
                drop_connection();
                ++s.errors;
                co_return;
            }
        }
        auto const status = p.get().result_int();
        bool const keep = p.get().keep_alive();
        if (!keep) {
            drop_connection();
        }
        if (status < 200 || status >= 300) {
            log_error(std::string(method) + " " + path + ": HTTP " + std::to_string(status) + " " + err_body);
            ++s.errors;
            co_return;
        }
        if (k == op_kind::get && got != o.size) {
            log_error("GET " + path + ": got " + std::to_string(got) + " bytes, expected " +
                      std::to_string(o.size));
            ++s.errors;
            co_return;
        }
        auto const us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0).count();
        s.lat_us.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
        s.bytes += k == op_kind::put ? body.size : got;
    }

    shared_state& st_;
    unsigned id_;
    std::mt19937_64 rng_;
    std::string pattern_;
    std::string scratch_;
    std::optional<tcp::socket> sock_;
    beast::flat_buffer fb_;
};

void report(std::string_view name, stats& s, double secs)
{
    std::sort(s.lat_us.begin(), s.lat_us.end());
    auto pct = [&](double q) -> double {
        if (s.lat_us.empty()) {
            return 0;
        }
        auto i = static_cast<std::size_t>(q * static_cast<double>(s.lat_us.size() - 1) + 0.5);
        return s.lat_us[std::min(i, s.lat_us.size() - 1)] / 1000.0;
    };
    auto const ops = s.lat_us.size();
    double const ops_s = static_cast<double>(ops) / secs;
    double const mib_s = static_cast<double>(s.bytes) / secs / (1024.0 * 1024.0);
    std::printf("%-5s ops %-9zu %10.1f ops/s %10.2f MiB/s   p50 %8.3f ms  p99 %8.3f ms  max %8.3f ms  "
                "errors %llu\n",
                std::string(name).c_str(), ops, ops_s, mib_s, pct(0.5), pct(0.99),
                s.lat_us.empty() ? 0.0 : s.lat_us.back() / 1000.0, static_cast<unsigned long long>(s.errors));
    std::printf("result: op=%s ops=%zu secs=%.3f ops_per_s=%.1f mib_per_s=%.2f p50_ms=%.3f p99_ms=%.3f "
                "max_ms=%.3f errors=%llu\n",
                std::string(name).c_str(), ops, secs, ops_s, mib_s, pct(0.5), pct(0.99),
                s.lat_us.empty() ? 0.0 : s.lat_us.back() / 1000.0, static_cast<unsigned long long>(s.errors));
}

/// Runs `make(w)` for every worker on `ioc` (whose sockets the workers keep between runs),
/// driven by `threads` threads, until all are done.
template <class Make>
void run_all(net::io_context& ioc, std::vector<std::unique_ptr<worker>>& ws, unsigned threads, Make make)
{
    ioc.restart();
    for (auto& w : ws) {
        net::co_spawn(ioc, make(*w), [](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (std::exception const& ex) {
                    std::cerr << "s3_load: worker failed: " << ex.what() << "\n";
                }
            }
        });
    }
    std::vector<std::thread> ts;
    for (unsigned i = 1; i < threads; ++i) {
        ts.emplace_back([&ioc] { ioc.run(); });
    }
    ioc.run();
    for (auto& t : ts) {
        t.join();
    }
}

} // namespace

int main(int argc, char** argv)
{
    options o;
    CLI::App app{"S3 / plain HTTP load generator (PUT, GET, mixed)"};
    app.add_option("--endpoint", o.endpoint, "host:port of the server")->capture_default_str();
    app.add_option("--bucket", o.bucket, "bucket (or, with --plain, the first path segment)")
        ->capture_default_str();
    app.add_option("--access-key", o.access_key, "SigV4 access key id");
    app.add_option("--secret-key", o.secret_key, "SigV4 secret key");
    app.add_option("--region", o.region, "SigV4 region")->capture_default_str();
    app.add_flag("--plain", o.plain, "send unsigned requests (plain HTTP server, e.g. nginx)");
    app.add_flag("--signed-payload", o.signed_payload, "sign the body's SHA-256 instead of UNSIGNED-PAYLOAD");
    app.add_option("--op", o.op, "put, get or mixed")
        ->check(CLI::IsMember({"put", "get", "mixed"}))
        ->capture_default_str();
    app.add_option("--get-ratio", o.get_ratio, "share of GETs in --op mixed")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    app.add_option("--size", o.size_text, "object size (4KiB, 1MiB, 1GiB, 10MB, bytes)")
        ->capture_default_str();
    app.add_option("--concurrency", o.concurrency, "connections, one request at a time each")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    auto* dur = app.add_option("--duration", o.duration, "seconds to run")->capture_default_str();
    auto* cnt = app.add_option("--count", o.count, "operations to run (instead of --duration)");
    dur->excludes(cnt);
    app.add_option("--objects", o.objects,
                   "keys obj-0..obj-K-1 (GET picks among them, PUT overwrites them; 0 with put: new keys)")
        ->capture_default_str();
    app.add_flag("--no-prefill", o.no_prefill, "skip PUTting the --objects before a get or mixed run");
    app.add_option("--threads", o.threads, "client threads")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--key-prefix", o.key_prefix, "key prefix")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    auto sz = parse_size(o.size_text);
    if (!sz) {
        std::cerr << "s3_load: invalid --size " << o.size_text << "\n";
        return 2;
    }
    o.size = *sz;
    if (!o.plain && (o.access_key.empty() || o.secret_key.empty())) {
        std::cerr << "s3_load: --access-key and --secret-key are needed (or --plain)\n";
        return 2;
    }
    if (o.op != "put" && o.objects == 0) {
        o.objects = 1000;
    }

    shared_state st(o);
    auto colon = o.endpoint.rfind(':');
    if (colon == std::string::npos) {
        std::cerr << "s3_load: --endpoint must be host:port\n";
        return 2;
    }
    st.host = o.endpoint.substr(0, colon);
    st.port = o.endpoint.substr(colon + 1);
    {
        net::io_context ioc;
        tcp::resolver r(ioc);
        boost::system::error_code ec;
        st.addrs = r.resolve(st.host, st.port, ec);
        if (ec) {
            std::cerr << "s3_load: cannot resolve " << o.endpoint << ": " << ec.message() << "\n";
            return 2;
        }
    }

    net::io_context ioc(static_cast<int>(o.threads));
    std::vector<std::unique_ptr<worker>> ws;
    for (unsigned i = 0; i < o.concurrency; ++i) {
        ws.push_back(std::make_unique<worker>(st, i));
    }

    if (o.op != "put" && !o.no_prefill) {
        auto const t0 = clock_type::now();
        unsigned const n = o.concurrency;
        unsigned i = 0;
        run_all(ioc, ws, o.threads, [&](worker& w) { return w.prefill(i++, n, o.objects); });
        std::uint64_t errs = 0;
        for (auto& w : ws) {
            errs += w->put_stats.errors;
            w->put_stats = {};
        }
        double const secs = std::chrono::duration<double>(clock_type::now() - t0).count();
        std::printf("prefill: %llu objects of %llu bytes in %.2f s, errors %llu\n",
                    static_cast<unsigned long long>(o.objects), static_cast<unsigned long long>(o.size), secs,
                    static_cast<unsigned long long>(errs));
        if (errs != 0) {
            std::cerr << "s3_load: prefill failed\n";
            return 1;
        }
    }

    if (o.count > 0) {
        st.remaining = o.count;
    } else {
        st.use_deadline = true;
    }
    auto const t0 = clock_type::now();
    st.deadline =
        t0 + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.duration));
    run_all(ioc, ws, o.threads, [](worker& w) { return w.run(); });
    double const secs = std::chrono::duration<double>(clock_type::now() - t0).count();

    stats put, get;
    for (auto& w : ws) {
        put.merge(w->put_stats);
        get.merge(w->get_stats);
    }
    std::printf("%s %s, size %llu bytes, %u connections, %.2f s\n", o.plain ? "plain" : "s3", o.op.c_str(),
                static_cast<unsigned long long>(o.size), o.concurrency, secs);
    if (o.op == "mixed") {
        report("put", put, secs);
        report("get", get, secs);
        stats all = put;
        all.merge(get);
        report("mixed", all, secs);
    } else {
        report(o.op, o.op == "get" ? get : put, secs);
    }
    return (put.errors + get.errors) == 0 ? 0 : 1;
}
