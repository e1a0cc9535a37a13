// Pure zfs/ hot spots: resume token decode (every send request with a token), parsing a
// 100 000-snapshot versions listing (planning on big pools), and name checks (every
// request and every listed name).
#include "zfs/dataset_path.hpp"
#include "zfs/filesystem_version.hpp"
#include "zfs/resume_token.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

using namespace zferry::zfs;

// The zrepl platform test token (ZoL 0.8.1, incremental).
constexpr const char* kToken =
    "1-eadabb296-e8-"
    "789c636064000310a501c49c50360710a715e5e7a69766a63040416445bb6a3cd7a2290a40363b92bafca4acd4e41206"
    "0626a83a0cf9b4b4e2d412908c0e5c9e0d493ea9b224b518483ba8ea61d55f920f714515bf9b3fc3c396ef0648f29c60f9bcc4dc"
    "54a07c51"
    "6a414e414e62495a7e512ed0c812fde2a2648724b09900d43e2191";

void BM_DecodeResumeToken(benchmark::State& state) {
    for (auto _ : state) {
        auto t = decode_resume_token(kToken);
        benchmark::DoNotOptimize(t);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeResumeToken);

void BM_EncodeResumeToken(benchmark::State& state) {
    auto t = decode_resume_token(kToken).value();
    for (auto _ : state) benchmark::DoNotOptimize(encode_resume_token(t));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeResumeToken);

std::string versions_listing(std::size_t lines) {
    std::string out;
    out.reserve(lines * 90);
    for (std::size_t i = 0; i < lines; ++i) {
        const bool bookmark = i % 10 == 9;
        out += "pool/backups/client/data";
        out += bookmark ? "#zrepl_CURSOR_G_" : "@zrepl_20261124_";
        out += std::to_string(100000 + i);
        out += '\t';
        out += std::to_string(0x9e3779b97f4a7c15ull * (i + 1));
        out += '\t';
        out += std::to_string(1000 + i);
        out += '\t';
        out += std::to_string(1795917600 + 600 * i);
        out += bookmark ? "\t-\n" : "\t1\n";
    }
    return out;
}

void BM_ParseVersionsListing(benchmark::State& state) {
    const auto text = versions_listing(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        auto r = parse_versions_listing(text);
        if (!r) state.SkipWithError("listing did not parse");
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_ParseVersionsListing)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_EntityNamecheckSnapshot(benchmark::State& state) {
    const std::string name = "pool/backups/client one/data/set@zrepl_20261124_021000_000";
    for (auto _ : state) benchmark::DoNotOptimize(entity_namecheck(name, EntityType::snapshot));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EntityNamecheckSnapshot);

void BM_EntityNamecheckMaxLength(benchmark::State& state) {
    const std::string name = std::string(120, 'a') + "/" + std::string(120, 'b') + "@" + std::string(13, 'c');
    for (auto _ : state) benchmark::DoNotOptimize(entity_namecheck(name, EntityType::snapshot));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EntityNamecheckMaxLength);

void BM_DatasetPathParse(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(DatasetPath::parse("pool/backups/client one/data/set"));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DatasetPathParse);

}  // namespace
