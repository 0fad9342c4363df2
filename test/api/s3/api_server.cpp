// Test that header file is self-contained.
#include <garage/api/s3/api_server.hpp>

#include <garage/api/common/sigv4.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/hasher.hpp>

#include <test/support/s3_fixture.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace garage;
using namespace garage::test::s3;

/// A presigned GET URL target for `path`, valid `expires` seconds, signed with `secret_key`.
std::string presign(std::string const& path, int expires, std::string const& secret_key = std::string(secret))
{
    auto const now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    std::string const amz_date = api::sigv4::format_amz_date(now);
    std::string const short_date = amz_date.substr(0, 8);
    auto const scope = api::sigv4::credential_scope(short_date, "garage", "s3");
    std::string query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
                        api::sigv4::uri_encode(std::string(key_id) + "/" + scope, true) +
                        "&X-Amz-Date=" + amz_date + "&X-Amz-Expires=" + std::to_string(expires) +
                        "&X-Amz-SignedHeaders=host";
    std::vector<api::header_field> fields{{"host", "127.0.0.1"}};
    std::vector<std::string> names{"host"};
    auto const ch = api::sigv4::canonical_headers(fields, names).value();
    auto const creq = api::sigv4::canonical_request(
        "GET", api::sigv4::canonical_uri(path, api::sigv4::service::s3),
        api::sigv4::canonical_query(api::parse_query(query)), ch, "host", "UNSIGNED-PAYLOAD");
    auto const skey = api::sigv4::derive_signing_key(secret_key, short_date, "garage", "s3");
    auto const sig = api::sigv4::compute_signature(skey, api::sigv4::string_to_sign(amz_date, scope, creq));
    return path + "?" + query + "&X-Amz-Signature=" + sig.to_hex();
}

std::size_t count(std::string const& s, std::string const& what)
{
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) {
        ++n;
    }
    return n;
}

TEST_CASE("bucket lifecycle: create, list, head, location, delete", "[api][s3]")
{
    fixture f;
    CHECK(f.send("PUT", "/photos").status == 200);
    CHECK(f.send("PUT", "/photos").status == 200); // idempotent for the owner
    auto list = f.send("GET", "/");
    CHECK(list.status == 200);
    CHECK(list.body.find("<Name>photos</Name>") != std::string::npos);
    CHECK(f.send("HEAD", "/photos").status == 200);
    auto loc = f.send("GET", "/photos?location");
    CHECK(loc.body.find(">garage</LocationConstraint>") != std::string::npos);
    CHECK(f.send("GET", "/photos?versioning").status == 200);
    CHECK(f.send("GET", "/photos?acl").body.find("FULL_CONTROL") != std::string::npos);

    auto missing = f.send("HEAD", "/nothing-here");
    CHECK(missing.status == 404);
    auto missing_get = f.send("GET", "/nothing-here?list-type=2");
    CHECK(error_code(missing_get) == "NoSuchBucket");
    // Every answer names its request; an error body carries the same id.
    auto const rid = missing_get.header("x-amz-request-id");
    CHECK_FALSE(rid.empty());
    CHECK(missing_get.body.find("<RequestId>" + rid + "</RequestId>") != std::string::npos);
    CHECK_FALSE(loc.header("x-amz-request-id").empty());
    CHECK(loc.header("x-amz-request-id") != rid);

    CHECK(error_code(f.send("PUT", "/Bad_Name")) == "InvalidBucketName");
    auto wrong_loc = f.send("PUT", "/elsewhere",
                            "<CreateBucketConfiguration><LocationConstraint>us-west-2</LocationConstraint>"
                            "</CreateBucketConfiguration>");
    CHECK(wrong_loc.status == 400);

    REQUIRE(f.send("PUT", "/photos/a.jpg", "x").status == 200);
    auto not_empty = f.send("DELETE", "/photos");
    CHECK(not_empty.status == 409);
    CHECK(error_code(not_empty) == "BucketNotEmpty");
    CHECK(f.send("DELETE", "/photos/a.jpg").status == 204);
    CHECK(f.send("DELETE", "/photos").status == 204);
    CHECK(f.send("HEAD", "/photos").status == 404);
}

