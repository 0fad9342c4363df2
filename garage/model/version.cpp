#include <garage/model/version.hpp>

#include <algorithm>

namespace garage::model {

bool version::has_part_number(std::uint64_t part_number) const noexcept
{
    auto const items = blocks.items();
    auto const it = std::ranges::lower_bound(items, version_block_key{part_number, 0}, std::ranges::less{},
                                             [](auto const& e) -> version_block_key const& { return e.key; });
    return it != items.end() && it->key.part_number == part_number;
}

std::optional<std::uint64_t> version::n_parts() const noexcept
{
    auto const items = blocks.items();
    if (items.empty()) {
        return std::nullopt;
    }
    return items.back().key.part_number;
}

void version::merge(version const& other)
{
    crdt::merge(uuid, other.uuid);
    crdt::merge(backlink, other.backlink);
    deleted.merge(other.deleted);
    if (deleted.get()) {
        blocks.clear();
    } else {
        crdt::merge(blocks, other.blocks);
    }
}

} // namespace garage::model
