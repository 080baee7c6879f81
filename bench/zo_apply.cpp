// bench-deps: swarmd_training
// Applying peers' updates: every node applies every peer's update each round, so one applied
// update must cost far less than a forward pass. Prints, on a ~1.1M-parameter MLP (batch 64):
// time per applied update / one forward pass, and the fused apply of K=64 updates against
// generating their z alone and against K separate full passes.
#include <cstdio>
#include <cstring>

#include "bench/zo_common.hpp"
#include "training/params.hpp"
#include "training/update_log.hpp"
#include "training/zo.hpp"

using namespace swarmd;
using namespace swarmd::training;

int main() {
    bench::single_thread();
    bench::print_blas();
    auto data = load_digits();
    if (!data) {
        std::fprintf(stderr, "cannot load digits: %s\n", data.error().message().c_str());
        return 1;
    }
    MlpOptions mo;
    mo.hidden = {1024, 1024};
    auto task = make_digits_mlp(data.value(), mo);
    const Bytes swarm{1, 2, 3};
    auto theta = init_params(task->layout(), swarm, 1);
    const auto batch = bench::batch_of(64, task->train_size(), 1);
    constexpr std::size_t kK = 64;
    constexpr int kReps = 9;
    std::vector<Update> updates;
    for (std::size_t k = 0; k < kK; ++k) {
        updates.push_back({Bytes{0x00, 0x24, static_cast<std::uint8_t>(k)}, 9, 0,
                           static_cast<std::int8_t>(static_cast<int>(k % 200) - 100)});
    }
    volatile double sink = 0;
    const double t_fwd = bench::best_seconds(kReps * 4, [&] { sink = task->loss(theta, batch); });

    std::printf("\nmodel: MLP 64-1024-1024-10, %zu parameters, batch 64, 1 thread\n", theta.size());
    std::printf("one forward pass: %.3f ms\n\n", t_fwd * 1e3);
    std::printf("%-11s %14s %14s %18s %16s\n", "z", "apply/update", "update/forward",
                "fused64/keystream", "separate/fused");
    for (auto dist : {ZDist::rademacher, ZDist::gaussian}) {
        const ApplyRule rule{swarm, dist, 1e-3f, 0.02f};
        auto work = theta;
        const double t_fused =
            bench::best_seconds(kReps, [&] { apply_updates(work, updates, rule); });
        const double t_separate =
            bench::best_seconds(kReps, [&] { apply_updates_separately(work, updates, rule); });
        // The keystream the K directions need (1 bit per parameter for Rademacher, 4 bytes per
        // parameter for Gaussian), generated block by block without touching the parameters.
        const std::size_t bytes_per_block =
            dist == ZDist::rademacher ? kApplyBlock / 8 : kApplyBlock * 4;
        Bytes ks(bytes_per_block);
        std::vector<crypto::PerturbationStream> streams;
        for (const auto& u : updates) streams.push_back(direction_stream(swarm, u));
        const double t_z = bench::best_seconds(kReps, [&] {
            for (std::size_t pos = 0; pos < work.size(); pos += kApplyBlock) {
                const std::size_t n = std::min(kApplyBlock, work.size() - pos);
                const std::size_t nb = dist == ZDist::rademacher ? (n + 7) / 8 : n * 4;
                for (const auto& s : streams) {
                    s.bytes(dist == ZDist::rademacher ? pos / 8 : pos * 4, {ks.data(), nb});
                }
            }
            sink = ks[0];
        });
        std::printf("%-11s %11.3f ms %14.3f %18.2f %16.2f\n",
                    dist == ZDist::rademacher ? "rademacher" : "gaussian", t_fused / kK * 1e3,
                    t_fused / kK / t_fwd, t_fused / t_z, t_separate / t_fused);
    }
    std::printf("\ngoals: update/forward <= 0.1 (Rademacher); fused64/keystream <= 1.5\n");

    // Bytes per update: the log record of an update from an Ed25519 peer id (38 bytes), plus
    // the 64-byte signature gossip adds; gossipsub's own framing (topic, seqno, from) is not
    // counted here.
    Update u{Bytes(38, 0xab), 123456, 0, -17};
    const double record = static_cast<double>(encode_record(u).size());
    const double dense = static_cast<double>(theta.size() * sizeof(float));
    std::printf(
        "\nbytes per update: log record %.0f, + signature %.0f; dense fp32 gradient %.0f; "
        "ratio dense/(record+signature) %.0f\n",
        record, record + 64, dense, dense / (record + 64));
    return 0;
}
