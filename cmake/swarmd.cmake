# Shared build settings for every swarmd target.

add_library(swarmd_options INTERFACE)
target_compile_options(swarmd_options INTERFACE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
target_include_directories(swarmd_options INTERFACE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
# CI builds with warnings as errors (.ci/run sets SWARMD_WERROR=ON for scripts/build.sh).
option(SWARMD_WERROR "Treat compiler warnings in swarmd's code as errors" OFF)
if(SWARMD_WERROR)
    # GCC 12 warns falsely inside Boost.Asio's coroutine frame allocator (awaitable.hpp
    # operator new/delete): those two stay warnings.
    target_compile_options(swarmd_options INTERFACE -Werror -Wno-error=mismatched-new-delete
                                                    -Wno-error=array-bounds)
endif()
if(SWARMD_SANITIZE)
    target_compile_options(swarmd_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(swarmd_options INTERFACE -fsanitize=address,undefined)
endif()

# swarmd_module(<name> [EXCLUDE file...] [DEPS ...] [PRIVATE_DEPS ...]) builds <module>/**/*.cpp
# (subfolders included) and <module>/*.proto into the static library swarmd_<name>. Each module
# owns its folder; adding a source file needs no CMake edit. EXCLUDE names files (relative to the
# module folder) that the module builds into another of its own libraries instead. DEPS are
# what the module's headers expose; PRIVATE_DEPS only its sources use (their include paths and
# flags stay out of the module's consumers, e.g. LibTorch behind training/'s headers).
function(swarmd_module name)
    cmake_parse_arguments(M "" "" "DEPS;PRIVATE_DEPS;EXCLUDE" ${ARGN})
    file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
    list(FILTER srcs EXCLUDE REGEX ".*/main\\.cpp$")
    list(TRANSFORM M_EXCLUDE PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
    if(M_EXCLUDE)
        list(REMOVE_ITEM srcs ${M_EXCLUDE})
    endif()
    if(NOT srcs)
        # A module whose first source has not landed yet still forms a linkable library.
        set(srcs ${PROJECT_BINARY_DIR}/empty_${name}.cpp)
        file(WRITE ${srcs} "// no sources yet\n")
    endif()
    add_library(swarmd_${name} STATIC ${srcs})
    target_link_libraries(swarmd_${name} PUBLIC swarmd_options ${M_DEPS})
    if(M_PRIVATE_DEPS)
        target_link_libraries(swarmd_${name} PRIVATE ${M_PRIVATE_DEPS})
    endif()
    # Wire .proto files live beside the module's sources and are compiled in automatically.
    file(GLOB protos CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.proto)
    if(protos AND M_EXCLUDE)
        list(REMOVE_ITEM protos ${M_EXCLUDE})
    endif()
    if(protos)
        swarmd_protos(swarmd_${name} ${protos})
    endif()
endfunction()

# swarmd_protos(<target> <file.proto>...) generates C++ for .proto files kept beside the
# module's sources; the generated headers are included as "<module>/<name>.pb.h".
function(swarmd_protos target)
    foreach(proto ${ARGN})
        get_filename_component(abs ${proto} ABSOLUTE)
        get_filename_component(stem ${proto} NAME_WE)
        file(RELATIVE_PATH rel_dir ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
        set(out_dir ${PROJECT_BINARY_DIR}/${rel_dir})
        add_custom_command(
            OUTPUT ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h
            COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
            COMMAND protobuf::protoc --cpp_out=${PROJECT_BINARY_DIR} -I ${PROJECT_SOURCE_DIR} ${abs}
            DEPENDS ${abs} protobuf::protoc
            COMMENT "protoc ${rel_dir}/${stem}.proto")
        target_sources(${target} PRIVATE ${out_dir}/${stem}.pb.cc)
    endforeach()
    target_link_libraries(${target} PUBLIC protobuf::libprotobuf)
endfunction()
