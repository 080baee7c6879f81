#include "node/spec/spec.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include "base/encoding.hpp"
#include "crypto/hash.hpp"
#include "crypto/peer_id.hpp"
#include "node/spec/default_spec.hpp"
#include "node/spec/toml_util.hpp"
#include "training/author_ticket.hpp"

namespace swarmd::node {
namespace {

using detail::FloatRange;
using detail::IntRange;
using detail::TableReader;

constexpr std::string_view kDefaultZoName = "digits-zo";
constexpr std::string_view kDefaultSapoName = "tasks-sapo";
constexpr std::int64_t kDefaultSeed = 1;
constexpr std::int64_t kDefaultZoRounds = 3000;
constexpr std::int64_t kDefaultSapoRounds = 200;
constexpr std::int64_t kMaxRounds = 100'000'000;
constexpr std::size_t kMaxPolicies = 8;
constexpr std::size_t kMaxPolicyName = 32;
constexpr std::size_t kMaxHiddenLayers = 8;

constexpr std::array<std::string_view, 2> kModes = {"zo", "sapo"};
constexpr std::array<std::string_view, 2> kZoModels = {"mlp", "char_lm"};
constexpr std::array<std::string_view, 2> kDataSets = {"digits", "text"};
constexpr std::array<std::string_view, 2> kPerturbations = {"rademacher", "gaussian"};
constexpr std::array<std::string_view, 4> kMergeRules = {"filtered_mean", "trimmed_mean", "median",
                                                         "mean"};

MergeRule merge_rule(std::string_view name) {
    if (name == "trimmed_mean") return MergeRule::trimmed_mean;
    if (name == "median") return MergeRule::median;
    if (name == "mean") return MergeRule::mean;
    return MergeRule::filtered_mean;
}

}  // namespace

std::string merge_rule_name(MergeRule rule) {
    switch (rule) {
        case MergeRule::trimmed_mean:
            return "trimmed_mean";
        case MergeRule::median:
            return "median";
        case MergeRule::mean:
            return "mean";
        case MergeRule::filtered_mean:
            break;
    }
    return "filtered_mean";
}

namespace {

const std::vector<std::string>& default_families() {
    static const std::vector<std::string> families{"add", "count", "reverse", "sort"};
    return families;
}

std::vector<PolicySpec> default_policies() {
    return {PolicySpec{"small", {}, PolicySpec::kDefaultWarmupSteps}};
}

bool is_identifier(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    });
}

void read_shape(TableReader& r, TransformerShape& shape) {
    shape.max_len = r.integer("max_len", TransformerShape::kDefaultMaxLen, IntRange{8, 4096});
    shape.d_model = r.integer("d_model", TransformerShape::kDefaultDModel, IntRange{8, 4096});
    shape.layers = r.integer("layers", TransformerShape::kDefaultLayers, IntRange{1, 48});
    shape.heads = r.integer("heads", TransformerShape::kDefaultHeads, IntRange{1, 64});
    if (!r.failed() && shape.d_model % shape.heads != 0) {
        r.fail("d_model", std::to_string(shape.d_model) + " is not a multiple of heads (" +
                              std::to_string(shape.heads) + ")");
    }
}

