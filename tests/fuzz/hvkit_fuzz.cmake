# hvkit_fuzz_target(NAME
#     SOURCES fuzz_x.cc ...          # defines LLVMFuzzerTestOneInput
#     [LIBTARGETS hvpackage hvcore]  # libraries whose sources are compiled in,
#                                    # with the project libraries they link
#     [LIBSOURCES a.cc ...]          # more library sources, absolute paths
#     [LINK -lcrypto ...]            # system libraries for the clang link
#     [CORPUS dir]                   # seed corpus (default corpus/NAME)
#     [MAX_TOTAL_TIME seconds])      # libFuzzer run time in ctest (default 20)
#
# Registers, with label `fuzz`:
#  - fuzz_replay.NAME: the target built by the project compiler (GCC) with a
#    standalone main that runs every seed once. Always built: the seeds are
#    regression inputs even where clang is missing.
#  - fuzz.NAME (when HVKIT_FUZZ=ON; configuring fails if clang++ cannot link
#    -fsanitize=fuzzer, rather than falling back to the replays alone): the
#    target built by clang with libFuzzer, ASan and UBSan, its sources and the
#    LIBTARGETS' sources instrumented, run for MAX_TOTAL_TIME seconds over a
#    copy of the seeds. New inputs go to the build tree, never the source tree.
#
# Other areas add targets by including this file and calling the function,
# e.g. in tests/tuf/CMakeLists.txt:
#   include(${PROJECT_SOURCE_DIR}/tests/fuzz/hvkit_fuzz.cmake)
#   hvkit_fuzz_target(tuf_metadata SOURCES fuzz_metadata.cc
#       LIBTARGETS hvtuf hvcore LINK -lcrypto CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus)
include_guard(GLOBAL)

# Cached: the first includer may be any directory, and include_guard(GLOBAL)
# keeps later includers from setting it in their own scope.
set(HVKIT_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR} CACHE INTERNAL "hvkit fuzz helpers")

if(HVKIT_FUZZ AND NOT DEFINED HVKIT_FUZZ_CLANG_OK)
    find_program(HVKIT_FUZZ_CLANGXX NAMES clang++ clang++-14 clang++-15 clang++-16)
    set(HVKIT_FUZZ_CLANG_OK FALSE)
    if(HVKIT_FUZZ_CLANGXX)
        set(_probe_dir ${CMAKE_BINARY_DIR}/fuzz-probe)
        file(WRITE ${_probe_dir}/probe.cc
            "#include <cstddef>\n#include <cstdint>\n"
            "extern \"C\" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n")
        execute_process(
            COMMAND ${HVKIT_FUZZ_CLANGXX} -fsanitize=fuzzer,address,undefined
                    ${_probe_dir}/probe.cc -o ${_probe_dir}/probe
            RESULT_VARIABLE _probe_rc OUTPUT_QUIET ERROR_QUIET)
        if(_probe_rc EQUAL 0)
            set(HVKIT_FUZZ_CLANG_OK TRUE)
        endif()
    endif()
    set(HVKIT_FUZZ_CLANG_OK ${HVKIT_FUZZ_CLANG_OK} CACHE INTERNAL "clang++ links libFuzzer")
    if(NOT HVKIT_FUZZ_CLANG_OK)
        # Asked for fuzzers and unable to build them is an error: falling back
        # to replaying the seeds would pass a CI run that fuzzed nothing.
        unset(HVKIT_FUZZ_CLANG_OK CACHE)
        message(FATAL_ERROR "HVKIT_FUZZ=ON but clang++ (${HVKIT_FUZZ_CLANGXX}) cannot link "
                            "-fsanitize=fuzzer,address,undefined: install clang and libclang-rt "
                            "(scripts/setup.sh does), or configure with -DHVKIT_FUZZ=OFF for the "
                            "seed-replay tests alone")
    endif()
endif()

# Absolute source paths of (target).
function(_hvkit_fuzz_target_sources target out)
    get_target_property(srcs ${target} SOURCES)
    get_target_property(dir ${target} SOURCE_DIR)
    set(abs "")
    foreach(s ${srcs})
        if(NOT IS_ABSOLUTE ${s})
            set(s ${dir}/${s})
        endif()
        list(APPEND abs ${s})
    endforeach()
    set(${out} ${abs} PARENT_SCOPE)
endfunction()

# The project libraries (targets) and every project library they link,
# transitively, in (out). Imported and system libraries are left to LINK.
function(_hvkit_fuzz_link_closure targets out)
    set(seen "")
    set(todo ${targets})
    while(todo)
        list(POP_FRONT todo t)
        if(NOT TARGET ${t} OR t IN_LIST seen)
            continue()
        endif()
        get_target_property(imported ${t} IMPORTED)
        get_target_property(type ${t} TYPE)
        if(imported OR type STREQUAL "INTERFACE_LIBRARY")
            continue()
        endif()
        list(APPEND seen ${t})
        get_target_property(deps ${t} LINK_LIBRARIES)
        if(deps)
            list(APPEND todo ${deps})
        endif()
    endwhile()
    set(${out} ${seen} PARENT_SCOPE)
endfunction()

