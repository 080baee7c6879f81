#pragma once
// Schema-checked reading of TOML tables and a canonical TOML writer, shared by the swarm spec
// and the node config.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "node/spec/field_error.hpp"

namespace swarmd::node::detail {

struct IntRange {
    std::int64_t min;
    std::int64_t max;
};

struct FloatRange {
    double min;
    double max;
    bool min_open = false;  // min itself is not allowed
    bool max_open = false;
};

// Reads a regular file of at most max_size bytes; errors read "cannot read <what>: <reason>".
FieldResult<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_size,
                                         std::string_view what);

// Parses a TOML document; a syntax error becomes a FieldError carrying the line and column.
FieldResult<toml::table> parse_toml(std::string_view text);

// Reads the keys of one TOML table against a schema. The first problem is kept in a slot shared by
// all readers of a document, and every later read returns its fallback, so a reader body is
// straight-line code that checks the slot once at the end.
class TableReader {
  public:
    // `table` may be null (section absent): every read then returns its fallback.
    TableReader(const toml::table* table, std::string path, std::optional<FieldError>& error);

    bool has(std::string_view key) const;
    bool failed() const { return m_error.has_value(); }

    std::int64_t integer(std::string_view key, std::int64_t fallback, IntRange range);
    // Accepts integers too (`lr = 1` is 1.0).
    double number(std::string_view key, double fallback, FloatRange range);
    std::string choice(std::string_view key, std::string_view fallback,
                       std::span<const std::string_view> allowed);
    // A string of at most max_length bytes without control characters.
    std::string text(std::string_view key, std::string fallback, std::size_t max_length);
    bool boolean(std::string_view key, bool fallback);
    std::vector<std::int64_t> integers(std::string_view key, std::vector<std::int64_t> fallback,
                                       std::size_t min_count, std::size_t max_count,
                                       IntRange range);
    std::vector<std::string> texts(std::string_view key, std::vector<std::string> fallback,
                                   std::size_t min_count, std::size_t max_count,
                                   std::size_t max_length);
    // Null when absent; an error when present but not a table.
    const toml::table* table(std::string_view key);
    // An array of tables ([[key]]); null when absent.
    const toml::array* tables(std::string_view key, std::size_t min_count, std::size_t max_count);

    // `key` is allowed here (reading it does the same); for keys read by other means.
    void allow(std::string_view key) { find(key); }
    // `key` is part of the schema but not allowed in this configuration; finish() reports it
    // with `reason` when present.
    void not_used(std::string_view key, std::string reason);
    // Reports the first key of the table that no read asked for.
    void finish();

    // Records an error about `key` of this table unless one is already recorded.
    void fail(std::string_view key, std::string message);
    std::string path_of(std::string_view key) const;

  private:
    const toml::node* find(std::string_view key);

    const toml::table* m_table;
    std::string m_path;
    std::optional<FieldError>& m_error;
    std::vector<std::string> m_known;
    std::vector<std::pair<std::string, std::string>> m_not_used;
};

// The canonical text of a table: keys sorted bytewise; plain keys first, then subtables and
// arrays of tables in key order; integers in decimal; floats in their shortest round-trip form
// with a '.' or exponent; strings as basic strings with minimal escapes; LF line ends.
std::string canonical_toml(const toml::table& table);

// Shortest round-trip decimal form that reads back as a TOML float ("0.001", "1e-05", "1.0").
std::string format_float(double value);
// A TOML basic string literal: "..." with \" \\ and control characters escaped.
std::string quote(std::string_view text);
// For messages: a quoted, escaped, length-limited rendering of untrusted text.
std::string show(std::string_view text);
// "an integer", "a string", ...
std::string_view type_name(const toml::node& node);

}  // namespace swarmd::node::detail
