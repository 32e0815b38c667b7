# embed.cmake - turns a text file into a C++ function returning its content.
# cmake -DIN=conf/rules.toml -DOUT=default_rules.cpp -DNAME=default_rules_toml -P embed.cmake
# NAME is the function's name inside namespace bg (a leading "bg::" is accepted); it defaults to
# default_rules_toml. The function is `std::string_view bg::NAME() noexcept`.
if(NOT DEFINED NAME OR NAME STREQUAL "")
  set(NAME default_rules_toml)
endif()
string(REGEX REPLACE "^bg::" "" NAME "${NAME}")
if(NOT NAME MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
  message(FATAL_ERROR "embed.cmake: NAME '${NAME}' is not a C++ identifier")
endif()
file(READ "${IN}" content)
string(FIND "${content}" ")BGEMBED\"" bad)
if(NOT bad EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw string delimiter")
endif()
file(WRITE "${OUT}.tmp"
  "// Generated from ${IN} at build time; do not edit.\n"
  "#include <string_view>\n"
  "namespace bg {\n"
  "std::string_view ${NAME}() noexcept {\n"
  "    static constexpr std::string_view text = R\"BGEMBED(${content})BGEMBED\";\n"
  "    return text;\n"
  "}\n"
  "}  // namespace bg\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
