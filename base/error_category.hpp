#pragma once
// The one error category class every module's error enum uses: a name, and a function that
// says what each value means (nullptr for a value it does not know). A module defines
//
//     const std::error_category& foo_category() noexcept {
//         static const EnumCategory<Errc> category("foo", describe);
//         return category;
//     }
//
// and makes its enum an error code enum with SWARMD_ERROR_CODE_ENUM (after its namespace).
#include <string>
#include <system_error>
#include <type_traits>

namespace swarmd {

template <class E>
class EnumCategory final : public std::error_category {
  public:
    using Describe = const char* (*)(E) noexcept;

    EnumCategory(const char* name, Describe describe) noexcept
        : m_name(name), m_describe(describe) {}

    const char* name() const noexcept override { return m_name; }
    std::string message(int ev) const override {
        if (const char* what = m_describe(static_cast<E>(ev))) return what;
        return std::string("unknown ") + m_name + " error";
    }

  private:
    const char* m_name;
    Describe m_describe;
};

}  // namespace swarmd

// Declares `make_error_code(Enum)` (found by argument-dependent lookup) inside the enum's
// namespace is the module's job; this marks the enum for std::error_code's converting
// constructor. Use at global scope.
#define SWARMD_ERROR_CODE_ENUM(Enum) \
    template <>                      \
    struct std::is_error_code_enum<Enum> : std::true_type {}
