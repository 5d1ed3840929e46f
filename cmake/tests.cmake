# Test registration: one helper sets labels and a timeout for every test program.
#   lt_add_unit_test(<name> SOURCES <files...> DEPS <modules...> [LABELS ...] [TIMEOUT s])
function(lt_add_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit ${CMAKE_SOURCE_DIR}/src)
  foreach(dep ${T_DEPS})
    target_link_libraries(${name} PRIVATE lt_${dep})
  endforeach()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "unit;${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                       ENVIRONMENT "LT_TEST_TMP=${CMAKE_BINARY_DIR}/tmp")
endfunction()

file(GLOB lt_unit_dirs LIST_DIRECTORIES true ${CMAKE_SOURCE_DIR}/tests/unit/*)
foreach(dir ${lt_unit_dirs})
  if(IS_DIRECTORY ${dir} AND EXISTS ${dir}/CMakeLists.txt)
    get_filename_component(mod ${dir} NAME)
    add_subdirectory(${dir} ${CMAKE_BINARY_DIR}/tests/unit/${mod})
  endif()
endforeach()

# Every public header must compile on its own.
file(GLOB lt_public_headers ${CMAKE_SOURCE_DIR}/src/*/*.h)
set(lt_header_srcs)
foreach(h ${lt_public_headers})
  get_filename_component(mod_dir ${h} DIRECTORY)
  get_filename_component(mod ${mod_dir} NAME)
  get_filename_component(base ${h} NAME_WE)
  if(base STREQUAL mod)
    set(out ${CMAKE_BINARY_DIR}/header_check/${mod}.c)
    file(WRITE ${out} "#include \"${mod}/${mod}.h\"\n#include \"${mod}/${mod}.h\"\nint lt_header_check_${mod}(void);\nint lt_header_check_${mod}(void) { return 0; }\n")
    list(APPEND lt_header_srcs ${out})
  endif()
endforeach()
add_library(lt_header_check OBJECT ${lt_header_srcs})
target_include_directories(lt_header_check PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(lt_header_check PRIVATE PkgConfig::JANSSON PkgConfig::MHD)

add_test(NAME source_check COMMAND ${LT_PYTHON} ${CMAKE_SOURCE_DIR}/tools/checksrc.py ${CMAKE_SOURCE_DIR}/src)
set_tests_properties(source_check PROPERTIES LABELS "unit;lint" TIMEOUT 60)

# Parity with the reference libraries: each tests/algo/*_parity.py trains with `lathe algo`
# and with python3-sklearn / python3-xgboost on the same data, in the same run.
file(GLOB lt_parity_scripts ${CMAKE_SOURCE_DIR}/tests/algo/*_parity.py)
foreach(script ${lt_parity_scripts})
  get_filename_component(stem ${script} NAME_WE)
  add_test(NAME ${stem} COMMAND ${LT_PYTHON} ${script} --lathe ${CMAKE_BINARY_DIR}/lathe)
  set_tests_properties(${stem} PROPERTIES LABELS "parity" TIMEOUT 600)
endforeach()

# Integration tests: pytest with Debian's boto3 and AWS CLI against a live server.
add_test(NAME integration
         COMMAND ${LT_PYTHON} -m pytest -q -p no:cacheprovider ${CMAKE_SOURCE_DIR}/tests/integration)
set_tests_properties(integration PROPERTIES LABELS "integration" TIMEOUT 900
                     ENVIRONMENT "LATHE_BIN=${CMAKE_BINARY_DIR}/lathe;LATHE_SANITIZED=${LT_SANITIZE}")
add_subdirectory(${CMAKE_SOURCE_DIR}/tests/fuzz ${CMAKE_BINARY_DIR}/tests/fuzz)
