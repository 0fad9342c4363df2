// Writing and reading 1 MiB data blocks through the block manager, plain and with zstd level 1.
//
//   bazel run -c opt //bench:block -- --benchmark_min_time=1
//
// Each benchmark works in a fresh data directory under $TMPDIR (data_fsync off, Garage's
// default) with the metadata in memory. Two kinds of content: `random` (incompressible) and
// `text` (compresses about 4:1). Reads are served from the page cache and include
// verification (BLAKE2b of the plain bytes; zstd frame checksum and BLAKE2b for compressed
// blocks). bytes_per_second is the figure to compare (MiB/s of plain block data).

#include <garage/block/manager.hpp>
#include <garage/storage/memory_backend.hpp>
#include <garage/util/hasher.hpp>

#include <benchmark/benchmark.h>

#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {
using namespace garage;

constexpr std::size_t block_bytes = std::size_t(1) << 20;
constexpr std::size_t block_count = 64;

enum content { random_content = 0, text_content = 1 };

std::string make_data(content kind, std::uint32_t seed)
{
    std::mt19937_64 gen(seed);
    std::string s;
    s.reserve(block_bytes);
    if (kind == random_content) {
        while (s.size() < block_bytes) {
            auto v = gen();
            s.append(reinterpret_cast<char const*>(&v), sizeof v);
        }
    } else {
        static constexpr char const* words[] = {"garage ",  "block ",   "object ", "bucket ", "layout ",
                                                "merkle ",  "replica ", "zone ",   "node ",   "quorum ",
                                                "version ", "upload ",  "part ",   "key ",    "secret "};
        while (s.size() < block_bytes) {
            s += words[gen() % 15];
            if (gen() % 8 == 0) {
                s += std::to_string(gen() % 100000);
                s += ' ';
            }
        }
    }
    s.resize(block_bytes);
    return s;
}

/// A block manager over a fresh temporary data directory, removed at the end.
struct bench_store {
    std::filesystem::path root;
    storage::memory_backend db;
    std::unique_ptr<block::block_manager<storage::memory_backend>> manager;

    explicit bench_store(std::optional<int> level)
    {
        std::random_device rd;
        root = std::filesystem::temp_directory_path() / ("garage-bench-block-" + std::to_string(rd()));
        block::block_options o;
        o.data_dirs = {util::data_dir_config{root / "data", std::nullopt, false}};
        o.metadata_dir = root / "meta";
        o.compression_level = level;
        manager = std::move(block::block_manager<storage::memory_backend>::open(db, o).value());
    }
    ~bench_store()
    {
        manager.reset();
        std::error_code ec;
        std::filesystem::remove_all(root, ec);
    }
};

struct test_blocks {
    std::vector<std::string> data;
    std::vector<util::hash32> hashes;

    explicit test_blocks(content kind)
    {
        for (std::uint32_t i = 0; i < block_count; ++i) {
            data.push_back(make_data(kind, i + 1));
            hashes.push_back(util::blake2sum(data.back()));
        }
    }
};

std::optional<int> level_of(std::int64_t arg)
{
    return arg < 0 ? std::nullopt : std::optional<int>(static_cast<int>(arg));
}

// Args: {compression level (-1 = none), content}.
void block_write(benchmark::State& state)
{
    bench_store s(level_of(state.range(0)));
    test_blocks blocks(static_cast<content>(state.range(1)));
    std::size_t i = 0;
    for (auto _ : state) {
        auto const k = i % block_count;
        if (i >= block_count) {
            // Remove the previous copy, or the write would only find it already stored.
            state.PauseTiming();
            s.manager->store()
                .delete_if(blocks.hashes[k], [](auto const&) -> util::result<bool> { return true; })
                .value();
            state.ResumeTiming();
        }
        if (auto r = s.manager->write_block(blocks.hashes[k], blocks.data[k]); !r) {
            state.SkipWithError(r.error().message.c_str());
            break;
        }
        ++i;
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * block_bytes));
}
BENCHMARK(block_write)
    ->ArgNames({"level", "text"})
    ->Args({-1, random_content})
    ->Args({1, random_content})
    ->Args({-1, text_content})
    ->Args({1, text_content})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void block_read(benchmark::State& state)
{
    bench_store s(level_of(state.range(0)));
    test_blocks blocks(static_cast<content>(state.range(1)));
    for (std::size_t k = 0; k < block_count; ++k) {
        s.manager->write_block(blocks.hashes[k], blocks.data[k]).value();
    }
    std::size_t i = 0;
    for (auto _ : state) {
        auto r = s.manager->read_block(blocks.hashes[i % block_count]);
        if (!r) {
            state.SkipWithError(r.error().message.c_str());
            break;
        }
        benchmark::DoNotOptimize(r->data());
        ++i;
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * block_bytes));
}
BENCHMARK(block_read)
    ->ArgNames({"level", "text"})
    ->Args({-1, random_content})
    ->Args({1, random_content})
    ->Args({-1, text_content})
    ->Args({1, text_content})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The codec alone, without files: zstd level 1 compression and verified decompression.
void block_codec(benchmark::State& state)
{
    auto const data = make_data(static_cast<content>(state.range(0)), 7);
    auto const h = util::blake2sum(data);
    bool const decode = state.range(1) != 0;
    auto const encoded = block::data_block::encode(data, 1);
    for (auto _ : state) {
        if (decode) {
            auto plain = encoded.decode(h);
            benchmark::DoNotOptimize(plain->data());
        } else {
            auto blk = block::data_block::encode(data, 1);
            benchmark::DoNotOptimize(blk.bytes().data());
        }
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * block_bytes));
    state.counters["ratio"] = static_cast<double>(block_bytes) / static_cast<double>(encoded.size());
}
BENCHMARK(block_codec)
    ->ArgNames({"text", "decode"})
    ->Args({random_content, 0})
    ->Args({random_content, 1})
    ->Args({text_content, 0})
    ->Args({text_content, 1})
    ->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
