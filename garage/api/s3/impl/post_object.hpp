#pragma once
// PostObject: browser-based uploads with an HTML form (GARAGE-REFERENCE §1.5 "POST Object").
// The request is authenticated by its form fields (a signed policy), not by its headers; the
// form parser and the policy rules are in garage/api/common/post_policy.hpp.

#include <garage/api/common/post_policy.hpp>
#include <garage/api/common/sigv4.hpp>
#include <garage/api/s3/detail/common.hpp>
#include <garage/api/s3/impl/put_object.hpp>
#include <garage/api/s3/impl/quotas.hpp>
#include <garage/api/s3/xml.hpp>
#include <garage/model/helper.hpp>
#include <garage/util/hasher.hpp>

#include <array>
#include <chrono>
#include <string>
#include <vector>

namespace garage::api::s3::detail {

/// Throws the S3 form of a POST upload failure (its own S3 code for `garage.api.post` errors).
[[noreturn]] inline void fail_post(util::failure const& f)
{
    if (f.code.category() == post::post_category()) {
        auto const e = static_cast<post::error>(f.code.value());
        fail(s3_error{std::string(post::s3_error_code(e)), post::http_status(e), f.message});
    }
    fail(f);
}

/// The value of `r`, or throws its error as @ref fail_post does.
template <class T>
T post_value(util::result<T> r)
{
    if (!r) {
        fail_post(r.error());
    }
    return std::move(*r);
}
/// Throws the error of `r`, if any, as @ref fail_post does.
inline void post_check(util::result<void> const& r)
{
    if (!r) {
        fail_post(r.error());
    }
}

/// The largest file a form may upload (S3's limit for a single PUT).
inline constexpr std::uint64_t max_post_file_size = 5ull << 30;

/** The request body of a form, pulled into a @ref post::form_parser; and, once the parser is at
    the `file` part, a reader of the file's content (`read`, as @ref write_blocks wants) that
    computes its MD5 and enforces `content-length-range`. */
class post_form_input {
public:
    /** @param ex The exchange. @param parser The parser to feed. */
    post_form_input(http::exchange& ex, post::form_parser& parser) : ex_(ex), parser_(parser) {}

    /// Feeds the parser the next bytes of the body (or the end of the body).
    net::awaitable<void> pull()
    {
        if (ended_) {
            fail_post(util::failure(post::error::malformed_form, "The POST body ended early"));
        }
        auto n = co_await ex_.read_some(buf_);
        if (!n) {
            fail(s3_error::invalid_request("Bad request body: " + n.error().message));
        }
        if (*n == 0) {
            ended_ = true;
            parser_.end_of_input();
        } else {
            parser_.feed(std::string_view(buf_.data(), *n));
        }
    }

    /// @return Whether the whole body was read.
    bool ended() const noexcept { return ended_; }

    /// Sets the sizes the file may have (from the policy).
    void set_range(post::length_range r) noexcept { range_ = r; }
    /// Sets the MD5 the file must have (the `content-md5` field).
    void set_expected_md5(std::optional<util::md5_digest> md5) noexcept { expected_md5_ = md5; }

    /** Appends file content to `out`.
        @return true while more may come; false once the file ended and its size is allowed.
        Throws `EntityTooLarge` / `EntityTooSmall` / `MalformedPOSTRequest`. */
    net::awaitable<bool> read(std::string& out)
    {
        for (;;) {
            auto const before = out.size();
            bool const done = post_value(parser_.read_file(out));
            auto const got = out.size() - before;
            if (got > 0) {
                md5_.update(std::string_view(out).substr(before));
                size_ += got;
                post_check(range_.check_max(size_));
                if (size_ > max_post_file_size) {
                    fail(s3_error{"EntityTooLarge", 400,
                                  "Your proposed upload exceeds the maximum allowed size"});
                }
            }
            if (done) {
                post_check(range_.check(size_));
                md5_digest_ = md5_.finalize();
                if (expected_md5_ && *expected_md5_ != md5_digest_) {
                    fail(s3_error{"InvalidDigest", 400,
                                  "The Content-MD5 you specified did not match what we received."});
                }
                co_return false;
            }
            if (got > 0) {
                co_return true;
            }
            co_await pull();
        }
    }

