# cmake -DVERSION_SCRIPT=cmake/version.cmake -P version_outside_git.cmake: the version source
# generated from a tree that is no git checkout names the revision "unknown", and a second run
# with the same input leaves the file untouched (so nothing recompiles).
string(RANDOM LENGTH 12 tag)
set(dir "/tmp/swarmd-version-test-${tag}")
file(MAKE_DIRECTORY ${dir}/src)
set(ENV{GIT_CEILING_DIRECTORIES} /tmp)
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${dir}/src -DVERSION=9.8.7 -DOUT=${dir}/version.cpp
                        -P ${VERSION_SCRIPT} RESULT_VARIABLE rc)
file(READ ${dir}/version.cpp text)
file(TIMESTAMP ${dir}/version.cpp first "%s")
execute_process(COMMAND ${CMAKE_COMMAND} -E sleep 1.1)
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${dir}/src -DVERSION=9.8.7 -DOUT=${dir}/version.cpp
                        -P ${VERSION_SCRIPT})
file(TIMESTAMP ${dir}/version.cpp second "%s")
file(REMOVE_RECURSE ${dir})
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "version.cmake failed (${rc})")
endif()
if(NOT text MATCHES "return \"9\\.8\\.7\";" OR NOT text MATCHES "return \"unknown\";")
    message(FATAL_ERROR "expected version 9.8.7 and revision unknown, got:\n${text}")
endif()
if(NOT first STREQUAL second)
    message(FATAL_ERROR "an unchanged revision rewrote the file (${first} then ${second})")
endif()
message(STATUS "outside a git checkout: version 9.8.7, revision unknown; an unchanged file is left alone")
