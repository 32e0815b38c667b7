# Compiler warnings for every target of ours: -Wall -Wextra, and -Werror when BG_WERROR is on (CI).
add_library(bg_warnings INTERFACE)
target_compile_options(bg_warnings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual -Wpedantic
  -Wformat=2 -Wimplicit-fallthrough
  # C++20 designated initializers leave the other members at their defaults on purpose.
  -Wno-missing-field-initializers
  # GCC 12 reports false -Wrestrict positives inside std::string at -O3 (GCC bug 105329).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
if(BG_WERROR)
  target_compile_options(bg_warnings INTERFACE -Werror)
endif()