void read_zo(const toml::table* table, ZoSpec& zo, std::optional<FieldError>& error) {
    TableReader r(table, "zo", error);
    zo.epsilon = r.number("epsilon", ZoSpec::kDefaultEpsilon, FloatRange{0, 1, true});
    zo.lr = r.number("lr", ZoSpec::kDefaultLr, FloatRange{0, 10, true});
    zo.scale = r.number("scale", ZoSpec::kDefaultScale, FloatRange{0, 1000, true});
    zo.directions = r.integer("directions", ZoSpec::kDefaultDirections, IntRange{1, 64});
    zo.batch = r.integer("batch", ZoSpec::kDefaultBatch, IntRange{1, 65536});
    zo.staleness = r.integer("staleness", ZoSpec::kDefaultStaleness, IntRange{0, 10000});
    zo.author_work_bits = r.integer("author_work_bits", ZoSpec::kDefaultAuthorWorkBits,
                                    IntRange{0, training::kMaxTicketBits});
    zo.perturbation = r.choice("perturbation", "rademacher", kPerturbations) == "gaussian"
                          ? Perturbation::gaussian
                          : Perturbation::rademacher;
    const auto* model_table = r.table("model");
    const auto* data_table = r.table("data");
    r.finish();

    TableReader m(model_table, "zo.model", error);
    zo.model =
        m.choice("kind", "mlp", kZoModels) == "char_lm" ? ZoModelKind::char_lm : ZoModelKind::mlp;
    if (zo.model == ZoModelKind::mlp) {
        zo.hidden = m.integers("hidden", {128}, 1, kMaxHiddenLayers, IntRange{1, 65536});
        for (auto key : {"context", "embed"})
            m.not_used(key, "not used when zo.model.kind = \"mlp\"");
    } else {
        zo.hidden = m.integers("hidden", {128}, 1, 1, IntRange{1, 65536});
        zo.context = m.integer("context", ZoSpec::kDefaultContext, IntRange{1, 1024});
        zo.embed = m.integer("embed", ZoSpec::kDefaultEmbed, IntRange{1, 1024});
    }
    m.finish();

    TableReader d(data_table, "zo.data", error);
    zo.data = d.choice("set", "digits", kDataSets) == "text" ? DataSet::text : DataSet::digits;
    zo.test_fraction = d.number("test_fraction",
                                zo.data == DataSet::text ? ZoSpec::kDefaultTextTestFraction
                                                         : ZoSpec::kDefaultDigitsTestFraction,
                                FloatRange{0, 0.9, true});
    if (zo.data == DataSet::text) {
        zo.text_path = d.text("path", ZoSpec::kDefaultTextPath, kMaxPathLength);
        if (!d.failed() && zo.text_path.empty()) d.fail("path", "must not be empty");
    } else {
        d.not_used("path", "not used when zo.data.set = \"digits\"");
    }
    d.finish();

    if (!error) {
        bool matches = (zo.model == ZoModelKind::mlp) == (zo.data == DataSet::digits);
        if (!matches) {
            TableReader(model_table, "zo.model", error)
                .fail("kind", zo.model == ZoModelKind::mlp
                                  ? "\"mlp\" classifies digits; it needs zo.data.set = \"digits\""
                                  : "\"char_lm\" models text; it needs zo.data.set = \"text\"");
        }
    }
}

void read_sapo(const toml::table* table, SapoSpec& sapo, std::optional<FieldError>& error) {
    TableReader r(table, "sapo", error);
    sapo.completions = r.integer("completions", SapoSpec::kDefaultCompletions, IntRange{1, 64});
    sapo.local = r.integer("local", SapoSpec::kDefaultLocal, IntRange{0, 64});
    sapo.external = r.integer("external", SapoSpec::kDefaultExternal, IntRange{0, 64});
    if (!r.failed() && sapo.local + sapo.external == 0)
        r.fail("external", "0 with local = 0 leaves nothing to train on (local + external >= 1)");
    sapo.lr = r.number("lr", SapoSpec::kDefaultLr, FloatRange{0, 1, true});
    sapo.temperature =
        r.number("temperature", SapoSpec::kDefaultTemperature, FloatRange{0, 10, true});
    sapo.max_tokens = r.integer("max_tokens", SapoSpec::kDefaultMaxTokens, IntRange{1, 1024});
    sapo.staleness = r.integer("staleness", SapoSpec::kDefaultStaleness, IntRange{0, 10000});
    const auto* tasks_table = r.table("tasks");
    const auto* policies = r.tables("policies", 1, kMaxPolicies);
    const auto* merge_table = r.table("merge");
    r.finish();

    TableReader m(merge_table, "sapo.merge", error);
    sapo.merge.rule = merge_rule(m.choice("rule", "filtered_mean", kMergeRules));
    sapo.merge.trim = m.number("trim", MergeSpec::kDefaultTrim, FloatRange{0, 0.5, false, true});
    sapo.merge.outlier =
        m.number("outlier", MergeSpec::kDefaultOutlier, FloatRange{1, 100, true, false});
    m.finish();

    TableReader t(tasks_table, "sapo.tasks", error);
    sapo.families = t.texts("families", default_families(), 1, kTaskFamilies.size(), 32);
    for (std::size_t i = 0; i < sapo.families.size() && !t.failed(); ++i) {
        const auto& f = sapo.families[i];
        std::string key = "families[" + std::to_string(i) + "]";
        if (std::find(kTaskFamilies.begin(), kTaskFamilies.end(), f) == kTaskFamilies.end()) {
            std::string list;
            for (auto a : kTaskFamilies) list += (list.empty() ? "" : ", ") + std::string(a);
            t.fail(key, detail::show(f) + " is not a task family (allowed: " + list + ")");
        } else if (std::count(sapo.families.begin(), sapo.families.end(), f) > 1) {
            t.fail(key, detail::show(f) + " is listed twice");
        }
    }
    std::sort(sapo.families.begin(), sapo.families.end());
    sapo.level_min =
        t.integer("level_min", SapoSpec::kDefaultLevelMin, IntRange{0, SapoSpec::kMaxLevel});
    sapo.level_max = t.integer("level_max", std::max(SapoSpec::kDefaultLevelMax, sapo.level_min),
                               IntRange{sapo.level_min, SapoSpec::kMaxLevel});
    t.finish();

    sapo.policies.clear();
    if (!policies) {
        sapo.policies = default_policies();
        return;
    }
    for (std::size_t i = 0; i < policies->size(); ++i) {
        std::string path = "sapo.policies[" + std::to_string(i) + "]";
        TableReader p((*policies)[i].as_table(), path, error);
        PolicySpec policy;
        policy.name = p.text("name", "", kMaxPolicyName);
        if (!p.failed() && !is_identifier(policy.name)) {
            p.fail("name", p.has("name")
                               ? detail::show(policy.name) +
                                     " is not a name (allowed: 1 to 32 of A-Z a-z 0-9 . _ -)"
                               : "missing (every policy needs a name)");
        }
        for (const auto& other : sapo.policies) {
            if (!p.failed() && other.name == policy.name)
                p.fail("name", detail::show(policy.name) + " names two policies");
        }
        read_shape(p, policy.shape);
        policy.warmup_steps =
            p.integer("warmup_steps", PolicySpec::kDefaultWarmupSteps, IntRange{0, 10'000'000});
        p.finish();
        sapo.policies.push_back(std::move(policy));
    }
    std::sort(sapo.policies.begin(), sapo.policies.end(),
              [](const PolicySpec& a, const PolicySpec& b) { return a.name < b.name; });
}

