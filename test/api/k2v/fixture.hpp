#pragma once

/**
 * @file
 * An in-process K2V server for tests: a real HTTP server on a loopback port over LMDB, the model (for
 * keys and buckets) and the K2V tables, with a client that signs its requests with SigV4 (service
 * `k2v`).
 */

#include <garage/api/common/request_view.hpp>
#include <garage/api/common/sigv4.hpp>
#include <garage/api/http/server.hpp>
#include <garage/api/k2v/api_server.hpp>
#include <garage/block/manager.hpp>
#include <garage/model/garage.hpp>
#include <garage/model/helper.hpp>
#include <garage/model/k2v.hpp>
#include <garage/model/key.hpp>
#include <garage/replication/local.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/hasher.hpp>
#include <garage/util/time.hpp>

#include <test/support/temp_dir.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace garage::test::k2v {

/** The block manager of the test server (the model's reference-count sink). */
using blocks_type = block::block_manager<storage::lmdb_backend>;
/** The model of the test server (one local node). */
using model_type =
    model::basic_model<replication::local, replication::local, storage::lmdb_backend, blocks_type>;
/** The K2V tables. */
using k2v_type = model::basic_k2v<replication::local, storage::lmdb_backend>;
/** The K2V API server under test. */
using server_type = api::k2v::k2v_api_server<model_type, k2v_type>;

/** The access key id the fixture imports. */
inline constexpr std::string_view key_id = "GK0123456789abcdef01234567";
/** The secret of #key_id. */
inline constexpr std::string_view secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/** A second key, allowed to read bucket `bkt` only. */
inline constexpr std::string_view reader_id = "GK76543210fedcba9876543210";

/** Header name/value pairs, in order. */
using header_list = std::vector<std::pair<std::string, std::string>>;

/** A response as the client read it. */
struct response {
    unsigned status = 0;                        ///< HTTP status
    std::map<std::string, std::string> headers; ///< by lower-case name
    std::string body;                           ///< the body

    /** @param n a lower-case header name. @return its value, or an empty string. */
    std::string header(std::string const& n) const
    {
        auto it = headers.find(n);
        return it == headers.end() ? std::string() : it->second;
    }
    /** @return the body parsed as JSON. */
    boost::json::value json() const { return boost::json::parse(body); }
    /** @return the `code` of a JSON error body. */
    std::string error_code() const
    {
        auto v = boost::json::parse(body);
        return std::string(v.as_object().at("code").as_string());
    }
};

/** How fixture::send signs a request. */
struct request_options {
    header_list headers{};                        ///< more headers (all signed)
    std::string access_key = std::string(key_id); ///< the key id
    std::string secret_key = std::string(secret); ///< the secret
    std::string service = "k2v";                  ///< the scope's service
    bool anonymous = false;                       ///< send no signature at all
};

/**
 * A K2V server on a loopback port over LMDB, with bucket `bkt` (read/write for #key_id, read only for
 * #reader_id).
 *
 * @par Thread Safety
 * The server runs on its own threads; the member functions may be called from several test threads.
 */
struct fixture {
    temp_dir dir;
    storage::lmdb_backend db = open_db(dir);
    std::unique_ptr<blocks_type> blocks = open_blocks(db, dir);
    std::unique_ptr<model_type> model =
        model_type::open(db, replication::local{}, replication::local{}, *blocks).value();
    std::unique_ptr<k2v_type> k2v = k2v_type::open(db, replication::local{node()}).value();
    boost::asio::io_context ioc;
    boost::asio::thread_pool pool{1};
    server_type server;
    api::http::server srv{ioc.get_executor(), [this](api::http::exchange& ex) { return server.handle(ex); },
                          api::http::server_options{.drain_timeout = std::chrono::milliseconds(200)}};
    std::vector<std::thread> runners;
    util::uuid bucket;

    /** @return the node id of the test server. */
    static util::node_id node()
    {
        util::node_id n;
        n[0] = 0x42;
        return n;
    }
    /** @return the LMDB environment of the test, under `d`. */
    static storage::lmdb_backend open_db(temp_dir const& d)
    {
        storage::lmdb_options o;
        o.path = d.path() / "db.lmdb";
        o.map_size = 1ull << 30;
        return std::move(storage::lmdb_backend::open(o).value());
    }
    /** @return a block manager under `d`. */
    static std::unique_ptr<blocks_type> open_blocks(storage::lmdb_backend& db, temp_dir const& d)
    {
        block::block_options o;
        o.data_dirs = {util::data_dir_config{d.path() / "data", std::nullopt, false}};
        o.metadata_dir = d.path() / "meta";
        return blocks_type::open(db, o).value();
    }

