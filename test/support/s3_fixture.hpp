#pragma once

/**
 * @file
 * An in-process S3 server for tests: a real HTTP server on a loopback port over LMDB, a block manager
 * and the model, with a client that signs its requests with SigV4 in several body modes.
 */

#include <garage/api/common/aws_chunked.hpp>
#include <garage/api/common/checksum.hpp>
#include <garage/api/common/request_view.hpp>
#include <garage/api/common/sigv4.hpp>
#include <garage/api/http/server.hpp>
#include <garage/api/s3/api_server.hpp>
#include <garage/block/manager.hpp>
#include <garage/model/garage.hpp>
#include <garage/model/helper.hpp>
#include <garage/model/key.hpp>
#include <garage/replication/local.hpp>
#include <garage/storage/lmdb_backend.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/hasher.hpp>

#include <test/support/temp_dir.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace garage::test::s3 {

/** The block manager of the test server. */
using blocks_type = block::block_manager<storage::lmdb_backend>;
/** The model of the test server (one local node). */
using model_type =
    model::basic_model<replication::local, replication::local, storage::lmdb_backend, blocks_type>;
/** The S3 API server under test. */
using s3_type = api::s3::s3_api_server<model_type, blocks_type>;

/** The access key id the fixture imports (allowed to create buckets). */
inline constexpr std::string_view key_id = "GK0123456789abcdef01234567";
/** The secret of #key_id. */
inline constexpr std::string_view secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/** Header (or form field) name/value pairs, in order. */
using header_list = std::vector<std::pair<std::string, std::string>>;

/** How a test request carries its body. */
enum class body_mode { sha256, unsigned_payload, chunked_signed, chunked_unsigned_trailer, anonymous };

/** A response as the client read it. */
struct response {
    unsigned status = 0;                        ///< HTTP status
    std::map<std::string, std::string> headers; ///< by lower-case name
    std::string body;                           ///< empty for HEAD

    /**
     * @param n a lower-case header name
     * @return the value of header `n`, or an empty string.
     */
    std::string header(std::string const& n) const
    {
        auto it = headers.find(n);
        return it == headers.end() ? std::string() : it->second;
    }
};

/** How fixture::send builds and signs a request. */
struct request_options {
    body_mode mode = body_mode::sha256;           ///< body encoding and payload hash
    header_list headers{};                        ///< more headers (names are lower-cased; all are signed)
    std::string region = "garage";                ///< region of the credential scope
    std::string secret_key = std::string(secret); ///< the signing secret
    std::string access_key = std::string(key_id); ///< the key id of the credential
    bool truncate_body = false;                   ///< drop the final chunk of an aws-chunked body
    std::optional<std::string> sha256_override{}; ///< an x-amz-content-sha256 to send instead
};

/**
 * A server (real HTTP server, LMDB, block manager, model) on a loopback port, with the test key
 * (#key_id, allowed to create buckets) imported.
 *
 * @par Thread Safety
 * The server runs on its own thread; the member functions are called from the test's thread only.
 */
struct fixture {
    temp_dir dir;
    storage::lmdb_backend db = open_db(dir);
    std::unique_ptr<blocks_type> blocks = open_blocks(db, dir);
    std::unique_ptr<model_type> model =
        model_type::open(db, replication::local{}, replication::local{}, *blocks).value();
    boost::asio::io_context ioc;
    boost::asio::thread_pool pool{1};
    s3_type s3;
    api::http::server srv{ioc.get_executor(), [this](api::http::exchange& ex) { return s3.handle(ex); },
                          api::http::server_options{.drain_timeout = std::chrono::milliseconds(200)}};
    std::thread runner;

    /** @return the LMDB environment of the test, under `d`. */
    static storage::lmdb_backend open_db(temp_dir const& d)
    {
        storage::lmdb_options o;
        o.path = d.path() / "db.lmdb";
        o.map_size = 1ull << 30;
        return std::move(storage::lmdb_backend::open(o).value());
    }
    /** @return a block manager storing its blocks under `d`. */
    static std::unique_ptr<blocks_type> open_blocks(storage::lmdb_backend& db, temp_dir const& d)
    {
        block::block_options o;
        o.data_dirs = {util::data_dir_config{d.path() / "data", std::nullopt, false}};
        o.metadata_dir = d.path() / "meta";
        o.block_size = 8 << 20; // the largest block a test's s3_settings may cut
        return blocks_type::open(db, o).value();
    }

