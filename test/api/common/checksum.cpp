// Test that header file is self-contained.
#include <garage/api/common/checksum.hpp>

#include <garage/api/common/detail/crc64nvme.hpp>
#include <garage/util/encoding.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {
using namespace garage;
using namespace garage::api;

std::string iota_bytes(std::size_t n, int start = 0)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>(start + static_cast<int>(i));
    }
    return s;
}

std::string random_bytes(std::size_t n, std::uint32_t seed)
{
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) {
        c = static_cast<char>(rng() & 0xff);
    }
    return s;
}

TEST_CASE("CRC32, CRC32C and CRC64NVME give their catalogued check values", "[api][checksum]")
{
    // The "check" of each CRC catalogue entry: the CRC of the ASCII string "123456789".
    CHECK(crc32("123456789") == 0xCBF43926u);
    CHECK(crc32c("123456789") == 0xE3069283u);
    CHECK(crc64nvme("123456789") == 0xAE8B14860A799888ull);
    CHECK(crc32("") == 0);
    CHECK(crc32c("") == 0);
    CHECK(crc64nvme("") == 0);
}

TEST_CASE("CRC32C matches the RFC 3720 (iSCSI) test vectors", "[api][checksum]")
{
    CHECK(crc32c(std::string(32, '\0')) == 0x8A9136AAu);
    CHECK(crc32c(std::string(32, '\xff')) == 0x62A8AB43u);
    CHECK(crc32c(iota_bytes(32)) == 0x46DD794Eu);
    std::string decreasing(32, '\0');
    for (int i = 0; i < 32; ++i) {
        decreasing[static_cast<std::size_t>(i)] = static_cast<char>(31 - i);
    }
    CHECK(crc32c(decreasing) == 0x113FDB5Cu);
}

TEST_CASE("CRC32 matches zlib", "[api][checksum]")
{
    CHECK(crc32(std::string(32, '\0')) == 0x190A55ADu);
    CHECK(crc32(iota_bytes(32)) == 0x91267E8Au);
    CHECK(crc32("The quick brown fox jumps over the lazy dog") == 0x414FA339u);
}

TEST_CASE("CRC64NVME matches the AWS and NVMe test vectors", "[api][checksum]")
{
    // aws-checksums / aws-crt test vectors.
    CHECK(crc64nvme(std::string(32, '\0')) == 0xCF3473434D4ECF3Bull);
    CHECK(crc64nvme(iota_bytes(32)) == 0xB9D9D4A8492CBD7Full);
    CHECK(crc64nvme(std::string(32, '\xff')) == 0xA0A06974C34D63C4ull);
    CHECK(crc64nvme(std::string(25u << 20, '\0')) == 0x5B6F5045463CA45Eull);
    // NVM Express NVM Command Set specification, 4 KiB of 00h and of FFh.
    CHECK(crc64nvme(std::string(4096, '\0')) == 0x6482D367EB22B64Eull);
    CHECK(crc64nvme(std::string(4096, '\xff')) == 0xC0DDBA7302ECA3ACull);
    CHECK(crc64nvme("hello world!") == 0xD9160D1FA8E418E3ull);
}

TEST_CASE("the CRC64NVME fast path agrees with the bitwise definition at every length and alignment",
          "[api][checksum]")
{
    std::string const data = random_bytes(4096 + 64, 7);
    auto const* p = reinterpret_cast<unsigned char const*>(data.data());
    for (std::size_t offset = 0; offset < 9; ++offset) {
        for (std::size_t len : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 127, 128, 255, 256, 1000, 4096}) {
            INFO("offset " << offset << " length " << len);
            auto const seed = ~std::uint64_t{0};
            auto const want = detail::crc64nvme_update_bitwise(seed, p + offset, len);
            CHECK(detail::crc64nvme_update_slice8(seed, p + offset, len) == want);
            CHECK(detail::crc64nvme_update_pclmul(seed, p + offset, len) == want);
            CHECK(detail::crc64nvme_update(seed, p + offset, len) == want);
        }
    }
    // Every length around the folding path's thresholds (128 bytes, 64-byte groups), from any state.
    for (std::size_t len = 100; len < 400; ++len) {
        INFO("length " << len);
        std::uint64_t const seed = 0x0123456789ABCDEFull * len;
        CHECK(detail::crc64nvme_update_pclmul(seed, p + 3, len) ==
              detail::crc64nvme_update_bitwise(seed, p + 3, len));
    }
}

