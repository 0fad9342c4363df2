#include <garage/api/s3/router.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace garage::api::s3 {
namespace {

class route_category_impl final : public boost::system::error_category {
public:
    char const* name() const noexcept override { return "garage.s3.router"; }
    std::string message(int ev) const override
    {
        switch (static_cast<route_error>(ev)) {
        case route_error::unknown_method:
            return "Unknown method";
        case route_error::missing_host:
            return "Host header required";
        case route_error::bad_encoding:
            return "Invalid percent-encoding or UTF-8 in request";
        case route_error::duplicate_query_param:
            return "duplicate query parameter";
        case route_error::invalid_endpoint:
            return "Invalid endpoint";
        }
        return "unknown routing error";
    }
    boost::system::error_condition default_error_condition(int) const noexcept override
    {
        return util::condition::bad_request;
    }
};

bool valid_utf8(std::string_view s)
{
    auto const* p = reinterpret_cast<unsigned char const*>(s.data());
    auto const* end = p + s.size();
    while (p < end) {
        unsigned char const c = *p;
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++p;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) <= n) {
            return false;
        }
        for (std::size_t i = 1; i <= n; ++i) {
            if ((p[i] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        static constexpr std::uint32_t min_for[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_for[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false; // overlong, out of range, or a surrogate
        }
        p += n + 1;
    }
    return true;
}

int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

util::result<std::string> decode(std::string_view s, bool plus_is_space)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char const c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) {
                return util::failure(route_error::bad_encoding, "truncated percent-escape");
            }
            int const hi = hex_digit(s[i + 1]);
            int const lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0) {
                return util::failure(route_error::bad_encoding, "invalid percent-escape");
            }
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    if (!valid_utf8(out)) {
        return util::failure(route_error::bad_encoding, "Invalid UTF-8 in request");
    }
    return out;
}

/// Sub-resource keywords of unsupported endpoints and their S3 names (without the verb).
struct keyword {
    std::string_view key;
    std::string_view name;
};
constexpr std::array bucket_keywords{
    keyword{"accelerate", "BucketAccelerateConfiguration"},
    keyword{"analytics", "BucketAnalyticsConfiguration"},
    keyword{"encryption", "BucketEncryption"},
    keyword{"intelligent-tiering", "BucketIntelligentTieringConfiguration"},
    keyword{"inventory", "BucketInventoryConfiguration"},
    keyword{"logging", "BucketLogging"},
    keyword{"metrics", "BucketMetricsConfiguration"},
    keyword{"notification", "BucketNotificationConfiguration"},
    keyword{"object-lock", "ObjectLockConfiguration"},
    keyword{"ownershipControls", "BucketOwnershipControls"},
    keyword{"policy", "BucketPolicy"},
    keyword{"policyStatus", "BucketPolicyStatus"},
    keyword{"publicAccessBlock", "PublicAccessBlock"},
    keyword{"replication", "BucketReplication"},
    keyword{"requestPayment", "BucketRequestPayment"},
    keyword{"tagging", "BucketTagging"},
};
constexpr std::array object_keywords{
    keyword{"acl", "ObjectAcl"},
    keyword{"legal-hold", "ObjectLegalHold"},
    keyword{"retention", "ObjectRetention"},
    keyword{"tagging", "ObjectTagging"},
    keyword{"torrent", "ObjectTorrent"},
};

route unsupported(route r, std::string_view verb, std::string_view what)
{
    r.ep = endpoint::not_implemented;
    r.unsupported = std::string(verb) + std::string(what);
    return r;
}

template <std::size_t N>
std::optional<route> match_unsupported(route const& r, std::array<keyword, N> const& keywords,
                                       std::string_view verb)
{
    for (auto const& k : keywords) {
        if (r.query.count(k.key) != 0) {
            return unsupported(r, verb, k.name);
        }
    }
    return std::nullopt;
}

util::result<route> route_object(route r, std::string_view method, bool has_copy_source)
{
    auto has = [&](std::string_view k) { return r.query.count(k) != 0; };
    auto with = [&](endpoint e) {
        r.ep = e;
        return r;
    };
    if (method == "GET") {
        if (has("uploadId")) {
            return with(endpoint::list_parts);
        }
        if (auto u = match_unsupported(r, object_keywords, "Get")) {
            return *u;
        }
        if (has("attributes")) {
            return unsupported(r, "Get", "ObjectAttributes"); // not a GetObject (its body is not the object)
        }
        return with(endpoint::get_object);
    }
    if (method == "HEAD") {
        return with(endpoint::head_object);
    }
    if (method == "POST") {
        if (has("uploadId")) {
            return with(endpoint::complete_multipart_upload);
        }
        if (has("uploads")) {
            return with(endpoint::create_multipart_upload);
        }
        if (has("restore")) {
            return unsupported(r, "", "RestoreObject");
        }
        if (has("select")) {
            return unsupported(r, "", "SelectObjectContent");
        }
        return util::failure(route_error::invalid_endpoint, "Invalid endpoint: POST on an object");
    }
    if (method == "PUT") {
        if (auto u = match_unsupported(r, object_keywords, "Put")) {
            return *u;
        }
        if (has("partNumber") && has("uploadId")) {
            return with(has_copy_source ? endpoint::upload_part_copy : endpoint::upload_part);
        }
        return with(has_copy_source ? endpoint::copy_object : endpoint::put_object);
    }
    if (method == "DELETE") {
        if (has("uploadId")) {
            return with(endpoint::abort_multipart_upload);
        }
        if (auto u = match_unsupported(r, object_keywords, "Delete")) {
            return *u;
        }
        return with(endpoint::delete_object);
    }
    return util::failure(route_error::unknown_method, "Unknown method");
}