    /** Starts a server with `settings` (region "garage", 1 MiB blocks by default). */
    explicit fixture(api::s3::s3_settings settings = {"garage", "", 1 << 20})
        : s3{*model, *blocks, std::move(settings), pool.get_executor()}
    {
        auto k = model::access_key::import(key_id, secret, "test-key").value();
        k.params_mut()->allow_create_bucket.update(true);
        REQUIRE(model->key_table().insert(k));
        REQUIRE(srv.listen(api::http::tcp_address{"127.0.0.1", 0}));
        srv.start();
        runner = std::thread([this] { ioc.run(); });
    }
    ~fixture()
    {
        srv.stop();
        runner.join();
        pool.join();
    }
    fixture(fixture const&) = delete;
    fixture& operator=(fixture const&) = delete;

    /**
     * Sends one request as is (no signature, headers `hs` in order) on a new connection.
     * @return the response read back (64 MiB at most).
     */
    response send_raw(std::string const& method, std::string const& target, std::string body, header_list hs)
    {
        namespace bh = boost::beast::http;
        boost::asio::io_context ctx;
        boost::asio::ip::tcp::socket sock(ctx);
        sock.connect({boost::asio::ip::make_address("127.0.0.1"), srv.port()});
        bh::request<bh::string_body> req{bh::string_to_verb(method), target, 11};
        for (auto const& [n, v] : hs) {
            req.set(n, v);
        }
        req.body() = std::move(body);
        req.prepare_payload();
        bh::write(sock, req);

        boost::beast::flat_buffer buf;
        bh::response_parser<bh::string_body> parser;
        parser.body_limit(64ull << 20);
        if (method == "HEAD") {
            parser.skip(true);
        }
        bh::read(sock, buf, parser);
        response r;
        r.status = parser.get().result_int();
        for (auto const& f : parser.get()) {
            r.headers[lower(std::string(f.name_string()))] = std::string(f.value());
        }
        r.body = parser.get().body();
        return r;
    }

    /**
     * Sends one request signed with SigV4 (header auth: host, x-amz-date, x-amz-content-sha256 and
     * every header of `o` signed) on a new connection, its body encoded as `o.mode` says.
     * @return the response read back.
     */
    response send(std::string const& method, std::string const& target, std::string body = {},
                  request_options o = {})
    {
        auto const q = target.find('?');
        std::string const path = target.substr(0, q);
        std::string const query = q == std::string::npos ? std::string() : target.substr(q + 1);
        auto const now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        std::string const amz_date = api::sigv4::format_amz_date(now);

        header_list hs{{"host", "127.0.0.1"}};
        std::string payload_hash;
        std::string const decoded = body;
        switch (o.mode) {
        case body_mode::sha256:
        case body_mode::anonymous:
            payload_hash = util::sha256sum(body).to_hex();
            break;
        case body_mode::unsigned_payload:
            payload_hash = "UNSIGNED-PAYLOAD";
            break;
        case body_mode::chunked_signed:
            payload_hash = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
            hs.emplace_back("content-encoding", "aws-chunked");
            hs.emplace_back("x-amz-decoded-content-length", std::to_string(body.size()));
            break;
        case body_mode::chunked_unsigned_trailer:
            payload_hash = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
            hs.emplace_back("content-encoding", "aws-chunked");
            hs.emplace_back("x-amz-decoded-content-length", std::to_string(body.size()));
            hs.emplace_back("x-amz-trailer", "x-amz-checksum-crc32");
            break;
        }
        if (o.sha256_override) {
            payload_hash = *o.sha256_override;
        }
        if (o.mode != body_mode::anonymous) {
            hs.emplace_back("x-amz-date", amz_date);
            hs.emplace_back("x-amz-content-sha256", payload_hash);
        }
        for (auto const& [n, v] : o.headers) {
            hs.emplace_back(lower(n), v);
        }
        std::sort(hs.begin(), hs.end());

        if (o.mode != body_mode::anonymous) {
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
            auto const scope = api::sigv4::credential_scope(short_date, o.region, "s3");
            auto const creq = api::sigv4::canonical_request(
                method, api::sigv4::canonical_uri(path, api::sigv4::service::s3),
                api::sigv4::canonical_query(api::parse_query(query)), ch, signed_list, payload_hash);
            auto const skey = api::sigv4::derive_signing_key(o.secret_key, short_date, o.region, "s3");
            auto const sig =
                api::sigv4::compute_signature(skey, api::sigv4::string_to_sign(amz_date, scope, creq));
            hs.emplace_back("authorization", "AWS4-HMAC-SHA256 Credential=" + o.access_key + "/" + scope +
                                                 ",SignedHeaders=" + signed_list +
                                                 ",Signature=" + sig.to_hex());
            if (o.mode == body_mode::chunked_signed) {
                api::sigv4::chunk_signing_context cc{skey, amz_date, scope, sig};
                std::string enc;
                auto prev = sig;
                std::size_t const chunk = 64 * 1024;
                for (std::size_t off = 0; off < decoded.size(); off += chunk) {
                    auto piece = std::string_view(decoded).substr(off, chunk);
                    prev = api::chunk_signature(cc, prev, util::sha256sum(piece));
                    enc += hex_size(piece.size()) + ";chunk-signature=" + prev.to_hex() + "\r\n";
                    enc.append(piece);
                    enc += "\r\n";
                }
                if (!o.truncate_body) {
                    prev = api::chunk_signature(cc, prev, util::sha256sum(""));
                    enc += "0;chunk-signature=" + prev.to_hex() + "\r\n\r\n";
                }
                body = std::move(enc);
            }
        }
        if (o.mode == body_mode::chunked_unsigned_trailer) {
            std::string enc = hex_size(decoded.size()) + "\r\n" + decoded + "\r\n0\r\n";
            auto crc = api::checksum_value::from_crc(api::checksum_algorithm::crc32, api::crc32(decoded));
            enc += "x-amz-checksum-crc32:" + crc.to_base64() + "\r\n\r\n";
            body = std::move(enc);
        }
        return send_raw(method, target, std::move(body), std::move(hs));
    }

