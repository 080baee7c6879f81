#include "training/data.hpp"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "training/error.hpp"

namespace swarmd::training {

namespace {

constexpr std::size_t kMaxGzipBytes = 64 << 20;

Result<std::string> read_gzip(const std::filesystem::path& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) return make_error_code(Errc::io);
    std::string out;
    char buf[1 << 16];
    int n = 0;
    while ((n = gzread(f, buf, sizeof buf)) > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > kMaxGzipBytes) {
            gzclose(f);
            return make_error_code(Errc::bad_data_set);
        }
    }
    const bool ok = n == 0;
    gzclose(f);
    if (!ok) return make_error_code(Errc::bad_data_set);
    return out;
}

}  // namespace

Result<DigitsData> load_digits(const std::filesystem::path& path) {
    BOOST_OUTCOME_TRY(text, read_gzip(path));
    DigitsData d;
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (line.empty()) continue;
        std::size_t col = 0;
        const char* p = line.data();
        const char* e = line.data() + line.size();
        while (p < e) {
            double v = 0;
            auto [next, ec] = std::from_chars(p, e, v);
            if (ec != std::errc{} || col > DigitsData::kFeatures) {
                spdlog::error("digits: malformed line {} of {}", line_no, path.string());
                return make_error_code(Errc::bad_data_set);
            }
            if (col < DigitsData::kFeatures) {
                d.features.push_back(static_cast<float>(v / 16.0));
            } else if (v < 0 || v >= DigitsData::kClasses || v != static_cast<int>(v)) {
                spdlog::error("digits: bad label on line {} of {}", line_no, path.string());
                return make_error_code(Errc::bad_data_set);
            } else {
                d.labels.push_back(static_cast<std::uint8_t>(v));
            }
            ++col;
            p = next;
            if (p < e && *p == ',') ++p;
        }
        if (col != DigitsData::kFeatures + 1) {
            spdlog::error("digits: line {} of {} has {} columns, expected 65", line_no,
                          path.string(), col);
            return make_error_code(Errc::bad_data_set);
        }
    }
    if (d.labels.empty()) return make_error_code(Errc::bad_data_set);
    return d;
}

Result<std::string> load_text_dir(const std::filesystem::path& dir, std::size_t max_bytes) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.is_regular_file(ec) && !entry.is_symlink(ec)) files.push_back(entry.path());
    }
    if (ec) return make_error_code(Errc::io);
    std::sort(files.begin(), files.end());
    std::string text;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in) return make_error_code(Errc::io);
        std::ostringstream ss;
        ss << in.rdbuf();
        text += ss.str();
        if (text.size() >= max_bytes) {
            text.resize(max_bytes);
            break;
        }
    }
    if (text.empty()) return make_error_code(Errc::bad_data_set);
    return text;
}

}  // namespace swarmd::training