util::result<route> route_bucket(route r, std::string_view method)
{
    auto has = [&](std::string_view k) { return r.query.count(k) != 0; };
    auto with = [&](endpoint e) {
        r.ep = e;
        return r;
    };
    if (method == "GET") {
        if (auto lt = r.param("list-type")) {
            if (*lt != "2") {
                return util::failure(route_error::invalid_endpoint,
                                     "Invalid endpoint: list-type=" + std::string(*lt));
            }
            return with(endpoint::list_objects_v2);
        }
        if (has("uploads")) {
            return with(endpoint::list_multipart_uploads);
        }
        if (has("versions")) {
            return with(endpoint::list_object_versions);
        }
        static constexpr std::array<std::pair<std::string_view, endpoint>, 6> gets{{
            {"cors", endpoint::get_bucket_cors},
            {"lifecycle", endpoint::get_bucket_lifecycle},
            {"location", endpoint::get_bucket_location},
            {"versioning", endpoint::get_bucket_versioning},
            {"website", endpoint::get_bucket_website},
            {"acl", endpoint::get_bucket_acl},
        }};
        for (auto const& [k, e] : gets) {
            if (has(k)) {
                return with(e);
            }
        }
        if (auto u = match_unsupported(r, bucket_keywords, "Get")) {
            return *u;
        }
        return with(endpoint::list_objects);
    }
    if (method == "HEAD") {
        return with(endpoint::head_bucket);
    }
    if (method == "POST") {
        if (has("delete")) {
            return with(endpoint::delete_objects);
        }
        return with(endpoint::post_object);
    }
    if (method == "PUT") {
        static constexpr std::array<std::pair<std::string_view, endpoint>, 5> puts{{
            {"cors", endpoint::put_bucket_cors},
            {"lifecycle", endpoint::put_bucket_lifecycle},
            {"website", endpoint::put_bucket_website},
            {"versioning", endpoint::put_bucket_versioning},
            {"acl", endpoint::put_bucket_acl},
        }};
        for (auto const& [k, e] : puts) {
            if (has(k)) {
                return with(e);
            }
        }
        if (auto u = match_unsupported(r, bucket_keywords, "Put")) {
            return *u;
        }
        return with(endpoint::create_bucket);
    }
    if (method == "DELETE") {
        static constexpr std::array<std::pair<std::string_view, endpoint>, 3> dels{{
            {"cors", endpoint::delete_bucket_cors},
            {"lifecycle", endpoint::delete_bucket_lifecycle},
            {"website", endpoint::delete_bucket_website},
        }};
        for (auto const& [k, e] : dels) {
            if (has(k)) {
                return with(e);
            }
        }
        if (auto u = match_unsupported(r, bucket_keywords, "Delete")) {
            return *u;
        }
        return with(endpoint::delete_bucket);
    }
    return util::failure(route_error::unknown_method, "Unknown method");
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

} // namespace

boost::system::error_category const& route_category() noexcept
{
    static route_category_impl const instance;
    return instance;
}

util::result<std::string> percent_decode(std::string_view s)
{
    return decode(s, false);
}

