// Test that header file is self-contained.
#include <garage/api/s3/sse_c.hpp>

#include <garage/api/common/checksum.hpp>
#include <garage/api/s3/api_server.hpp>
#include <garage/model/garage.hpp>
#include <garage/model/helper.hpp>
#include <garage/model/key.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/hasher.hpp>

#include <test/support/s3_fixture.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace garage;
using namespace garage::test::s3;
using api::s3::sse_c_key;

std::string raw_key(char fill)
{
    return std::string(sse_c_key::key_size, fill);
}

std::string md5_b64(std::string_view s)
{
    return util::to_base64(util::digest_view(util::md5sum(s)));
}

/// The three SSE-C headers for `raw` (`prefix` selects the copy-source set).
header_list sse_headers(std::string const& raw, std::string const& prefix = "x-amz-")
{
    return {{prefix + "server-side-encryption-customer-algorithm", "AES256"},
            {prefix + "server-side-encryption-customer-key", util::to_base64(raw)},
            {prefix + "server-side-encryption-customer-key-MD5", md5_b64(raw)}};
}

std::vector<api::header_field> fields(header_list const& hs)
{
    std::vector<api::header_field> out;
    for (auto const& [n, v] : hs) {
        out.push_back({n, v});
    }
    return out;
}

/// Parses `hs` as object headers and expects the S3 error `code`.
void expect_parse_error(header_list const& hs, std::string const& code)
{
    auto const fs = fields(hs);
    auto r = api::s3::parse_sse_c_headers(fs, api::s3::sse_c_headers::object);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == code);
    CHECK(r.error().status == 400);
}

// ---- the key, sealing and opening ---------------------------------------------------------------

TEST_CASE("an SSE-C key seals a buffer that only it opens, to the same bytes", "[api][s3][sse_c]")
{
    auto const key = sse_c_key::from_bytes(raw_key('k')).value();
    for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(4096), std::size_t(1 << 20) + 7}) {
        auto const plain = pattern(n, static_cast<unsigned>(n));
        auto const sealed = key.encrypt(plain);
        CHECK(sealed.size() == n + sse_c_key::overhead);
        auto const back = key.decrypt(sealed);
        REQUIRE(back);
        CHECK(*back == plain);
        if (n >= 64) {
            CHECK(sealed.find(plain.substr(0, 32)) == std::string::npos);
        }
    }
    // A fresh nonce each time: the same bytes seal differently.
    auto const a = key.encrypt("same bytes");
    auto const b = key.encrypt("same bytes");
    CHECK(a != b);
    CHECK(a.substr(0, sse_c_key::nonce_size) != b.substr(0, sse_c_key::nonce_size));
}

TEST_CASE("sealing is standard AES-256-GCM: nonce, ciphertext, tag (NIST test case 14)", "[api][s3][sse_c]")
{
    // K = 0^256, IV = 0^96, P = 0^128: C = cea7403d…, T = d0d1c8a7….
    auto const key = sse_c_key::from_bytes(std::string(32, '\0')).value();
    auto const sealed = std::string(12, '\0') + util::from_hex("cea7403d4d606b6e074ec5d3baf39d18").value() +
                        util::from_hex("d0d1c8a799996bf0265b98b5d48ab919").value();
    auto const plain = key.decrypt(sealed);
    REQUIRE(plain);
    CHECK(*plain == std::string(16, '\0'));
}

TEST_CASE("a sealed buffer modified anywhere, or truncated, does not open", "[api][s3][sse_c]")
{
    auto const key = sse_c_key::from_bytes(raw_key('k')).value();
    auto const sealed = key.encrypt(pattern(1000));
    for (std::size_t pos : {std::size_t(0), std::size_t(11), std::size_t(12), std::size_t(500),
                            sealed.size() - 17, sealed.size() - 16, sealed.size() - 1}) {
        auto bad = sealed;
        bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
        CHECK_FALSE(key.decrypt(bad));
    }
    CHECK_FALSE(key.decrypt(sealed.substr(0, sealed.size() - 1)));
    CHECK_FALSE(key.decrypt(sealed.substr(0, sse_c_key::overhead - 1)));
    CHECK_FALSE(key.decrypt(""));
    CHECK(key.decrypt(sealed));
}