    /** Starts a server with `settings`; the HTTP server runs on two threads. */
    explicit fixture(api::k2v::k2v_settings settings = {.region = "garage"})
        : server{*model, *k2v, std::move(settings), pool.get_executor()}
    {
        auto k = model::access_key::import(key_id, secret, "test-key").value();
        REQUIRE(model->key_table().insert(k));
        auto r = model::access_key::import(reader_id, secret, "reader").value();
        REQUIRE(model->key_table().insert(r));
        bucket = model::create_bucket(*model, std::optional<std::string>("bkt")).value();
        REQUIRE(model::set_bucket_key_permissions(
            *model, bucket, std::string(key_id), model::bucket_key_perm{util::now_msec(), true, true, true}));
        REQUIRE(
            model::set_bucket_key_permissions(*model, bucket, std::string(reader_id),
                                              model::bucket_key_perm{util::now_msec(), true, false, false}));
        REQUIRE(srv.listen(api::http::tcp_address{"127.0.0.1", 0}));
        srv.start();
        for (int i = 0; i < 2; ++i) {
            runners.emplace_back([this] { ioc.run(); });
        }
    }
    ~fixture()
    {
        k2v->subscriptions().close(); // a poll still waiting answers now
        srv.stop();
        for (auto& t : runners) {
            t.join();
        }
        pool.join();
    }
    fixture(fixture const&) = delete;
    fixture& operator=(fixture const&) = delete;

    /** Sends one request as is, on a new connection. @return the response. */
    response send_raw(std::string const& method, std::string const& target, std::string body, header_list hs)
    {
        namespace bh = boost::beast::http;
        boost::asio::io_context ctx;
        boost::asio::ip::tcp::socket sock(ctx);
        sock.connect({boost::asio::ip::make_address("127.0.0.1"), srv.port()});
        bh::request<bh::string_body> req{bh::string_to_verb(method), target, 11};
        if (req.method() == bh::verb::unknown) {
            req.method_string(method);
        }
        for (auto const& [n, v] : hs) {
            req.set(n, v);
        }
        req.body() = std::move(body);
        req.prepare_payload();
        bh::write(sock, req);
        boost::beast::flat_buffer buf;
        bh::response_parser<bh::string_body> parser;
        parser.body_limit(64ull << 20);
        bh::read(sock, buf, parser);
        response r;
        r.status = parser.get().result_int();
        for (auto const& f : parser.get()) {
            r.headers[lower(std::string(f.name_string()))] = std::string(f.value());
        }
        r.body = parser.get().body();
        return r;
    }

    /** Sends one request signed with SigV4 (service `k2v`, body hashed). @return the response. */
    response send(std::string const& method, std::string const& target, std::string body = {},
                  request_options o = {})
    {
        auto const q = target.find('?');
        std::string const path = target.substr(0, q);
        std::string const query = q == std::string::npos ? std::string() : target.substr(q + 1);
        auto const now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        std::string const amz_date = api::sigv4::format_amz_date(now);
        std::string const payload_hash = util::sha256sum(body).to_hex();
        header_list hs{{"host", "127.0.0.1"}};
        if (!o.anonymous) {
            hs.emplace_back("x-amz-date", amz_date);
            hs.emplace_back("x-amz-content-sha256", payload_hash);
        }
        for (auto const& [n, v] : o.headers) {
            hs.emplace_back(lower(n), v);
        }
        std::sort(hs.begin(), hs.end());
        if (!o.anonymous) {
            std::vector<api::header_field> fields;
            std::vector<std::string> names;
            std::string signed_list;
            for (auto const& [n, v] : hs) {
                fields.push_back({n, v});
                names.push_back(n);
                signed_list += (signed_list.empty() ? "" : ";") + n;
            }
            auto const ch = api::sigv4::canonical_headers(fields, names).value();
            auto const short_date = amz_date.substr(0, 8);
            auto const scope = api::sigv4::credential_scope(short_date, "garage", o.service);
            auto const svc = o.service == "k2v" ? api::sigv4::service::k2v : api::sigv4::service::s3;
            auto const creq = api::sigv4::canonical_request(
                method, api::sigv4::canonical_uri(path, svc),
                api::sigv4::canonical_query(api::parse_query(query)), ch, signed_list, payload_hash);
            auto const skey = api::sigv4::derive_signing_key(o.secret_key, short_date, "garage", o.service);
            auto const sig =
                api::sigv4::compute_signature(skey, api::sigv4::string_to_sign(amz_date, scope, creq));
            hs.emplace_back("authorization", "AWS4-HMAC-SHA256 Credential=" + o.access_key + "/" + scope +
                                                 ",SignedHeaders=" + signed_list +
                                                 ",Signature=" + sig.to_hex());
        }
        return send_raw(method, target, std::move(body), std::move(hs));
    }

    /** Sends a signed request with extra headers. */
    response send(std::string const& method, std::string const& target, std::string body, header_list extra)
    {
        return send(method, target, std::move(body), request_options{.headers = std::move(extra)});
    }

    /** Flushes the counters' insert queues (the index is updated asynchronously). */
    void flush() { REQUIRE(k2v->flush_insert_queues()); }

    /** Waits until `n` polls are subscribed (a poll is waiting), at most 5 s. @return whether they are. */
    /// Waits (up to 5 s) until no poll is subscribed any more (a poll unsubscribes after it answers).
    bool wait_for_no_subscribers()
    {
        auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (k2v->subscriptions().size() != 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return true;
    }

    bool wait_for_subscribers(std::size_t n)
    {
        auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (k2v->subscriptions().size() < n) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return true;
    }

private:
    static std::string lower(std::string s)
    {
        std::transform(s.begin(), s.end(), s.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        return s;
    }
};

/** @return the standard base64 of `s`. */
inline std::string b64(std::string_view s)
{
    return util::to_base64(s);
}

} // namespace garage::test::k2v
