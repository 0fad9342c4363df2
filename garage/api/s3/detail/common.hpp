#pragma once
/** @file
    Private helpers of the S3 handlers: the request context, the error exception used inside
    handlers, header access, time formats, and the request body reader (plain, UNSIGNED and
    aws-chunked bodies, with their checksums). */

#include <garage/api/common/aws_chunked.hpp>
#include <garage/api/common/checksum.hpp>
#include <garage/api/common/request_view.hpp>
#include <garage/api/common/sigv4.hpp>
#include <garage/api/http/byte_budget.hpp>
#include <garage/api/http/server.hpp>
#include <garage/api/s3/error.hpp>
#include <garage/api/s3/router.hpp>
#include <garage/api/s3/xml.hpp>
#include <garage/model/cluster.hpp>
#include <garage/model/key.hpp>
#include <garage/model/object.hpp>
#include <garage/storage/group_commit.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/encoding.hpp>
#include <garage/util/error.hpp>
#include <garage/util/write_capture.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace garage::api::s3 {

struct s3_settings;

namespace detail {

namespace net = boost::asio;

/** An S3 error raised inside a handler; the dispatcher turns it into the XML error response.
    Handlers throw it rather than threading results through every coroutine frame. */
struct s3_exception {
    s3_error err;                               ///< the error to answer
    std::optional<std::string> content_range{}; ///< `Content-Range` to add (416 InvalidRange)
};

/// Throws `e` as an @ref s3_exception.
[[noreturn]] inline void fail(s3_error e)
{
    throw s3_exception{std::move(e)};
}

/// Throws the S3 form of a failure (API errors keep their own S3 code).
[[noreturn]] inline void fail(util::failure const& f)
{
    if (f.code.category() == api::api_category()) {
        auto const e = static_cast<api::error>(f.code.value());
        throw s3_exception{s3_error{std::string(api::s3_error_code(e)), api::http_status(e), f.message}};
    }
    throw s3_exception{to_s3_error(f)};
}

/// The value of `r`, or throws its error.
template <class T>
T value_or_fail(util::result<T> r)
{
    if (!r) {
        fail(r.error());
    }
    return std::move(*r);
}
/// Throws the error of `r`, if any.
inline void check(util::result<void> const& r)
{
    if (!r) {
        fail(r.error());
    }
}

/// Everything a handler needs about its request.
template <class Model, class Blocks>
struct context {
    Model& model;                      ///< the tables
    Blocks& blocks;                    ///< the block store
    s3_settings const& settings;       ///< the configuration
    http::exchange& ex;                ///< the HTTP exchange
    route r;                           ///< the routed endpoint
    std::vector<header_field> headers; ///< views of the request headers
    sigv4::verified_auth auth;         ///< who signed and how the body is sent
    model::access_key key;             ///< the caller's key
    util::uuid bucket_id{};            ///< the resolved bucket (bucket and object endpoints)
    net::any_io_executor blocking{};   ///< where blocking work runs (none: inline)
    http::byte_budget* ram_budget{};   ///< bounds the block bytes uploads buffer (none: unbounded)
    /// commits small metadata writes of concurrent requests together (none: one transaction each)
    storage::group_committer<typename Model::storage_type>* committer{};
    /// the tables across the cluster (none: this node's tables alone)
    model::model_cluster<Model>* cluster{};