TEST_CASE("a buffer sealed with one key does not open with another", "[api][s3][sse_c]")
{
    auto const k1 = sse_c_key::from_bytes(raw_key('a')).value();
    auto k2raw = raw_key('a');
    k2raw.back() = 'b';
    auto const k2 = sse_c_key::from_bytes(k2raw).value();
    CHECK_FALSE(k1 == k2);
    CHECK(k1 == sse_c_key::from_bytes(raw_key('a')).value());
    CHECK_FALSE(k2.decrypt(k1.encrypt("secret")));
    CHECK(k1.decrypt(k1.encrypt("secret")) == std::optional<std::string>("secret"));
}

TEST_CASE("a key is exactly 32 bytes and knows its MD5", "[api][s3][sse_c]")
{
    CHECK_FALSE(sse_c_key::from_bytes(std::string(31, 'x')));
    CHECK_FALSE(sse_c_key::from_bytes(std::string(33, 'x')));
    CHECK_FALSE(sse_c_key::from_bytes(""));
    auto const k = sse_c_key::from_bytes(raw_key('z')).value();
    CHECK(k.bytes() == raw_key('z'));
    CHECK(k.key_md5() == util::digest_view(util::md5sum(raw_key('z'))));
    CHECK(k.key_md5_base64() == md5_b64(raw_key('z')));
    auto const echo = api::s3::sse_c_response_headers(k);
    REQUIRE(echo.size() == 2);
    CHECK(echo[0] ==
          std::pair<std::string, std::string>{"x-amz-server-side-encryption-customer-algorithm", "AES256"});
    CHECK(echo[1] == std::pair<std::string, std::string>{"x-amz-server-side-encryption-customer-key-MD5",
                                                         md5_b64(raw_key('z'))});
}

TEST_CASE("the SSE-C headers are parsed, and each way of getting them wrong is a 400", "[api][s3][sse_c]")
{
    using api::s3::parse_sse_c_headers;
    using api::s3::sse_c_headers;
    auto const raw = raw_key('q');

    SECTION("none: no key")
    {
        header_list const hs{{"content-type", "text/plain"}};
        auto const fs = fields(hs);
        auto r = parse_sse_c_headers(fs, sse_c_headers::object);
        REQUIRE(r.has_value());
        CHECK_FALSE(*r);
    }
    SECTION("all three: the key, whatever the case of the names")
    {
        auto hs = sse_headers(raw);
        for (auto& [n, v] : hs) {
            std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::toupper(ch); });
        }
        auto const fs = fields(hs);
        auto r = parse_sse_c_headers(fs, sse_c_headers::object);
        REQUIRE(r.has_value());
        REQUIRE(*r);
        CHECK((*r)->bytes() == raw);
    }
    SECTION("the copy-source set is read only when asked for")
    {
        auto const hs = sse_headers(raw, "x-amz-copy-source-");
        auto const fs = fields(hs);
        auto obj = parse_sse_c_headers(fs, sse_c_headers::object);
        REQUIRE(obj.has_value());
        CHECK_FALSE(*obj);
        auto src = parse_sse_c_headers(fs, sse_c_headers::copy_source);
        REQUIRE(src.has_value());
        REQUIRE(*src);
        CHECK((*src)->bytes() == raw);
    }
    SECTION("one header missing")
    {
        for (std::size_t drop = 0; drop < 3; ++drop) {
            auto hs = sse_headers(raw);
            hs.erase(hs.begin() + static_cast<std::ptrdiff_t>(drop));
            expect_parse_error(hs, "InvalidRequest");
        }
    }
    SECTION("another algorithm")
    {
        auto hs = sse_headers(raw);
        hs[0].second = "AES128";
        expect_parse_error(hs, "InvalidEncryptionAlgorithmError");
    }
    SECTION("a key that is not base64 or not 32 bytes")
    {
        auto hs = sse_headers(raw);
        hs[1].second = "not base64!";
        expect_parse_error(hs, "InvalidRequest");
        auto const short_key = std::string(16, 'q');
        hs = sse_headers(short_key);
        expect_parse_error(hs, "InvalidRequest");
    }
    SECTION("an MD5 that is not base64 or does not match")
    {
        auto hs = sse_headers(raw);
        hs[2].second = "???";
        expect_parse_error(hs, "InvalidRequest");
        hs[2].second = md5_b64(raw_key('r'));
        expect_parse_error(hs, "InvalidRequest");
    }
}