TEST_CASE("a small object round-trips inline with its metadata, ranges and conditions", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/bkt").status == 200);
    std::string const body = "hello, garage!";
    auto put = f.send("PUT", "/bkt/dir/hello.txt", body,
                      {.headers = {{"content-type", "text/plain"}, {"x-amz-meta-colour", "blue"}}});
    REQUIRE(put.status == 200);
    CHECK(put.header("etag") == "\"" + md5_hex(body) + "\"");

    auto get = f.send("GET", "/bkt/dir/hello.txt");
    CHECK(get.status == 200);
    CHECK(get.body == body);
    CHECK(get.header("content-type") == "text/plain");
    CHECK(get.header("x-amz-meta-colour") == "blue");
    CHECK(get.header("etag") == put.header("etag"));

    auto head = f.send("HEAD", "/bkt/dir/hello.txt");
    CHECK(head.status == 200);
    CHECK(head.header("content-length") == std::to_string(body.size()));

    auto range = f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"range", "bytes=7-12"}}});
    CHECK(range.status == 206);
    CHECK(range.body == "garage");
    CHECK(range.header("content-range") == "bytes 7-12/14");
    CHECK(f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"range", "bytes=-6"}}}).body == "arage!");
    CHECK(f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"range", "bytes=9-"}}}).body == "rage!");
    auto bad_range = f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"range", "bytes=100-200"}}});
    CHECK(bad_range.status == 416);
    CHECK(error_code(bad_range) == "InvalidRange");
    CHECK(bad_range.header("content-range") == "bytes */14");

    CHECK(f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"if-none-match", put.header("etag")}}})
              .status == 304);
    CHECK(f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"if-match", "\"nope\""}}}).status == 412);
    CHECK(f.send("GET", "/bkt/dir/hello.txt", {}, {.headers = {{"if-match", put.header("etag")}}}).status ==
          200);
    auto over = f.send("GET", "/bkt/dir/hello.txt?response-content-type=application%2Fjson");
    CHECK(over.header("content-type") == "application/json");

    CHECK(f.send("DELETE", "/bkt/dir/hello.txt").status == 204);
    auto gone = f.send("GET", "/bkt/dir/hello.txt");
    CHECK(gone.status == 404);
    CHECK(error_code(gone) == "NoSuchKey");
    CHECK(f.send("DELETE", "/bkt/dir/hello.txt").status == 204);
}

TEST_CASE("a 3 MiB object is stored in blocks and read back whole and by ranges", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/big").status == 200);
    auto const body = pattern(3 * 1024 * 1024 + 123);
    auto put = f.send("PUT", "/big/blob", body);
    REQUIRE(put.status == 200);
    CHECK(put.header("etag") == "\"" + md5_hex(body) + "\"");
    auto get = f.send("GET", "/big/blob");
    CHECK(get.status == 200);
    CHECK(get.body.size() == body.size());
    CHECK(get.body == body);
    // a range across the first block boundary
    auto r = f.send("GET", "/big/blob", {}, {.headers = {{"range", "bytes=1048000-1049000"}}});
    CHECK(r.status == 206);
    CHECK(r.body == body.substr(1048000, 1001));

    SECTION("aws-chunked signed")
    {
        auto p = f.send("PUT", "/big/chunked", body, {.mode = body_mode::chunked_signed});
        REQUIRE(p.status == 200);
        CHECK(f.send("GET", "/big/chunked").body == body);
    }
    SECTION("UNSIGNED-PAYLOAD")
    {
        REQUIRE(f.send("PUT", "/big/unsigned", body, {.mode = body_mode::unsigned_payload}).status == 200);
        CHECK(f.send("GET", "/big/unsigned").body == body);
    }
    SECTION("unsigned trailer with a CRC32 checksum")
    {
        auto p = f.send("PUT", "/big/trailer", "small trailer body",
                        {.mode = body_mode::chunked_unsigned_trailer});
        REQUIRE(p.status == 200);
        CHECK(!p.header("x-amz-checksum-crc32").empty());
        CHECK(f.send("GET", "/big/trailer").body == "small trailer body");
    }
}

