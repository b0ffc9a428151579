# Helpers so every folder declares its library and tests the same way.

# Warnings are errors for project code (generated code is exempt).
function(ar_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()

# ar_library(NAME <name> SOURCES ... DEPS ...) -> target ar_<name>, alias ar::<name>.
function(ar_library)
  cmake_parse_arguments(A "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(ar_${A_NAME} ${A_SOURCES})
  add_library(ar::${A_NAME} ALIAS ar_${A_NAME})
  target_include_directories(ar_${A_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(ar_${A_NAME} PUBLIC ${A_DEPS})
  ar_warnings(ar_${A_NAME})
endfunction()

# ar_test(NAME <name> LABEL unit|integration|e2e SOURCES ... DEPS ... [TIMEOUT s])
# Each GoogleTest case becomes its own ctest entry (discovered when tests run, so
# building stays fast), labelled so `ctest -L unit` runs the fast ones alone.
function(ar_test)
  cmake_parse_arguments(A "" "NAME;LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  add_executable(${A_NAME} ${A_SOURCES})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gmock GTest::gtest_main)
  target_include_directories(${A_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  ar_warnings(${A_NAME})
  gtest_discover_tests(${A_NAME}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS ${A_LABEL} TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "AR_REDIS_SERVER=${AR_REDIS_SERVER};AR_TEST_BINARY_DIR=${CMAKE_CURRENT_BINARY_DIR}")
endfunction()

# ar_benchmark(NAME <name> SOURCES ... DEPS ...)
function(ar_benchmark)
  cmake_parse_arguments(A "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${A_NAME} ${A_SOURCES})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} benchmark::benchmark)
  target_include_directories(${A_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  ar_warnings(${A_NAME})
endfunction()