TEST_CASE("SSE-C ETags are random, not the MD5 of the data", "[api][s3][sse_c]")
{
    auto const a = api::s3::sse_c_random_etag();
    auto const b = api::s3::sse_c_random_etag();
    CHECK(a.size() == 32);
    CHECK(util::from_hex(a));
    CHECK(a != b);
}

// ---- over HTTP ----------------------------------------------------------------------------------

/// The text of the first `<tag>` of a body.
std::string xml_text(std::string const& body, std::string const& tag)
{
    auto a = body.find("<" + tag + ">");
    auto b = body.find("</" + tag + ">");
    if (a == std::string::npos || b == std::string::npos) {
        return {};
    }
    a += tag.size() + 2;
    return body.substr(a, b - a);
}

/// The shared server, with what these tests read of the stored state.
struct fixture : test::s3::fixture {
    /// The current complete version of `bucket/key`, read from the object table.
    model::object_version version_of(std::string const& bucket, std::string const& key)
    {
        auto id = model::resolve_bucket(*model, bucket, nullptr).value(); // the global alias
        REQUIRE(id);
        auto obj = model->object_table().get(*id, key).value();
        REQUIRE(obj);
        REQUIRE(obj->last_complete());
        return *obj->last_complete();
    }

    /// The hashes of the blocks of version `vid`, in order.
    std::vector<util::hash32> block_hashes(util::uuid const& vid)
    {
        auto v = model->version_table().get(vid, table::empty_key{}).value();
        REQUIRE(v);
        std::vector<util::hash32> out;
        for (auto const& b : v->blocks.items()) {
            out.push_back(b.value.hash);
        }
        return out;
    }

    /// Whether any file under the temporary directory (LMDB and block files) contains `needle`.
    bool stored_anywhere(std::string_view needle) const
    {
        for (auto const& e : std::filesystem::recursive_directory_iterator(dir.path())) {
            if (!e.is_regular_file()) {
                continue;
            }
            std::ifstream in(e.path(), std::ios::binary);
            std::string const content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            if (content.find(needle) != std::string::npos) {
                return true;
            }
        }
        return false;
    }
};

std::string const key_a = raw_key('A');
std::string const key_b = raw_key('B');

