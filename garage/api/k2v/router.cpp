#include <garage/api/k2v/router.hpp>

#include <garage/api/common/error.hpp>
#include <garage/api/common/request_view.hpp>
#include <garage/api/s3/router.hpp>

#include <charconv>
#include <vector>

namespace garage::api::k2v {

namespace {

util::failure bad(std::string msg)
{
    return util::failure(api::error::invalid_argument, std::move(msg));
}

struct query {
    std::optional<std::string> keyword; ///< `search`, `delete` or `poll_range`
    std::vector<query_param> params;

    std::optional<std::string> take(std::string_view name)
    {
        for (auto it = params.begin(); it != params.end(); ++it) {
            if (it->key == name) {
                auto v = std::move(it->value);
                params.erase(it);
                return v;
            }
        }
        return std::nullopt;
    }
};

util::result<query> parse(std::string_view raw)
{
    query q;
    for (auto& p : parse_query(raw)) {
        if (p.key == "search" || p.key == "delete" || p.key == "poll_range") {
            if (q.keyword) {
                return bad("Multiple keywords: '" + *q.keyword + "' and '" + p.key + "'");
            }
            q.keyword = p.key;
            continue;
        }
        for (auto const& o : q.params) {
            if (o.key == p.key) {
                return bad("Query parameter repeated: '" + p.key + "'");
            }
        }
        q.params.push_back(std::move(p));
    }
    return q;
}

util::result<std::optional<std::uint64_t>> parse_u64(std::optional<std::string> const& s)
{
    if (!s) {
        return std::optional<std::uint64_t>();
    }
    std::uint64_t v = 0;
    auto const* end = s->data() + s->size();
    auto [p, ec] = std::from_chars(s->data(), end, v);
    if (ec != std::errc() || p != end || s->empty()) {
        return bad("Failed to parse query parameter");
    }
    return std::optional<std::uint64_t>(v);
}

util::result<bool> parse_bool(std::optional<std::string> const& s)
{
    if (!s) {
        return false;
    }
    if (*s == "true") {
        return true;
    }
    if (*s == "false") {
        return false;
    }
    return bad("Failed to parse query parameter");
}

} // namespace

std::string_view name(endpoint e) noexcept
{
    switch (e) {
    case endpoint::options:
        return "Options";
    case endpoint::read_item:
        return "ReadItem";
    case endpoint::poll_item:
        return "PollItem";
    case endpoint::insert_item:
        return "InsertItem";
    case endpoint::delete_item:
        return "DeleteItem";
    case endpoint::read_index:
        return "ReadIndex";
    case endpoint::insert_batch:
        return "InsertBatch";
    case endpoint::read_batch:
        return "ReadBatch";
    case endpoint::delete_batch:
        return "DeleteBatch";
    case endpoint::poll_range:
        return "PollRange";
    }
    return "Unknown";
}

bool is_read(endpoint e) noexcept
{
    return e == endpoint::read_item || e == endpoint::poll_item || e == endpoint::read_index ||
           e == endpoint::read_batch;
}

util::result<route> route_request(std::string_view method, std::string_view target)
{
    auto const qpos = target.find('?');
    std::string_view path = target.substr(0, qpos);
    std::string_view const raw_query =
        qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
    while (path.starts_with('/')) {
        path.remove_prefix(1);
    }
    route r;
    std::string_view raw_bucket = path;
    std::string_view raw_pk;
    if (auto slash = path.find('/'); slash != std::string_view::npos) {
        raw_bucket = path.substr(0, slash);
        raw_pk = path.substr(slash + 1);
        while (raw_pk.starts_with('/')) {
            raw_pk.remove_prefix(1);
        }
    }
    auto bucket = s3::percent_decode(raw_bucket);
    if (!bucket) {
        return bad("Invalid bucket name encoding");
    }
    r.bucket = std::move(*bucket);
    if (r.bucket.empty()) {
        return bad("Missing bucket name");
    }
    if (method == "OPTIONS") {
        r.ep = endpoint::options;
        return r;
    }
    auto pk = s3::percent_decode(raw_pk);
    if (!pk) {
        return bad("Invalid UTF-8 in partition key");
    }
    r.partition_key = std::move(*pk);
    bool const has_key = !r.partition_key.empty();

    auto q = parse(raw_query);
    if (!q) {
        return q.error();
    }
    std::string const kw = q->keyword.value_or("");
    auto invalid = [&]() { return bad("Invalid endpoint: " + (kw.empty() ? std::string(method) : kw)); };
    auto need = [&](std::string_view name, std::string& out) -> bool {
        auto v = q->take(name);
        if (!v) {
            return false;
        }
        out = std::move(*v);
        return true;
    };

    if (method == "GET") {
        if (!kw.empty()) {
            return invalid();
        }
        if (has_key) {
            if (!need("sort_key", r.sort_key)) {
                return bad("Missing argument for endpoint");
            }
            r.causality_token = q->take("causality_token");
            if (r.causality_token) {
                auto t = parse_u64(q->take("timeout"));
                if (!t) {
                    return t.error();
                }
                r.timeout = *t;
                r.ep = endpoint::poll_item;
            } else {
                r.ep = endpoint::read_item;
            }
            return r;
        }
        r.ep = endpoint::read_index;
        r.prefix = q->take("prefix");
        r.start = q->take("start");
        r.end = q->take("end");
        auto l = parse_u64(q->take("limit"));
        if (!l) {
            return l.error();
        }
        r.limit = *l;
        auto rev = parse_bool(q->take("reverse"));
        if (!rev) {
            return rev.error();
        }
        r.reverse = *rev;
        return r;
    }
    if (method == "SEARCH") {
        if (has_key && kw == "poll_range") {
            r.ep = endpoint::poll_range;
            return r;
        }
        if (!has_key && kw.empty()) {
            r.ep = endpoint::read_batch;
            return r;
        }
        return invalid();
    }
    if (method == "POST") {
        if (has_key) {
            if (kw == "poll_range") {
                r.ep = endpoint::poll_range;
                return r;
            }
            return invalid();
        }
        if (kw.empty()) {
            r.ep = endpoint::insert_batch;
        } else if (kw == "delete") {
            r.ep = endpoint::delete_batch;
        } else if (kw == "search") {
            r.ep = endpoint::read_batch;
        } else {
            return invalid();
        }
        return r;
    }
    if (method == "PUT" || method == "DELETE") {
        if (!has_key || !kw.empty()) {
            return invalid();
        }
        if (!need("sort_key", r.sort_key)) {
            return bad("Missing argument for endpoint");
        }
        r.ep = method == "PUT" ? endpoint::insert_item : endpoint::delete_item;
        return r;
    }
    return bad("Unknown method");
}

} // namespace garage::api::k2v