TEST_CASE("concurrent multi-block uploads round-trip under a RAM budget smaller than two blocks", "[api][s3]")
{
    // 64 KiB blocks, 100 KiB for all uploads: each upload can buffer one block at a time only,
    // so reading the next block must wait for the previous one to be stored (and not deadlock).
    fixture f(api::s3::s3_settings{"garage", "", 64 * 1024, 100 * 1024});
    REQUIRE(f.send("PUT", "/budget").status == 200);
    std::vector<std::string> bodies;
    for (int i = 0; i < 4; ++i) {
        bodies.push_back(pattern(1024 * 1024 + 77 * static_cast<std::size_t>(i + 1)));
        bodies.back()[0] = static_cast<char>('a' + i);
    }
    std::vector<std::future<unsigned>> puts;
    for (int i = 0; i < 4; ++i) {
        puts.push_back(std::async(std::launch::async, [&f, &bodies, i] {
            return f
                .send("PUT", "/budget/o" + std::to_string(i), bodies[static_cast<std::size_t>(i)],
                      {.mode = i % 2 == 0 ? body_mode::sha256 : body_mode::chunked_signed})
                .status;
        }));
    }
    for (auto& p : puts) {
        CHECK(p.get() == 200u);
    }
    for (int i = 0; i < 4; ++i) {
        auto get = f.send("GET", "/budget/o" + std::to_string(i));
        CHECK(get.status == 200);
        CHECK(get.body == bodies[static_cast<std::size_t>(i)]);
        CHECK(get.header("etag") == "\"" + md5_hex(bodies[static_cast<std::size_t>(i)]) + "\"");
    }
}

TEST_CASE("objects within one block size: one block read alone, several blocks through the version",
          "[api][s3]")
{
    // 8 MiB blocks: a 5 MiB part and a 1000-byte part make an object smaller than a block
    // size but of two blocks; its first block is not the whole object.
    fixture f(api::s3::s3_settings{"garage", "", 8 << 20});
    REQUIRE(f.send("PUT", "/fbk").status == 200);
    auto const one = pattern(100 * 1024, 9);
    REQUIRE(f.send("PUT", "/fbk/one", one).status == 200);
    CHECK(f.send("GET", "/fbk/one").body == one);
    auto range = f.send("GET", "/fbk/one", {}, {.headers = {{"range", "bytes=1000-1999"}}});
    CHECK(range.status == 206);
    CHECK(range.body == one.substr(1000, 1000));
    auto head = f.send("HEAD", "/fbk/one");
    CHECK(head.status == 200);
    CHECK(head.header("content-length") == std::to_string(one.size()));

    auto init = f.send("POST", "/fbk/two?uploads");
    auto id = init.body.substr(init.body.find("<UploadId>") + 10, 64);
    auto const p1 = pattern(5 * 1024 * 1024, 3);
    auto const p2 = pattern(1000, 4);
    auto r1 = f.send("PUT", "/fbk/two?partNumber=1&uploadId=" + id, p1);
    auto r2 = f.send("PUT", "/fbk/two?partNumber=2&uploadId=" + id, p2);
    REQUIRE(r1.status == 200);
    REQUIRE(r2.status == 200);
    auto done = f.send("POST", "/fbk/two?uploadId=" + id,
                       "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + r1.header("etag") +
                           "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>" + r2.header("etag") +
                           "</ETag></Part></CompleteMultipartUpload>");
    REQUIRE(done.status == 200);
    auto get = f.send("GET", "/fbk/two");
    CHECK(get.status == 200);
    CHECK(get.body.size() == p1.size() + p2.size());
    CHECK((get.body == p1 + p2));
    auto tail = f.send("GET", "/fbk/two", {}, {.headers = {{"range", "bytes=-500"}}});
    CHECK(tail.body == p2.substr(500));
    CHECK(f.send("HEAD", "/fbk/two?partNumber=2").header("x-amz-mp-parts-count") == "2");
}