TEST_CASE("an SSE-C object is written sealed and read back only with its key", "[api][s3][sse_c]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/enc").status == 200);
    auto const body = pattern(2 * 1024 * 1024 + 4321, 7);
    auto hs = sse_headers(key_a);
    hs.emplace_back("content-type", "text/x-secret");
    hs.emplace_back("x-amz-meta-project", "codename-bluebird");
    auto put = f.send("PUT", "/enc/obj", body, hs);
    REQUIRE(put.status == 200);
    CHECK(put.header("x-amz-server-side-encryption-customer-algorithm") == "AES256");
    CHECK(put.header("x-amz-server-side-encryption-customer-key-md5") == md5_b64(key_a));
    auto const etag = put.header("etag");
    CHECK(etag.size() == 34);
    CHECK(etag != "\"" + md5_hex(body) + "\"");

    auto get = f.send("GET", "/enc/obj", {}, sse_headers(key_a));
    REQUIRE(get.status == 200);
    CHECK(get.body == body);
    CHECK(get.header("etag") == etag);
    CHECK(get.header("content-type") == "text/x-secret");
    CHECK(get.header("x-amz-meta-project") == "codename-bluebird");
    CHECK(get.header("x-amz-server-side-encryption-customer-key-md5") == md5_b64(key_a));

    auto head = f.send("HEAD", "/enc/obj", {}, sse_headers(key_a));
    CHECK(head.status == 200);
    CHECK(head.header("content-length") == std::to_string(body.size()));
    CHECK(head.header("x-amz-server-side-encryption-customer-algorithm") == "AES256");
    CHECK(head.header("x-amz-server-side-encryption-customer-key-md5") == md5_b64(key_a));
    CHECK(head.header("x-amz-meta-project") == "codename-bluebird");

    SECTION("without the key, with another key: 400 and nothing of the object")
    {
        auto no_key = f.send("GET", "/enc/obj");
        CHECK(no_key.status == 400);
        CHECK(error_code(no_key) == "InvalidRequest");
        CHECK(no_key.body.find("encrypted") != std::string::npos);
        CHECK(f.send("HEAD", "/enc/obj").status == 400);
        auto wrong = f.send("GET", "/enc/obj", {}, sse_headers(key_b));
        CHECK(wrong.status == 400);
        CHECK(error_code(wrong) == "InvalidRequest");
        CHECK(wrong.header("x-amz-meta-project").empty());
        CHECK(f.send("HEAD", "/enc/obj", {}, sse_headers(key_b)).status == 400);
    }
    SECTION("ranges within a block and across block boundaries")
    {
        for (auto [a, b] : {std::pair<std::size_t, std::size_t>{0, 99},
                            {1048000, 1049000},
                            {1048576, 2097152},
                            {2 * 1048576 + 100, body.size() - 1}}) {
            auto hs2 = sse_headers(key_a);
            hs2.emplace_back("range", "bytes=" + std::to_string(a) + "-" + std::to_string(b));
            auto r = f.send("GET", "/enc/obj", {}, hs2);
            CHECK(r.status == 206);
            CHECK(r.body == body.substr(a, b - a + 1));
        }
    }
    SECTION("a checksum is stored sealed and returned with the key")
    {
        auto const crc = api::checksum_value::from_crc(api::checksum_algorithm::crc32, api::crc32(body));
        auto hs2 = sse_headers(key_a);
        hs2.emplace_back("x-amz-checksum-crc32", crc.to_base64());
        auto p = f.send("PUT", "/enc/summed", body, hs2);
        REQUIRE(p.status == 200);
        CHECK(p.header("x-amz-checksum-crc32") == crc.to_base64());
        auto hs3 = sse_headers(key_a);
        hs3.emplace_back("x-amz-checksum-mode", "ENABLED");
        auto h = f.send("HEAD", "/enc/summed", {}, hs3);
        CHECK(h.status == 200);
        CHECK(h.header("x-amz-checksum-crc32") == crc.to_base64());
        auto const* meta = f.version_of("enc", "summed").meta();
        REQUIRE(meta);
        CHECK(meta->checksum() == nullptr); // not readable without the key
    }
    SECTION("conditional requests use the stored ETag")
    {
        auto hs2 = sse_headers(key_a);
        hs2.emplace_back("if-none-match", etag);
        CHECK(f.send("GET", "/enc/obj", {}, hs2).status == 304);
    }
    SECTION("the listing shows the plaintext size and the ETag")
    {
        auto l = f.send("GET", "/enc?list-type=2");
        CHECK(xml_text(l.body, "Size") == std::to_string(body.size()));
        CHECK(l.body.find(etag.substr(1, 32)) != std::string::npos);
    }
}