toml::table shape_table(const TransformerShape& s) {
    return toml::table{
        {"max_len", s.max_len}, {"d_model", s.d_model}, {"layers", s.layers}, {"heads", s.heads}};
}

toml::table to_table(const Spec& spec) {
    toml::table root{{"format", spec.format},        {"name", spec.name},
                     {"mode", to_string(spec.mode)}, {"seed", spec.seed},
                     {"rounds", spec.rounds},        {"merge_round", spec.merge_round}};
    // Only when set, so that a spec without operators keeps the id it had before the key existed.
    if (!spec.merge_operators.empty()) {
        toml::array operators;
        for (const auto& op : spec.merge_operators) operators.push_back(op);
        root.insert("merge_operators", std::move(operators));
    }
    if (!spec.trainers.empty()) {
        toml::array trainers;
        for (const auto& t : spec.trainers) trainers.push_back(t);
        root.insert("trainers", std::move(trainers));
    }
    if (spec.mode == Mode::zo) {
        const ZoSpec& zo = spec.zo;
        toml::array hidden;
        for (auto h : zo.hidden) hidden.push_back(h);
        toml::table model{{"kind", zo.model == ZoModelKind::mlp ? "mlp" : "char_lm"},
                          {"hidden", std::move(hidden)}};
        if (zo.model == ZoModelKind::char_lm) {
            model.insert("context", zo.context);
            model.insert("embed", zo.embed);
        }
        toml::table data{{"set", zo.data == DataSet::text ? "text" : "digits"},
                         {"test_fraction", zo.test_fraction}};
        if (zo.data == DataSet::text) data.insert("path", zo.text_path);
        root.insert("zo",
                    toml::table{
                        {"epsilon", zo.epsilon},
                        {"lr", zo.lr},
                        {"scale", zo.scale},
                        {"directions", zo.directions},
                        {"batch", zo.batch},
                        {"staleness", zo.staleness},
                        {"author_work_bits", zo.author_work_bits},
                        {"perturbation",
                         zo.perturbation == Perturbation::gaussian ? "gaussian" : "rademacher"},
                        {"model", std::move(model)},
                        {"data", std::move(data)},
                    });
    } else {
        const SapoSpec& sapo = spec.sapo;
        toml::array families;
        for (const auto& f : sapo.families) families.push_back(f);
        toml::array policies;
        for (const auto& p : sapo.policies) {
            toml::table t = shape_table(p.shape);
            t.insert("name", p.name);
            t.insert("warmup_steps", p.warmup_steps);
            policies.push_back(std::move(t));
        }
        root.insert("sapo", toml::table{
                                {"completions", sapo.completions},
                                {"local", sapo.local},
                                {"external", sapo.external},
                                {"lr", sapo.lr},
                                {"temperature", sapo.temperature},
                                {"max_tokens", sapo.max_tokens},
                                {"staleness", sapo.staleness},
                                {"tasks", toml::table{{"families", std::move(families)},
                                                      {"level_min", sapo.level_min},
                                                      {"level_max", sapo.level_max}}},
                                {"policies", std::move(policies)},
                                {"merge", toml::table{{"rule", merge_rule_name(sapo.merge.rule)},
                                                      {"trim", sapo.merge.trim},
                                                      {"outlier", sapo.merge.outlier}}},
                            });
    }
    return root;
}

}  // namespace