TEST_CASE("a block corrupted on disk is detected on read and never served", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/big").status == 200);
    auto const body = pattern(3 * 1024 * 1024 + 123);
    REQUIRE(f.send("PUT", "/big/blob", body).status == 200);

    // The file of the second block: its name starts with the hex of the block's hash.
    auto const second = util::blake2sum(std::string_view(body).substr(1 << 20, 1 << 20)).to_hex();
    std::optional<std::filesystem::path> file;
    for (auto const& e : std::filesystem::recursive_directory_iterator(f.dir.path() / "data")) {
        if (e.is_regular_file() && e.path().filename().string().starts_with(second)) {
            file = e.path();
        }
    }
    REQUIRE(file);
    {
        std::fstream io(*file, std::ios::in | std::ios::out | std::ios::binary);
        io.seekp(1000);
        io.write("corrupted!", 10);
    }

    // Whole object: the body stops before the bad block (the connection closes mid-body).
    std::optional<response> whole;
    try {
        whole = f.send("GET", "/big/blob");
    } catch (std::exception const&) {
    }
    if (whole) {
        CHECK((whole->status != 200 || whole->body.size() < body.size()));
        CHECK(whole->body.find("corrupted!") == std::string::npos);
    }
    // The bad file is renamed aside; a range in a healthy block is still served.
    auto aside = *file;
    aside += ".corrupted";
    CHECK(std::filesystem::exists(aside));
    CHECK_FALSE(std::filesystem::exists(*file));
    auto r = f.send("GET", "/big/blob", {}, {.headers = {{"range", "bytes=0-999"}}});
    CHECK(r.status == 206);
    CHECK(r.body == body.substr(0, 1000));
    // A range inside the bad block is never answered with its bytes.
    std::optional<response> bad;
    try {
        bad = f.send("GET", "/big/blob", {}, {.headers = {{"range", "bytes=1049576-1049599"}}});
    } catch (std::exception const&) {
    }
    if (bad) {
        CHECK(bad->body != body.substr(1049576, 24));
    }
    // The server keeps serving.
    REQUIRE(f.send("PUT", "/big/after", "still here").status == 200);
    CHECK(f.send("GET", "/big/after").body == "still here");
}

TEST_CASE("listing rolls keys into common prefixes and pages with tokens and markers", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/lst").status == 200);
    for (auto k : {"a/1", "a/2", "b", "c/x/1", "c/y", "d"}) {
        REQUIRE(f.send("PUT", std::string("/lst/") + k, "v").status == 200);
    }
    auto v2 = f.send("GET", "/lst?list-type=2&delimiter=%2F");
    CHECK(v2.status == 200);
    CHECK(count(v2.body, "<Contents>") == 2); // b, d
    CHECK(v2.body.find("<Prefix>a/</Prefix>") != std::string::npos);
    CHECK(v2.body.find("<Prefix>c/</Prefix>") != std::string::npos);
    CHECK(v2.body.find("<KeyCount>4</KeyCount>") != std::string::npos);

    auto prefixed = f.send("GET", "/lst?list-type=2&prefix=c%2F&delimiter=%2F");
    CHECK(prefixed.body.find("<Prefix>c/x/</Prefix>") != std::string::npos);
    CHECK(prefixed.body.find("<Key>c/y</Key>") != std::string::npos);

    // pages of two with a delimiter: [a/, b], [c/, d]
    auto p1 = f.send("GET", "/lst?list-type=2&delimiter=%2F&max-keys=2");
    CHECK(p1.body.find("<IsTruncated>true</IsTruncated>") != std::string::npos);
    auto a = p1.body.find("<NextContinuationToken>");
    REQUIRE(a != std::string::npos);
    auto token = p1.body.substr(a + 23, p1.body.find("</NextContinuationToken>") - a - 23);
    auto p2 = f.send("GET", "/lst?list-type=2&delimiter=%2F&max-keys=2&continuation-token=" +
                                api::sigv4::uri_encode(token, true));
    CHECK(p2.body.find("<Prefix>c/</Prefix>") != std::string::npos);
    CHECK(p2.body.find("<Key>d</Key>") != std::string::npos);
    CHECK(p2.body.find("<IsTruncated>false</IsTruncated>") != std::string::npos);
    CHECK(p2.body.find("<Prefix>a/</Prefix>") == std::string::npos);

    auto v1 = f.send("GET", "/lst?marker=b&max-keys=2");
    CHECK(v1.body.find("<Key>c/x/1</Key>") != std::string::npos);
    CHECK(v1.body.find("<Key>c/y</Key>") != std::string::npos);
    CHECK(v1.body.find("<NextMarker>c/y</NextMarker>") != std::string::npos);

    auto multi = f.send("GET", "/lst?list-type=2&delimiter=%2Fx");
    CHECK(multi.body.find("<Prefix>c/x</Prefix>") != std::string::npos);

    auto versions = f.send("GET", "/lst?versions");
    CHECK(count(versions.body, "<VersionId>null</VersionId>") == 6);

    auto del = f.send("POST", "/lst?delete",
                      "<Delete><Object><Key>a/1</Key><VersionId>null</VersionId></Object>"
                      "<Object><Key>b</Key></Object></Delete>");
    CHECK(del.status == 200);
    CHECK(count(del.body, "<Deleted>") == 2);
    auto after = f.send("GET", "/lst?list-type=2");
    CHECK(count(after.body, "<Contents>") == 4);
    CHECK(after.body.find("<Key>b</Key>") == std::string::npos);
}

