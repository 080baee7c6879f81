#include "node/spec/toml_util.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "base/file.hpp"

namespace swarmd::node::detail {
namespace {

constexpr std::size_t kShowLimit = 40;

std::string int_text(std::int64_t v) { return std::to_string(v); }

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

// Numbers in messages: shortest form without the canonical ".0" ("5", "0.001").
std::string number_text(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : std::string("?");
}

std::string describe(const FloatRange& r, std::string_view name) {
    std::string out;
    out += number_text(r.min);
    out += r.min_open ? " < " : " <= ";
    out += name;
    out += r.max_open ? " < " : " <= ";
    out += number_text(r.max);
    return out;
}

std::string describe(const IntRange& r) { return int_text(r.min) + " to " + int_text(r.max); }

bool is_bare_key(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

// A key as written in messages and canonical text; "hidden[1]" names an element of an array.
std::string key_text(std::string_view key) {
    std::string_view base = key;
    if (!key.empty() && key.back() == ']') {
        auto open = key.find('[');
        std::string_view index = key.substr(open + 1, key.size() - open - 2);
        bool digits =
            open != std::string_view::npos && !index.empty() &&
            std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (digits) base = key.substr(0, open);
    }
    return is_bare_key(base) ? std::string(key) : quote(key);
}

std::string one_line(std::string_view text) {
    std::string out;
    for (char c : text) out += (c == '\n' || c == '\r') ? ' ' : c;
    return out;
}

}  // namespace

FieldResult<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_size,
                                         std::string_view what) {
    auto failure = [&](const std::string& reason) {
        return FieldError{"", "cannot read " + std::string(what) + ": " + reason, 0};
    };
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (!ec && status.type() != std::filesystem::file_type::regular)
        return failure("not a regular file");
    Bytes bytes;
    if (!ec) ec = read_file(path, bytes, max_size);
    if (ec == std::errc::file_too_large)
        return failure("larger than " + std::to_string(max_size) + " bytes");
    if (ec) return failure(ec.message());
    return std::string(as_string_view(bytes));
}

FieldResult<toml::table> parse_toml(std::string_view text) {
    try {
        return toml::parse(text);
    } catch (const toml::parse_error& e) {
        FieldError err;
        err.line = static_cast<int>(e.source().begin.line);
        err.message = "malformed TOML at column " + std::to_string(e.source().begin.column) + ": " +
                      one_line(e.description());
        return err;
    }
}

TableReader::TableReader(const toml::table* table, std::string path,
                         std::optional<FieldError>& error)
    : m_table(table), m_path(std::move(path)), m_error(error) {}

std::string TableReader::path_of(std::string_view key) const {
    return m_path.empty() ? key_text(key) : m_path + "." + key_text(key);
}

void TableReader::fail(std::string_view key, std::string message) {
    if (m_error) return;
    FieldError err{path_of(key), std::move(message), 0};
    if (m_table) {
        // "hidden[1]" points at the line of hidden's element 1.
        std::string_view base = key.substr(0, key.find('['));
        const toml::node* node = m_table->get(base);
        if (node && base.size() < key.size()) {
            std::size_t index = 0;
            std::from_chars(key.data() + base.size() + 1, key.data() + key.size(), index);
            const auto* arr = node->as_array();
            if (arr && index < arr->size()) node = &(*arr)[index];
        }
        if (node) err.line = static_cast<int>(node->source().begin.line);
    }
    m_error = std::move(err);
}

bool TableReader::has(std::string_view key) const { return m_table && m_table->contains(key); }

const toml::node* TableReader::find(std::string_view key) {
    if (std::find(m_known.begin(), m_known.end(), key) == m_known.end()) m_known.emplace_back(key);
    if (m_error || !m_table) return nullptr;
    return m_table->get(key);
}

std::int64_t TableReader::integer(std::string_view key, std::int64_t fallback, IntRange range) {
    const auto* node = find(key);
    if (!node) return fallback;
    const auto* v = node->as_integer();
    if (!v) {
        fail(key, "expected an integer, got " + std::string(type_name(*node)));
        return fallback;
    }
    std::int64_t value = v->get();
    if (value < range.min || value > range.max) {
        fail(key, int_text(value) + " is out of range (allowed: " + describe(range) + ")");
        return fallback;
    }
    return value;
}

double TableReader::number(std::string_view key, double fallback, FloatRange range) {
    const auto* node = find(key);
    if (!node) return fallback;
    double value = 0;
    if (const auto* f = node->as_floating_point()) {
        value = f->get();
    } else if (const auto* i = node->as_integer()) {
        value = static_cast<double>(i->get());
    } else {
        fail(key, "expected a number, got " + std::string(type_name(*node)));
        return fallback;
    }
    bool ok = std::isfinite(value) && (range.min_open ? value > range.min : value >= range.min) &&
              (range.max_open ? value < range.max : value <= range.max);
    if (!ok) {
        std::string shown = std::isnan(value)   ? "nan"
                            : std::isinf(value) ? (value > 0 ? "inf" : "-inf")
                                                : number_text(value);
        fail(key, shown + " is out of range (allowed: " + describe(range, key) + ")");
        return fallback;
    }
    return value;
}

std::string TableReader::choice(std::string_view key, std::string_view fallback,
                                std::span<const std::string_view> allowed) {
    const auto* node = find(key);
    if (!node) return std::string(fallback);
    const auto* v = node->as_string();
    if (!v) {
        fail(key, "expected a string, got " + std::string(type_name(*node)));
        return std::string(fallback);
    }
    const std::string& value = v->get();
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + quote(a);
        fail(key, show(value) + " is not allowed (allowed: " + list + ")");
        return std::string(fallback);
    }
    return value;
}

