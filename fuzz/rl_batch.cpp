// fuzz-deps: swarmd_rl
// Rollout batches as a peer sends them: the decoder (default and tight limits), the re-encode
// round trip of whatever decodes, the task decoder, and the receiving pool, which regenerates
// every task and re-verifies every completion. Nothing here runs a policy, so no torch work.
#include <cstdint>
#include <cstdlib>

#include "fuzz/check.hpp"
#include "rl/sampler.hpp"
#include "rl/wire.hpp"

using namespace swarmd;
using namespace swarmd::rl;
using swarmd::fuzz::check;

namespace {

bool same(const RolloutBatch& a, const RolloutBatch& b) {
    if (a.author != b.author || a.round != b.round || a.groups.size() != b.groups.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.groups.size(); ++i) {
        const auto& ga = a.groups[i];
        const auto& gb = b.groups[i];
        if (ga.task != gb.task || ga.completions.size() != gb.completions.size()) return false;
        for (std::size_t k = 0; k < ga.completions.size(); ++k) {
            const auto& ca = ga.completions[k];
            const auto& cb = gb.completions[k];
            if (ca.tokens != cb.tokens || ca.logprobs != cb.logprobs ||
                ca.claimed_reward != cb.claimed_reward) {
                return false;
            }
        }
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteSpan in(data, size);
    (void)decode_task(in);

    WireLimits tight;
    tight.max_bytes = 4096;
    tight.max_groups = 2;
    tight.max_completions = 4;
    tight.max_tokens = 8;
    tight.max_author_bytes = 8;
    (void)decode_batch(in, tight);

    auto decoded = decode_batch(in);
    if (decoded) {
        const RolloutBatch& batch = decoded.value();
        // Whatever the decoder accepts is within its limits and survives a round trip.
        check(!batch.author.empty() && batch.author.size() <= WireLimits::kDefaultMaxAuthorBytes);
        check(batch.groups.size() <= WireLimits::kDefaultMaxGroups);
        for (const auto& g : batch.groups) {
            check(g.completions.size() >= 2 &&
                  g.completions.size() <= WireLimits::kDefaultMaxCompletions);
            for (const auto& c : g.completions) {
                check(!c.tokens.empty() && c.tokens.size() <= WireLimits::kDefaultMaxTokens);
                check(c.logprobs.size() == c.tokens.size());
            }
        }
        const Bytes again = encode_batch(batch);
        auto redecoded = decode_batch(again);
        check(redecoded.has_value() && same(batch, redecoded.value()));

        // The receiving side: re-verification, de-duplication and the round window.
        RolloutPool pool("fuzz-self");
        pool.set_round(batch.round);
        const auto added = pool.add_batch(in);
        check(added.has_value() && added.value() <= batch.groups.size());
        const auto again_added = pool.add_batch(in);  // the same batch again: all duplicates
        check(again_added.has_value() && again_added.value() == 0);
        for (const auto& g : pool.groups()) {
            check(g.rewards.size() == g.group.completions.size());
            check(g.external);
        }
        pool.set_round(batch.round + 2);  // past the window: the pool forgets them
        check(pool.groups().empty());
    } else {
        RolloutPool pool("fuzz-self");
        check(!pool.add_batch(in).has_value());
        check(pool.stats().malformed == 1);
    }
    return 0;
}