TEST_CASE("nothing of an SSE-C object is stored in clear: data, inline data, metadata", "[api][s3][sse_c]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/enc").status == 200);
    auto const big = pattern(1500 * 1024, 11);
    auto const small = pattern(2000, 12);
    auto hs = sse_headers(key_a);
    hs.emplace_back("x-amz-meta-codeword", "zanzibar-orchid-42");
    REQUIRE(f.send("PUT", "/enc/big", big, hs).status == 200);
    REQUIRE(f.send("PUT", "/enc/small", small, hs).status == 200);

    // The stored blocks are sealed, stored plain (not compressed) and hashed as stored.
    auto const v = f.version_of("enc", "big");
    auto const* meta = v.meta();
    REQUIRE(meta);
    auto const* sse = std::get_if<model::encryption_sse_c>(&meta->encryption);
    REQUIRE(sse);
    CHECK_FALSE(sse->compressed);
    CHECK(meta->size == big.size());
    auto const hashes = f.block_hashes(v.uuid);
    REQUIRE(hashes.size() == 2);
    for (auto const& h : hashes) {
        auto loc = f.blocks->find_block(h);
        REQUIRE(loc);
        CHECK(loc->encoding == block::block_encoding::plain);
        std::ifstream in(loc->path, std::ios::binary);
        std::string const stored((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        CHECK(util::blake2sum(stored) == h);
    }
    auto const sv = f.version_of("enc", "small");
    auto const* inl = std::get_if<model::inline_data>(&std::get<model::version_complete>(sv.state).data);
    REQUIRE(inl);
    CHECK(inl->bytes.size() == small.size() + sse_c_key::overhead);
    CHECK(std::holds_alternative<model::encryption_sse_c>(inl->meta.encryption));

    // No file (LMDB, blocks) holds any of it; the same content stored in clear would be found.
    auto const big_window = big.substr(1048576 + 5000, 48);
    auto const small_window = small.substr(1000, 48);
    CHECK_FALSE(f.stored_anywhere(big.substr(100, 48)));
    CHECK_FALSE(f.stored_anywhere(big_window));
    CHECK_FALSE(f.stored_anywhere(small_window));
    CHECK_FALSE(f.stored_anywhere("zanzibar-orchid-42"));
    REQUIRE(f.send("PUT", "/enc/plain-big", big).status == 200);
    REQUIRE(
        f.send("PUT", "/enc/plain-small", small, header_list{{"x-amz-meta-codeword", "zanzibar-orchid-42"}})
            .status == 200);
    CHECK(f.stored_anywhere(big_window));
    CHECK(f.stored_anywhere(small_window));
    CHECK(f.stored_anywhere("zanzibar-orchid-42"));

    // The inline object reads back, whole and by range.
    auto get = f.send("GET", "/enc/small", {}, sse_headers(key_a));
    CHECK(get.body == small);
    CHECK(get.header("x-amz-meta-codeword") == "zanzibar-orchid-42");
    auto hs2 = sse_headers(key_a);
    hs2.emplace_back("range", "bytes=10-19");
    CHECK(f.send("GET", "/enc/small", {}, hs2).body == small.substr(10, 10));
    CHECK(error_code(f.send("GET", "/enc/small")) == "InvalidRequest");
    CHECK(f.send("GET", "/enc/small", {}, sse_headers(key_b)).status == 400);
}

TEST_CASE("SSE-C headers are refused when malformed, or sent for a plaintext object", "[api][s3][sse_c]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/enc").status == 200);
    REQUIRE(f.send("PUT", "/enc/plain", "in clear").status == 200);

    auto with_key = f.send("GET", "/enc/plain", {}, sse_headers(key_a));
    CHECK(with_key.status == 400);
    CHECK(error_code(with_key) == "InvalidRequest");
    CHECK(with_key.body.find("plaintext") != std::string::npos);
    CHECK(f.send("HEAD", "/enc/plain", {}, sse_headers(key_a)).status == 400);

    auto bad_md5 = sse_headers(key_a);
    bad_md5[2].second = md5_b64(key_b);
    auto r1 = f.send("PUT", "/enc/x", "data", bad_md5);
    CHECK(r1.status == 400);
    CHECK(error_code(r1) == "InvalidRequest");
    auto bad_algo = sse_headers(key_a);
    bad_algo[0].second = "aws:kms";
    auto r2 = f.send("PUT", "/enc/x", "data", bad_algo);
    CHECK(r2.status == 400);
    CHECK(error_code(r2) == "InvalidEncryptionAlgorithmError");
    auto missing = sse_headers(key_a);
    missing.pop_back();
    CHECK(error_code(f.send("PUT", "/enc/x", "data", missing)) == "InvalidRequest");
    CHECK(f.send("GET", "/enc/x").status == 404); // nothing was written
}