TEST_CASE("copy object keeps or replaces metadata", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/cpy").status == 200);
    auto const big = pattern(1500000, 7);
    REQUIRE(f.send("PUT", "/cpy/src", big, {.headers = {{"x-amz-meta-a", "1"}}}).status == 200);
    auto cp = f.send("PUT", "/cpy/dst", {}, {.headers = {{"x-amz-copy-source", "cpy/src"}}});
    CHECK(cp.status == 200);
    CHECK(cp.body.find(md5_hex(big)) != std::string::npos);
    auto got = f.send("GET", "/cpy/dst");
    CHECK(got.body == big);
    CHECK(got.header("x-amz-meta-a") == "1");
    auto rep = f.send("PUT", "/cpy/dst2", {},
                      {.headers = {{"x-amz-copy-source", "/cpy/src"},
                                   {"x-amz-metadata-directive", "REPLACE"},
                                   {"x-amz-meta-b", "2"}}});
    CHECK(rep.status == 200);
    auto got2 = f.send("HEAD", "/cpy/dst2");
    CHECK(got2.header("x-amz-meta-b") == "2");
    CHECK(got2.header("x-amz-meta-a").empty());
    auto cond =
        f.send("PUT", "/cpy/dst3", {},
               {.headers = {{"x-amz-copy-source", "cpy/src"}, {"x-amz-copy-source-if-match", "\"x\""}}});
    CHECK(cond.status == 412);
    CHECK(f.send("PUT", "/cpy/dst4", {}, {.headers = {{"x-amz-copy-source", "cpy/none"}}}).status == 404);

    // A version id in the source: `null`, the current version's id, or an unknown one; and a
    // key with an encoded `?`, which is part of the key and not a query.
    REQUIRE(f.send("PUT", "/cpy/what%3Fnow", "question").status == 200);
    auto const vid = f.send("HEAD", "/cpy/src").header("x-amz-version-id");
    REQUIRE_FALSE(vid.empty());
    auto by_null =
        f.send("PUT", "/cpy/v1", {}, {.headers = {{"x-amz-copy-source", "cpy/src?versionId=null"}}});
    CHECK(by_null.status == 200);
    auto by_id =
        f.send("PUT", "/cpy/v2", {}, {.headers = {{"x-amz-copy-source", "cpy/src?versionId=" + vid}}});
    CHECK(by_id.status == 200);
    CHECK(f.send("GET", "/cpy/v2").body == big);
    auto unknown = f.send("PUT", "/cpy/v3", {},
                          {.headers = {{"x-amz-copy-source", "cpy/src?versionId=" + std::string(64, '0')}}});
    CHECK(unknown.status == 404);
    CHECK(error_code(unknown) == "NoSuchVersion");
    auto qkey = f.send("PUT", "/cpy/v4", {}, {.headers = {{"x-amz-copy-source", "cpy/what%3Fnow"}}});
    CHECK(qkey.status == 200);
    CHECK(f.send("GET", "/cpy/v4").body == "question");
}

