# Compiler warnings for every target of ours: -Wall -Wextra, and -Werror when BG_WERROR is on (CI).
add_library(bg_warnings INTERFACE)
target_compile_options(bg_warnings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual -Wpedantic
  -Wformat=2 -Wimplicit-fallthrough)
if(BG_WERROR)
  target_compile_options(bg_warnings INTERFACE -Werror)
endif()