# Compiles (src) with clang into an object under this directory's fuzz-obj/
# (once per directory) and returns its path in (out).
function(_hvkit_fuzz_object src sanitize includes out)
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${src})
    string(REGEX REPLACE "[/.]" "_" mangled ${rel})
    set(obj ${CMAKE_CURRENT_BINARY_DIR}/fuzz-obj/${mangled}.o)
    get_property(done DIRECTORY PROPERTY HVKIT_FUZZ_OBJECTS)
    if(NOT obj IN_LIST done)
        set_property(DIRECTORY APPEND PROPERTY HVKIT_FUZZ_OBJECTS ${obj})
        add_custom_command(OUTPUT ${obj}
            COMMAND ${HVKIT_FUZZ_CLANGXX} -std=c++20 -O1 -g -fno-omit-frame-pointer
                    -fsanitize=${sanitize} ${includes}
                    -MD -MF ${obj}.d -c ${src} -o ${obj}
            DEPENDS ${src}
            DEPFILE ${obj}.d
            COMMENT "clang++ (fuzz) ${rel}"
            VERBATIM)
    endif()
    set(${out} ${obj} PARENT_SCOPE)
endfunction()

function(hvkit_fuzz_target name)
    cmake_parse_arguments(F "" "CORPUS;MAX_TOTAL_TIME" "SOURCES;LIBTARGETS;LIBSOURCES;LINK"
                          ${ARGN})
    if(NOT F_CORPUS)
        set(F_CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${name})
    endif()
    if(NOT F_MAX_TOTAL_TIME)
        set(F_MAX_TOTAL_TIME 20)
    endif()
    set(srcs "")
    foreach(s ${F_SOURCES})
        if(NOT IS_ABSOLUTE ${s})
            set(s ${CMAKE_CURRENT_SOURCE_DIR}/${s})
        endif()
        list(APPEND srcs ${s})
    endforeach()

    # 1. Seed replay with the project compiler.
    add_executable(fuzz_replay_${name} ${srcs} ${HVKIT_FUZZ_DIR}/standalone_main.cc)
    target_link_libraries(fuzz_replay_${name} PRIVATE ${F_LIBTARGETS})
    target_include_directories(fuzz_replay_${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    add_test(NAME fuzz_replay.${name} COMMAND fuzz_replay_${name} ${F_CORPUS})
    set_tests_properties(fuzz_replay.${name} PROPERTIES LABELS fuzz TIMEOUT 120)

    # 2. libFuzzer with clang.
    if(NOT HVKIT_FUZZ OR NOT HVKIT_FUZZ_CLANG_OK)
        return()
    endif()
    set(includes -I${CMAKE_CURRENT_SOURCE_DIR})
    set(lib_srcs ${F_LIBSOURCES})
    _hvkit_fuzz_link_closure("${F_LIBTARGETS}" libtargets)
    foreach(t ${libtargets})
        _hvkit_fuzz_target_sources(${t} t_srcs)
        list(APPEND lib_srcs ${t_srcs})
        get_target_property(t_inc ${t} INTERFACE_INCLUDE_DIRECTORIES)
        get_target_property(t_dir ${t} SOURCE_DIR)
        list(APPEND includes -I${t_dir})
        # Definitions a library compiles with (e.g. hvmm_version's version).
        get_target_property(t_defs ${t} COMPILE_DEFINITIONS)
        foreach(d ${t_defs})
            if(d)
                list(APPEND includes -D${d})
            endif()
        endforeach()
        foreach(i ${t_inc})
            if(i)
                list(APPEND includes -I${i})
            endif()
        endforeach()
    endforeach()
    list(REMOVE_DUPLICATES lib_srcs)
    list(REMOVE_DUPLICATES includes)
    set(objs "")
    foreach(s ${srcs})
        _hvkit_fuzz_object(${s} fuzzer-no-link,address,undefined "${includes}" obj)
        list(APPEND objs ${obj})
    endforeach()
    foreach(s ${lib_srcs})
        _hvkit_fuzz_object(${s} fuzzer-no-link,address,undefined "${includes}" obj)
        list(APPEND objs ${obj})
    endforeach()
    set(bin ${CMAKE_CURRENT_BINARY_DIR}/libfuzzer/fuzz_${name})
    add_custom_command(OUTPUT ${bin}
        COMMAND ${HVKIT_FUZZ_CLANGXX} -fsanitize=fuzzer,address,undefined ${objs}
                ${F_LINK} -o ${bin}
        DEPENDS ${objs}
        COMMENT "clang++ (fuzz) link fuzz_${name}"
        VERBATIM)
    add_custom_target(fuzz_${name} ALL DEPENDS ${bin})
    set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work/${name})
    file(MAKE_DIRECTORY ${work}/corpus ${work}/artifacts)
    add_test(NAME fuzz.${name}
        COMMAND ${bin} -max_total_time=${F_MAX_TOTAL_TIME} -timeout=10 -rss_limit_mb=2048
                -print_final_stats=1 -artifact_prefix=${work}/artifacts/
                ${work}/corpus ${F_CORPUS})
    math(EXPR timeout "${F_MAX_TOTAL_TIME} * 3 + 60")
    set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz
        TIMEOUT ${timeout}
        ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endfunction()