TEST_CASE("multipart upload: parts, listing, completion, checks and abort", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/mpu").status == 200);
    auto init = f.send("POST", "/mpu/obj?uploads", {}, {.headers = {{"content-type", "text/x"}}});
    REQUIRE(init.status == 200);
    auto a = init.body.find("<UploadId>");
    auto id = init.body.substr(a + 10, 64);

    auto const p1 = pattern(5 * 1024 * 1024, 3);
    auto const p2 = pattern(1000, 4);
    auto r1 = f.send("PUT", "/mpu/obj?partNumber=1&uploadId=" + id, p1);
    REQUIRE(r1.status == 200);
    auto r2 = f.send("PUT", "/mpu/obj?partNumber=2&uploadId=" + id, p2);
    REQUIRE(r2.status == 200);
    CHECK(r2.header("etag") == "\"" + md5_hex(p2) + "\"");

    auto lp = f.send("GET", "/mpu/obj?uploadId=" + id);
    CHECK(count(lp.body, "<Part>") == 2);
    auto lu = f.send("GET", "/mpu?uploads");
    CHECK(lu.body.find(id) != std::string::npos);

    auto part_xml = [&](std::vector<std::pair<int, std::string>> const& ps) {
        std::string x = "<CompleteMultipartUpload>";
        for (auto const& [n, e] : ps) {
            x += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" + e + "</ETag></Part>";
        }
        return x + "</CompleteMultipartUpload>";
    };
    auto order =
        f.send("POST", "/mpu/obj?uploadId=" + id, part_xml({{2, r2.header("etag")}, {1, r1.header("etag")}}));
    CHECK(error_code(order) == "InvalidPartOrder");
    auto bad_etag =
        f.send("POST", "/mpu/obj?uploadId=" + id, part_xml({{1, "\"0000\""}, {2, r2.header("etag")}}));
    CHECK(error_code(bad_etag) == "InvalidPart");
    CHECK(f.send("GET", "/mpu/obj").status == 404); // not visible before completion

    auto done =
        f.send("POST", "/mpu/obj?uploadId=" + id, part_xml({{1, r1.header("etag")}, {2, r2.header("etag")}}));
    REQUIRE(done.status == 200);
    auto const md5s = util::from_hex(md5_hex(p1)).value() + util::from_hex(md5_hex(p2)).value();
    CHECK(done.body.find(md5_hex(md5s) + "-2") != std::string::npos);
    auto get = f.send("GET", "/mpu/obj");
    CHECK(get.body == p1 + p2);
    auto part2 = f.send("GET", "/mpu/obj?partNumber=2");
    CHECK(part2.status == 206);
    CHECK(part2.body == p2);
    CHECK(part2.header("x-amz-mp-parts-count") == "2");
    CHECK(part2.header("content-range") == "bytes " + std::to_string(p1.size()) + "-" +
                                               std::to_string(p1.size() + p2.size() - 1) + "/" +
                                               std::to_string(p1.size() + p2.size()));
    CHECK(error_code(f.send("GET", "/mpu/obj?partNumber=3")) == "InvalidPart");
    CHECK(get.header("content-type") == "text/x");
    CHECK(get.header("etag") == "\"" + md5_hex(md5s) + "-2\"");
    CHECK(error_code(f.send("GET", "/mpu/obj?uploadId=" + id)) == "NoSuchUpload");

    // UploadPartCopy: the completed object's second half and a range of it
    auto init3 = f.send("POST", "/mpu/obj3?uploads");
    auto id3 = init3.body.substr(init3.body.find("<UploadId>") + 10, 64);
    auto c1 = f.send("PUT", "/mpu/obj3?partNumber=1&uploadId=" + id3, {},
                     {.headers = {{"x-amz-copy-source", "mpu/obj"}}});
    REQUIRE(c1.status == 200);
    auto const whole = p1 + p2;
    CHECK(c1.body.find(md5_hex(whole)) != std::string::npos);
    auto c2 = f.send(
        "PUT", "/mpu/obj3?partNumber=2&uploadId=" + id3, {},
        {.headers = {{"x-amz-copy-source", "mpu/obj"}, {"x-amz-copy-source-range", "bytes=100-1099999"}}});
    REQUIRE(c2.status == 200);
    // copy ranges: malformed → 400 InvalidArgument; past the source's end → 416 InvalidRange
    for (std::string const bad : {"bytes=5-1", "bytes=-100", "bytes=100-", "items=0-1", "bytes=a-b"}) {
        auto r = f.send("PUT", "/mpu/obj3?partNumber=3&uploadId=" + id3, {},
                        {.headers = {{"x-amz-copy-source", "mpu/obj"}, {"x-amz-copy-source-range", bad}}});
        CHECK(r.status == 400);
        CHECK(error_code(r) == "InvalidArgument");
    }
    auto past = f.send("PUT", "/mpu/obj3?partNumber=3&uploadId=" + id3, {},
                       {.headers = {{"x-amz-copy-source", "mpu/obj"},
                                    {"x-amz-copy-source-range", "bytes=0-" + std::to_string(whole.size())}}});
    CHECK(past.status == 416);
    CHECK(error_code(past) == "InvalidRange");
    // an inline source (Garage refuses it) makes a part of its bytes
    REQUIRE(f.send("PUT", "/mpu/tiny-src", "0123456789").status == 200);
    auto from_inline = f.send(
        "PUT", "/mpu/obj3?partNumber=4&uploadId=" + id3, {},
        {.headers = {{"x-amz-copy-source", "mpu/tiny-src"}, {"x-amz-copy-source-range", "bytes=2-5"}}});
    CHECK(from_inline.status == 200);
    CHECK(from_inline.body.find(md5_hex("2345")) != std::string::npos);
    auto const e1 = c1.body.substr(c1.body.find("<ETag>") + 6, 34);
    auto const e2 = c2.body.substr(c2.body.find("<ETag>") + 6, 34);
    auto done3 = f.send("POST", "/mpu/obj3?uploadId=" + id3, part_xml({{1, e1}, {2, e2}}));
    REQUIRE(done3.status == 200);
    auto const got3 = f.send("GET", "/mpu/obj3").body;
    CHECK(got3.size() == whole.size() + 1099900);
    CHECK((got3.substr(0, whole.size()) == whole));
    CHECK((got3.substr(whole.size()) == whole.substr(100, 1099900)));
    CHECK(f.send("PUT", "/mpu/obj3?partNumber=1&uploadId=" + id3, {},
                 {.headers = {{"x-amz-copy-source", "mpu/obj"}}})
              .status == 404); // the upload is complete

    // a small non-last part, then abort
    auto init2 = f.send("POST", "/mpu/obj2?uploads");
    auto id2 = init2.body.substr(init2.body.find("<UploadId>") + 10, 64);
    auto s1 = f.send("PUT", "/mpu/obj2?partNumber=1&uploadId=" + id2, "tiny");
    auto s2 = f.send("PUT", "/mpu/obj2?partNumber=2&uploadId=" + id2, "tiny2");
    auto small = f.send("POST", "/mpu/obj2?uploadId=" + id2,
                        part_xml({{1, s1.header("etag")}, {2, s2.header("etag")}}));
    CHECK(error_code(small) == "EntityTooSmall");
    CHECK(f.send("DELETE", "/mpu/obj2?uploadId=" + id2).status == 204);
    CHECK(error_code(f.send("PUT", "/mpu/obj2?partNumber=3&uploadId=" + id2, "x")) == "NoSuchUpload");
    CHECK(f.send("GET", "/mpu?uploads").body.find(id2) == std::string::npos);
}

