#pragma once
// The swarm spec: one small TOML file that defines a swarm (mode, model, data or tasks,
// hyper-parameters, rounds, merge round). The swarm id is the SHA-256 of the spec's canonical
// text, and every topic name derives from it, so nodes with different specs never mix updates.
// docs/spec.md lists every key with its range and default.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "node/spec/field_error.hpp"

namespace swarmd::node {

enum class Mode { zo, sapo };
enum class ZoModelKind { mlp, char_lm };
enum class DataSet { digits, text };
enum class Perturbation { rademacher, gaussian };

// A small causal transformer over characters (rl::PolicyOptions).
struct TransformerShape {
    static constexpr std::int64_t kDefaultMaxLen = 40;
    static constexpr std::int64_t kDefaultDModel = 64;
    static constexpr std::int64_t kDefaultLayers = 2;
    static constexpr std::int64_t kDefaultHeads = 4;

    std::int64_t max_len = kDefaultMaxLen;  // prompt + BOS + completion, in characters
    std::int64_t d_model = kDefaultDModel;  // a multiple of heads
    std::int64_t layers = kDefaultLayers;
    std::int64_t heads = kDefaultHeads;

    friend bool operator==(const TransformerShape&, const TransformerShape&) = default;
};

// Zeroth-order one-byte training ([zo], [zo.model], [zo.data]).
struct ZoSpec {
    static constexpr double kDefaultEpsilon = 1e-3;
    static constexpr double kDefaultLr = 2e-3;
    static constexpr double kDefaultScale = 0.02;
    static constexpr std::int64_t kDefaultDirections = 1;
    static constexpr std::int64_t kDefaultBatch = 64;
    static constexpr std::int64_t kDefaultStaleness = 4;
    static constexpr std::int64_t kDefaultAuthorWorkBits = 22;
    static constexpr double kDefaultDigitsTestFraction = 0.2;
    static constexpr double kDefaultTextTestFraction = 0.1;
    static constexpr std::int64_t kDefaultContext = 16;
    static constexpr std::int64_t kDefaultEmbed = 16;
    static constexpr const char* kDefaultTextPath = "/usr/share/common-licenses/GPL-3";

    double epsilon = kDefaultEpsilon;  // perturbation size
    double lr = kDefaultLr;            // θ ← θ − lr·scale·q·z
    double scale = kDefaultScale;      // one-byte quantization step: q = round(g / scale)
    std::int64_t directions = kDefaultDirections;  // n-SPSA: updates published per round
    std::int64_t batch = kDefaultBatch;
    std::int64_t staleness = kDefaultStaleness;  // rounds behind or ahead that are accepted
    // Work each author's ticket must show (training/author_ticket.hpp): what an identity costs
    // when more authors publish than the merge takes.
    std::int64_t author_work_bits = kDefaultAuthorWorkBits;
    Perturbation perturbation = Perturbation::rademacher;

    ZoModelKind model = ZoModelKind::mlp;
    std::vector<std::int64_t> hidden{128};   // hidden layer widths (char_lm: exactly one)
    std::int64_t context = kDefaultContext;  // char_lm: characters of context
    std::int64_t embed = kDefaultEmbed;      // char_lm: character embedding width

    DataSet data = DataSet::digits;
    std::string text_path = kDefaultTextPath;  // text: the file trained on
    double test_fraction = kDefaultDigitsTestFraction;

    friend bool operator==(const ZoSpec&, const ZoSpec&) = default;
};

// One policy architecture a SAPO node may run ([[sapo.policies]]); nodes of the same
// architecture are merged together.
struct PolicySpec {
    static constexpr std::int64_t kDefaultWarmupSteps = 400;

    std::string name;
    TransformerShape shape;
    std::int64_t warmup_steps = kDefaultWarmupSteps;  // supervised warm-up of the base policy

    friend bool operator==(const PolicySpec&, const PolicySpec&) = default;
};

// How the final merge combines one architecture group's weights ([sapo.merge]).
//   filtered_mean: inputs far from the coordinate-wise median (L2 distance above `outlier`
//                  times the median of all inputs' distances) are left out; the rest averaged.
//   trimmed_mean:  coordinate by coordinate, the ceil(trim * n) lowest and highest values are
//                  dropped (at most (n - 1) / 2, so a value is always left), the rest averaged.
//   median:        coordinate-wise median.
//   mean:          the plain average, which one peer can move anywhere.
enum class MergeRule { filtered_mean, trimmed_mean, median, mean };

std::string merge_rule_name(MergeRule rule);

struct MergeSpec {
    static constexpr double kDefaultTrim = 0.25;
    static constexpr double kDefaultOutlier = 3.0;

    MergeRule rule = MergeRule::filtered_mean;
    double trim = kDefaultTrim;        // 0 <= trim < 0.5, used by trimmed_mean
    double outlier = kDefaultOutlier;  // 1 < outlier <= 100, used by filtered_mean