std::string TableReader::text(std::string_view key, std::string fallback, std::size_t max_length) {
    const auto* node = find(key);
    if (!node) return fallback;
    const auto* v = node->as_string();
    if (!v) {
        fail(key, "expected a string, got " + std::string(type_name(*node)));
        return fallback;
    }
    const std::string& value = v->get();
    if (value.size() > max_length) {
        fail(key, "is " + std::to_string(value.size()) + " bytes long (allowed: at most " +
                      std::to_string(max_length) + ")");
        return fallback;
    }
    if (has_control(value)) {
        fail(key, show(value) + " contains a control character");
        return fallback;
    }
    return value;
}

bool TableReader::boolean(std::string_view key, bool fallback) {
    const auto* node = find(key);
    if (!node) return fallback;
    const auto* v = node->as_boolean();
    if (!v) {
        fail(key, "expected true or false, got " + std::string(type_name(*node)));
        return fallback;
    }
    return v->get();
}

std::vector<std::int64_t> TableReader::integers(std::string_view key,
                                                std::vector<std::int64_t> fallback,
                                                std::size_t min_count, std::size_t max_count,
                                                IntRange range) {
    const auto* node = find(key);
    if (!node) return fallback;
    const auto* arr = node->as_array();
    if (!arr) {
        fail(key, "expected an array of integers, got " + std::string(type_name(*node)));
        return fallback;
    }
    if (arr->size() < min_count || arr->size() > max_count) {
        fail(key, "has " + std::to_string(arr->size()) + " elements (allowed: " +
                      std::to_string(min_count) + " to " + std::to_string(max_count) + ")");
        return fallback;
    }
    std::vector<std::int64_t> out;
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const auto* v = (*arr)[i].as_integer();
        std::string element = std::string(key) + "[" + std::to_string(i) + "]";
        if (!v) {
            fail(element, "expected an integer, got " + std::string(type_name((*arr)[i])));
            return fallback;
        }
        if (v->get() < range.min || v->get() > range.max) {
            fail(element,
                 int_text(v->get()) + " is out of range (allowed: " + describe(range) + ")");
            return fallback;
        }
        out.push_back(v->get());
    }
    return out;
}

std::vector<std::string> TableReader::texts(std::string_view key, std::vector<std::string> fallback,
                                            std::size_t min_count, std::size_t max_count,
                                            std::size_t max_length) {
    const auto* node = find(key);
    if (!node) return fallback;
    const auto* arr = node->as_array();
    if (!arr) {
        fail(key, "expected an array of strings, got " + std::string(type_name(*node)));
        return fallback;
    }
    if (arr->size() < min_count || arr->size() > max_count) {
        fail(key, "has " + std::to_string(arr->size()) + " elements (allowed: " +
                      std::to_string(min_count) + " to " + std::to_string(max_count) + ")");
        return fallback;
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const auto* v = (*arr)[i].as_string();
        std::string element = std::string(key) + "[" + std::to_string(i) + "]";
        if (!v) {
            fail(element, "expected a string, got " + std::string(type_name((*arr)[i])));
            return fallback;
        }
        if (v->get().size() > max_length || has_control(v->get())) {
            fail(element, show(v->get()) + " is longer than " + std::to_string(max_length) +
                              " bytes or contains a control character");
            return fallback;
        }
        out.push_back(v->get());
    }
    return out;
}

const toml::table* TableReader::table(std::string_view key) {
    const auto* node = find(key);
    if (!node) return nullptr;
    const auto* t = node->as_table();
    if (!t) fail(key, "expected a table, got " + std::string(type_name(*node)));
    return t;
}