TEST_CASE("bad requests get the right S3 error and leave nothing visible", "[api][s3]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/err").status == 200);

    auto bad_sig = f.send("GET", "/err?list-type=2", {}, {.secret_key = std::string(64, 'f')});
    CHECK(bad_sig.status == 403);
    CHECK(error_code(bad_sig) == "SignatureDoesNotMatch");
    CHECK(bad_sig.body.find("<RequestId>") != std::string::npos);

    auto region = f.send("GET", "/err?list-type=2", {}, {.region = "us-east-1"});
    CHECK(region.status == 400);
    CHECK(error_code(region) == "AuthorizationHeaderMalformed");

    auto anon = f.send("GET", "/err?list-type=2", {}, {.mode = body_mode::anonymous});
    CHECK(anon.status == 403);
    CHECK(error_code(anon) == "AccessDenied");
    CHECK(anon.body.find("anonymous") != std::string::npos);

    auto malformed = f.send("POST", "/err?delete", "<Delete><Object><Key>x</Key>");
    CHECK(malformed.status == 400);
    CHECK(error_code(malformed) == "MalformedXML");

    auto md5 =
        f.send("PUT", "/err/k1", "content",
               {.headers = {{"content-md5", util::to_base64(util::digest_view(util::md5sum("other")))}}});
    CHECK(md5.status == 400);
    CHECK(error_code(md5) == "InvalidDigest");
    CHECK(f.send("GET", "/err/k1").status == 404);

    auto sha = f.send("PUT", "/err/k2", "content", {.sha256_override = util::sha256sum("other").to_hex()});
    CHECK(sha.status >= 400);
    CHECK(f.send("GET", "/err/k2").status == 404);

    auto const big = pattern(2 * 1024 * 1024 + 5, 9);
    auto trunc = f.send("PUT", "/err/k3", big, {.mode = body_mode::chunked_signed, .truncate_body = true});
    CHECK(trunc.status >= 400);
    CHECK(trunc.status < 500);
    CHECK(f.send("GET", "/err/k3").status == 404);
    CHECK(f.send("GET", "/err?list-type=2").body.find("<Contents>") == std::string::npos);

    REQUIRE(f.send("PUT", "/err/shared", "presigned content").status == 200);
    auto pre = f.send("GET", presign("/err/shared", 600), {}, {.mode = body_mode::anonymous});
    CHECK(pre.status == 200);
    CHECK(pre.body == "presigned content");
    auto pre_bad =
        f.send("GET", presign("/err/shared", 600, std::string(64, 'e')), {}, {.mode = body_mode::anonymous});
    CHECK(pre_bad.status == 403);
    CHECK(error_code(pre_bad) == "SignatureDoesNotMatch");

    // a second key, without permissions on the bucket nor the right to create buckets
    std::string const other_id = "GK00000000000000000000aaaa";
    std::string const other_secret(64, 'a');
    REQUIRE(f.model->key_table().insert(model::access_key::import(other_id, other_secret, "other").value()));
    request_options as_other{.secret_key = other_secret, .access_key = other_id};
    auto denied = f.send("GET", "/err/shared", {}, as_other);
    CHECK(denied.status == 403);
    CHECK(error_code(denied) == "AccessDenied");
    CHECK(f.send("GET", "/", {}, as_other).body.find("<Name>err</Name>") == std::string::npos);
    CHECK(error_code(f.send("PUT", "/err", {}, as_other)) == "BucketAlreadyExists");
    CHECK(f.send("PUT", "/newbucket", {}, as_other).status == 403);
    auto unknown = f.send("GET", "/", {}, {.access_key = "GK99999999999999999999ffff"});
    CHECK(unknown.status == 403);
    CHECK(error_code(unknown) == "InvalidAccessKeyId");

    auto ni = f.send("GET", "/err?policy");
    CHECK(ni.status == 501);
    CHECK(error_code(ni) == "NotImplemented");
}

} // namespace
