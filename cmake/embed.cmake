# embed.cmake - turns a text file into a C++ function returning its content.
# cmake -DIN=conf/rules.toml -DOUT=default_rules.cpp -DNAME=bg::default_rules_toml -P embed.cmake
file(READ "${IN}" content)
string(FIND "${content}" ")BGEMBED\"" bad)
if(NOT bad EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw string delimiter")
endif()
file(WRITE "${OUT}.tmp"
  "// Generated from ${IN} at build time; do not edit.\n"
  "#include <string_view>\n"
  "namespace bg {\n"
  "std::string_view default_rules_toml() noexcept {\n"
  "    static constexpr std::string_view text = R\"BGEMBED(${content})BGEMBED\";\n"
  "    return text;\n"
  "}\n"
  "}  // namespace bg\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