TEST_CASE("copies decrypt the source with its key and seal the copy with the destination's",
          "[api][s3][sse_c]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/enc").status == 200);
    auto const body = pattern(1300 * 1024, 21);
    auto const small = pattern(100, 22);
    auto hs = sse_headers(key_a);
    hs.emplace_back("x-amz-meta-origin", "sealed");
    REQUIRE(f.send("PUT", "/enc/src", body, hs).status == 200);
    REQUIRE(f.send("PUT", "/enc/src-small", small, hs).status == 200);
    REQUIRE(f.send("PUT", "/enc/plain", body).status == 200);

    auto copy_hs = [](std::string const& src, std::optional<std::string> src_key,
                      std::optional<std::string> dst_key) {
        header_list h{{"x-amz-copy-source", src}};
        if (src_key) {
            auto s = sse_headers(*src_key, "x-amz-copy-source-");
            h.insert(h.end(), s.begin(), s.end());
        }
        if (dst_key) {
            auto d = sse_headers(*dst_key);
            h.insert(h.end(), d.begin(), d.end());
        }
        return h;
    };

    for (auto const* src : {"/enc/src", "/enc/src-small"}) {
        auto const& content = std::string(src) == "/enc/src" ? body : small;
        INFO(src);
        // to a plaintext copy: readable without a key, ETag the MD5 of the data
        auto c1 = f.send("PUT", "/enc/to-plain", {}, copy_hs(src, key_a, std::nullopt));
        REQUIRE(c1.status == 200);
        CHECK(xml_text(c1.body, "ETag") == "\"" + md5_hex(content) + "\"");
        auto g1 = f.send("GET", "/enc/to-plain");
        CHECK(g1.status == 200);
        CHECK(g1.body == content);
        CHECK(g1.header("x-amz-meta-origin") == "sealed");
        // to another key: only that key opens it
        auto c2 = f.send("PUT", "/enc/to-b", {}, copy_hs(src, key_a, key_b));
        REQUIRE(c2.status == 200);
        CHECK(c2.header("x-amz-server-side-encryption-customer-key-md5") == md5_b64(key_b));
        CHECK(f.send("GET", "/enc/to-b", {}, sse_headers(key_b)).body == content);
        CHECK(f.send("GET", "/enc/to-b", {}, sse_headers(key_a)).status == 400);
        CHECK(f.send("GET", "/enc/to-b").status == 400);
        // the same key: metadata-only, same ETag
        auto c3 = f.send("PUT", "/enc/same", {}, copy_hs(src, key_a, key_a));
        REQUIRE(c3.status == 200);
        CHECK(f.send("GET", "/enc/same", {}, sse_headers(key_a)).body == content);
        CHECK(f.send("HEAD", "/enc/same", {}, sse_headers(key_a)).header("etag") ==
              f.send("HEAD", src, {}, sse_headers(key_a)).header("etag"));
        // without the source's key, or with a wrong one: refused
        CHECK(error_code(f.send("PUT", "/enc/nokey", {}, copy_hs(src, std::nullopt, std::nullopt))) ==
              "InvalidRequest");
        CHECK(f.send("PUT", "/enc/nokey", {}, copy_hs(src, key_b, std::nullopt)).status == 400);
    }
    // The same-key copy of a block object shares its blocks; a re-sealed one does not.
    REQUIRE(f.send("PUT", "/enc/same", {}, copy_hs("/enc/src", key_a, key_a)).status == 200);
    CHECK(f.block_hashes(f.version_of("enc", "same").uuid) ==
          f.block_hashes(f.version_of("enc", "src").uuid));
    REQUIRE(f.send("PUT", "/enc/to-b", {}, copy_hs("/enc/src", key_a, key_b)).status == 200);
    auto const to_b = f.block_hashes(f.version_of("enc", "to-b").uuid);
    auto const src_blocks = f.block_hashes(f.version_of("enc", "src").uuid);
    REQUIRE(to_b.size() == src_blocks.size());
    CHECK(to_b[0] != src_blocks[0]);

    // From a plaintext source to a sealed copy, and a key for a plaintext source is refused.
    auto c4 = f.send("PUT", "/enc/from-plain", {}, copy_hs("/enc/plain", std::nullopt, key_a));
    REQUIRE(c4.status == 200);
    CHECK(f.send("GET", "/enc/from-plain").status == 400);
    CHECK(f.send("GET", "/enc/from-plain", {}, sse_headers(key_a)).body == body);
    CHECK(f.send("PUT", "/enc/bad", {}, copy_hs("/enc/plain", key_a, std::nullopt)).status == 400);
}