    /// A request header (case-insensitive), if present.
    std::optional<std::string_view> header(std::string_view name) const { return find_header(headers, name); }
};

/** Runs `f` on the `blocking` executor (block file I/O, LMDB writes) and resumes on the
    caller's executor; inline when `blocking` is empty. Exceptions of `f` propagate.

    Not cancellable: blocking work cannot be interrupted, and the caller must not go on (and
    free what `f` refers to) before it ends. Cancellation of the awaiting coroutine (e.g. a
    parallel read failing when the client disconnects) is therefore not forwarded to the
    spawned coroutine — forwarding it would make that coroutine throw on the pool thread,
    outside any handler, before `f` even started.
    @return What `f` returns. */
template <class F>
net::awaitable<std::invoke_result_t<F&>> offload(net::any_io_executor const& blocking, F f)
{
    using result_type = std::invoke_result_t<F&>;
    if (!blocking) {
        co_return f();
    }
    co_return co_await net::co_spawn(
        blocking, [f = std::move(f)]() mutable -> net::awaitable<result_type> { co_return f(); },
        net::bind_cancellation_slot(net::cancellation_slot(), net::use_awaitable));
}

/** Whether local writes must be captured for @ref replicate: in a cluster whose layout names
    another node (a layout of this node alone sends nothing, so nothing is recorded). */
template <class Ctx>
bool capturing(Ctx const& c)
{
    return c.cluster != nullptr && !c.cluster->alone();
}

/** Sends what the local writes captured in `cap` stored to the other nodes of their write
    sets (in a cluster; nothing otherwise) and waits for the write quorums. Not cancellable,
    as @ref offload: what was written here is sent even if the request is abandoned meanwhile.
    Throws the S3 error of a failure (the quorum not reached). */
template <class Ctx>
net::awaitable<void> replicate(Ctx& c, util::write_capture cap)
{
    if (c.cluster == nullptr || cap.empty() || c.cluster->alone()) {
        co_return;
    }
    auto* const cluster = c.cluster;
    auto const ex = co_await net::this_coro::executor;
    // named, not a temporary in the co_await expression (GCC 12 destroys those twice)
    auto send = [cluster, cap = std::move(cap)]() mutable -> net::awaitable<util::result<void>> {
        co_return co_await cluster->replicate(std::move(cap));
    };
    auto op = net::co_spawn(ex, std::move(send),
                            net::bind_cancellation_slot(net::cancellation_slot(), net::use_awaitable));
    auto r = co_await std::move(op);
    check(r);
}

/** Runs the synchronous writes `f` here (as the handler does), recording what they store, then
    replicates it (@ref replicate). `f` throws on failure, as handlers do. */
template <class Ctx, class F>
net::awaitable<void> write_replicated(Ctx& c, F f)
{
    util::write_capture cap;
    if (capturing(c)) {
        util::write_capture_scope scope(cap);
        f();
    } else {
        f();
    }
    co_await replicate(c, std::move(cap));
}

/** As @ref offload for writes: runs `f` on the blocking executor recording what it stores,
    then replicates that (@ref replicate) before returning what `f` returned. */
template <class Ctx, class F>
net::awaitable<std::invoke_result_t<F&>> offload_replicated(Ctx& c, F f)
{
    using result_type = std::invoke_result_t<F&>;
    // A parallel branch (a block stored while the next is read) may be cancelled when the other
    // fails: the writes made here still go to their nodes, and the failure is the other's.
    co_await net::this_coro::throw_if_cancelled(false);
    util::write_capture cap;
    auto run = [&f, &cap, capture = capturing(c)]() -> result_type {
        if (!capture) {
            return f();
        }
        util::write_capture_scope scope(cap);
        return f();
    };
    if constexpr (std::is_void_v<result_type>) {
        co_await offload(c.blocking, run);
        co_await replicate(c, std::move(cap));
    } else {
        auto r = co_await offload(c.blocking, run);
        co_await replicate(c, std::move(cap));
        co_return r;
    }
}

/** Reads one entry: from a read quorum of its nodes in a cluster (merged, with read repair),
    from this node's table otherwise. Throws the S3 error of a failure.
    @return The entry, or nullopt. */
template <class Ctx, class Table>
net::awaitable<std::optional<typename Table::entry_type>>
read_entry(Ctx& c, Table& t, typename Table::partition_key_type pk, typename Table::sort_key_type sk)
{
    if (c.cluster != nullptr) {
        auto r = co_await c.cluster->replicated(t).get(std::move(pk), std::move(sk));
        co_return value_or_fail(std::move(r));
    }
    co_return value_or_fail(t.get(pk, sk));
}

/** Reads a range of one partition: from a read quorum in a cluster, locally otherwise (see
    @ref garage::table::replicated_table::get_range). Throws the S3 error of a failure.
    @return The entries in the order of `dir`. */
template <class Ctx, class Table>
net::awaitable<std::vector<typename Table::entry_type>>
read_range(Ctx& c, Table& t, typename Table::partition_key_type pk,
           std::optional<typename Table::sort_key_type> start,
           std::optional<typename Table::filter_type> filter, std::size_t limit,
           storage::direction dir = storage::direction::forward)
{
    if (c.cluster != nullptr) {
        auto r = co_await c.cluster->replicated(t).get_range(std::move(pk), std::move(start),
                                                             std::move(filter), limit, dir);
        co_return value_or_fail(std::move(r));
    }
    co_return value_or_fail(t.get_range(pk, start, filter, limit, dir));
}

/** Runs the write function `fn` in a transaction of the model's storage: batched with the
    writes of concurrent requests by `c.committer` if there is one, else alone (on the blocking
    executor). `fn` must stay valid until this returns and write only through its transaction.
    Throws the S3 error of a failure. */
template <class Ctx, class F>
net::awaitable<void> commit_writes(Ctx& c, F fn)
{
    util::write_capture cap;
    // each run of `fn` (a batch that failed is retried alone) records what it writes afresh
    auto captured = [&fn, &cap, capture = capturing(c)](auto& tx) {
        if (!capture) {
            return fn(tx);
        }
        cap.entries.clear();
        cap.blocks.clear();
        util::write_capture_scope scope(cap);
        return fn(tx);
    };
    if (c.committer != nullptr) {
        auto op = c.committer->async_commit(std::move(captured), net::use_awaitable);
        auto r = co_await std::move(op);
        check(r);
    } else {
        auto alone = [&c, &captured] { return c.model.storage().transact(captured); };
        auto r = co_await offload(c.blocking, alone);
        check(r);
    }
    co_await replicate(c, std::move(cap));
}

/// Hex of a uuid or hash.
template <class T>
std::string hex(T const& id)
{
    return id.to_hex();
}

/// Seconds and ms to a broken-down UTC time.
inline std::tm utc(std::uint64_t msec)
{
    std::time_t t = static_cast<std::time_t>(msec / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return tm;
}

/// `2024-01-02T03:04:05.678Z` (S3 XML timestamps).
inline std::string rfc3339(std::uint64_t msec)
{
    auto tm = utc(msec);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(msec % 1000));
    return buf;
}

/// `Tue, 02 Jan 2024 03:04:05 GMT` (HTTP dates).
inline std::string http_date(std::uint64_t msec)
{
    auto tm = utc(msec);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

/// Parses an HTTP date (IMF-fixdate) to ms since the epoch.
inline std::optional<std::uint64_t> parse_http_date(std::string_view s)
{
    std::tm tm{};
    std::string str(s);
    char const* end = strptime(str.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr) {
        return std::nullopt;
    }
    auto const t = timegm(&tm);
    if (t < 0) {
        return std::nullopt; // before 1970 (or not a date): no object is that old
    }
    return static_cast<std::uint64_t>(t) * 1000;
}

/// Converts between the API's and the model's checksum types.
inline model::checksum_algorithm to_model(checksum_algorithm a) noexcept
{
    switch (a) {
    case checksum_algorithm::crc32:
        return model::checksum_algorithm::crc32;
    case checksum_algorithm::crc32c:
        return model::checksum_algorithm::crc32c;
    case checksum_algorithm::crc64nvme:
        return model::checksum_algorithm::crc64nvme;
    case checksum_algorithm::sha1:
        return model::checksum_algorithm::sha1;
    case checksum_algorithm::sha256:
        return model::checksum_algorithm::sha256;
    }
    return model::checksum_algorithm::crc32;
}
/// @copydoc to_model(checksum_algorithm)
inline checksum_algorithm from_model(model::checksum_algorithm a) noexcept
{
    switch (a) {
    case model::checksum_algorithm::crc32:
        return checksum_algorithm::crc32;
    case model::checksum_algorithm::crc32c:
        return checksum_algorithm::crc32c;
    case model::checksum_algorithm::crc64nvme:
        return checksum_algorithm::crc64nvme;
    case model::checksum_algorithm::sha1:
        return checksum_algorithm::sha1;
    case model::checksum_algorithm::sha256:
        return checksum_algorithm::sha256;
    }
    return checksum_algorithm::crc32;
}
/// @copydoc to_model(checksum_algorithm)
inline model::checksum_value to_model(checksum_value const& v)
{
    return {to_model(v.algorithm()), std::string(v.bytes())};
}
/// @copydoc to_model(checksum_algorithm)
inline checksum_value from_model(model::checksum_value const& v)
{
    auto r = checksum_value::from_bytes(from_model(v.algorithm), v.bytes);
    return r ? *r : checksum_value{};
}

/** Reads a request body as its payload mode says, decoding aws-chunked bodies and checking
    `x-amz-content-sha256`, `Content-MD5` and `x-amz-checksum-*` (header or trailer) at the end.
    Data handed out must not be made visible before @ref read returns false (end, verified). */
class body_reader {
public:
    /** @param ex The exchange. @param headers The request headers. @param auth The verified auth.
        @param with_md5 Compute the MD5 (the ETag).
        @param checksum_algo An extra checksum to compute (the one an upload requested). */
    body_reader(http::exchange& ex, std::span<header_field const> headers, sigv4::verified_auth const& auth,
                bool with_md5, std::optional<checksum_algorithm> checksum_algo = std::nullopt)
        : ex_(ex)
    {
        auto const mode = auth.payload.mode;
        if (auth.payload.sha256) {
            expected_.sha256 = *auth.payload.sha256;
        }
        if (auto md5 = find_header(headers, "content-md5")) {
            expected_.md5 = value_or_fail(parse_content_md5(*md5));
        }
        expected_.extra = value_or_fail(request_checksum_value(headers));
        summer_ = make_checksummer(expected_, with_md5);
        summer_.add(checksum_algo);
        if (sigv4::is_streaming(mode)) {
            aws_chunked_options o;
            o.decoded_content_length = value_or_fail(parse_decoded_content_length(headers));
            if (sigv4::has_trailer(mode)) {
                auto t = value_or_fail(request_trailer_checksum_algorithm(headers));
                if (t) {
                    o.expected_trailer = std::string(checksum_header_name(*t));
                    summer_.add(*t);
                    trailer_algo_ = t;
                }
            }
            if (sigv4::has_chunk_signatures(mode)) {
                decoder_.emplace(mode, auth.chunk_context(), std::move(o));
            } else {
                decoder_.emplace(mode, std::nullopt, std::move(o));
            }
        }
    }

    /** Appends decoded body bytes to `out`.
        @return true while more may come; false once the body ended and every check passed.
        Throws an @ref s3_exception on a malformed, truncated or mismatching body. */
    net::awaitable<bool> read(std::string& out)
    {
        if (done_) {
            co_return false;
        }
        auto n = co_await ex_.read_some(buf_);
        if (!n) {
            fail(s3_error::invalid_request("Bad request body: " + n.error().message));
        }
        std::string_view data(buf_.data(), *n);
        if (*n == 0) {
            finish();
            co_return false;
        }
        if (decoder_) {
            check(decoder_->feed(data, [&](std::string_view p) {
                summer_.update(p);
                out.append(p);
                size_ += p.size();
            }));
        } else {
            summer_.update(data);
            out.append(data);
            size_ += data.size();
        }
        co_return true;
    }

    /// The checksums computed (valid once @ref read returned false).
    checksums const& sums() const noexcept { return sums_; }
    /// The bytes of payload read.
    std::uint64_t size() const noexcept { return size_; }
    /// The extra checksum the client sent (header or trailer), if any.
    std::optional<checksum_value> const& client_checksum() const noexcept { return expected_.extra; }

private:
    void finish()
    {
        done_ = true;
        if (decoder_) {
            check(decoder_->finish());
            if (trailer_algo_) {
                if (auto v = decoder_->trailer(checksum_header_name(*trailer_algo_))) {
                    expected_.extra =
                        value_or_fail(checksum_from_field(checksum_header_name(*trailer_algo_), *v));
                }
            }
        }
        sums_ = summer_.finalize();
        if (auto r = verify_checksums(sums_, expected_); !r) {
            fail(r.error());
        }
    }

    http::exchange& ex_;
    expected_checksums expected_;
    checksummer summer_;
    std::optional<aws_chunked_decoder> decoder_;
    std::optional<checksum_algorithm> trailer_algo_;
    checksums sums_;
    std::uint64_t size_ = 0;
    bool done_ = false;
    std::array<char, 64 * 1024> buf_; // not value-initialised: a 64 KiB memset per request showed in profiles
};

/// Reads a whole (small) body, checked, for XML requests.
inline net::awaitable<std::string> read_small_body(http::exchange& ex, std::span<header_field const> headers,
                                                   sigv4::verified_auth const& auth,
                                                   std::size_t limit = 1 << 20)
{
    body_reader rd(ex, headers, auth, false);
    std::string out;
    while (co_await rd.read(out)) {
        if (out.size() > limit) {
            fail(s3_error::invalid_request("Request body too large"));
        }
    }
    co_return out;
}

/// Extra response headers.
using header_pairs = std::vector<std::pair<std::string, std::string>>;

/// Sends `body` (XML unless `content_type` says otherwise) with `status` and extra headers.
inline net::awaitable<void> send(http::exchange& ex, unsigned status, std::string body,
                                 std::vector<std::pair<std::string, std::string>> const& extra = {},
                                 std::string_view content_type = "application/xml")
{
    http::string_response res{static_cast<boost::beast::http::status>(status), 11};
    if (!body.empty() || !content_type.empty()) {
        if (!content_type.empty()) {
            res.set(boost::beast::http::field::content_type, content_type);
        }
    }
    for (auto const& [k, v] : extra) {
        res.insert(k, v);
    }
    res.body() = std::move(body);
    res.prepare_payload();
    (void)co_await ex.respond(std::move(res));
}

/// The quoted ETag.
inline std::string quote_etag(std::string_view etag)
{
    return "\"" + std::string(etag) + "\"";
}

/// Removes the quotes around an ETag, if any.
inline std::string unquote(std::string_view etag)
{
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
        etag = etag.substr(1, etag.size() - 2);
    }
    return std::string(etag);
}

/// Parses a decimal integer or fails with InvalidArgument.
inline std::uint64_t parse_u64(std::string_view s, std::string_view what)
{
    std::uint64_t v = 0;
    if (s.empty() || s.size() > 19) {
        fail(s3_error::invalid_argument("Invalid " + std::string(what)));
    }
    for (char c : s) {
        if (c < '0' || c > '9') {
            fail(s3_error::invalid_argument("Invalid " + std::string(what)));
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

/** The metadata headers to store from a request (§1.7): standard content headers, `x-amz-meta-*`
    (lower-cased) and `x-amz-website-redirect-location`. */
inline model::header_list metadata_headers(std::span<header_field const> headers)
{
    static constexpr std::string_view kept[] = {"content-type",     "cache-control",    "content-disposition",
                                                "content-encoding", "content-language", "expires"};
    model::header_list out;
    for (auto const& h : headers) {
        std::string name(h.name);
        for (auto& c : name) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        bool keep = name.starts_with("x-amz-meta-");
        for (auto k : kept) {
            keep = keep || name == k;
        }
        if (name == "x-amz-website-redirect-location") {
            if (!(h.value.starts_with("/") || h.value.starts_with("http://") ||
                  h.value.starts_with("https://"))) {
                fail(
                    s3_error::invalid_request("Bad request: Invalid x-amz-website-redirect-location header"));
            }
            keep = true;
        }
        if (name == "content-encoding") {
            // aws-chunked is a transfer detail, not the object's encoding; a value without it
            // is refused for aws-chunked (STREAMING-*) bodies only, and kept as is otherwise
            auto stripped = strip_aws_chunked_encoding(h.value);
            if (!stripped) {
                if (find_header(headers, "x-amz-content-sha256").value_or("").starts_with("STREAMING-")) {
                    fail(stripped.error());
                }
                out.emplace_back(name, std::string(h.value));
            } else if (*stripped) {
                out.emplace_back(name, **stripped);
            }
            continue;
        }
        if (keep) {
            out.emplace_back(std::move(name), std::string(h.value));
        }
    }
    if (std::none_of(out.begin(), out.end(), [](auto const& p) { return p.first == "content-type"; })) {
        out.emplace_back("content-type", "binary/octet-stream");
    }
    return out;
}

/// An object's version metadata in clear.
inline model::object_version_meta make_meta(std::uint64_t size, std::string etag, model::header_list headers,
                                            std::optional<model::checksum_value> checksum)
{
    return model::object_version_meta{size, std::move(etag),
                                      model::encryption_plaintext{model::object_version_meta_inner{
                                          std::move(headers), std::move(checksum)}}};
}

/// Objects smaller than this are stored inline in the object table (§1.7).
inline constexpr std::size_t inline_threshold = 3072;

} // namespace detail
} // namespace garage::api::s3