    /// @return The MD5 of the file (once @ref read returned false).
    util::md5_digest const& md5() const noexcept { return md5_digest_; }
    /// @return The file's bytes read so far.
    std::uint64_t size() const noexcept { return size_; }

private:
    http::exchange& ex_;
    post::form_parser& parser_;
    post::length_range range_;
    util::md5_hasher md5_;
    util::md5_digest md5_digest_{};
    std::optional<util::md5_digest> expected_md5_;
    std::uint64_t size_ = 0;
    bool ended_ = false;
    std::array<char, 64 * 1024> buf_{};
};

/** PostObject. Reads the form's fields, authenticates the form (credential, signature of the
    policy), resolves the bucket (calling `on_bucket(id)`, e.g. to set CORS headers) and checks
    Write permission, checks the policy, then stores the file as PutObject does (inline or in
    blocks, quotas checked before completion) and answers per `success_action_redirect` /
    `success_action_status`.
    @param cache The server's signing-key cache. */
template <class Ctx, class OnBucket>
net::awaitable<void> handle_post_object(Ctx& c, sigv4::signing_key_cache& cache, OnBucket& on_bucket)
{
    auto const content_type = c.header("content-type");
    if (!content_type) {
        fail_post(
            util::failure(post::error::malformed_form, "A POST upload needs a multipart/form-data body"));
    }
    post::form_parser parser(post_value(post::form_boundary(*content_type)));
    post_form_input in(c.ex, parser);

    // ---- the fields, up to the file
    std::vector<post::form_field> fields;
    std::optional<post::part_head> file;
    for (bool more = true; more;) {
        switch (post_value(parser.next())) {
        case post::form_event::need_input:
            co_await in.pull();
            break;
        case post::form_event::field:
            if (post::find_field(fields, parser.head().name)) {
                fail(
                    s3_error::invalid_argument("Field '" + parser.head().name + "' is given more than once"));
            }
            fields.push_back({parser.head().name, parser.value()});
            break;
        case post::form_event::file:
            file = parser.head();
            more = false;
            break;
        case post::form_event::end:
            more = false;
            break;
        }
    }
    if (!file) {
        fail(s3_error::invalid_argument("POST requires exactly one file upload per request."));
    }
    auto required = [&](std::string_view name) {
        auto v = post::find_field(fields, name);
        if (!v) {
            fail(s3_error::invalid_argument("Bucket POST must contain a field named '" + std::string(name) +
                                            "'"));
        }
        return std::string(*v);
    };
    auto const key_field = required("key");
    auto const policy_b64 = required("policy");
    auto const signature = required("x-amz-signature");

    // ---- authentication: the credential, then the signature of the policy
    auto const now = std::chrono::system_clock::now();
    auto const cred =
        post_value(post::parse_credential(fields, {c.settings.region, sigv4::service::s3}, now));
    auto key = value_or_fail(model::get_key(c.model, cred.access_key_id));
    if (!key) {
        fail(util::failure(api::error::invalid_access_key_id, "No such key: " + cred.access_key_id));
    }
    auto const skey = cache.get(key->params()->secret_key, cred.short_date, cred.region,
                                sigv4::to_string(sigv4::service::s3));
    post_check(post::verify_signature(policy_b64, signature, skey));
    c.key = std::move(*key);
    c.auth.access_key_id = cred.access_key_id;
    c.auth.key = skey;
    c.auth.amz_date = cred.amz_date;

    // ---- bucket and permission
    auto id = value_or_fail(model::resolve_bucket(c.model, c.r.bucket, &c.key));
    if (!id || !value_or_fail(model::get_bucket(c.model, *id))) {
        fail(s3_error::no_such_bucket(c.r.bucket));
    }
    c.bucket_id = *id;
    on_bucket(*id);
    if (!c.key.allow_write(*id)) {
        fail(s3_error::access_denied("Forbidden: Operation is not allowed for this key."));
    }

    // ---- the policy, with the bucket of the URL as its `bucket` field
    auto const policy = post_value(post::decode_policy(policy_b64));
    auto checked = fields;
    if (auto b = post::find_field(fields, "bucket")) {
        if (*b != c.r.bucket) {
            fail(s3_error::invalid_argument("The bucket field '" + std::string(*b) +
                                            "' is not the bucket of the request, '" + c.r.bucket + "'"));
        }
    } else {
        checked.push_back({"bucket", c.r.bucket});
    }
    in.set_range(post_value(post::check_policy(policy, checked, now)));
    for (auto const& f : fields) {
        if (f.name.starts_with("x-amz-server-side-encryption")) {
            fail(s3_error::not_implemented("server-side encryption fields in POST uploads"));
        }
    }
    if (auto m = post::find_field(fields, "content-md5")) {
        in.set_expected_md5(value_or_fail(parse_content_md5(*m)));
    }

    std::string const object_key = post::substitute_filename(key_field, file->filename.value_or(""));
    if (object_key.empty()) {
        fail(s3_error::invalid_argument("The key of a POST upload must not be empty"));
    }
    std::vector<header_field> meta_fields;
    for (auto const& f : fields) {
        meta_fields.push_back({f.name, f.value});
    }
    if (!post::find_field(fields, "content-type") && file->content_type) {
        meta_fields.push_back({"content-type", *file->content_type});
    }
    auto headers = metadata_headers(meta_fields);

    // ---- the file, stored as PutObject stores a body
    std::string buf;
    bool more = true;
    while (more && buf.size() < inline_threshold) {
        more = co_await in.read(buf);
    }
    auto const vid = util::gen_uuid();
    auto const ts = co_await next_timestamp(c, object_key);
    std::string etag;
    if (!more && buf.size() < inline_threshold) {
        check_quotas(c, object_key, buf.size());
        etag = new_etag(in.md5(), nullptr);
        auto meta = make_meta(buf.size(), etag, std::move(headers), std::nullopt, nullptr);
        model::object_version pv1 = model::object_version{
            vid, ts, model::version_complete{model::inline_data{std::move(meta), std::move(buf)}}};
        co_await put_version(c, object_key, std::move(pv1));
    } else {
        model::version_uploading up;
        up.multipart = false;
        up.encryption = seal_meta(model::object_version_meta_inner{headers, std::nullopt}, nullptr);
        model::object_version pv2 = model::object_version{vid, ts, up};
        co_await put_version(c, object_key, std::move(pv2));
        written_data w;
        std::optional<s3_exception> failure;
        model::version_backlink const backlink = model::object_backlink{c.bucket_id, object_key}; // (GCC 12)
        try {
            w = co_await write_blocks(c, in, buf, more, vid, backlink, 1, nullptr);
            check_quotas(c, object_key, w.size);
        } catch (s3_exception& e) {
            failure = std::move(e);
        }
        if (failure) {
            model::object_version pv3 = model::object_version{vid, ts, model::version_aborted{}};
            co_await put_version(c, object_key, std::move(pv3));
            throw std::move(*failure);
        }
        etag = new_etag(in.md5(), nullptr);
        auto meta = make_meta(w.size, etag, std::move(headers), std::nullopt, nullptr);
        model::object_version pv4 = model::object_version{
            vid, ts, model::version_complete{model::first_block{std::move(meta), w.first_hash}}};
        co_await put_version(c, object_key, std::move(pv4));
    }

    // ---- the rest of the form is ignored, but read (bounded) so the connection stays usable
    for (int rounds = 0; rounds < 64 && !in.ended(); ++rounds) {
        auto ev = parser.next();
        if (!ev || *ev == post::form_event::end) {
            break;
        }
        if (*ev == post::form_event::need_input) {
            co_await in.pull();
        }
    }

    // ---- the answer
    std::string_view const target = c.ex.request().target();
    std::string path(target.substr(0, target.find('?')));
    while (!path.empty() && path.back() == '/') {
        path.pop_back();
    }
    std::string const location = "https://" + std::string(c.header("host").value_or("")) + path + "/" +
                                 sigv4::uri_encode(object_key, false);
    header_pairs extra{{"ETag", quote_etag(etag)}, {"Location", location}, {"x-amz-version-id", hex(vid)}};
    auto redirect = post::find_field(fields, "success_action_redirect");
    if (!redirect) {
        redirect = post::find_field(fields, "redirect");
    }
    if (redirect && (redirect->starts_with("http://") || redirect->starts_with("https://"))) {
        std::string url(*redirect);
        url += url.find('?') == std::string::npos ? "?" : "&";
        url += "bucket=" + sigv4::uri_encode(c.r.bucket, true) +
               "&key=" + sigv4::uri_encode(object_key, true) +
               "&etag=" + sigv4::uri_encode(quote_etag(etag), true);
        extra[1].second = std::move(url);
        co_await send(c.ex, 303, {}, extra, {});
        co_return;
    }
    auto const status = post::find_field(fields, "success_action_status").value_or("204");
    if (status == "200") {
        co_await send(c.ex, 200, {}, extra, {});
    } else if (status == "201") {
        xml_writer w("PostResponse");
        w.text("Location", location);
        w.text("Bucket", c.r.bucket);
        w.text("Key", object_key);
        w.text("ETag", quote_etag(etag));
        co_await send(c.ex, 201, w.str(), extra);
    } else {
        co_await send(c.ex, 204, {}, extra, {});
    }
}

} // namespace garage::api::s3::detail
