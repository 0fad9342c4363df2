#pragma once
// Small helpers of the cluster part of the table layer: node ranges to vectors, short node
// names for messages, entry encoding as a value, and checking the kind of an answer.

#include <garage/table/error.hpp>
#include <garage/util/bytes32.hpp>
#include <garage/util/codec.hpp>

#include <exception>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace garage::table {

namespace detail {

template <class R>
std::vector<util::node_id> to_nodes(R&& r)
{
    std::vector<util::node_id> out;
    for (auto const& n : r) {
        out.push_back(n);
    }
    return out;
}

template <class R>
std::vector<std::vector<util::node_id>> to_sets(R&& r)
{
    std::vector<std::vector<util::node_id>> out;
    for (auto const& s : r) {
        out.push_back(to_nodes(s));
    }
    return out;
}

inline std::string short_node(util::node_id const& n)
{
    return n.to_hex().substr(0, 16);
}

template <class E>
util::result<std::string> encode_entry(E const& e)
{
    try {
        return util::encode(e);
    } catch (std::exception const& x) {
        return util::failure(error::encode_failed, std::string("cannot encode entry: ") + x.what());
    }
}

template <class Alt, class Variant>
util::result<Alt> expect(Variant&& v, util::node_id const& from, std::string_view what)
{
    if (auto* a = std::get_if<Alt>(&v)) {
        return std::move(*a);
    }
    return util::failure(error::unexpected_answer, "node " + short_node(from) + " answered " +
                                                       std::string(what) + " with another message");
}

} // namespace detail

} // namespace garage::table