    /**
     * Sends one request signed with SigV4, the body hashed, with the more headers `extra` (a template
     * so that a braced list, designated or not, always means request_options).
     * @tparam H header_list
     */
    template <std::same_as<header_list> H>
    response send(std::string const& method, std::string const& target, std::string body, H extra)
    {
        return send(method, target, std::move(body), request_options{.headers = std::move(extra)});
    }

    /** @return the id of the bucket `name` of the test key. */
    util::uuid bucket_id(std::string const& name)
    {
        auto k = model::get_key(*model, key_id).value();
        REQUIRE(k);
        auto id = model::resolve_bucket(*model, name, &*k).value();
        REQUIRE(id);
        return *id;
    }

    /** Sets a bucket's quotas, as the admin API does. */
    void set_quotas(std::string const& name, std::optional<std::uint64_t> max_size,
                    std::optional<std::uint64_t> max_objects)
    {
        auto b = model::get_bucket(*model, bucket_id(name)).value();
        REQUIRE(b);
        b->params_mut()->quotas.update(model::bucket_quotas{max_size, max_objects});
        REQUIRE(model->bucket_table().insert(*b));
    }

private:
    static std::string lower(std::string s)
    {
        std::transform(s.begin(), s.end(), s.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        return s;
    }
    static std::string hex_size(std::size_t n)
    {
        char hex[32];
        std::snprintf(hex, sizeof hex, "%zx", n);
        return hex;
    }
};

/** @return the `<Code>` of an error body, or an empty string. */
inline std::string error_code(response const& r)
{
    auto a = r.body.find("<Code>");
    auto b = r.body.find("</Code>");
    if (a == std::string::npos || b == std::string::npos) {
        return {};
    }
    return r.body.substr(a + 6, b - a - 6);
}

/** @return `n` pseudo-random bytes, the same for the same `seed`. */
inline std::string pattern(std::size_t n, unsigned seed = 1)
{
    std::string s(n, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& ch : s) {
        x = x * 1664525u + 1013904223u;
        ch = static_cast<char>(x >> 24);
    }
    return s;
}

/** @return the MD5 of `s` in lower-case hex (the ETag of a one-part upload). */
inline std::string md5_hex(std::string_view s)
{
    return util::to_hex(util::digest_view(util::md5sum(s)));
}

} // namespace garage::test::s3