std::optional<std::string> host_to_bucket(std::string_view host, std::string_view root_domain)
{
    // Strip the port: `[v6]:port` or `name:port`.
    if (!host.empty() && host.front() == '[') {
        auto const close = host.find(']');
        host = close == std::string_view::npos ? host : host.substr(0, close + 1);
    } else if (auto const colon = host.rfind(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
    }
    while (!root_domain.empty() && root_domain.front() == '.') {
        root_domain.remove_prefix(1);
    }
    if (root_domain.empty()) {
        return std::nullopt;
    }
    auto const h = lower(host);
    auto const root = lower(root_domain);
    if (h.size() <= root.size() + 1 || !h.ends_with(root) || h[h.size() - root.size() - 1] != '.') {
        return std::nullopt;
    }
    return h.substr(0, h.size() - root.size() - 1);
}

util::result<route> route_request(std::string_view method, std::string_view host, std::string_view target,
                                  std::string_view root_domain, bool has_copy_source)
{
    static constexpr std::array<std::string_view, 6> methods{"GET",  "HEAD",   "PUT",
                                                             "POST", "DELETE", "OPTIONS"};
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
        return util::failure(route_error::unknown_method, "Unknown method: " + std::string(method));
    }
    route r;
    auto const qpos = target.find('?');
    std::string_view path = target.substr(0, qpos);
    std::string_view query = qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1);

    while (!query.empty()) {
        auto const amp = query.find('&');
        auto const item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (item.empty()) {
            continue;
        }
        auto const eq = item.find('=');
        auto k = decode(item.substr(0, eq), true);
        if (!k) {
            return k.error();
        }
        std::string v;
        if (eq != std::string_view::npos) {
            auto dv = decode(item.substr(eq + 1), true);
            if (!dv) {
                return dv.error();
            }
            v = std::move(*dv);
        }
        if (!r.query.emplace(std::move(*k), std::move(v)).second) {
            return util::failure(route_error::duplicate_query_param,
                                 "duplicate query parameter: " + std::string(item.substr(0, eq)));
        }
    }

    if (!root_domain.empty()) {
        if (host.empty()) {
            return util::failure(route_error::missing_host, "Host header required");
        }
        if (auto b = host_to_bucket(host, root_domain)) {
            r.bucket = std::move(*b);
            r.vhost = true;
        }
    }
    while (!path.empty() && path.front() == '/') {
        path.remove_prefix(1);
    }
    std::string_view raw_key = path;
    if (!r.vhost) {
        auto const slash = path.find('/');
        auto b = decode(path.substr(0, slash), false);
        if (!b) {
            return b.error();
        }
        r.bucket = std::move(*b);
        raw_key = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    }
    auto k = decode(raw_key, false);
    if (!k) {
        return k.error();
    }
    r.key = std::move(*k);

    if (method == "OPTIONS") {
        r.ep = endpoint::options;
        return r;
    }
    if (r.bucket.empty()) {
        if (method == "GET") {
            r.ep = endpoint::list_buckets;
            return r;
        }
        return util::failure(route_error::invalid_endpoint,
                             "Invalid endpoint: " + std::string(method) + " /");
    }
    if (!r.key.empty()) {
        return route_object(std::move(r), method, has_copy_source);
    }
    return route_bucket(std::move(r), method);
}

std::string_view name(endpoint e) noexcept
{
    switch (e) {
    case endpoint::list_buckets:
        return "ListBuckets";
    case endpoint::options:
        return "Options";
    case endpoint::create_bucket:
        return "CreateBucket";
    case endpoint::delete_bucket:
        return "DeleteBucket";
    case endpoint::head_bucket:
        return "HeadBucket";
    case endpoint::get_bucket_location:
        return "GetBucketLocation";
    case endpoint::get_bucket_versioning:
        return "GetBucketVersioning";
    case endpoint::put_bucket_versioning:
        return "PutBucketVersioning";
    case endpoint::get_bucket_acl:
        return "GetBucketAcl";
    case endpoint::put_bucket_acl:
        return "PutBucketAcl";
    case endpoint::get_bucket_cors:
        return "GetBucketCors";
    case endpoint::put_bucket_cors:
        return "PutBucketCors";
    case endpoint::delete_bucket_cors:
        return "DeleteBucketCors";
    case endpoint::get_bucket_website:
        return "GetBucketWebsite";
    case endpoint::put_bucket_website:
        return "PutBucketWebsite";
    case endpoint::delete_bucket_website:
        return "DeleteBucketWebsite";
    case endpoint::get_bucket_lifecycle:
        return "GetBucketLifecycleConfiguration";
    case endpoint::put_bucket_lifecycle:
        return "PutBucketLifecycleConfiguration";
    case endpoint::delete_bucket_lifecycle:
        return "DeleteBucketLifecycle";
    case endpoint::list_objects:
        return "ListObjects";
    case endpoint::list_objects_v2:
        return "ListObjectsV2";
    case endpoint::list_object_versions:
        return "ListObjectVersions";
    case endpoint::list_multipart_uploads:
        return "ListMultipartUploads";
    case endpoint::delete_objects:
        return "DeleteObjects";
    case endpoint::post_object:
        return "PostObject";
    case endpoint::get_object:
        return "GetObject";
    case endpoint::head_object:
        return "HeadObject";
    case endpoint::put_object:
        return "PutObject";
    case endpoint::copy_object:
        return "CopyObject";
    case endpoint::delete_object:
        return "DeleteObject";
    case endpoint::create_multipart_upload:
        return "CreateMultipartUpload";
    case endpoint::upload_part:
        return "UploadPart";
    case endpoint::upload_part_copy:
        return "UploadPartCopy";
    case endpoint::complete_multipart_upload:
        return "CompleteMultipartUpload";
    case endpoint::abort_multipart_upload:
        return "AbortMultipartUpload";
    case endpoint::list_parts:
        return "ListParts";
    case endpoint::not_implemented:
        return "NotImplemented";
    }
    return "Unknown";
}

} // namespace garage::api::s3
