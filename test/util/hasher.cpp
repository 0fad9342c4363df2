// Test that header file is self-contained.
#include <garage/util/hasher.hpp>

#include <garage/util/encoding.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {
using namespace garage::util;

static_assert(std::is_nothrow_move_constructible_v<blake2b_hasher>);
static_assert(!std::is_copy_constructible_v<blake2b_hasher>);
static_assert(!std::is_copy_assignable_v<sha256_hasher>);
static_assert(std::is_same_v<blake2b_hasher::digest_type, hash32>);
static_assert(std::is_same_v<md5_hasher::digest_type, md5_digest>);

std::string const million_a(1'000'000, 'a');
std::string const abc448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

TEST_CASE("sha256 matches the FIPS 180-2 test vectors", "[util][hasher]")
{
    CHECK(sha256sum("abc").to_hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256sum("").to_hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256sum(abc448).to_hex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256sum(million_a).to_hex() ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("md5 matches the RFC 1321 test vectors", "[util][hasher]")
{
    CHECK(to_hex(digest_view(md5sum(""))) == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(to_hex(digest_view(md5sum("abc"))) == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(to_hex(digest_view(md5sum("message digest"))) == "f96b697d7cb7938d525a2f31aaf161d0");
    CHECK(to_base64(digest_view(md5sum(""))) == "1B2M2Y8AsgTpgAmY7PhCfg==");
}

TEST_CASE("sha1 matches the FIPS 180-1 test vectors", "[util][hasher]")
{
    CHECK(to_hex(digest_view(sha1sum("abc"))) == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(to_hex(digest_view(sha1sum(abc448))) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST_CASE("blake2sum is BLAKE2b-512 truncated to 32 bytes (RFC 7693)", "[util][hasher]")
{
    // RFC 7693 appendix A: BLAKE2b-512("abc"), first 32 of its 64 bytes.
    CHECK(blake2sum("abc").to_hex() == "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1");
    // BLAKE2b-512(""), first 32 bytes (it is not BLAKE2b-256(""), which begins 0e5751c0).
    CHECK(blake2sum("").to_hex() == "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419");
}

TEMPLATE_TEST_CASE("streaming in pieces equals one-shot", "[util][hasher]", blake2b_algorithm,
                   sha256_algorithm, md5_algorithm, sha1_algorithm)
{
    std::string data;
    for (int i = 0; i < 5000; ++i) {
        data.push_back(static_cast<char>(i * 7 + i / 13));
    }
    basic_hasher<TestType> whole;
    whole.update(data);
    auto const expected = whole.finalize();

    for (std::size_t piece : {1u, 3u, 63u, 64u, 127u, 128u, 129u, 1000u}) {
        INFO("piece size " << piece);
        basic_hasher<TestType> h;
        for (std::size_t off = 0; off < data.size(); off += piece) {
            h.update(std::string_view(data).substr(off, piece));
        }
        CHECK(h.finalize() == expected);
    }
}

TEST_CASE("a hasher is reusable after finalize and after reset", "[util][hasher]")
{
    sha256_hasher h;
    h.update("ab");
    h.update("c");
    auto const first = h.finalize();
    CHECK(first == sha256sum("abc"));

    h.update("abc"); // a fresh message after finalize
    CHECK(h.finalize() == first);

    h.update("garbage");
    h.reset();
    h.update("abc");
    CHECK(h.finalize() == first);

    CHECK(h.finalize() == sha256sum("")); // nothing fed since the last finalize
}

TEST_CASE("a moved hasher keeps its state and the moved-from one starts afresh", "[util][hasher]")
{
    blake2b_hasher a;
    a.update("a");
    blake2b_hasher b(std::move(a));
    b.update("bc");
    CHECK(b.finalize() == blake2sum("abc"));
    a.update("abc"); // NOLINT(bugprone-use-after-move): documented as a fresh hasher
    CHECK(a.finalize() == blake2sum("abc"));

    md5_hasher m;
    m.update("message ");
    md5_hasher n;
    n = std::move(m);
    n.update("digest");
    CHECK(to_hex(digest_view(n.finalize())) == "f96b697d7cb7938d525a2f31aaf161d0");
}

TEST_CASE("one-shot helpers give the same results from several threads", "[util][hasher]")
{
    auto const expected = blake2sum("abc");
    std::vector<std::thread> threads;
    std::vector<int> ok(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            int good = 0;
            for (int i = 0; i < 1000; ++i) {
                good += blake2sum("abc") == expected;
                good += sha256sum("") == sha256sum("");
            }
            ok[t] = good;
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (int good : ok) {
        CHECK(good == 2000);
    }
}
} // namespace