    friend bool operator==(const MergeSpec&, const MergeSpec&) = default;
};

// Swarm sampling policy optimization ([sapo], [sapo.tasks], [[sapo.policies]], [sapo.merge]).
struct SapoSpec {
    static constexpr std::int64_t kDefaultCompletions = 8;
    static constexpr std::int64_t kDefaultLocal = 4;
    static constexpr std::int64_t kDefaultExternal = 4;
    static constexpr double kDefaultLr = 1e-3;
    static constexpr double kDefaultTemperature = 1.0;
    static constexpr std::int64_t kDefaultMaxTokens = 10;
    static constexpr std::int64_t kDefaultStaleness = 2;
    static constexpr std::int64_t kDefaultLevelMin = 0;
    static constexpr std::int64_t kDefaultLevelMax = 1;
    static constexpr std::int64_t kMaxLevel = 3;

    std::int64_t completions = kDefaultCompletions;  // G per question
    std::int64_t local = kDefaultLocal;              // I local question groups per round
    std::int64_t external = kDefaultExternal;        // J external groups per round
    double lr = kDefaultLr;
    double temperature = kDefaultTemperature;
    std::int64_t max_tokens = kDefaultMaxTokens;  // completion length cap
    std::int64_t staleness = kDefaultStaleness;   // rounds of rollouts accepted

    std::vector<std::string> families;  // sorted, distinct
    std::int64_t level_min = kDefaultLevelMin;
    std::int64_t level_max = kDefaultLevelMax;

    std::vector<PolicySpec> policies;  // sorted by name, distinct names
    MergeSpec merge;

    friend bool operator==(const SapoSpec&, const SapoSpec&) = default;
};

struct Spec {
    static constexpr std::int64_t kFormat = 1;

    std::int64_t format = kFormat;
    std::string name;
    Mode mode = Mode::zo;
    std::int64_t seed = 0;
    std::int64_t rounds = 0;
    std::int64_t merge_round = 0;  // 1..rounds; defaults to rounds
    // Peer ids (base58, sorted, distinct) whose signed merge orders may bring the merge
    // forward (`swarmd merge`); none: only merge_round counts (docs/security.md).
    std::vector<std::string> merge_operators;
    // Peer ids (base58, sorted, distinct) of the only identities whose updates, rollouts and
    // merge weights the swarm takes: a closed swarm, where identities made for free count for
    // nothing. None: an open swarm, anyone may train (docs/security.md).
    std::vector<std::string> trainers;
    ZoSpec zo;      // meaningful when mode == zo
    SapoSpec sapo;  // meaningful when mode == sapo

    friend bool operator==(const Spec&, const Spec&) = default;
};

// Limits on what a spec may be; docs/spec.md quotes them.
inline constexpr std::size_t kMaxSpecFileSize = 64 * 1024;
inline constexpr std::size_t kMaxNameLength = 64;
inline constexpr std::size_t kMaxPathLength = 4096;
inline constexpr std::size_t kMaxMergeOperators = 16;
inline constexpr std::size_t kMaxTrainers = 4096;

// Task families a SAPO spec may name (rl::family_name).
inline constexpr std::array<std::string_view, 8> kTaskFamilies = {
    "add", "mul", "sort", "reverse", "count", "digitsum", "algebra", "compose"};

// Parses and validates a spec; absent keys take their defaults. The first problem found is
// returned as a one-line FieldError naming the key.
FieldResult<Spec> parse_spec(std::string_view toml_text);
// Reads (at most kMaxSpecFileSize bytes) and parses a spec file.
FieldResult<Spec> load_spec_file(const std::filesystem::path& path);

// The spec compiled into the binary (node/spec/default_spec.toml) and its parsed form.
std::string_view default_spec_text();
const Spec& default_spec();

// The canonical text: every key of the spec's mode present, defaults filled in, keys sorted,
// numbers normalised (see docs/spec.md). It is itself a valid spec with the same id.
std::string canonical_text(const Spec& spec);

// SHA-256 of the canonical text, shown as 64 lower-case hex digits (what `sha256sum` prints).
class SwarmId {
  public:
    static SwarmId of(const Spec& spec);

    const std::array<std::uint8_t, 32>& bytes() const noexcept { return m_digest; }
    std::string hex() const;
    // The first 12 hex digits, for log lines.
    std::string short_hex() const;

    friend bool operator==(const SwarmId&, const SwarmId&) = default;

  private:
    std::array<std::uint8_t, 32> m_digest{};
};

// Gossip topics of a swarm: "swarmd/<hex id>/zo/1", ".../rollouts/1", ".../status/1".
std::string zo_topic(const SwarmId& id);
// Whether `author` (peer id bytes) may train in this swarm: listed in `trainers`, or none listed.
bool may_train(const Spec& spec, ByteSpan author);
// The same from the swarm id's 32 bytes.
std::string zo_topic(ByteSpan swarm_id);
std::string rollouts_topic(const SwarmId& id);
std::string status_topic(const SwarmId& id);
// The topic that carries the spec mode's updates (zo or rollouts).
std::string updates_topic(const SwarmId& id, Mode mode);

// Request/response protocols on yamux streams; their requests carry the swarm id.
inline constexpr std::string_view kSyncProtocol = "/swarmd/sync/1.0.0";
inline constexpr std::string_view kMergeProtocol = "/swarmd/merge/1.0.0";

std::string_view to_string(Mode mode);

}  // namespace swarmd::node
