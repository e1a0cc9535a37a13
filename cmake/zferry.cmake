# Every test executable hangs off zferry_tests so the sanitizer flavour builds only tests;
# every fuzzer off zferry_fuzzers.
add_custom_target(zferry_tests)
add_custom_target(zferry_fuzzers)

# Shared build helpers.

# Asio is compiled once (BOOST_ASIO_SEPARATE_COMPILATION) in zferry_asio; every TU that
# includes Asio links it so it sees the same definitions.
function(zferry_use_pch target)
  if(ZFERRY_PCH)
    target_precompile_headers(${target} REUSE_FROM zferry_pch)
  endif()
endfunction()

# A unit/integration test executable, registered with ctest under a label.
function(zferry_test name label)
  cmake_parse_arguments(T "PCH" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    ZFERRY_VECTORS_DIR="${PROJECT_SOURCE_DIR}/tests/vectors")
  if(T_PCH)
    zferry_use_pch(${name})
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS ${label} DISCOVERY_TIMEOUT 60)
  add_dependencies(zferry_tests ${name})
endfunction()

# A libFuzzer target fuzz/<name>_fuzz.cpp defining LLVMFuzzerTestOneInput, with its seed
# corpus in fuzz/corpus/<name>/. In every build the corpus is replayed through the target
# under ctest label fuzz-replay (no fuzzing engine needed); with ZFERRY_FUZZ (clang) a real
# libFuzzer binary <name>_fuzz is built as well.
function(zferry_fuzzer name)
  cmake_parse_arguments(F "" "" "LIBS" ${ARGN})
  set(src ${PROJECT_SOURCE_DIR}/fuzz/${name}_fuzz.cpp)
  set(corpus ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
  if(ZFERRY_FUZZ)
    add_executable(${name}_fuzz ${src})
    target_link_libraries(${name}_fuzz PRIVATE ${F_LIBS})
    target_include_directories(${name}_fuzz PRIVATE ${PROJECT_SOURCE_DIR})
    target_compile_options(${name}_fuzz PRIVATE -fsanitize=fuzzer)
    target_link_options(${name}_fuzz PRIVATE -fsanitize=fuzzer)
    add_dependencies(zferry_fuzzers ${name}_fuzz)
  endif()
  add_executable(${name}_replay ${src} ${PROJECT_SOURCE_DIR}/fuzz/replay_main.cpp)
  target_link_libraries(${name}_replay PRIVATE ${F_LIBS})
  target_include_directories(${name}_replay PRIVATE ${PROJECT_SOURCE_DIR})
  add_test(NAME fuzz_replay.${name} COMMAND ${name}_replay ${corpus})
  set_tests_properties(fuzz_replay.${name} PROPERTIES LABELS fuzz-replay)
  add_dependencies(zferry_tests ${name}_replay)
endfunction()