const toml::array* TableReader::tables(std::string_view key, std::size_t min_count,
                                       std::size_t max_count) {
    const auto* node = find(key);
    if (!node) return nullptr;
    const auto* arr = node->as_array();
    if (!arr || (!arr->empty() && !arr->is_array_of_tables())) {
        fail(key, "expected an array of tables ([[" + path_of(key) + "]]), got " +
                      std::string(type_name(*node)));
        return nullptr;
    }
    if (arr->size() < min_count || arr->size() > max_count) {
        fail(key, "has " + std::to_string(arr->size()) + " entries (allowed: " +
                      std::to_string(min_count) + " to " + std::to_string(max_count) + ")");
        return nullptr;
    }
    return arr;
}

void TableReader::not_used(std::string_view key, std::string reason) {
    m_not_used.emplace_back(std::string(key), std::move(reason));
}

void TableReader::finish() {
    if (m_error || !m_table) return;
    for (auto&& [k, node] : *m_table) {
        std::string_view key = k.str();
        if (std::find(m_known.begin(), m_known.end(), key) != m_known.end()) continue;
        for (const auto& [name, reason] : m_not_used) {
            if (name == key) {
                fail(key, reason);
                return;
            }
        }
        std::vector<std::string> known = m_known;
        std::sort(known.begin(), known.end());
        std::string list;
        for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
        std::string shown =
            is_bare_key(key) && key.size() <= kShowLimit ? std::string(key) : show(key);
        std::string where = m_path.empty() ? " at top level" : " in [" + m_path + "]";
        m_error = FieldError{m_path.empty() ? shown : m_path + "." + shown,
                             "unknown key (allowed" + where + ": " + list + ")",
                             static_cast<int>(node.source().begin.line)};
        return;
    }
}

std::string format_float(double value) {
    if (value == 0) return "0.0";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    std::string out(buf, ec == std::errc{} ? end : buf);
    if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
    return out;
}

std::string quote(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (u < 0x20 || u == 0x7f) {
                    char esc[8];
                    std::snprintf(esc, sizeof esc, "\\u%04x", u);
                    out += esc;
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}

std::string show(std::string_view text) {
    if (text.size() <= kShowLimit) return quote(text);
    // Cut on a UTF-8 boundary so the message stays valid text.
    std::size_t cut = kShowLimit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
    return quote(text.substr(0, cut)) + "...";
}

std::string_view type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

namespace {

void write_value(const toml::node& node, std::string& out) {
    switch (node.type()) {
        case toml::node_type::string:
            out += quote(node.as_string()->get());
            break;
        case toml::node_type::integer:
            out += int_text(node.as_integer()->get());
            break;
        case toml::node_type::floating_point:
            out += format_float(node.as_floating_point()->get());
            break;
        case toml::node_type::boolean:
            out += node.as_boolean()->get() ? "true" : "false";
            break;
        case toml::node_type::array: {
            out += '[';
            bool first = true;
            for (const auto& element : *node.as_array()) {
                if (!first) out += ", ";
                first = false;
                write_value(element, out);
            }
            out += ']';
            break;
        }
        default:
            // The canonical form is written from validated values, which never hold tables
            // inside arrays, dates or times.
            out += "\"<unsupported>\"";
    }
}

bool is_section(const toml::node& node) {
    return node.is_table() ||
           (node.is_array() && !node.as_array()->empty() && node.as_array()->is_array_of_tables());
}

std::vector<std::string_view> sorted_keys(const toml::table& table) {
    std::vector<std::string_view> keys;
    for (auto&& [k, v] : table) keys.push_back(k.str());
    std::sort(keys.begin(), keys.end());
    return keys;
}

void write_table(const toml::table& table, const std::string& path, std::string& out) {
    auto keys = sorted_keys(table);
    for (auto key : keys) {
        const auto& node = *table.get(key);
        if (is_section(node)) continue;
        out += key_text(key);
        out += " = ";
        write_value(node, out);
        out += '\n';
    }
    for (auto key : keys) {
        const auto& node = *table.get(key);
        if (!is_section(node)) continue;
        std::string child = path.empty() ? key_text(key) : path + "." + key_text(key);
        if (const auto* sub = node.as_table()) {
            out += "\n[" + child + "]\n";
            write_table(*sub, child, out);
        } else {
            for (const auto& element : *node.as_array()) {
                out += "\n[[" + child + "]]\n";
                write_table(*element.as_table(), child, out);
            }
        }
    }
}

}  // namespace

std::string canonical_toml(const toml::table& table) {
    std::string out;
    write_table(table, "", out);
    return out;
}

}  // namespace swarmd::node::detail
