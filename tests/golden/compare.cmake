# Runs `${AIF} ${ARGS}` (ARGS separated by '|') and compares its standard output with ${EXPECTED}.
# On a difference the actual output is written beside the build tree and the test fails;
# tools/update-golden.sh rewrites the expected files after an intended change.
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND ${AIF} ${args} OUTPUT_VARIABLE actual ERROR_VARIABLE errors RESULT_VARIABLE rc
                WORKING_DIRECTORY ${ROOT})
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "aifactory ${ARGS} exited with ${rc}:\n${errors}")
endif()
file(READ ${EXPECTED} expected)
if(NOT actual STREQUAL expected)
  get_filename_component(name ${EXPECTED} NAME)
  file(WRITE ${OUT_DIR}/${name}.actual "${actual}")
  message(FATAL_ERROR "output differs from ${EXPECTED}; actual output in ${OUT_DIR}/${name}.actual\n"
                      "(tools/update-golden.sh rewrites the expected files after an intended change)")
endif()
