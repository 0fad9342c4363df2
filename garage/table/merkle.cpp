#include <garage/table/merkle.hpp>

#include <garage/table/detail/hash.hpp>

#include <cstring>

namespace garage::table {

// Stored form: one kind byte, then
//   intermediate: u16 BE child count, then (byte, 32-byte hash) per child;
//   leaf:         u32 BE key length, key bytes, 32-byte value hash.
std::string merkle_node::encode() const
{
    std::string out;
    out.push_back(static_cast<char>(type));
    switch (type) {
    case kind::empty:
        break;
    case kind::intermediate:
        out.reserve(3 + children.size() * 33);
        out.push_back(static_cast<char>(children.size() >> 8));
        out.push_back(static_cast<char>(children.size() & 0xff));
        for (auto const& [b, h] : children) {
            out.push_back(static_cast<char>(b));
            out.append(h.view());
        }
        break;
    case kind::leaf: {
        out.reserve(1 + 4 + key.size() + 32);
        auto const n = static_cast<std::uint32_t>(key.size());
        for (int s = 24; s >= 0; s -= 8) {
            out.push_back(static_cast<char>((n >> s) & 0xff));
        }
        out.append(key);
        out.append(value_hash.view());
        break;
    }
    }
    return out;
}

util::result<merkle_node> merkle_node::decode(std::string_view b)
{
    auto bad = [](char const* what) {
        return util::failure(util::error::decode_error, std::string("Merkle node: ") + what);
    };
    if (b.empty()) {
        return bad("empty");
    }
    merkle_node n;
    auto const* p = reinterpret_cast<unsigned char const*>(b.data());
    switch (p[0]) {
    case 0:
        if (b.size() != 1) {
            return bad("trailing bytes");
        }
        return n;
    case 1: {
        if (b.size() < 3) {
            return bad("truncated intermediate node");
        }
        std::size_t const count = (std::size_t(p[1]) << 8) | p[2];
        if (count > 256 || b.size() != 3 + count * 33) {
            return bad("bad intermediate node length");
        }
        n.type = kind::intermediate;
        n.children.reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
            auto const off = 3 + i * 33;
            util::hash32 h;
            std::memcpy(h.data(), p + off + 1, 32);
            n.children.emplace_back(p[off], h);
        }
        return n;
    }
    case 2: {
        if (b.size() < 5) {
            return bad("truncated leaf");
        }
        std::size_t const len =
            (std::size_t(p[1]) << 24) | (std::size_t(p[2]) << 16) | (std::size_t(p[3]) << 8) | p[4];
        if (b.size() != 5 + len + 32) {
            return bad("bad leaf length");
        }
        n.type = kind::leaf;
        n.key.assign(b.substr(5, len));
        std::memcpy(n.value_hash.data(), p + 5 + len, 32);
        return n;
    }
    default:
        return bad("unknown node kind");
    }
}

util::hash32 merkle_node::hash() const
{
    if (type == kind::empty) {
        return {};
    }
    return detail::merkle_hash(encode());
}

void merkle_todo_batch::add(std::string_view key, std::optional<util::hash32> const& vhash)
{
    bytes_.push_back(static_cast<char>(key.size() >> 8));
    bytes_.push_back(static_cast<char>(key.size() & 0xff));
    bytes_.append(key);
    bytes_.push_back(vhash ? '\x01' : '\x00');
    if (vhash) {
        bytes_.append(vhash->view());
    }
    ++count_;
}

std::string merkle_node_key(replication::partition_id partition, std::string_view prefix)
{
    std::string k;
    k.reserve(2 + prefix.size());
    k.push_back(static_cast<char>(partition >> 8));
    k.push_back(static_cast<char>(partition & 0xff));
    k.append(prefix);
    return k;
}

} // namespace garage::table
