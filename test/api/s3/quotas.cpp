// Test that header file is self-contained.
#include <garage/api/s3/impl/quotas.hpp>

#include <garage/api/common/sigv4.hpp>
#include <garage/api/s3/api_server.hpp>
#include <garage/model/helper.hpp>
#include <garage/model/key.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/hasher.hpp>

#include <test/support/s3_fixture.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace garage;
using namespace garage::test::s3;

/// Whether `key` of `bucket` has an upload still in progress or visible data.
struct object_state {
    bool uploading = false;
    bool data = false;
};
object_state state_of(fixture& f, std::string const& bucket, std::string const& key)
{
    object_state s;
    auto obj = f.model->object_table().get(f.bucket_id(bucket), key).value();
    if (obj) {
        for (auto const& v : obj->versions()) {
            s.uploading = s.uploading || v.is_uploading();
            s.data = s.data || v.is_data();
        }
    }
    return s;
}

TEST_CASE("an object quota refuses new objects but not replacements", "[api][s3][quotas]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/qobj").status == 200);
    f.set_quotas("qobj", std::nullopt, 2);
    REQUIRE(f.send("PUT", "/qobj/a", "one").status == 200);
    REQUIRE(f.send("PUT", "/qobj/b", "two").status == 200);

    auto third = f.send("PUT", "/qobj/c", "three");
    CHECK(third.status == 403);
    CHECK(error_code(third) == "AccessDenied");
    CHECK(third.body.find("Object quota is reached, maximum objects for this bucket: 2") !=
          std::string::npos);
    CHECK(f.send("GET", "/qobj/c").status == 404);

    // replacing an object adds none
    REQUIRE(f.send("PUT", "/qobj/a", "one again").status == 200);
    CHECK(f.send("GET", "/qobj/a").body == "one again");

    // a copy onto a new key is a new object; onto an existing key it is not
    auto copy_new = f.send("PUT", "/qobj/d", {}, header_list{{"x-amz-copy-source", "/qobj/a"}});
    CHECK(copy_new.status == 403);
    CHECK(error_code(copy_new) == "AccessDenied");
    CHECK(f.send("PUT", "/qobj/b", {}, header_list{{"x-amz-copy-source", "/qobj/a"}}).status == 200);
    CHECK(f.send("GET", "/qobj/b").body == "one again");

    // deleting frees a slot
    REQUIRE(f.send("DELETE", "/qobj/b").status == 204);
    CHECK(f.send("PUT", "/qobj/c", "three").status == 200);
    CHECK(f.send("PUT", "/qobj/e", "four").status == 403);

    // raising the quota lets it through
    f.set_quotas("qobj", std::nullopt, 3);
    CHECK(f.send("PUT", "/qobj/e", "four").status == 200);
}

TEST_CASE("a size quota refuses growth and the refused object never becomes visible", "[api][s3][quotas]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/qsize").status == 200);
    f.set_quotas("qsize", 1000, std::nullopt);
    REQUIRE(f.send("PUT", "/qsize/a", std::string(600, 'a')).status == 200);

    auto over = f.send("PUT", "/qsize/b", std::string(600, 'b'));
    CHECK(over.status == 403);
    CHECK(error_code(over) == "AccessDenied");
    CHECK(
        over.body.find("Bucket size quota is reached, maximum total size of objects for this bucket: 1000") !=
        std::string::npos);
    CHECK(f.send("GET", "/qsize/b").status == 404);
    CHECK(!state_of(f, "qsize", "b").data);

    // a replacement adds only the difference; shrinking is always allowed
    CHECK(f.send("PUT", "/qsize/a", std::string(1000, 'a')).status == 200);
    CHECK(f.send("PUT", "/qsize/a", std::string(1001, 'a')).status == 403);
    CHECK(f.send("GET", "/qsize/a").body == std::string(1000, 'a'));
    CHECK(f.send("PUT", "/qsize/a", std::string(10, 'a')).status == 200);
    CHECK(f.send("PUT", "/qsize/b", std::string(900, 'b')).status == 200);
}

TEST_CASE("a size quota refuses a block-stored upload after its data and aborts it", "[api][s3][quotas]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/big").status == 200);
    f.set_quotas("big", 2 << 20, std::nullopt);
    auto const body = pattern(3 * 1024 * 1024 + 5);
    auto r = f.send("PUT", "/big/blob", body);
    CHECK(r.status == 403);
    CHECK(error_code(r) == "AccessDenied");
    CHECK(f.send("HEAD", "/big/blob").status == 404);
    auto const s = state_of(f, "big", "blob");
    CHECK(!s.uploading); // aborted, not left uploading
    CHECK(!s.data);
    auto list = f.send("GET", "/big?list-type=2");
    CHECK(list.body.find("<Key>blob</Key>") == std::string::npos);

    // within the quota the same path succeeds
    auto const fits = pattern(1024 * 1024 + 5, 2);
    REQUIRE(f.send("PUT", "/big/fits", fits).status == 200);
    CHECK(f.send("GET", "/big/fits").body == fits);
}

TEST_CASE("CompleteMultipartUpload is refused by a size quota and the upload is aborted", "[api][s3][quotas]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/qmpu").status == 200);
    auto create = f.send("POST", "/qmpu/obj?uploads");
    REQUIRE(create.status == 200);
    auto const a = create.body.find("<UploadId>");
    auto const b = create.body.find("</UploadId>");
    REQUIRE(a != std::string::npos);
    auto const upload = create.body.substr(a + 10, b - a - 10);
    auto part = f.send("PUT", "/qmpu/obj?partNumber=1&uploadId=" + upload, std::string(2000, 'p'));
    REQUIRE(part.status == 200);
    f.set_quotas("qmpu", 1500, std::nullopt);
    std::string const xml = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                            part.header("etag") + "</ETag></Part></CompleteMultipartUpload>";
    auto done = f.send("POST", "/qmpu/obj?uploadId=" + upload, xml);
    CHECK(done.status == 403);
    CHECK(error_code(done) == "AccessDenied");
    CHECK(f.send("GET", "/qmpu/obj").status == 404);
    CHECK(!state_of(f, "qmpu", "obj").uploading);
    // the upload is gone
    CHECK(f.send("POST", "/qmpu/obj?uploadId=" + upload, xml).status == 404);
}

TEST_CASE("buckets without quotas are not limited", "[api][s3][quotas]")
{
    fixture f;
    REQUIRE(f.send("PUT", "/free").status == 200);
    for (int i = 0; i < 5; ++i) {
        CHECK(f.send("PUT", "/free/k" + std::to_string(i), std::string(2000, 'x')).status == 200);
    }
    f.set_quotas("free", std::nullopt, std::nullopt);
    CHECK(f.send("PUT", "/free/k9", "x").status == 200);
}

} // namespace