TEST_CASE("a multipart upload with SSE-C: every part sealed with the upload's key", "[api][s3][sse_c]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/mpu").status == 200);
    auto hs = sse_headers(key_a);
    hs.emplace_back("content-type", "application/x-parts");
    auto init = f.send("POST", "/mpu/obj?uploads", {}, hs);
    REQUIRE(init.status == 200);
    CHECK(init.header("x-amz-server-side-encryption-customer-key-md5") == md5_b64(key_a));
    auto const id = xml_text(init.body, "UploadId");
    REQUIRE(id.size() == 64);

    auto const p1 = pattern(5 * 1024 * 1024, 31);
    auto const p2 = pattern(3000, 32);
    auto const target = [&](int n) { return "/mpu/obj?partNumber=" + std::to_string(n) + "&uploadId=" + id; };
    // a part without the key or with another key: refused
    CHECK(error_code(f.send("PUT", target(1), p2)) == "InvalidRequest");
    CHECK(f.send("PUT", target(1), p2, sse_headers(key_b)).status == 400);
    // a key for a plaintext upload: refused
    auto plain_init = f.send("POST", "/mpu/plain?uploads");
    auto const plain_id = xml_text(plain_init.body, "UploadId");
    CHECK(f.send("PUT", "/mpu/plain?partNumber=1&uploadId=" + plain_id, pattern(3000, 33), sse_headers(key_a))
              .status == 400);
    CHECK(f.send("PUT", "/mpu/plain?partNumber=1&uploadId=" + plain_id, pattern(3000, 33)).status == 200);

    auto r1 = f.send("PUT", target(1), p1, sse_headers(key_a));
    REQUIRE(r1.status == 200);
    CHECK(r1.header("etag") != "\"" + md5_hex(p1) + "\"");
    CHECK(r1.header("x-amz-server-side-encryption-customer-key-md5") == md5_b64(key_a));
    auto r2 = f.send("PUT", target(2), p2, sse_headers(key_a));
    REQUIRE(r2.status == 200);

    auto lp = f.send("GET", "/mpu/obj?uploadId=" + id);
    CHECK(lp.status == 200);
    CHECK(lp.body.find(r1.header("etag")) != std::string::npos);

    std::string const xml = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                            r1.header("etag") + "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>" +
                            r2.header("etag") + "</ETag></Part></CompleteMultipartUpload>";
    CHECK(f.send("POST", "/mpu/obj?uploadId=" + id, xml, sse_headers(key_b)).status == 400);
    auto done = f.send("POST", "/mpu/obj?uploadId=" + id, xml);
    REQUIRE(done.status == 200);

    auto get = f.send("GET", "/mpu/obj", {}, sse_headers(key_a));
    REQUIRE(get.status == 200);
    CHECK(get.body == p1 + p2);
    CHECK(get.header("content-type") == "application/x-parts");
    CHECK(f.send("GET", "/mpu/obj").status == 400);
    CHECK(f.send("GET", "/mpu/obj", {}, sse_headers(key_b)).status == 400);
    auto hs2 = sse_headers(key_a);
    hs2.emplace_back("range", "bytes=5242000-5243000");
    CHECK(f.send("GET", "/mpu/obj", {}, hs2).body == (p1 + p2).substr(5242000, 1001));
    CHECK_FALSE(f.stored_anywhere(p1.substr(4096, 48)));
    CHECK_FALSE(f.stored_anywhere(p2.substr(1024, 48)));

    SECTION("UploadPartCopy reads a sealed source with its key into a sealed upload")
    {
        auto init2 = f.send("POST", "/mpu/copy?uploads", {}, sse_headers(key_b));
        auto const id2 = xml_text(init2.body, "UploadId");
        header_list ch{{"x-amz-copy-source", "/mpu/obj"}, {"x-amz-copy-source-range", "bytes=100-5242979"}};
        auto src = sse_headers(key_a, "x-amz-copy-source-");
        ch.insert(ch.end(), src.begin(), src.end());
        auto const part = "/mpu/copy?partNumber=1&uploadId=" + id2;
        CHECK(f.send("PUT", part, {}, ch).status == 400); // no destination key
        auto dst = sse_headers(key_b);
        ch.insert(ch.end(), dst.begin(), dst.end());
        auto pc = f.send("PUT", part, {}, ch);
        REQUIRE(pc.status == 200);
        auto const etag = xml_text(pc.body, "ETag");
        auto done2 = f.send("POST", "/mpu/copy?uploadId=" + id2,
                            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + etag +
                                "</ETag></Part></CompleteMultipartUpload>",
                            sse_headers(key_b));
        REQUIRE(done2.status == 200);
        CHECK(done2.header("x-amz-server-side-encryption-customer-key-md5") == md5_b64(key_b));
        CHECK(f.send("GET", "/mpu/copy", {}, sse_headers(key_b)).body == (p1 + p2).substr(100, 5242880));
    }
}

} // namespace