TEST_CASE("streaming CRCs give the same value whatever the split", "[api][checksum]")
{
    std::string const data = random_bytes(100'003, 11);
    auto const whole32 = crc32(data);
    auto const whole32c = crc32c(data);
    auto const whole64 = crc64nvme(data);
    for (std::size_t piece : {1, 3, 64, 1000, 65536}) {
        INFO("piece " << piece);
        crc32_hasher a;
        crc32c_hasher b;
        crc64nvme_hasher c;
        for (std::size_t i = 0; i < data.size(); i += piece) {
            std::string_view const part = std::string_view(data).substr(i, piece);
            a.update(part);
            b.update(part);
            c.update(part);
        }
        CHECK(a.value() == whole32);
        CHECK(b.value() == whole32c);
        CHECK(c.value() == whole64);
        a.reset();
        b.reset();
        c.reset();
        CHECK(a.value() == 0);
        CHECK(b.value() == 0);
        CHECK(c.value() == 0);
    }
}

TEST_CASE("checksum values are base64 of big-endian bytes", "[api][checksum]")
{
    // CRC32C of the 66560 'a' of the AWS trailing-header example.
    std::string const body(66560, 'a');
    auto const v = checksum_value::from_crc(checksum_algorithm::crc32c, crc32c(body));
    CHECK(v.to_base64() == "sOO8/Q==");
    CHECK(v.bytes().size() == 4);
    CHECK(checksum_value::from_crc(checksum_algorithm::crc32, crc32(body)).to_base64() == "sK4Y7A==");
    CHECK(checksum_value::from_crc(checksum_algorithm::crc64nvme, crc64nvme(body)).to_base64() ==
          "pRf+emrnL+A=");

    auto const parsed = checksum_value::from_base64(checksum_algorithm::crc32c, "sOO8/Q==");
    REQUIRE(parsed);
    CHECK(*parsed == v);
    CHECK(parsed->bytes() == std::string_view("\xb0\xe3\xbc\xfd", 4));
    // Same bytes under another algorithm are another value.
    CHECK(*checksum_value::from_base64(checksum_algorithm::crc32, "sOO8/Q==") != v);

    for (auto const& [algo, text] : std::vector<std::pair<checksum_algorithm, std::string>>{
             {checksum_algorithm::crc32c, "sOO8/Q="},
             {checksum_algorithm::crc32c, "sOO8/Q8="},
             {checksum_algorithm::crc64nvme, "sOO8/Q=="},
             {checksum_algorithm::sha256, "2jmj7l5rSw0yVb/vlWAYkK/YBwk="},
             {checksum_algorithm::sha1, "!!!!"}}) {
        INFO(text);
        auto const r = checksum_value::from_base64(algo, text);
        REQUIRE(!r);
        CHECK(r.error().code == make_error_code(error::invalid_checksum_value));
    }
}

TEST_CASE("checksum algorithm names parse and map to their headers", "[api][checksum]")
{
    for (auto algo : all_checksum_algorithms) {
        auto const parsed = parse_checksum_algorithm(to_string(algo));
        REQUIRE(parsed);
        CHECK(*parsed == algo);
        CHECK(checksum_header_name(algo).starts_with("x-amz-checksum-"));
    }
    CHECK(*parse_checksum_algorithm("crc64nvme") == checksum_algorithm::crc64nvme);
    CHECK(checksum_header_name(checksum_algorithm::crc32c) == "x-amz-checksum-crc32c");
    CHECK(checksum_size(checksum_algorithm::sha1) == 20);
    auto const bad = parse_checksum_algorithm("MD5");
    REQUIRE(!bad);
    CHECK(bad.error().code == make_error_code(error::invalid_checksum_algorithm));
    CHECK(bad.error().is(util::condition::bad_request));
}

TEST_CASE("a checksummer computes every requested checksum in one pass", "[api][checksum]")
{
    std::string const data = random_bytes(300'000, 5);
    checksummer c;
    c.add_md5()
        .add(checksum_algorithm::crc32)
        .add(checksum_algorithm::crc32c)
        .add(checksum_algorithm::crc64nvme);
    c.add(checksum_algorithm::sha1).add(checksum_algorithm::sha256).add(std::optional<checksum_algorithm>{});
    CHECK(c.has(checksum_algorithm::sha1));
    CHECK(c.has_md5());
    for (std::size_t i = 0; i < data.size(); i += 7777) {
        c.update(std::string_view(data).substr(i, 7777));
    }
    auto const sums = c.finalize();
    CHECK(sums.md5 == util::md5sum(data));
    CHECK(sums.crc32 == checksum_value::from_crc(checksum_algorithm::crc32, crc32(data)));
    CHECK(sums.crc32c == checksum_value::from_crc(checksum_algorithm::crc32c, crc32c(data)));
    CHECK(sums.crc64nvme == checksum_value::from_crc(checksum_algorithm::crc64nvme, crc64nvme(data)));
    REQUIRE(sums.sha1);
    CHECK(sums.sha1->bytes() == util::digest_view(util::sha1sum(data)));
    REQUIRE(sums.sha256);
    CHECK(sums.sha256->bytes() == util::sha256sum(data).view());
    CHECK(sums.get(checksum_algorithm::sha256) == sums.sha256);

    // After finalize the checksummer starts over.
    auto const empty = c.finalize();
    CHECK(empty.sha256->to_base64() == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    CHECK(empty.sha1->to_base64() == "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
    CHECK(util::to_base64(util::digest_view(*empty.md5)) == "1B2M2Y8AsgTpgAmY7PhCfg==");
    CHECK(empty.crc32->to_base64() == "AAAAAA==");

    checksummer only_crc;
    only_crc.add(checksum_algorithm::crc32c);
    only_crc.update("123456789");
    auto const one = only_crc.finalize();
    CHECK(!one.md5);
    CHECK(!one.sha256);
    CHECK(!one.get(checksum_algorithm::crc32));
    CHECK(one.crc32c == checksum_value::from_crc(checksum_algorithm::crc32c, 0xE3069283u));
}

TEST_CASE("verify_checksums reports the first mismatch as InvalidDigest", "[api][checksum]")
{
    std::string const body = "Welcome to Amazon S3.";
    expected_checksums expected;
    expected.md5 = util::md5sum(body);
    expected.sha256 = util::sha256sum(body);
    expected.extra = checksum_value::from_crc(checksum_algorithm::crc32c, crc32c(body));

    auto c = make_checksummer(expected, false);
    CHECK(c.has_md5());
    CHECK(c.has(checksum_algorithm::sha256));
    CHECK(c.has(checksum_algorithm::crc32c));
    CHECK(!c.has(checksum_algorithm::crc32));
    c.update(body);
    auto const good = c.finalize();
    CHECK(verify_checksums(good, expected));

    c.update("Welcome to Amazon S4.");
    auto const bad = c.finalize();
    auto const r = verify_checksums(bad, expected);
    REQUIRE(!r);
    CHECK(r.error().code == make_error_code(error::invalid_digest));
    CHECK(r.error().message.find("MD5") != std::string::npos);

    expected_checksums only_extra;
    only_extra.extra = expected.extra;
    auto const r2 = verify_checksums(bad, only_extra);
    REQUIRE(!r2);
    CHECK(r2.error().message.find("CRC32C") != std::string::npos);
    CHECK(s3_error_code(error::invalid_digest) == "InvalidDigest");

    // A checksum that was not computed cannot verify.
    expected_checksums wants_sha1;
    wants_sha1.extra = *checksum_value::from_base64(checksum_algorithm::sha1, "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
    CHECK(!verify_checksums(good, wants_sha1));
    CHECK(verify_checksums(good, expected_checksums{}));
}

TEST_CASE("Content-MD5 parses from base64, quotes tolerated", "[api][checksum]")
{
    auto const md5 = parse_content_md5("1B2M2Y8AsgTpgAmY7PhCfg==");
    REQUIRE(md5);
    CHECK(*md5 == util::md5sum(""));
    CHECK(parse_content_md5("\"1B2M2Y8AsgTpgAmY7PhCfg==\""));
    for (std::string_view bad : {"", "1B2M2Y8AsgTpgAmY7PhCfg", "d41d8cd98f00b204e9800998ecf8427e", "AAAA"}) {
        INFO(bad);
        auto const r = parse_content_md5(bad);
        REQUIRE(!r);
        CHECK(r.error().code == make_error_code(error::invalid_digest));
    }
}

TEST_CASE("checksum request headers parse, and several values are refused", "[api][checksum]")
{
    std::vector<header_field> headers{{"X-Amz-Checksum-Algorithm", "CRC32C"},
                                      {"x-amz-sdk-checksum-algorithm", "CRC64NVME"},
                                      {"x-amz-trailer", "x-amz-checksum-sha256"},
                                      {"x-amz-checksum-crc32c", "sOO8/Q=="}};
    CHECK(request_checksum_algorithm(headers)->value() == checksum_algorithm::crc32c);
    CHECK(request_sdk_checksum_algorithm(headers)->value() == checksum_algorithm::crc64nvme);
    CHECK(request_trailer_checksum_algorithm(headers)->value() == checksum_algorithm::sha256);
    auto const value = request_checksum_value(headers);
    REQUIRE(value);
    REQUIRE(value->has_value());
    CHECK((*value)->algorithm() == checksum_algorithm::crc32c);
    CHECK((*value)->to_base64() == "sOO8/Q==");

    std::vector<header_field> none{{"host", "h"}};
    CHECK(!request_checksum_algorithm(none)->has_value());
    CHECK(!request_trailer_checksum_algorithm(none)->has_value());
    CHECK(!request_checksum_value(none)->has_value());

    headers.push_back({"x-amz-checksum-crc32", "sK4Y7A=="});
    auto const two = request_checksum_value(headers);
    REQUIRE(!two);
    CHECK(two.error().code == make_error_code(error::multiple_checksums));

    std::vector<header_field> twice{{"x-amz-checksum-crc32", "sK4Y7A=="},
                                    {"x-amz-checksum-crc32", "sK4Y7A=="}};
    CHECK(request_checksum_value(twice).error().code == make_error_code(error::multiple_checksums));

    std::vector<header_field> bad{{"x-amz-checksum-algorithm", "CRC16"},
                                  {"x-amz-trailer", "x-amz-meta-foo"},
                                  {"x-amz-checksum-sha1", "short"}};
    CHECK(request_checksum_algorithm(bad).error().code == make_error_code(error::invalid_checksum_algorithm));
    CHECK(request_trailer_checksum_algorithm(bad).error().code ==
          make_error_code(error::invalid_checksum_algorithm));
    CHECK(request_checksum_value(bad).error().code == make_error_code(error::invalid_checksum_value));
}

TEST_CASE("checksum_from_field reads a trailer field", "[api][checksum]")
{
    auto const v = checksum_from_field("x-amz-checksum-crc32c", "sOO8/Q==");
    REQUIRE(v);
    CHECK(v->algorithm() == checksum_algorithm::crc32c);
    CHECK(checksum_from_field("X-Amz-Checksum-CRC32C", "sOO8/Q=="));
    CHECK(checksum_from_field("x-amz-meta", "sOO8/Q==").error().code ==
          make_error_code(error::invalid_checksum_algorithm));
    CHECK(checksum_from_field("x-amz-checksum-crc32c", "xx").error().code ==
          make_error_code(error::invalid_checksum_value));
}

} // namespace
