#include <garage/api/k2v/json.hpp>

#include <garage/api/common/error.hpp>
#include <garage/util/encoding.hpp>

#include <boost/json.hpp>

namespace garage::api::k2v {

namespace {

namespace json = boost::json;

util::failure invalid(std::string_view what)
{
    return util::failure(api::error::invalid_argument, "Invalid JSON: " + std::string(what));
}

util::result<json::value> parse_json(std::string_view body)
{
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) {
        return invalid(ec.message());
    }
    return v;
}

/// Reads the fields of one object; the first type error wins.
struct fields {
    json::object const& o;
    std::optional<std::string> error;

    void fail(std::string_view key, std::string_view type)
    {
        if (!error) {
            error = "field `" + std::string(key) + "` must be " + std::string(type);
        }
    }
    json::value const* find(std::string_view key) const
    {
        auto it = o.find(key);
        return it == o.end() || it->value().is_null() ? nullptr : &it->value();
    }
    std::optional<std::string> opt_string(std::string_view key)
    {
        auto const* v = find(key);
        if (v == nullptr) {
            return std::nullopt;
        }
        if (!v->is_string()) {
            fail(key, "a string");
            return std::nullopt;
        }
        return std::string(v->as_string());
    }
    std::string string(std::string_view key)
    {
        auto s = opt_string(key);
        if (!s && !error) {
            error = "missing field `" + std::string(key) + "`";
        }
        return s.value_or("");
    }
    bool boolean(std::string_view key)
    {
        auto const* v = find(key);
        if (v == nullptr) {
            return false;
        }
        if (!v->is_bool()) {
            fail(key, "a boolean");
            return false;
        }
        return v->as_bool();
    }
    std::optional<std::uint64_t> opt_u64(std::string_view key)
    {
        auto const* v = find(key);
        if (v == nullptr) {
            return std::nullopt;
        }
        if (v->is_uint64()) {
            return v->as_uint64();
        }
        if (v->is_int64() && v->as_int64() >= 0) {
            return static_cast<std::uint64_t>(v->as_int64());
        }
        fail(key, "a non-negative integer");
        return std::nullopt;
    }
};

template <class T, class F>
util::result<std::vector<T>> parse_list(std::string_view body, F one)
{
    auto v = parse_json(body);
    if (!v) {
        return v.error();
    }
    if (!v->is_array()) {
        return invalid("expected an array");
    }
    std::vector<T> out;
    out.reserve(v->as_array().size());
    for (auto const& e : v->as_array()) {
        if (!e.is_object()) {
            return invalid("expected an array of objects");
        }
        fields f{e.as_object(), std::nullopt};
        T t = one(f);
        if (f.error) {
            return invalid(*f.error);
        }
        out.push_back(std::move(t));
    }
    return out;
}

} // namespace

util::result<std::vector<insert_batch_item>> parse_insert_batch(std::string_view body)
{
    return parse_list<insert_batch_item>(body, [](fields& f) {
        insert_batch_item i;
        i.pk = f.string("pk");
        i.sk = f.string("sk");
        i.ct = f.opt_string("ct");
        i.v = f.opt_string("v");
        return i;
    });
}

util::result<std::vector<read_batch_query>> parse_read_batch(std::string_view body)
{
    return parse_list<read_batch_query>(body, [](fields& f) {
        read_batch_query q;
        q.partition_key = f.string("partitionKey");
        q.prefix = f.opt_string("prefix");
        q.start = f.opt_string("start");
        q.end = f.opt_string("end");
        q.limit = f.opt_u64("limit");
        q.reverse = f.boolean("reverse");
        q.single_item = f.boolean("singleItem");
        q.conflicts_only = f.boolean("conflictsOnly");
        q.tombstones = f.boolean("tombstones");
        return q;
    });
}

util::result<std::vector<delete_batch_query>> parse_delete_batch(std::string_view body)
{
    return parse_list<delete_batch_query>(body, [](fields& f) {
        delete_batch_query q;
        q.partition_key = f.string("partitionKey");
        q.prefix = f.opt_string("prefix");
        q.start = f.opt_string("start");
        q.end = f.opt_string("end");
        q.single_item = f.boolean("singleItem");
        return q;
    });
}

util::result<poll_range_query> parse_poll_range(std::string_view body)
{
    auto v = parse_json(body);
    if (!v) {
        return v.error();
    }
    if (!v->is_object()) {
        return invalid("expected an object");
    }
    fields f{v->as_object(), std::nullopt};
    poll_range_query q;
    q.prefix = f.opt_string("prefix");
    q.start = f.opt_string("start");
    q.end = f.opt_string("end");
    q.timeout = f.opt_u64("timeout");
    q.seen_marker = f.opt_string("seenMarker");
    if (f.error) {
        return invalid(*f.error);
    }
    return q;
}

boost::json::array values_json(model::k2v_item const& item)
{
    json::array a;
    for (auto const* v : item.values()) {
        if (*v) {
            a.emplace_back(util::to_base64(**v));
        } else {
            a.emplace_back(nullptr);
        }
    }
    return a;
}

boost::json::object item_json(model::k2v_item const& item)
{
    json::object o;
    o["sk"] = item.sort_key();
    o["ct"] = item.context().serialize();
    o["v"] = values_json(item);
    return o;
}

boost::json::value opt_json(std::optional<std::string> const& s)
{
    if (!s) {
        return nullptr;
    }
    return json::value(*s);
}

} // namespace garage::api::k2v