std::string_view to_string(Mode mode) { return mode == Mode::sapo ? "sapo" : "zo"; }

FieldResult<Spec> parse_spec(std::string_view toml_text) {
    BOOST_OUTCOME_TRY(doc, detail::parse_toml(toml_text));
    std::optional<FieldError> error;
    Spec spec;
    TableReader r(&doc, "", error);
    spec.format = r.integer("format", Spec::kFormat, IntRange{Spec::kFormat, Spec::kFormat});
    spec.mode = r.choice("mode", "zo", kModes) == "sapo" ? Mode::sapo : Mode::zo;
    spec.name =
        r.text("name", std::string(spec.mode == Mode::zo ? kDefaultZoName : kDefaultSapoName),
               kMaxNameLength);
    if (!r.failed() && !is_identifier(spec.name))
        r.fail("name",
               detail::show(spec.name) + " is not a name (allowed: 1 to 64 of A-Z a-z 0-9 . _ -)");
    spec.seed = r.integer("seed", kDefaultSeed, IntRange{0, INT64_MAX});
    spec.rounds = r.integer("rounds", spec.mode == Mode::zo ? kDefaultZoRounds : kDefaultSapoRounds,
                            IntRange{1, kMaxRounds});
    spec.merge_round = r.integer("merge_round", spec.rounds, IntRange{1, spec.rounds});
    auto peer_ids = [&](const char* name, std::size_t max) {
        auto list = r.texts(name, {}, 0, max, 128);
        for (std::size_t i = 0; i < list.size() && !r.failed(); ++i) {
            const auto& text = list[i];
            const std::string key = std::string(name) + "[" + std::to_string(i) + "]";
            auto id = crypto::PeerId::parse(text);
            if (!id || !id.value().public_key()) {
                r.fail(key, detail::show(text) + " is not an Ed25519 peer id (12D3KooW...)");
            } else if (std::count(list.begin(), list.end(), text) > 1) {
                r.fail(key, detail::show(text) + " is listed twice");
            }
        }
        std::sort(list.begin(), list.end());
        return list;
    };
    spec.merge_operators = peer_ids("merge_operators", kMaxMergeOperators);
    spec.trainers = peer_ids("trainers", kMaxTrainers);
    if (spec.mode == Mode::zo) {
        const auto* zo = r.table("zo");
        r.not_used("sapo", "not used when mode = \"zo\" (remove it or set mode = \"sapo\")");
        r.finish();
        read_zo(zo, spec.zo, error);
        spec.sapo = SapoSpec{};
    } else {
        const auto* sapo = r.table("sapo");
        r.not_used("zo", "not used when mode = \"sapo\" (remove it or set mode = \"zo\")");
        r.finish();
        read_sapo(sapo, spec.sapo, error);
        spec.zo = ZoSpec{};
    }
    if (error) return std::move(*error);
    return spec;
}

FieldResult<Spec> load_spec_file(const std::filesystem::path& path) {
    BOOST_OUTCOME_TRY(text, detail::read_small_file(path, kMaxSpecFileSize, "spec file"));
    return parse_spec(text);
}

std::string_view default_spec_text() { return kDefaultSpecToml; }

const Spec& default_spec() {
    // The embedded text is checked by a test; failing to parse it is a build defect.
    static const Spec spec = parse_spec(default_spec_text()).value();
    return spec;
}

std::string canonical_text(const Spec& spec) { return detail::canonical_toml(to_table(spec)); }

SwarmId SwarmId::of(const Spec& spec) {
    std::string text = canonical_text(spec);
    SwarmId id;
    id.m_digest = crypto::sha256(as_bytes(text));
    return id;
}

std::string SwarmId::hex() const { return hex_encode(m_digest); }

std::string SwarmId::short_hex() const { return hex().substr(0, 12); }

std::string zo_topic(const SwarmId& id) { return zo_topic(ByteSpan(id.bytes())); }
bool may_train(const Spec& spec, ByteSpan author) {
    if (spec.trainers.empty()) return true;
    auto id = crypto::PeerId::from_bytes(author);
    return id &&
           std::binary_search(spec.trainers.begin(), spec.trainers.end(), id.value().to_base58());
}

std::string zo_topic(ByteSpan swarm_id) { return "swarmd/" + hex_encode(swarm_id) + "/zo/1"; }
std::string rollouts_topic(const SwarmId& id) { return "swarmd/" + id.hex() + "/rollouts/1"; }
std::string status_topic(const SwarmId& id) { return "swarmd/" + id.hex() + "/status/1"; }

std::string updates_topic(const SwarmId& id, Mode mode) {
    return mode == Mode::zo ? zo_topic(id) : rollouts_topic(id);
}

}  // namespace swarmd::node
