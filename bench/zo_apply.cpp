// bench-deps: swarmd_training swarmd_node
// Applying peers' updates: every node applies every peer's update each round, so one applied
// update must cost far less than a forward pass. Prints, on a ~1.1M-parameter MLP (batch 64):
// time per applied update / one forward pass, and the fused apply of K=64 updates against
// generating their z alone and against K separate full passes; then what checking an update's
// author signature (a sync record, node/zo/sync.hpp) costs next to applying the update, and the
// bytes the signature evidence adds to a log record and a sync record.
#include <cstdio>
#include <cstring>

#include "bench/zo_common.hpp"
#include "crypto/keys.hpp"
#include "crypto/peer_id.hpp"
#include "node/zo/engine.hpp"
#include "node/zo/sync.hpp"
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
    double t_apply_rademacher = 0;
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
        if (dist == ZDist::rademacher) t_apply_rademacher = t_fused / kK;
        std::printf("%-11s %11.3f ms %14.3f %18.2f %16.2f\n",
                    dist == ZDist::rademacher ? "rademacher" : "gaussian", t_fused / kK * 1e3,
                    t_fused / kK / t_fwd, t_fused / t_z, t_separate / t_fused);
    }
    std::printf("\ngoals: update/forward <= 0.1 (Rademacher); fused64/keystream <= 1.5\n");

    // Author signatures: what a node pays to check a synced update (node::verify_update: the
    // StrictSign payload rebuilt, one Ed25519 verification) and to sign its own, against applying
    // one update to this model.
    const auto key = crypto::PrivateKey::generate();
    const Bytes author = crypto::PeerId::from_public_key(key.public_key()).bytes();
    const std::string topic = "/swarmd/zo/0123456789abcdef";
    std::vector<SignedUpdate> signed_updates;
    for (std::size_t k = 0; k < kK; ++k) {
        Update u{author, 100 + k, 0, static_cast<std::int8_t>(k)};
        signed_updates.push_back({u, node::sign_update(key, topic, u)});
    }
    const double t_sign =
        bench::best_seconds(kReps,
                            [&] {
                                for (const auto& s : signed_updates)
                                    sink = node::sign_update(key, topic, s.update).bytes[0];
                            }) /
        kK;
    const double t_verify = bench::best_seconds(kReps,
                                                [&] {
                                                    for (const auto& s : signed_updates)
                                                        sink =
                                                            node::verify_update(topic, s) ? 1 : 0;
                                                }) /
                            kK;
    std::printf(
        "\nauthor signature per update: verify %.1f us, sign %.1f us; apply (rademacher) %.1f us;"
        " verify/apply %.3f\n",
        t_verify * 1e6, t_sign * 1e6, t_apply_rademacher * 1e6, t_verify / t_apply_rademacher);

    // Bytes per update: the log record and the sync record of an update from an Ed25519 peer id
    // (38 bytes), now with the signature evidence (8-byte seqno, 64-byte signature); gossipsub's
    // own framing (topic, seqno, from, signature) is not counted here.
    const SignedUpdate one = signed_updates[0];
    const double record = static_cast<double>(encode_record(one).size());
    const double sync_record = static_cast<double>(
        node::encode_sync_records(std::span<const SignedUpdate>(&one, 1)).size());
    const double evidence = 8 + 64;
    const double dense = static_cast<double>(theta.size() * sizeof(float));
    std::printf(
        "bytes per update: log record %.0f (was %.0f unsigned), sync record %.0f (was %.0f); "
        "dense fp32 gradient %.0f; ratio dense/log record %.0f\n",
        record, record - evidence, sync_record, sync_record - evidence, dense, dense / record);
    return 0;
}
